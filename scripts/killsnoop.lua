#!/usr/bin/env luabpf
-- killsnoop: prints every kill() system call as it returns, with its signal,
-- target and result, like BCC's killsnoop, from the syscall tracepoints.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "killsnoop",
  summary = "Trace signals sent by the kill() system call.",
  examples = {
    "killsnoop                # every kill()",
    "killsnoop -x             # failed ones only",
    "killsnoop -p 181         # sent by process 181 only",
    "killsnoop -s 9           # SIGKILL only",
    "killsnoop -T --json      # with a timestamp, as JSON lines",
  },
  options = { "pid", "tid", "comm", "timestamp", "duration", "cgroup" },
}
t.parser:flag("-x --failed", "only show failed kill() calls")
t.parser:option("-s --signal", "only show this signal (a number)"):convert(tool.integer("a signal", 0, 64))
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_failed = 0;
const volatile int targ_sig = -1;

struct args { s32 tpid; s32 sig; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, struct args); } calls SEC(".maps");

struct kill_event { u64 ts; u32 pid; s32 tpid; s32 sig; s32 ret; char comm[16]; };
LUABPF_RINGBUF(events, 256 * 1024);

SEC("tp/syscalls/sys_enter_kill")
int on_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct args a = {(s32)ctx->args[0], (s32)ctx->args[1]};
	u32 tid = (u32)bpf_get_current_pid_tgid();
	if (tool_skip() || (targ_sig >= 0 && a.sig != targ_sig))
		return 0;
	bpf_map_update_elem(&calls, &tid, &a, BPF_ANY);
	return 0;
}

SEC("tp/syscalls/sys_exit_kill")
int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct args *a = bpf_map_lookup_elem(&calls, &tid);
	if (!a)
		return 0;
	if (!targ_failed || ctx->ret < 0) {
		struct kill_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
		if (e) {
			e->ts = bpf_ktime_get_ns();
			e->pid = id >> 32;
			e->tpid = a->tpid;
			e->sig = a->sig;
			e->ret = ctx->ret;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			bpf_ringbuf_submit(e, 0);
		}
	}
	bpf_map_delete_elem(&calls, &tid);
	return 0;
}
]], { rodata = t:rodata { targ_failed = args.failed and 1 or 0, targ_sig = args.signal or -1 } })

t:columns {
  { "PID", 7, "pid" }, { "COMM", -16, "comm" }, { "SIG", 4, "sig" }, { "TPID", 7, "tpid" }, { "RESULT", 0, "result" },
}
t:note("Tracing kill() calls... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  t:row { time = (e.ts - start) / 1e9, pid = e.pid, comm = e.comm, sig = e.sig, tpid = e.tpid, result = e.ret }
end, { type = "struct kill_event" })
t:run(b)
t:close()
