#!/usr/bin/env luabpf
-- tcpdrop: each TCP packet the kernel drops, with its addresses, socket state,
-- TCP flags, drop reason and kernel stack, as BCC's tcpdrop prints it;
-- BCC-style C on the skb:kfree_skb tracepoint (implicit reads through the skb
-- and its headers). Reasons are named from this kernel's enum skb_drop_reason.
-- usage: luabpf scripts/tcpdrop.lua [-4|-6] [--netns-id ID | --pid-netns PID] [seconds]
local bpf = require "bpf"

local opts = { family = 0, netns = 0 }
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "-4" then opts.family = 2
  elseif a == "-6" then opts.family = 10
  elseif a == "--netns-id" or a == "--pid-netns" then
    local v = math.tointeger(tonumber(arg[i + 1]))
    if not v then error("tcpdrop: " .. a .. " takes a number") end
    if a == "--pid-netns" then
      -- The namespace's inode number, as "net:[4026531840]" names it.
      local link = io.popen("readlink /proc/" .. v .. "/ns/net"):read("l")
      v = math.tointeger(tonumber(link and link:match("%[(%d+)%]"))) or error("tcpdrop: no process " .. arg[i + 1])
    end
    opts.netns = v
    i = i + 1
  else opts.seconds = tonumber(a) or error("tcpdrop: unknown argument " .. a) end
  i = i + 1
end

-- Kernels since 6.10 name the receiving socket in the tracepoint (rx_sk):
-- a packet dropped on its way in has no skb->sk.
local cflags = {}
if bpf.kernel_has_field("trace_event_raw_kfree_skb", "rx_sk") then cflags[1] = "-DHAVE_RX_SK" end

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <uapi/linux/tcp.h>
#include <uapi/linux/ip.h>
#include <net/sock.h>
#include <bcc/proto.h>
#include <linux/skbuff.h>

const volatile u16 only_family = 0;
const volatile u32 netns_id = 0;

BPF_STACK_TRACE(stack_traces, 1024);

struct data_t {
	u32 pid;
	u64 ip;
	u8 saddr[16];
	u8 daddr[16];
	u16 sport;
	u16 dport;
	u8 state;
	u8 tcpflags;
	int stack_id;
	u32 drop_reason;
};
BPF_PERF_OUTPUT(events);

static struct tcphdr *skb_to_tcphdr(const struct sk_buff *skb)
{
	return (struct tcphdr *)(skb->head + skb->transport_header);
}

static unsigned char *skb_network(const struct sk_buff *skb)
{
	return skb->head + skb->network_header;
}

static int trace_tcp_drop(void *ctx, struct sock *sk, struct sk_buff *skb, u32 reason)
{
	if (sk == NULL)
		return 0;
	u16 family = sk->__sk_common.skc_family;
	if (only_family && family != only_family)
		return 0;
	if (netns_id && sk->__sk_common.skc_net.net->ns.inum != netns_id)
		return 0;

	struct tcphdr *tcp = skb_to_tcphdr(skb);
	struct data_t data = {};
	data.pid = bpf_get_current_pid_tgid() >> 32;
	data.state = sk->__sk_common.skc_state;
	data.tcpflags = ((u8 *)tcp)[13];
	data.sport = ntohs(tcp->source);
	data.dport = ntohs(tcp->dest);
	if (family == AF_INET) {
		struct iphdr *ip = (struct iphdr *)skb_network(skb);
		data.ip = 4;
		__builtin_memcpy(data.saddr, &ip->saddr, 4);
		__builtin_memcpy(data.daddr, &ip->daddr, 4);
	} else if (family == AF_INET6) {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)skb_network(skb);
		data.ip = 6;
		bpf_probe_read_kernel(data.saddr, 16, &ip6->saddr);
		bpf_probe_read_kernel(data.daddr, 16, &ip6->daddr);
	} else {
		return 0;
	}
	data.stack_id = stack_traces.get_stackid(ctx, 0);
	data.drop_reason = reason;
	events.perf_submit(ctx, &data, sizeof(data));
	return 0;
}

TRACEPOINT_PROBE(skb, kfree_skb)
{
	struct sk_buff *skb = args->skbaddr;
	struct sock *sk = skb->sk;
	/* Not dropped (consumed), or dropped without a reason: not a drop to report. */
	if (args->reason <= SKB_DROP_REASON_NOT_SPECIFIED || args->protocol != ETH_P_IP && args->protocol != ETH_P_IPV6)
		return 0;
#ifdef HAVE_RX_SK
	if (!sk)
		sk = args->rx_sk;
#endif
	if (sk && sk->sk_protocol != IPPROTO_TCP)
		return 0;
	return trace_tcp_drop(args, sk, skb, args->reason);
}
]], { cflags = cflags, rodata = { only_family = opts.family, netns_id = opts.netns } })

local reasons = bpf.kernel_enum("skb_drop_reason")

print(("%-8s %-7s %-2s %-20s > %-20s %-20s %s"):format("TIME", "PID", "IP", "SADDR:SPORT", "DADDR:DPORT",
  "STATE (FLAGS)", "REASON (CODE)"))
io.stdout:flush()
b["events"]:open_perf_buffer(function(e)
  print(("%-8s %-7d %-2d %-20s > %-20s %-20s %s (%d)"):format(os.date("%H:%M:%S"), e.pid, e.ip,
    bpf.inet_ntop(e.ip, e.saddr) .. ":" .. e.sport, bpf.inet_ntop(e.ip, e.daddr) .. ":" .. e.dport,
    ("%s (%s)"):format(bpf.tcp_state(e.state), bpf.tcp_flags(e.tcpflags)),
    (reasons[e.drop_reason] or "UNKNOWN"):gsub("^SKB_DROP_REASON_", ""), e.drop_reason))
  for _, addr in ipairs(b["stack_traces"]:walk(e.stack_id)) do
    local name, offset = bpf.ksym(addr)
    print(("\t%s+0x%x"):format(name, offset or 0))
  end
  print()
  io.stdout:flush()
end)
b:run { duration = opts.seconds }
