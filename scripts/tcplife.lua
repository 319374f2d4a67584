#!/usr/bin/env luabpf
-- tcplife: each TCP session when it closes, with its process, addresses,
-- bytes each way and duration, as BCC's tcplife prints it; BCC-style C
-- (kernel headers, implicit reads through the socket pointer, TRACEPOINT_PROBE).
-- usage: luabpf scripts/tcplife.lua [-p PID] [seconds]
local bpf = require "bpf"

local pid, seconds = 0, nil
local i = 1
while arg[i] do
  if arg[i] == "-p" then
    pid = math.tointeger(tonumber(arg[i + 1])) or error("tcplife: -p takes a process id")
    i = i + 2
  else
    seconds = tonumber(arg[i]) or error("tcplife: seconds must be a number")
    i = i + 1
  end
end

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <net/sock.h>
#include <linux/tcp.h>

const volatile u32 target_tgid = 0;
struct ident { u32 pid; char comm[TASK_COMM_LEN]; };
struct session_t {
	u64 span_us;
	u64 rx_b;
	u64 tx_b;
	u32 pid;
	u16 family;
	u16 lport;
	u16 dport;
	u8 saddr[16];
	u8 daddr[16];
	char task[TASK_COMM_LEN];
};
BPF_HASH(birth, struct sock *, u64);
BPF_HASH(whoami, struct sock *, struct ident);
BPF_PERF_OUTPUT(sessions);

TRACEPOINT_PROBE(sock, inet_sock_set_state)
{
	if (args->protocol != IPPROTO_TCP)
		return 0;
	struct sock *sk = (struct sock *)args->skaddr;
	/* A session starts when it leaves CLOSE; its owner is who connects or closes last. */
	if (args->newstate < TCP_FIN_WAIT1) {
		u64 ts = bpf_ktime_get_ns();
		birth.update(&sk, &ts);
	}
	if (args->newstate == TCP_SYN_SENT || args->newstate == TCP_LAST_ACK) {
		struct ident me = { .pid = bpf_get_current_pid_tgid() >> 32 };
		bpf_get_current_comm(&me.comm, sizeof(me.comm));
		whoami.update(&sk, &me);
	}
	if (args->newstate != TCP_CLOSE)
		return 0;
	u64 *tsp = birth.lookup(&sk);
	struct ident *who = whoami.lookup(&sk);
	if (!tsp) {
		whoami.delete(&sk);
		return 0;
	}
	struct session_t s = { .span_us = (bpf_ktime_get_ns() - *tsp) / 1000 };
	birth.delete(&sk);
	s.pid = who ? who->pid : bpf_get_current_pid_tgid() >> 32;
	if (target_tgid && s.pid != target_tgid) {
		whoami.delete(&sk);
		return 0;
	}
	struct tcp_sock *tp = (struct tcp_sock *)sk;
	s.rx_b = tp->bytes_received;
	s.tx_b = tp->bytes_acked;
	s.family = args->family;
	s.lport = args->sport;
	s.dport = args->dport;
	if (args->family == AF_INET) {
		__builtin_memcpy(s.saddr, args->saddr, 4);
		__builtin_memcpy(s.daddr, args->daddr, 4);
	} else {
		__builtin_memcpy(s.saddr, args->saddr_v6, 16);
		__builtin_memcpy(s.daddr, args->daddr_v6, 16);
	}
	if (who)
		__builtin_memcpy(s.task, who->comm, sizeof(s.task));
	else
		bpf_get_current_comm(&s.task, sizeof(s.task));
	sessions.perf_submit(args, &s, sizeof(s));
	whoami.delete(&sk);
	return 0;
}
]], { rodata = { target_tgid = pid } })

print(("%-7s %-12s %-15s %-5s %-15s %-5s %5s %5s %s"):format("PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT",
  "TX_KB", "RX_KB", "MS"))
io.stdout:flush()
b["sessions"]:open_perf_buffer(function(s)
  print(("%-7d %-12.12s %-15s %-5d %-15s %-5d %5d %5d %.2f"):format(s.pid, s.task, bpf.inet_ntop(s.family, s.saddr),
    s.lport, bpf.inet_ntop(s.family, s.daddr), s.dport, s.tx_b // 1024, s.rx_b // 1024, s.span_us / 1000))
  io.stdout:flush()
end)
-- Until Ctrl-C, or for the seconds given.
b:run { duration = seconds }
