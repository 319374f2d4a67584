#!/usr/bin/env luabpf
-- exitsnoop: every process exit with its parent, age and exit status, as
-- BCC's exitsnoop prints them; BCC-style C (kernel headers, implicit reads
-- through the task pointer, a plain function attached by name).
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "exitsnoop",
  summary = "Trace all process termination (exit, fatal signal).",
  examples = {
    "exitsnoop                # trace all process termination",
    "exitsnoop -x             # trace only fails, exclude exit(0)",
    "exitsnoop -T             # include a time column (seconds)",
    "exitsnoop --utc          # include a time column (HH:MM:SS UTC)",
    "exitsnoop -p 181         # only process 181",
    "exitsnoop --per-thread   # each thread's exit, not only the process's",
    "exitsnoop -d 10 --json   # for 10 seconds, as JSON lines",
  },
  options = { "pid", "timestamp", "duration" },
}
t.parser:flag("-x --failed", "trace error exits only")
t.parser:flag("--utc", "include a time column in UTC (HH:MM:SS)")
t.parser:flag("--per-thread", "trace per thread termination")
local args = t:parse()

local b = t:load([[
#include <linux/sched.h>

const volatile u32 targ_pid = 0;
const volatile bool targ_failed = 0;
const volatile bool targ_threads = 0;
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
	if (!targ_threads && task->pid != task->tgid)
		return 0; /* a thread, not the process */
	if (targ_pid && task->tgid != targ_pid)
		return 0;
	if (targ_failed && task->exit_code == 0)
		return 0;
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
]], { rodata = { targ_pid = args.pid or 0, targ_failed = args.failed and 1 or 0, targ_threads = args.per_thread and 1 or 0 } })
t:try(b.attach_tracepoint, b, { tp = "sched:sched_process_exit", fn_name = "on_exit" })

local SIGNALS = { [1] = "SIGHUP", [2] = "SIGINT", [3] = "SIGQUIT", [4] = "SIGILL", [6] = "SIGABRT", [7] = "SIGBUS",
  [8] = "SIGFPE", [9] = "SIGKILL", [10] = "SIGUSR1", [11] = "SIGSEGV", [12] = "SIGUSR2", [13] = "SIGPIPE",
  [14] = "SIGALRM", [15] = "SIGTERM" }

-- exit_code is the wait status: the code in bits 8-15, a signal in bits 0-6.
local function status(code)
  local sig = code & 0x7f
  if sig == 0 then return ("%d"):format((code >> 8) & 0xff) end
  return ("signal %d (%s)%s"):format(sig, SIGNALS[sig] or "?", code & 0x80 ~= 0 and ", core dumped" or "")
end

local cols = { { "PCOMM", -16, "comm" }, { "PID", -7, "pid" }, { "PPID", -7, "ppid" }, { "TID", -7, "tid" },
  { "AGE(s)", -7, "age" }, { "EXIT_CODE", 0, "status", json = false },
  { "", 0, "code", json = true }, { "", 0, "signal", json = true } }
if args.utc then table.insert(cols, 1, { "TIME", -8, "utc" }) end
t:note("Tracing process exits... Hit Ctrl-C to end.")
t:columns(cols)
io.stdout:flush()

local start = bpf.ktime_ns()
b["events"]:open_perf_buffer(function(e)
  local age = (e.exit_time - e.start_time) / 1e9
  local code = e.exit_code
  t:row {
    time = (e.exit_time - start) / 1e9, utc = os.date("!%H:%M:%S"), comm = e.comm, pid = e.pid, ppid = e.ppid,
    tid = e.tid, age = t.json and age or ("%.2f"):format(age), status = status(code),
    code = (code >> 8) & 0xff, signal = code & 0x7f,
  }
  io.stdout:flush()
end)
t:run(b)
t:close()
