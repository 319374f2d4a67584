#!/usr/bin/env luabpf
-- sigsnoop: prints every signal as it is generated, by whom and for whom,
-- with the kernel's result, like BCC's sigsnoop, from signal:signal_generate.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "sigsnoop",
  summary = "Trace signals as they are generated, system-wide.",
  examples = {
    "sigsnoop                 # every signal",
    "sigsnoop -x              # signals not delivered only",
    "sigsnoop -p 181          # sent by process 181 only",
    "sigsnoop -s 9            # SIGKILL only",
    "sigsnoop -T --json       # with a timestamp, as JSON lines",
  },
  options = { "pid", "tid", "comm", "timestamp", "duration", "cgroup" },
}
t.parser:flag("-x --failed", "only show signals the kernel did not deliver")
t.parser:option("-s --signal", "only show this signal (a number)"):convert(tool.integer("a signal", 1, 64))
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_failed = 0;
const volatile int targ_sig = 0;

struct sig_event { u64 ts; u32 pid; s32 tpid; s32 sig; s32 result; char comm[16]; char tcomm[16]; };
LUABPF_RINGBUF(events, 256 * 1024);

SEC("tp/signal/signal_generate")
int on_generate(struct trace_event_raw_signal_generate *ctx)
{
	if (tool_skip() || (targ_sig && ctx->sig != targ_sig) || (targ_failed && !ctx->result))
		return 0;
	struct sig_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->tpid = ctx->pid;
	e->sig = ctx->sig;
	e->result = ctx->result;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_kernel_str(e->tcomm, sizeof(e->tcomm), ctx->comm);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
]], { rodata = t:rodata { targ_failed = args.failed and 1 or 0, targ_sig = args.signal or 0 } })

-- The kernel's enum trace_signal_result (include/trace/events/signal.h),
-- which its BTF does not carry: the values have not changed since Linux 3.9.
local results = { [0] = "delivered", "ignored", "already_pending", "overflow_fail", "lose_info" }

t:columns {
  { "PID", 7, "pid" }, { "COMM", -16, "comm" }, { "SIG", 4, "sig" }, { "TPID", 7, "tpid" },
  { "TCOMM", -16, "tcomm" }, { "RESULT", 0, "result" },
}
t:note("Tracing signals... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  t:row { time = (e.ts - start) / 1e9, pid = e.pid, comm = e.comm, sig = e.sig, tpid = e.tpid, tcomm = e.tcomm,
    result = results[e.result] or tostring(e.result) }
end, { type = "struct sig_event" })
t:run(b)
t:close()
