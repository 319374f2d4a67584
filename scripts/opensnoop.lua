#!/usr/bin/env luabpf
-- opensnoop: prints every open(), openat() and openat2() as it returns,
-- like BCC's opensnoop, from the syscall tracepoints.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "opensnoop",
  summary = "Trace open() system calls as they return.",
  examples = {
    "opensnoop                # every open",
    "opensnoop -T             # with a timestamp column",
    "opensnoop -x             # failed opens only",
    "opensnoop -p 181         # process 181 only",
    "opensnoop -n sshd        # processes named sshd only",
    "opensnoop -d 10 --json   # for 10 seconds, as JSON lines",
  },
  options = { "pid", "tid", "comm", "timestamp", "duration", "cgroup" },
}
t.parser:flag("-x --failed", "only show failed opens")
t.parser:flag("-U --print-uid", "include a UID column")
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_failed = 0;

struct start { const char *path; u64 flags; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, struct start); } starts SEC(".maps");

struct open_event {
	u64 ts;
	u32 pid;
	u32 tid;
	u32 uid;
	s32 ret;
	u64 flags;
	char comm[16];
	char path[256];
};
LUABPF_RINGBUF(events, 1 << 20);

static int enter(const char *path, u64 flags)
{
	if (tool_skip())
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct start s = {path, flags};
	bpf_map_update_elem(&starts, &tid, &s, BPF_ANY);
	return 0;
}

SEC("tracepoint") int on_open(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[0], ctx->args[1]);
}

SEC("tracepoint") int on_openat(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[1], ctx->args[2]);
}

SEC("tracepoint") int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct start *s = bpf_map_lookup_elem(&starts, &tid);
	if (!s)
		return 0;
	if (targ_failed && ctx->ret >= 0) {
		bpf_map_delete_elem(&starts, &tid);
		return 0;
	}
	struct open_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (e) {
		e->ts = bpf_ktime_get_ns();
		e->pid = id >> 32;
		e->tid = tid;
		e->uid = (u32)bpf_get_current_uid_gid();
		e->ret = ctx->ret;
		e->flags = s->flags;
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_probe_read_user_str(e->path, sizeof(e->path), s->path);
		bpf_ringbuf_submit(e, 0);
	}
	bpf_map_delete_elem(&starts, &tid);
	return 0;
}
]], { autoattach = false, rodata = t:rodata { targ_failed = args.failed and 1 or 0 } })

-- open() is not on every architecture; openat2 not on older kernels.
for _, call in ipairs { "open", "openat", "openat2" } do
  if bpf.tracepoint_exists("syscalls", "sys_enter_" .. call) then
    b:attach_tracepoint("syscalls:sys_enter_" .. call, call == "open" and "on_open" or "on_openat")
    b:attach_tracepoint("syscalls:sys_exit_" .. call, "on_exit")
  end
end

local cols = {
  { "PID", 7, "pid" }, { "COMM", -16, "comm" }, { "FD", 4, "fd" }, { "ERR", 3, "err" }, { "PATH", 0, "path" },
}
if args.print_uid then table.insert(cols, 1, { "UID", 6, "uid" }) end
t:columns(cols)
t:note("Tracing open() calls... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  local ret = e.ret
  t:row {
    time = (e.ts - start) / 1e9, uid = e.uid, pid = e.pid, comm = e.comm,
    fd = ret >= 0 and ret or -1, err = ret >= 0 and 0 or -ret, path = e.path,
  }
end, { type = "struct open_event" })

t:run(b)
local lost = b:stats().events.lost
if lost > 0 then t:note(("%d events lost"):format(lost)) end
t:close()
