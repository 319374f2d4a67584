#!/usr/bin/env luabpf
-- runqlat: run queue latency (wakeup to running) as a log2 histogram, as
-- BCC's runqlat prints it; BCC-style C (kernel headers, implicit reads
-- through task pointers, plain functions attached to raw tracepoints).
-- usage: luabpf scripts/runqlat.lua [-p PID] [interval [count]]
local bpf = require "bpf"

local pid, rest = 0, {}
local i = 1
while arg[i] do
  if arg[i] == "-p" then
    pid = math.tointeger(tonumber(arg[i + 1])) or error("runqlat: -p takes a process id")
    i = i + 2
  else
    rest[#rest + 1] = arg[i]
    i = i + 1
  end
end
local interval, count = tonumber(rest[1]) or 99999999, tonumber(rest[2]) or 1

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

const volatile u32 target_tgid = 0;
BPF_HASH(start, u32);
BPF_HISTOGRAM(dist);

static int trace_enqueue(u32 tgid, u32 pid)
{
	if (pid == 0 || (target_tgid && tgid != target_tgid))
		return 0;
	u64 ts = bpf_ktime_get_ns();
	start.update(&pid, &ts);
	return 0;
}

int on_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	return trace_enqueue(p->tgid, p->pid);
}

int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	/* A task preempted while running waits in the run queue too. */
	if (prev->__state == TASK_RUNNING)
		trace_enqueue(prev->tgid, prev->pid);
	u32 pid = next->pid;
	u64 *tsp = start.lookup(&pid);
	if (!tsp)
		return 0;
	u64 delta = (bpf_ktime_get_ns() - *tsp) / 1000;
	dist.increment(bpf_log2l(delta));
	start.delete(&pid);
	return 0;
}
]], { rodata = { target_tgid = pid } })
b:attach_raw_tracepoint { tp = "sched_wakeup", fn_name = "on_wakeup" }
b:attach_raw_tracepoint { tp = "sched_wakeup_new", fn_name = "on_wakeup" }
b:attach_raw_tracepoint { tp = "sched_switch", fn_name = "on_switch" }

print("Tracing run queue latency... Hit Ctrl-C to end.")
io.stdout:flush()
for _ = 1, count do
  -- Ctrl-C ends the wait early; the histogram so far is still printed.
  local ok, slept = pcall(bpf.sleep, interval)
  if not ok or slept == false then count = 0 end
  print()
  b["dist"]:print_log2_hist("usecs")
  b["dist"]:clear()
  io.stdout:flush()
  if count == 0 then break end
end
