#!/usr/bin/env luabpf
-- exitsnoop: every process exit with its parent, age and exit status, as
-- BCC's exitsnoop prints them; BCC-style C (kernel headers, implicit reads
-- through the task pointer, a plain function attached by name).
-- usage: luabpf scripts/exitsnoop.lua [seconds]
local bpf = require "bpf"

local seconds = tonumber(arg[1])

local b <close> = bpf.new([[
#include <linux/sched.h>

struct exit_t {
	u64 start_time;
	u64 exit_time;
	u32 pid;
	u32 tid;
	u32 ppid;
	int exit_code;
	char comm[TASK_COMM_LEN];
};
BPF_PERF_OUTPUT(events);

int on_exit(void *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	if (task->pid != task->tgid)
		return 0; /* a thread, not the process */
	struct exit_t e = {};
	e.start_time = task->start_time;
	e.exit_time = bpf_ktime_get_ns();
	e.pid = task->tgid;
	e.tid = task->pid;
	e.ppid = task->real_parent->tgid;
	e.exit_code = task->exit_code;
	bpf_get_current_comm(&e.comm, sizeof(e.comm));
	events.perf_submit(ctx, &e, sizeof(e));
	return 0;
}
]])
b:attach_tracepoint { tp = "sched:sched_process_exit", fn_name = "on_exit" }

local SIGNALS = { [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [6] = "SIGABRT", [9] = "SIGKILL",
  [11] = "SIGSEGV", [13] = "SIGPIPE", [14] = "SIGALRM", [15] = "SIGTERM" }

-- exit_code is the wait status: the code in bits 8-15, a signal in bits 0-6.
local function status(code)
  local sig = code & 0x7f
  if sig == 0 then return ("%d"):format((code >> 8) & 0xff) end
  return ("signal %d (%s)%s"):format(sig, SIGNALS[sig] or "?", code & 0x80 ~= 0 and ", core dumped" or "")
end

print(("%-16s %-7s %-7s %-7s %-7s %s"):format("PCOMM", "PID", "PPID", "TID", "AGE(s)", "EXIT_CODE"))
io.stdout:flush()
b["events"]:open_perf_buffer(function(e)
  print(("%-16s %-7d %-7d %-7d %-7.2f %s"):format(e.comm, e.pid, e.ppid, e.tid,
    (e.exit_time - e.start_time) / 1e9, status(e.exit_code)))
  io.stdout:flush()
end)
-- Until Ctrl-C, or for the seconds given.
b:run { duration = seconds }
