#!/usr/bin/env luabpf
-- oomkill: each OOM kill with the process that triggered it and its victim,
-- as BCC's oomkill prints it, from the oom:mark_victim tracepoint (the
-- triggering process is the one running when the victim is chosen).
local tool = require "bpf.tool"

local t = tool.new {
  name = "oomkill",
  summary = "Trace the OOM killer.",
  examples = {
    "oomkill                  # trace OOM kills until Ctrl-C",
    "oomkill -d 60 --json     # for a minute, as JSON lines",
  },
  options = { "duration" },
}
t:parse()

local b = t:load([[
struct oom_event {
	u32 pid;
	u32 victim;
	u64 total_vm_kb;
	u64 rss_kb;
	char comm[16];
	char victim_comm[16];
};
LUABPF_RINGBUF(events, 1 << 16);

SEC("tp/oom/mark_victim")
int on_victim(struct trace_event_raw_mark_victim *ctx)
{
	struct oom_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->victim = ctx->pid;
	/* Linux 6.2 added the victim's name and sizes. */
	if (bpf_core_field_exists(ctx->total_vm)) {
		e->total_vm_kb = BPF_CORE_READ(ctx, total_vm);
		e->rss_kb = BPF_CORE_READ(ctx, anon_rss) + BPF_CORE_READ(ctx, file_rss) + BPF_CORE_READ(ctx, shmem_rss);
		u32 loc = BPF_CORE_READ(ctx, __data_loc_comm);
		bpf_probe_read_kernel_str(e->victim_comm, sizeof(e->victim_comm), (void *)ctx + (loc & 0xffff));
	}
	bpf_ringbuf_submit(e, 0);
	return 0;
}
]])

local function loadavg()
  local f = io.open("/proc/loadavg")
  if not f then return "" end
  local s = f:read("l") or ""
  f:close()
  return s
end

t:note("Tracing OOM kills... Ctrl-C to stop.")
b:ring_buffer("events", function(e)
  if t.json then
    t:json_line { time = os.date("%H:%M:%S"), pid = e.pid, comm = e.comm, victim_pid = e.victim,
      victim_comm = e.victim_comm, total_vm_kb = e.total_vm_kb, rss_kb = e.rss_kb, loadavg = loadavg() }
  else
    t:write(('%s Triggered by PID %d ("%s"), OOM kill of PID %d ("%s"), %d kB RSS, %d kB VM, loadavg: %s\n'):format(
      os.date("%H:%M:%S"), e.pid, e.comm, e.victim, e.victim_comm, e.rss_kb, e.total_vm_kb, loadavg()))
  end
  io.stdout:flush()
end, { type = "struct oom_event" })
t:run(b)
t:close()
