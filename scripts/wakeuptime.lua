#!/usr/bin/env luabpf
-- wakeuptime: time threads spent blocked, by the kernel stack of the thread
-- that woke them, as BCC's wakeuptime prints it; BCC-style C on the
-- sched_switch and sched_wakeup raw tracepoints.
local tool = require "bpf.tool"

local t = tool.new {
  name = "wakeuptime",
  summary = "Summarize sleep to wakeup time by waker kernel stack.",
  examples = {
    "wakeuptime               # trace blocked time with waker stacks",
    "wakeuptime 5             # trace for 5 seconds only",
    "wakeuptime -f 5          # trace for 5 seconds, and output in folded format",
    "wakeuptime -m 1000       # trace only events that last more than 1000 usec",
    "wakeuptime -M 10000      # trace only events that last less than 10000 usec",
    "wakeuptime -p 185        # trace only for PID 185",
  },
  options = { "pid" },
}
local p = t.parser
p:argument("duration", "seconds to trace (until Ctrl-C if not given)"):args("?"):convert(tool.integer("duration", 1, 1 << 30))
p:flag("-u --useronly", "user threads only (no kernel threads)")
p:flag("-v --verbose", "show raw addresses")
t:stack_options { block_times = true }
local args = t:parse()

local b = t:load([[
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
  rodata = { target_tgid = args.pid or 0, user_only = args.useronly or false, min_us = args.min_block_time,
    max_us = args.max_block_time or -1 },
  max_entries = { stack_traces = args.stack_storage_size },
})

if not args.folded then
  t:note("Tracing blocked time (us) by kernel stack" .. (args.duration and (" for %d secs."):format(args.duration)
    or "... Hit Ctrl-C to end."))
end
t:run(b)
if not args.folded and not t.json then t:write("\n") end

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
    if t.json then
      t:json_line { target = k.target, waker = k.waker, waker_stack = names, us = v }
    elseif args.folded then
      local line = { k.waker }
      for n = #names, 1, -1 do line[#line + 1] = names[n] end
      line[#line + 1] = k.target
      t:write(("%s %d\n"):format(table.concat(line, ";"), v))
    else
      t:write(("    %-16s %s\n"):format("target:", k.target))
      for n, name in ipairs(names) do
        t:write((args.verbose and ("    %-16x %s"):format(addrs[n], name) or "    " .. name) .. "\n")
      end
      t:write(("    %-16s %s\n"):format("waker:", k.waker))
      t:write(("        %d\n\n"):format(v))
    end
  end
end
if missing > 0 then
  t:note(("WARNING: %d stack traces could not be displayed. Consider increasing --stack-storage-size."):format(missing))
end
if not args.folded and not t.json then t:write("Detaching...\n") end
t:close()
