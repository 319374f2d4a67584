#!/usr/bin/env luabpf
-- tcpstates: every TCP state change with the time spent in the old state,
-- like BCC's tcpstates, from the sock:inet_sock_set_state tracepoint; state
-- names come from this kernel's own enum.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "tcpstates",
  summary = "Trace TCP state changes, with the time in each state.",
  examples = {
    "tcpstates                # every change",
    "tcpstates -T             # with a timestamp column",
    "tcpstates -L 22          # local port 22 only",
    "tcpstates -D 80          # remote port 80 only",
    "tcpstates -d 10 --json   # for 10 seconds, as JSON lines",
  },
  options = { "timestamp", "duration" },
}
local port = tool.integer("a port", 1, 65535)
t.parser:option("-L --localport", "this local port only"):convert(port)
t.parser:option("-D --remoteport", "this remote port only"):convert(port)
local args = t:parse()

local b = t:load([[
const volatile u16 targ_lport = 0;
const volatile u16 targ_dport = 0;

struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u64); __type(value, u64); } since SEC(".maps");

struct state_event {
	u64 ts;
	u64 skaddr;
	u64 delta_us;
	u32 pid;
	s32 oldstate;
	s32 newstate;
	u16 family;
	u16 lport;
	u16 dport;
	u8 saddr[16];
	u8 daddr[16];
	char comm[16];
};
LUABPF_RINGBUF(events, 256 * 1024);

SEC("tp/sock/inet_sock_set_state")
int on_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	if (ctx->protocol != IPPROTO_TCP)
		return 0;
	if ((targ_lport && ctx->sport != targ_lport) || (targ_dport && ctx->dport != targ_dport))
		return 0;
	u64 sk = (u64)ctx->skaddr, now = bpf_ktime_get_ns(), *then = bpf_map_lookup_elem(&since, &sk);
	struct state_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (e) {
		e->ts = now;
		e->skaddr = sk;
		e->delta_us = then ? (now - *then) / 1000 : 0;
		e->pid = bpf_get_current_pid_tgid() >> 32;
		e->oldstate = ctx->oldstate;
		e->newstate = ctx->newstate;
		e->family = ctx->family;
		e->lport = ctx->sport;
		e->dport = ctx->dport;
		/* Copied, not loaded: the verifier allows no loads through a
		 * moved context pointer, which a struct copy compiles to. */
		if (ctx->family == 2 /* AF_INET */) {
			bpf_probe_read_kernel(e->saddr, 4, ctx->saddr);
			bpf_probe_read_kernel(e->daddr, 4, ctx->daddr);
		} else {
			bpf_probe_read_kernel(e->saddr, 16, ctx->saddr_v6);
			bpf_probe_read_kernel(e->daddr, 16, ctx->daddr_v6);
		}
		bpf_get_current_comm(e->comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	if (ctx->newstate == TCP_CLOSE)
		bpf_map_delete_elem(&since, &sk);
	else
		bpf_map_update_elem(&since, &sk, &now, BPF_ANY);
	return 0;
}
]], { rodata = { targ_lport = args.localport or 0, targ_dport = args.remoteport or 0 } })

t:columns {
  { "SKADDR", -16, "skaddr" }, { "PID", 7, "pid" }, { "COMM", -12, "comm" }, { "LADDR", -15, "laddr" },
  { "LPORT", 5, "lport" }, { "RADDR", -15, "raddr" }, { "RPORT", 5, "rport" }, { "OLDSTATE", -12, "oldstate" },
  { "NEWSTATE", -12, "newstate" }, { "MS", 0, "ms" },
}
t:note("Tracing TCP state changes... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  t:row {
    time = (e.ts - start) / 1e9, skaddr = ("%x"):format(e.skaddr), pid = e.pid, comm = e.comm,
    laddr = bpf.inet_ntop(e.family, e.saddr), lport = e.lport,
    raddr = bpf.inet_ntop(e.family, e.daddr), rport = e.dport,
    oldstate = bpf.tcp_state(e.oldstate), newstate = bpf.tcp_state(e.newstate), ms = e.delta_us / 1000,
  }
end, { type = "struct state_event" })
t:run(b)
t:close()
