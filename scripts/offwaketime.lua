#!/usr/bin/env luabpf
-- offwaketime: time threads spent blocked, by the blocked thread's stack and
-- the stack of the thread that woke it, as BCC's offwaketime prints it;
-- BCC-style C on the sched_switch and sched_wakeup raw tracepoints.
-- usage: luabpf scripts/offwaketime.lua [-p PIDS | -t TIDS | -u | -k] [-U | -K] [-d] [-f]
--        [--stack-storage-size N] [-m MIN_US] [-M MAX_US] [--state MASK] [duration]
local bpf = require "bpf"

local usage = "usage: offwaketime.lua [-p PIDS | -t TIDS | -u | -k] [-U | -K] [-d] [-f] "
  .. "[--stack-storage-size N] [-m MIN_US] [-M MAX_US] [--state MASK] [duration]"
local o = { ids = {}, threads = 0, min_us = 1, max_us = -1, storage = 16384, duration = 99999999 }
local i = 1
local function number_arg()
  i = i + 1
  return math.tointeger(tonumber(arg[i])) or error(arg[i - 1] .. " takes a number\n" .. usage, 0)
end
while arg[i] do
  local a = arg[i]
  if a == "-p" or a == "-t" then
    o.by_tgid = a == "-p"
    i = i + 1
    for id in (arg[i] or ""):gmatch("[^,]+") do
      o.ids[#o.ids + 1] = math.tointeger(tonumber(id)) or error(a .. " takes ids separated by commas\n" .. usage, 0)
    end
    if #o.ids == 0 or #o.ids > 16 then error(a .. " takes 1 to 16 ids\n" .. usage, 0) end
  elseif a == "-u" then o.threads = 1
  elseif a == "-k" then o.threads = 2
  elseif a == "-U" then o.user_only = true
  elseif a == "-K" then o.kernel_only = true
  elseif a == "-d" then o.delimited = true
  elseif a == "-f" then o.folded = true
  elseif a == "-m" then o.min_us = number_arg()
  elseif a == "-M" then o.max_us = number_arg()
  elseif a == "--state" then o.state = number_arg()
  elseif a == "--stack-storage-size" then o.storage = number_arg()
  else o.duration = tonumber(a) or error("unknown argument " .. a .. "\n" .. usage, 0) end
  i = i + 1
end
local ids = {}
for k = 1, 16 do ids[k] = o.ids[k] or 0 end

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

const volatile u32 ids[16] = {};
const volatile u32 nids = 0;
const volatile bool by_tgid = false, has_state = false, kernel_stacks = true, user_stacks = true;
const volatile int threads = 0; /* 1: user threads only, 2: kernel threads only */
const volatile u32 state_mask = 0;
const volatile u64 min_us = 1, max_us = -1;

struct key_t {
	char waker[TASK_COMM_LEN];
	char target[TASK_COMM_LEN];
	s64 w_k_stack_id;
	s64 w_u_stack_id;
	s64 t_k_stack_id;
	s64 t_u_stack_id;
	u64 t_pid;
	u64 t_tgid;
	u32 w_pid;
	u32 w_tgid;
};
BPF_HASH(counts, struct key_t);

/* A thread that went off CPU: when, and its stacks at that moment. */
struct blocked_t {
	u64 ts;
	s64 k_stack_id;
	s64 u_stack_id;
};
BPF_HASH(start, u32, struct blocked_t);

struct wokeby_t {
	char name[TASK_COMM_LEN];
	s64 k_stack_id;
	s64 u_stack_id;
	u32 w_pid;
	u32 w_tgid;
};
BPF_HASH(wokeby, u32, struct wokeby_t);
BPF_STACK_TRACE(stack_traces, 16384);

static bool wanted(struct task_struct *p)
{
	if (nids) {
		u32 id = by_tgid ? p->tgid : p->pid;
		bool hit = false;
		for (int i = 0; i < 16; i++)
			if (i < nids && ids[i] == id)
				hit = true;
		if (!hit)
			return false;
	}
	if (threads == 1 && (p->flags & PF_KTHREAD))
		return false;
	if (threads == 2 && !(p->flags & PF_KTHREAD))
		return false;
	if (has_state) {
		unsigned int state = p->__state;
		if (state_mask ? !(state & state_mask) : state != 0)
			return false;
	}
	return true;
}

/* The current thread's stacks, as the options ask. */
static s64 kernel_stack(void *ctx)
{
	return kernel_stacks ? stack_traces.get_stackid(ctx, 0) : -1;
}

static s64 user_stack(void *ctx)
{
	return user_stacks ? stack_traces.get_stackid(ctx, BPF_F_USER_STACK) : -1;
}

RAW_TRACEPOINT_PROBE(sched_wakeup)
{
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	if (!wanted(p))
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	struct wokeby_t woke = {.k_stack_id = kernel_stack(ctx), .u_stack_id = user_stack(ctx),
				.w_pid = (u32)id, .w_tgid = id >> 32};
	bpf_get_current_comm(&woke.name, sizeof(woke.name));
	u32 pid = p->pid;
	wokeby.update(&pid, &woke);
	return 0;
}

/* Runs as prev: its stacks are the current ones. */
RAW_TRACEPOINT_PROBE(sched_switch)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	u64 now = bpf_ktime_get_ns();

	if (wanted(prev)) {
		struct blocked_t blocked = {.ts = now, .k_stack_id = kernel_stack(ctx), .u_stack_id = user_stack(ctx)};
		u32 prev_pid = prev->pid;
		start.update(&prev_pid, &blocked);
	}

	u32 pid = next->pid;
	struct blocked_t *blocked = start.lookup(&pid);
	if (!blocked)
		return 0;
	u64 delta = (now - blocked->ts) / 1000;
	struct key_t key = {.t_pid = pid, .t_tgid = next->tgid, .t_k_stack_id = blocked->k_stack_id,
			    .t_u_stack_id = blocked->u_stack_id};
	start.delete(&pid);
	if (delta < min_us || delta > max_us)
		return 0;
	__builtin_memcpy(key.target, next->comm, sizeof(key.target));
	struct wokeby_t *woke = wokeby.lookup(&pid);
	if (woke) {
		key.w_k_stack_id = woke->k_stack_id;
		key.w_u_stack_id = woke->u_stack_id;
		key.w_pid = woke->w_pid;
		key.w_tgid = woke->w_tgid;
		__builtin_memcpy(key.waker, woke->name, TASK_COMM_LEN);
		wokeby.delete(&pid);
	}
	counts.increment(key, delta);
	return 0;
}
]], {
  rodata = { ids = ids, nids = #o.ids, by_tgid = o.by_tgid or false, threads = o.threads,
    has_state = o.state ~= nil, state_mask = o.state or 0, min_us = o.min_us, max_us = o.max_us,
    kernel_stacks = not o.user_only, user_stacks = not o.kernel_only },
  max_entries = { stack_traces = o.storage },
})

