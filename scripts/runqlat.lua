#!/usr/bin/env luabpf
-- runqlat: run queue latency (wakeup to running) as a log2 histogram, as
-- BCC's runqlat prints it; BCC-style C (kernel headers, implicit reads
-- through task pointers, plain functions attached to raw tracepoints).
local tool = require "bpf.tool"

local t = tool.new {
  name = "runqlat",
  summary = "Summarize run queue (scheduler) latency as a histogram.",
  examples = {
    "runqlat                  # until Ctrl-C",
    "runqlat 1 10             # every second, 10 times",
    "runqlat -mT 1            # every second, in milliseconds, with a time",
    "runqlat -P               # one histogram per process",
    "runqlat -p 185           # process 185 only",
    "runqlat 5 1 --json       # one 5 s histogram as a JSON line",
  },
  options = { "pid", "interval", "histograms" },
}
local args = t:parse()

local b = t:load([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

const volatile u32 target_tgid = 0;
const volatile bool targ_ms = 0;
const volatile bool targ_per_pid = 0;
struct dist_key { u32 pid; u32 slot; };
BPF_HASH(start, u32);
BPF_HASH(dist, struct dist_key);

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
	if (targ_ms)
		delta /= 1000;
	struct dist_key key = {targ_per_pid ? next->tgid : 0, bpf_log2l(delta)};
	dist.increment(key);
	start.delete(&pid);
	return 0;
}
]], { rodata = { target_tgid = args.pid or 0, targ_ms = args.milliseconds and 1 or 0,
  targ_per_pid = args.pids and 1 or 0 } })
b:attach_raw_tracepoint { tp = "sched_wakeup", fn_name = "on_wakeup" }
b:attach_raw_tracepoint { tp = "sched_wakeup_new", fn_name = "on_wakeup" }
b:attach_raw_tracepoint { tp = "sched_switch", fn_name = "on_switch" }

t:note("Tracing run queue latency... Hit Ctrl-C to end.")

local unit = args.milliseconds and "msecs" or "usecs"
local function print_dist() t:pid_hists(b.maps.dist, unit, args.pids) end

local why = t:run(b, { on_interval = print_dist })
if not args.interval or why == "signal" then print_dist() end
t:close()
