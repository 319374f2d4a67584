#!/usr/bin/env luabpf
-- wakeuptime: time threads spent blocked, by the kernel stack of the thread
-- that woke them, as BCC's wakeuptime prints it; BCC-style C on the
-- sched_switch and sched_wakeup raw tracepoints.
-- usage: luabpf scripts/wakeuptime.lua [-p PID] [-u] [-v] [-f] [--stack-storage-size N]
--        [-m MIN_US] [-M MAX_US] [duration]
local bpf = require "bpf"

local usage = "usage: wakeuptime.lua [-p PID] [-u] [-v] [-f] [--stack-storage-size N] [-m MIN_US] [-M MAX_US] [duration]"
local o = { pid = 0, min_us = 1, max_us = -1, storage = 16384, duration = 99999999 }
local i = 1
local function number_arg()
  i = i + 1
  return math.tointeger(tonumber(arg[i])) or error(arg[i - 1] .. " takes a number\n" .. usage, 0)
end
while arg[i] do
  local a = arg[i]
  if a == "-p" then o.pid = number_arg()
  elseif a == "-u" then o.user_only = true
  elseif a == "-v" then o.verbose = true
  elseif a == "-f" then o.folded = true
  elseif a == "-m" then o.min_us = number_arg()
  elseif a == "-M" then o.max_us = number_arg()
  elseif a == "--stack-storage-size" then o.storage = number_arg()
  else o.duration = tonumber(a) or error("unknown argument " .. a .. "\n" .. usage, 0) end
  i = i + 1
end

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

const volatile u32 target_tgid = 0;
const volatile bool user_only = false;
const volatile u64 min_us = 1, max_us = -1;

struct key_t {
	int w_k_stack_id;
	char waker[TASK_COMM_LEN];
	char target[TASK_COMM_LEN];
};
BPF_HASH(counts, struct key_t);
BPF_HASH(start, u32);
BPF_STACK_TRACE(stack_traces, 16384);

static bool filtered(struct task_struct *p)
{
	return (target_tgid && p->tgid != target_tgid) || (user_only && (p->flags & PF_KTHREAD));
}

/* Runs as the thread going off CPU. */
RAW_TRACEPOINT_PROBE(sched_switch)
{
	struct task_struct *p = (struct task_struct *)bpf_get_current_task();
	if (filtered(p))
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 ts = bpf_ktime_get_ns();
	start.update(&tid, &ts);
	return 0;
}

/* Runs as the waker; p is the thread it wakes. */
RAW_TRACEPOINT_PROBE(sched_wakeup)
{
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	u32 tid = p->pid;
	u64 *tsp = start.lookup(&tid);
	if (!tsp)
		return 0;
	u64 delta = (bpf_ktime_get_ns() - *tsp) / 1000;
	start.delete(&tid);
	if (filtered(p) || delta < min_us || delta > max_us)
		return 0;
	struct key_t key = {.w_k_stack_id = stack_traces.get_stackid(ctx, 0)};
	__builtin_memcpy(key.target, p->comm, sizeof(key.target));
	bpf_get_current_comm(&key.waker, sizeof(key.waker));
	counts.atomic_increment(key, delta);
	return 0;
}
]], {
  rodata = { target_tgid = o.pid, user_only = o.user_only or false, min_us = o.min_us, max_us = o.max_us },
  max_entries = { stack_traces = o.storage },
})

if not o.folded then
  io.write("Tracing blocked time (us) by kernel stack")
  print(o.duration < 99999999 and (" for %d secs."):format(o.duration) or "... Hit Ctrl-C to end.")
end
io.stdout:flush()
pcall(bpf.sleep, o.duration)
if not o.folded then print() end

local ENOMEM = 12
local missing = 0
local stacks = b["stack_traces"]
local rows = b["counts"]:items()
table.sort(rows, function(x, y) return x[2] < y[2] end)
for _, kv in ipairs(rows) do
  local k, v = kv[1], kv[2]
  if k.w_k_stack_id == -ENOMEM then
    missing = missing + 1
  else
    local names, addrs = stacks:symbols(k.w_k_stack_id)
    if o.folded then
      local line = { k.waker }
      for n = #names, 1, -1 do line[#line + 1] = names[n] end
      line[#line + 1] = k.target
      print(("%s %d"):format(table.concat(line, ";"), v))
    else
      print(("    %-16s %s"):format("target:", k.target))
      for n, name in ipairs(names) do
        print(o.verbose and ("    %-16x %s"):format(addrs[n], name) or "    " .. name)
      end
      print(("    %-16s %s"):format("waker:", k.waker))
      print(("        %d\n"):format(v))
    end
  end
end
if missing > 0 then
  io.stderr:write(("WARNING: %d stack traces could not be displayed. Consider increasing --stack-storage-size.\n")
    :format(missing))
end
if not o.folded then print("Detaching...") end