local stack_context = o.user_only and "user" or o.kernel_only and "kernel" or "user + kernel"
if not o.folded then
  io.write(("Tracing blocked time (us) by %s off-CPU and waker stack"):format(stack_context))
  print(o.duration < 99999999 and (" for %d secs."):format(o.duration) or "... Hit Ctrl-C to end.")
end
io.stdout:flush()
pcall(bpf.sleep, o.duration)
if not o.folded then print() end

local EFAULT, ENOMEM = 14, 12
local missing, enomem = 0, false
-- Frame names of a stack (nil for a stack not collected), or the marker of
-- one that get_stackid could not store; -EFAULT means there was none (a
-- kernel thread's user stack).
local stacks = b["stack_traces"]
local function frames(id, pid, what)
  if id < 0 and id ~= -EFAULT then
    missing, enomem = missing + 1, enomem or id == -ENOMEM
    return { ("[Missed %s Stack]"):format(what) }
  end
  if id < 0 then return {} end
  return stacks:symbols(id, pid)
end
local function reversed(t)
  local r = {}
  for k = #t, 1, -1 do r[#r + 1] = t[k] end
  return r
end

local rows = b["counts"]:items()
table.sort(rows, function(x, y) return x[2] < y[2] end)
local want_kernel, want_user = not o.user_only, not o.kernel_only
for _, kv in ipairs(rows) do
  local k, v = kv[1], kv[2]
  local t_kernel = want_kernel and frames(k.t_k_stack_id, nil, "Kernel") or {}
  local t_user = want_user and frames(k.t_u_stack_id, k.t_tgid, "User") or {}
  local w_kernel = want_kernel and frames(k.w_k_stack_id, nil, "Kernel") or {}
  local w_user = want_user and frames(k.w_u_stack_id, k.w_tgid, "User") or {}
  local t_delim = o.delimited and #t_user > 0 and #t_kernel > 0 and { "-" } or {}
  local w_delim = o.delimited and #w_user > 0 and #w_kernel > 0 and { "-" } or {}
  if o.folded then
    -- Outermost first: the blocked thread's user then kernel stack, "--",
    -- then the waker's kernel then user stack, innermost last.
    local line = { k.target }
    for _, part in ipairs { reversed(t_user), t_delim, reversed(t_kernel), { "--" }, w_kernel, w_delim, w_user } do
      table.move(part, 1, #part, #line + 1, line)
    end
    line[#line + 1] = k.waker
    print(("%s %d"):format(table.concat(line, ";"), v))
  else
    print(("    %-16s %s %s"):format("waker:", k.waker, k.w_pid))
    for _, part in ipairs { reversed(w_user), w_delim, reversed(w_kernel) } do
      for _, name in ipairs(part) do print("    " .. name) end
    end
    print(("    %-16s %s"):format("--", "--"))
    for _, part in ipairs { t_kernel, t_delim, t_user } do
      for _, name in ipairs(part) do print("    " .. name) end
    end
    print(("    %-16s %s %s"):format("target:", k.target, k.t_pid))
    print(("        %d\n"):format(v))
  end
end
if missing > 0 then
  io.stderr:write(("WARNING: %d stack traces lost and could not be displayed.%s\n"):format(missing,
    enomem and " Consider increasing --stack-storage-size." or ""))
end
