#!/usr/bin/env luabpf
-- tcpretrans: each TCP retransmission with its addresses and socket state, or
-- a count per flow (-c), as BCC's tcpretrans prints them; BCC-style C on the
-- tcp:tcp_retransmit_skb tracepoint (implicit reads through the socket and skb).
-- usage: luabpf scripts/tcpretrans.lua [-s] [-c] [-l] [-4|-6] [seconds]
local bpf = require "bpf"

local opts = { family = 0 }
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "-s" then opts.sequence = true
  elseif a == "-c" then opts.count = true
  elseif a == "-l" then opts.lossprobe = true
  elseif a == "-4" then opts.family = 2
  elseif a == "-6" then opts.family = 10
  else opts.seconds = tonumber(a) or error("tcpretrans: unknown argument " .. a) end
  i = i + 1
end

local b <close> = bpf.new([[
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
]], { rodata = { only_family = opts.family, count_only = opts.count or false } })
if opts.lossprobe then
  b:attach_kprobe { event = "tcp_send_loss_probe", fn_name = "trace_tlp" }
end

local function endpoint(ip, addr, port)
  return ("%s:%d"):format(bpf.inet_ntop(ip, addr), port)
end

local type_letter = { "R", "L" }

print("Tracing retransmits ... Hit Ctrl-C to end")
if opts.count then
  io.stdout:flush()
  b:run { duration = opts.seconds }
  print(("\n%-25s %-25s %-10s"):format("LADDR:LPORT", "RADDR:RPORT", "RETRANSMITS"))
  local rows = b["counts"]:items()
  table.sort(rows, function(x, y) return x[2] < y[2] end)
  for _, kv in ipairs(rows) do
    local k = kv[1]
    print(("%-25s %-25s %10d"):format(endpoint(k.ip, k.saddr, k.lport), endpoint(k.ip, k.daddr, k.dport), kv[2]))
  end
  return
end

print(("%-8s %-7s %-2s %-20s %1s> %-20s %s"):format("TIME", "PID", "IP", "LADDR:LPORT", "T", "RADDR:RPORT",
  opts.sequence and ("%-12s %-10s"):format("STATE", "SEQ") or "STATE"))
io.stdout:flush()
b["events"]:open_perf_buffer(function(e)
  local state = bpf.tcp_state(e.state)
  print(("%-8s %-7d %-2d %-20s %1s> %-20s %s"):format(os.date("%H:%M:%S"), e.pid, e.ip,
    endpoint(e.ip, e.saddr, e.lport), type_letter[e.type], endpoint(e.ip, e.daddr, e.dport),
    opts.sequence and ("%-12s %d"):format(state, e.seq) or state))
  io.stdout:flush()
end)
b:run { duration = opts.seconds }
