#!/usr/bin/env luabpf
-- execsnoop: prints every exec on the machine as it happens, until Ctrl-C
-- or for a number of seconds. usage: luabpf scripts/execsnoop.lua [seconds]
local bpf = require "bpf"

local b <close> = bpf.new([[
struct exec_event {
	u32 pid;
	u32 ppid;
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
	struct exec_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->pid = BPF_CORE_READ(task, tgid);
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->ts = bpf_ktime_get_ns();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->filename, sizeof(e->filename), BPF_CORE_READ(bprm, filename));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
]])

local start = bpf.ktime_ns()
print(("%-9s %-16s %7s %7s  %s"):format("TIME(s)", "COMM", "PID", "PPID", "FILENAME"))
b:ring_buffer("events", function(e)
  print(("%-9.3f %-16s %7d %7d  %s"):format((e.ts - start) / 1e9, e.comm, e.pid, e.ppid, e.filename))
end, { type = "struct exec_event" })

local seen, why = b:run { duration = tonumber(arg[1]) }
local lost = b:stats().events.lost
io.stdout:flush()
io.stderr:write(("%d execs%s (%s)\n"):format(seen, lost > 0 and (", " .. lost .. " lost") or "", why))
