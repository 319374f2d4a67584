#!/usr/bin/env luabpf
-- runqslower: each time a task waited in the run queue longer than a
-- threshold, as BCC's runqslower prints it; BCC-style C (kernel headers,
-- implicit reads through task pointers, plain functions on raw tracepoints).
local tool = require "bpf.tool"

local t = tool.new {
  name = "runqslower",
  summary = "Trace high run queue latency.",
  examples = {
    "runqslower               # trace run queue latency higher than 10000 us (default)",
    "runqslower 1000          # trace run queue latency higher than 1000 us",
    "runqslower -p 123        # trace pid 123",
    "runqslower -t 123        # trace tid 123 (use for threads only)",
    "runqslower -P            # also show previous task name and TID",
    "runqslower 0 -d 5 --json # every wait, for 5 seconds, as JSON lines",
  },
  options = { "pid", "tid", "duration" },
}
t.parser:argument("min_us", "minimum run queue latency to trace, in us (default 10000)"):args("?")
  :convert(tool.integer("min_us", 0, 1 << 40)):default("10000")
t.parser:flag("-P --previous", "also show previous task name and TID")
local args = t:parse()
local min_us = args.min_us

local b = t:load([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

const volatile u32 target_tgid = 0;
const volatile u32 target_tid = 0;
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
	if (pid == 0 || (target_tgid && tgid != target_tgid) || (target_tid && pid != target_tid))
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
]], { rodata = { target_tgid = args.pid or 0, target_tid = args.tid or 0, min_us = min_us } })
for _, a in ipairs { { "sched_wakeup", "on_wakeup" }, { "sched_wakeup_new", "on_wakeup" }, { "sched_switch", "on_switch" } } do
  t:try(b.attach_raw_tracepoint, b, { tp = a[1], fn_name = a[2] })
end

t:note(("Tracing run queue latency higher than %d us"):format(min_us))
local cols = { { "TIME", -8, "time" }, { "COMM", -16, "comm" }, { "TID", -6, "tid" }, { "LAT(us)", 14, "lat_us" } }
if args.previous then
  cols[5], cols[6] = { "PREV COMM", -16, "prev_comm" }, { "PREV TID", -6, "prev_tid" }
end
t:columns(cols)
io.stdout:flush()
b["events"]:open_perf_buffer(function(e)
  t:row { time = os.date("%H:%M:%S"), comm = e.task, tid = e.pid, lat_us = e.delta_us, prev_comm = e.prev_task,
    prev_tid = e.prev_pid }
  io.stdout:flush()
end)
t:run(b)
t:close()
