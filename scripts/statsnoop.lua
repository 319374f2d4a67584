#!/usr/bin/env luabpf
-- statsnoop: every stat() family call as it returns, with its path and
-- result, like BCC's statsnoop, from the syscall tracepoints.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "statsnoop",
  summary = "Trace stat() syscalls.",
  examples = {
    "statsnoop                # trace all stat() syscalls",
    "statsnoop -T             # include timestamps",
    "statsnoop -x             # only show failed stats",
    "statsnoop -p 181         # only trace PID 181",
    "statsnoop -d 10 --json   # for 10 seconds, as JSON lines",
  },
  options = { "pid", "tid", "comm", "timestamp", "duration", "cgroup" },
}
t.parser:flag("-x --failed", "only show failed stats")
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_failed = 0;
BPF_HASH(paths, u32, const char *, 10240);
struct stat_event {
	u64 ts;
	u32 pid;
	s32 ret;
	u32 call;
	char comm[16];
	char path[256];
};
LUABPF_RINGBUF(events, 1 << 20);

static int enter(const char *path)
{
	if (tool_skip())
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	paths.update(&tid, &path);
	return 0;
}

/* statfs, stat, lstat: the path first; fstatat, statx: after a directory fd. */
SEC("tracepoint") int on_path0(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[0]);
}

SEC("tracepoint") int on_path1(struct trace_event_raw_sys_enter *ctx)
{
	return enter((const char *)ctx->args[1]);
}

SEC("tracepoint") int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	const char **path = paths.lookup(&tid);
	if (!path)
		return 0;
	if (!targ_failed || ctx->ret < 0) {
		struct stat_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
		if (e) {
			e->ts = bpf_ktime_get_ns();
			e->pid = id >> 32;
			e->ret = ctx->ret;
			e->call = ctx->id;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			bpf_probe_read_user_str(e->path, sizeof(e->path), *path);
			bpf_ringbuf_submit(e, 0);
		}
	}
	paths.delete(&tid);
	return 0;
}
]], { autoattach = false, rodata = t:rodata { targ_failed = args.failed and 1 or 0 } })

-- Not every call is on every architecture (stat and lstat are not on arm64).
local CALLS = { statfs = "on_path0", newstat = "on_path0", newlstat = "on_path0", newfstatat = "on_path1",
  statx = "on_path1" }
for call, fn in pairs(CALLS) do
  if bpf.tracepoint_exists("syscalls", "sys_enter_" .. call) then
    t:try(b.attach_tracepoint, b, "syscalls:sys_enter_" .. call, fn)
    t:try(b.attach_tracepoint, b, "syscalls:sys_exit_" .. call, "on_exit")
  end
end

t:columns { { "PID", -7, "pid" }, { "COMM", -16, "comm" }, { "RET", 4, "ret" }, { "ERR", 3, "err" },
  { "PATH", 0, "path" } }
t:note("Tracing stat() calls... Hit Ctrl-C to end.")
local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  local ret = e.ret
  t:row { time = (e.ts - start) / 1e9, pid = e.pid, comm = e.comm, ret = ret >= 0 and ret or -1,
    err = ret >= 0 and 0 or -ret, path = e.path }
end, { type = "struct stat_event" })
t:run(b)
t:close()
