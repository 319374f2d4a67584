#!/usr/bin/env luabpf
-- execsnoop: prints every exec on the machine as it happens, like BCC's
-- execsnoop, from the sched_process_exec raw tracepoint.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "execsnoop",
  summary = "Trace new processes (exec), as they start.",
  examples = {
    "execsnoop                # every exec",
    "execsnoop -T             # with a timestamp column",
    "execsnoop -U             # with a UID column",
    "execsnoop -n bash        # execs of commands named bash",
    "execsnoop -d 10 --json   # for 10 seconds, as JSON lines",
  },
  options = { "comm", "timestamp", "duration", "cgroup" },
}
t.parser:flag("-U --print-uid", "include a UID column")
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
struct exec_event {
	u32 pid;
	u32 ppid;
	u32 uid;
	u64 ts;
	char comm[16];
	char filename[128];
};
LUABPF_RINGBUF(events, 256 * 1024);

SEC("raw_tp/sched_process_exec")
int on_exec(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *task = (struct task_struct *)ctx->args[0];
	struct linux_binprm *bprm = (struct linux_binprm *)ctx->args[2];
	struct exec_event *e;

	/* The comm is the new program's here: -n names the command. */
	if (tool_skip())
		return 0;
	e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->uid = (u32)bpf_get_current_uid_gid();
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
]], { rodata = t:rodata() })

local cols = { { "COMM", -16, "comm" }, { "PID", 7, "pid" }, { "PPID", 7, "ppid" }, { "FILENAME", 0, "filename" } }
if args.print_uid then table.insert(cols, 1, { "UID", 6, "uid" }) end
t:columns(cols)
t:note("Tracing execs... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  t:row { time = (e.ts - start) / 1e9, uid = e.uid, comm = e.comm, pid = e.pid, ppid = e.ppid, filename = e.filename }
end, { type = "struct exec_event" })

local why = t:run(b)
local seen, lost = b:stats().events.received, b:stats().events.lost
t:note(("%d execs%s (%s)"):format(seen, lost > 0 and (", " .. lost .. " lost") or "", why))
t:close()
