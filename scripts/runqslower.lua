#!/usr/bin/env luabpf
-- runqslower: each time a task waited in the run queue longer than a
-- threshold, as BCC's runqslower prints it; BCC-style C (kernel headers,
-- implicit reads through task pointers, plain functions on raw tracepoints).
-- usage: luabpf scripts/runqslower.lua [-p PID] [-P] [min_us] [seconds]
local bpf = require "bpf"

local pid, previous, rest = 0, false, {}
local i = 1
while arg[i] do
  if arg[i] == "-p" then
    pid = math.tointeger(tonumber(arg[i + 1])) or error("runqslower: -p takes a process id")
    i = i + 2
  elseif arg[i] == "-P" then
    previous, i = true, i + 1
  else
    rest[#rest + 1] = arg[i]
    i = i + 1
  end
end
local min_us = math.tointeger(tonumber(rest[1] or 10000)) or error("runqslower: min_us must be an integer")
local seconds = tonumber(rest[2])

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

const volatile u32 target_tgid = 0;
const volatile u64 min_us = 10000;
struct slow_t {
	u32 pid;
	u32 prev_pid;
	u64 delta_us;
	char task[TASK_COMM_LEN];
	char prev_task[TASK_COMM_LEN];
};
BPF_HASH(start, u32);
BPF_PERF_OUTPUT(events);

static int enqueued(u32 tgid, u32 pid)
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
	return enqueued(p->tgid, p->pid);
}

int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	if (prev->__state == TASK_RUNNING)
		enqueued(prev->tgid, prev->pid);
	u32 pid = next->pid;
	u64 *tsp = start.lookup(&pid);
	if (!tsp)
		return 0;
	u64 delta_us = (bpf_ktime_get_ns() - *tsp) / 1000;
	start.delete(&pid);
	if (delta_us < min_us)
		return 0;
	struct slow_t s = { .pid = pid, .prev_pid = prev->pid, .delta_us = delta_us };
	bpf_probe_read_kernel_str(&s.task, sizeof(s.task), next->comm);
	bpf_probe_read_kernel_str(&s.prev_task, sizeof(s.prev_task), prev->comm);
	events.perf_submit(ctx, &s, sizeof(s));
	return 0;
}
]], { rodata = { target_tgid = pid, min_us = min_us } })
b:attach_raw_tracepoint { tp = "sched_wakeup", fn_name = "on_wakeup" }
b:attach_raw_tracepoint { tp = "sched_wakeup_new", fn_name = "on_wakeup" }
b:attach_raw_tracepoint { tp = "sched_switch", fn_name = "on_switch" }

print(("Tracing run queue latency higher than %d us"):format(min_us))
if previous then
  print(("%-8s %-16s %-6s %14s %-16s %-6s"):format("TIME", "COMM", "TID", "LAT(us)", "PREV COMM", "PREV TID"))
else
  print(("%-8s %-16s %-6s %14s"):format("TIME", "COMM", "TID", "LAT(us)"))
end
io.stdout:flush()
b["events"]:open_perf_buffer(function(e)
  local t = os.date("%H:%M:%S")
  if previous then
    print(("%-8s %-16s %-6d %14d %-16s %-6d"):format(t, e.task, e.pid, e.delta_us, e.prev_task, e.prev_pid))
  else
    print(("%-8s %-16s %-6d %14d"):format(t, e.task, e.pid, e.delta_us))
  end
  io.stdout:flush()
end)
-- Until Ctrl-C, or for the seconds given.
b:run { duration = seconds }
