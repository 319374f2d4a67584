#!/usr/bin/env luabpf
-- tcplife: each TCP session when it closes, with its process, addresses,
-- bytes each way and duration, as BCC's tcplife prints it; BCC-style C
-- (kernel headers, implicit reads through the socket pointer, TRACEPOINT_PROBE).
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "tcplife",
  summary = "Trace the lifespan of TCP sessions and summarize.",
  examples = {
    "tcplife                  # trace all TCP connect()s",
    "tcplife -T               # include a time column (seconds)",
    "tcplife -w               # wider columns (fit IPv6)",
    "tcplife -p 181           # only trace PID 181",
    "tcplife -L 80            # only trace local port 80",
    "tcplife -L 80,81         # only trace local ports 80 and 81",
    "tcplife -D 80            # only trace remote port 80",
    "tcplife -4 --json        # IPv4 only, as JSON lines",
  },
  options = { "pid", "timestamp", "duration" },
}
local function ports(s)
  local set = {}
  for p in s:gmatch("[^,]+") do
    local n = math.tointeger(tonumber(p))
    if not n or n < 1 or n > 65535 then return nil, "ports are numbers from 1 to 65535, comma separated" end
    set[n] = true
  end
  return set
end
t.parser:flag("-w --wide", "wide column output (fits IPv6 addresses)")
t.parser:option("-L --localport", "comma-separated list of local ports to trace"):convert(ports)
t.parser:option("-D --remoteport", "comma-separated list of remote ports to trace"):convert(ports)
t.parser:mutex(t.parser:flag("-4 --ipv4", "trace IPv4 family only"), t.parser:flag("-6 --ipv6", "trace IPv6 family only"))
local args = t:parse()

local b = t:load([[
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
]], { rodata = { target_tgid = args.pid or 0 } })

local AF_INET, AF_INET6 = 2, 10
local family = args.ipv4 and AF_INET or args.ipv6 and AF_INET6
local aw = args.wide and -39 or -15
t:note("Tracing TCP sessions... Hit Ctrl-C to end.")
t:columns { { "PID", -7, "pid" }, { "COMM", args.wide and -16 or -12, "comm" }, { "LADDR", aw, "laddr" },
  { "LPORT", -5, "lport" }, { "RADDR", aw, "raddr" }, { "RPORT", -5, "rport" }, { "TX_KB", 5, "tx_kb", json = false },
  { "RX_KB", 5, "rx_kb", json = false }, { "", 0, "tx_bytes", json = true }, { "", 0, "rx_bytes", json = true },
  { "MS", 0, "ms" } }
io.stdout:flush()
local start = bpf.ktime_ns()
b["sessions"]:open_perf_buffer(function(s)
  if family and s.family ~= family then return end
  if args.localport and not args.localport[s.lport] then return end
  if args.remoteport and not args.remoteport[s.dport] then return end
  t:row { time = (bpf.ktime_ns() - start) / 1e9, pid = s.pid, comm = args.wide and s.task or s.task:sub(1, 12),
    laddr = bpf.inet_ntop(s.family, s.saddr), lport = s.lport, raddr = bpf.inet_ntop(s.family, s.daddr),
    rport = s.dport, tx_kb = s.tx_b // 1024, rx_kb = s.rx_b // 1024, tx_bytes = s.tx_b, rx_bytes = s.rx_b,
    ms = t.json and s.span_us / 1000 or ("%.2f"):format(s.span_us / 1000) }
  io.stdout:flush()
end)
t:run(b)
t:close()
