#!/usr/bin/env luabpf
-- tcpretrans: each TCP retransmission with its addresses and socket state, or
-- a count per flow (-c), as BCC's tcpretrans prints them; BCC-style C on the
-- tcp:tcp_retransmit_skb tracepoint (implicit reads through the socket and skb).
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "tcpretrans",
  summary = "Trace TCP retransmits.",
  examples = {
    "tcpretrans               # trace TCP retransmits",
    "tcpretrans -l            # include TLP attempts (needs kprobes)",
    "tcpretrans -s            # include the sequence number",
    "tcpretrans -c            # count retransmits per flow, printed at the end",
    "tcpretrans -4 -d 10      # IPv4 only, for 10 seconds",
  },
  options = { "duration" },
}
t.parser:flag("-l --lossprobe", "include tail loss probe attempts (a kprobe)")
t.parser:flag("-c --count", "count occurred retransmits per flow")
t.parser:flag("-s --sequence", "display TCP sequence numbers")
t.parser:mutex(t.parser:flag("-4 --ipv4", "trace IPv4 family only"), t.parser:flag("-6 --ipv6", "trace IPv6 family only"))
local args = t:parse()

local b = t:load([[
#include <uapi/linux/ptrace.h>
#include <net/sock.h>
#include <net/tcp.h>
#include <bcc/proto.h>

#define RETRANSMIT 1
#define TLP 2

const volatile u16 only_family = 0;
const volatile bool count_only = false;

struct event_t {
	u32 pid;
	u32 seq;
	u64 ip;
	u8 saddr[16];
	u8 daddr[16];
	u16 lport;
	u16 dport;
	u64 state;
	u64 type;
};
BPF_PERF_OUTPUT(events);

struct flow_key_t {
	u8 saddr[16];
	u8 daddr[16];
	u16 lport;
	u16 dport;
	u64 ip;
};
BPF_HASH(counts, struct flow_key_t);

/* e comes with the sequence number, ports and type filled in. */
static int report(void *ctx, struct sock *skp, struct event_t *e)
{
	u16 family = skp->__sk_common.skc_family;
	if (only_family && family != only_family)
		return 0;
	if (family == AF_INET) {
		e->ip = 4;
		__builtin_memcpy(e->saddr, &skp->__sk_common.skc_rcv_saddr, 4);
		__builtin_memcpy(e->daddr, &skp->__sk_common.skc_daddr, 4);
	} else if (family == AF_INET6) {
		e->ip = 6;
		bpf_probe_read_kernel(e->saddr, 16, skp->__sk_common.skc_v6_rcv_saddr.in6_u.u6_addr32);
		bpf_probe_read_kernel(e->daddr, 16, skp->__sk_common.skc_v6_daddr.in6_u.u6_addr32);
	} else {
		return 0;
	}
	if (count_only) {
		struct flow_key_t key = {.lport = e->lport, .dport = e->dport, .ip = e->ip};
		__builtin_memcpy(key.saddr, e->saddr, 16);
		__builtin_memcpy(key.daddr, e->daddr, 16);
		counts.increment(key);
		return 0;
	}
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->state = skp->__sk_common.skc_state;
	events.perf_submit(ctx, e, sizeof(*e));
	return 0;
}

TRACEPOINT_PROBE(tcp, tcp_retransmit_skb)
{
	const struct sk_buff *skb = (const struct sk_buff *)args->skbaddr;
	struct event_t e = {.lport = args->sport, .dport = args->dport, .type = RETRANSMIT};
	if (skb) {
		struct tcp_skb_cb *tcb = (struct tcp_skb_cb *)&skb->cb[0];
		e.seq = tcb->seq;
	}
	return report(args, (struct sock *)args->skaddr, &e);
}

/* Tail loss probes (-l) come from a kprobe, as in BCC. */
int trace_tlp(struct pt_regs *ctx, struct sock *sk)
{
	struct event_t e = {.lport = sk->__sk_common.skc_num, .dport = ntohs(sk->__sk_common.skc_dport), .type = TLP};
	return report(ctx, sk, &e);
}
]], { rodata = { only_family = args.ipv4 and 2 or args.ipv6 and 10 or 0, count_only = args.count or false } })
if args.lossprobe then
  t:try(b.attach_kprobe, b, { event = "tcp_send_loss_probe", fn_name = "trace_tlp" })
end

local function endpoint(ip, addr, port)
  return ("%s:%d"):format(bpf.inet_ntop(ip, addr), port)
end

local type_letter = { "R>", "L>" }

t:note("Tracing retransmits ... Hit Ctrl-C to end")
if args.count then
  io.stdout:flush()
  t:run(b)
  if not t.json then t:write("\n") end
  t:columns { { "LADDR:LPORT", -25, "local" }, { "RADDR:RPORT", -25, "remote" }, { "RETRANSMITS", 10, "retransmits" } }
  local rows = b["counts"]:items()
  table.sort(rows, function(x, y) return x[2] < y[2] end)
  for _, kv in ipairs(rows) do
    local k = kv[1]
    t:row { ["local"] = endpoint(k.ip, k.saddr, k.lport), remote = endpoint(k.ip, k.daddr, k.dport), retransmits = kv[2] }
  end
  t:close()
  return
end

local cols = { { "TIME", -8, "time" }, { "PID", -7, "pid" }, { "IP", -2, "ip" }, { "LADDR:LPORT", -20, "local" },
  { "T>", -2, "type" }, { "RADDR:RPORT", -20, "remote" }, { "STATE", args.sequence and -12 or 0, "state" } }
if args.sequence then cols[#cols + 1] = { "SEQ", 0, "seq", u = true } end
t:columns(cols)
io.stdout:flush()
b["events"]:open_perf_buffer(function(e)
  t:row { time = os.date("%H:%M:%S"), pid = e.pid, ip = e.ip, ["local"] = endpoint(e.ip, e.saddr, e.lport),
    type = type_letter[e.type], remote = endpoint(e.ip, e.daddr, e.dport), state = bpf.tcp_state(e.state), seq = e.seq }
  io.stdout:flush()
end)
t:run(b)
t:close()
