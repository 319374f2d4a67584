#!/usr/bin/env luabpf
-- tcpcong: time each TCP flow spends in each congestion control state (open,
-- disorder, cwr, recovery, loss), as BCC's tcpcong prints it; BCC-style C on
-- the tcp:tcp_cong_state_set tracepoint (implicit reads through the socket).
-- usage: luabpf scripts/tcpcong.lua [-L lo[-hi]] [-R lo[-hi]] [-T] [-d] [-u] [interval [outputs]]
local bpf = require "bpf"

local opts = { rest = {} }
local function port_range(s, flag)
  local lo, hi = s:match("^(%d+)%-(%d+)$")
  if not lo then lo = s:match("^%d+$"); hi = lo end
  if not lo then error("tcpcong: " .. flag .. " takes a port or a range lo-hi, got " .. s) end
  lo, hi = math.tointeger(tonumber(lo)), math.tointeger(tonumber(hi))
  if lo > hi then lo, hi = hi, lo end
  return lo, hi
end
local i = 1
while arg[i] do
  local a = arg[i]
  if a == "-L" then opts.lport_lo, opts.lport_hi = port_range(arg[i + 1] or "", a); i = i + 1
  elseif a == "-R" then opts.rport_lo, opts.rport_hi = port_range(arg[i + 1] or "", a); i = i + 1
  elseif a:match("^%-[Tdu]+$") then
    for c in a:sub(2):gmatch(".") do opts[c] = true end
  else opts.rest[#opts.rest + 1] = tonumber(a) or error("tcpcong: unknown argument " .. a) end
  i = i + 1
end
local interval, outputs = opts.rest[1] or 99999999, opts.rest[2] or 99999999

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <net/sock.h>
#include <bcc/proto.h>
#include <net/tcp.h>
#include <net/inet_connection_sock.h>

const volatile bool filter_lport = false, filter_rport = false, as_dist = false, in_us = false;
const volatile u16 lport_lo = 0, lport_hi = 0, rport_lo = 0, rport_hi = 0;

typedef struct flow_key {
	u8 saddr[16];
	u8 daddr[16];
	u16 lport;
	u16 dport;
	u16 family;
} flow_key_t;

typedef struct data_val {
	u64 open_dura;
	u64 loss_dura;
	u64 disorder_dura;
	u64 recover_dura;
	u64 cwr_dura;
	u64 total_changes;
	u64 last_ts;
	u16 last_cong_stat;
} data_val_t;

typedef struct congest_state_key {
	u32 state;
	u64 slot;
} congest_state_key_t;

BPF_HASH(flow_stat, flow_key_t, data_val_t);
BPF_HISTOGRAM(dist, congest_state_key_t);

TRACEPOINT_PROBE(tcp, tcp_cong_state_set)
{
	const struct sock *sk = (const struct sock *)args->skaddr;
	u16 lport = args->sport, dport = args->dport;
	u8 cong_state = args->cong_state;
	flow_key_t key = {.lport = lport, .dport = dport, .family = sk->__sk_common.skc_family};

	if (filter_lport && (lport < lport_lo || lport > lport_hi))
		return 0;
	if (filter_rport && (dport < rport_lo || dport > rport_hi))
		return 0;
	if (key.family == AF_INET) {
		__builtin_memcpy(key.saddr, args->saddr, 4);
		__builtin_memcpy(key.daddr, args->daddr, 4);
	} else if (key.family == AF_INET6) {
		__builtin_memcpy(key.saddr, args->saddr_v6, 16);
		__builtin_memcpy(key.daddr, args->daddr_v6, 16);
	} else {
		return 0;
	}

	/* States are stored plus one, so that zero means "no state yet". */
	data_val_t *datap = flow_stat.lookup(&key);
	if (!datap) {
		data_val_t data = {.last_ts = bpf_ktime_get_ns(), .last_cong_stat = cong_state + 1};
		flow_stat.update(&key, &data);
		return 0;
	}
	u16 last = datap->last_cong_stat;
	if (cong_state + 1 == last)
		return 0;
	u64 now = bpf_ktime_get_ns();
	u64 ts = (now - datap->last_ts) / 1000;
	datap->last_ts = now;
	datap->last_cong_stat = cong_state + 1;
	if (as_dist) {
		congest_state_key_t key_s = {.state = last - 1};
		if (!in_us)
			ts /= 1000;
		key_s.slot = bpf_log2l(ts);
		dist.atomic_increment(key_s);
		return 0;
	}
	datap->total_changes += 1;
	if (last == TCP_CA_Open + 1)
		datap->open_dura += ts;
	else if (last == TCP_CA_Disorder + 1)
		datap->disorder_dura += ts;
	else if (last == TCP_CA_CWR + 1)
		datap->cwr_dura += ts;
	else if (last == TCP_CA_Recovery + 1)
		datap->recover_dura += ts;
	else if (last == TCP_CA_Loss + 1)
		datap->loss_dura += ts;
	return 0;
}
]], { rodata = {
  filter_lport = opts.lport_lo ~= nil, lport_lo = opts.lport_lo or 0, lport_hi = opts.lport_hi or 0,
  filter_rport = opts.rport_lo ~= nil, rport_lo = opts.rport_lo or 0, rport_hi = opts.rport_hi or 0,
  as_dist = opts.d or false, in_us = opts.u or false,
} })

-- State names as this kernel numbers them (enum tcp_ca_state), "TCP_CA_" dropped.
local ca_states = {}
for value, name in pairs(bpf.kernel_enum("tcp_ca_state")) do ca_states[value] = name:gsub("^TCP_CA_", ""):lower() end
local label = opts.u and "us" or "ms"

local function print_table()
  local rows = b["flow_stat"]:items()
  table.sort(rows, function(x, y) return x[1].lport < y[1].lport end)
  for _, family in ipairs { 2, 10 } do
    local w = family == 2 and 21 or 32
    local header = false
    for _, kv in ipairs(rows) do
      local k, v = kv[1], kv[2]
      if k.family == family and v.total_changes ~= 0 then
        if not header then
          print(("%-" .. w .. "s %-" .. w .. "s %-7s %-6s %-7s %-7s %-6s %-5s"):format(
            family == 2 and "LAddrPort" or "LAddrPort6", family == 2 and "RAddrPort" or "RAddrPort6",
            "Open_" .. label, "Dod_" .. label, "Rcov_" .. label, "Cwr_" .. label, "Los_" .. label, "Chgs"))
          header = true
        end
        local scale = opts.u and 1 or 1000
        print(("%-" .. w .. "s %-" .. w .. "s %-7d %-6d %-7d %-7d %-6d %-5d"):format(
          bpf.inet_ntop(family, k.saddr) .. "/" .. k.lport, bpf.inet_ntop(family, k.daddr) .. "/" .. k.dport,
          v.open_dura // scale, v.disorder_dura // scale, v.recover_dura // scale, v.cwr_dura // scale,
          v.loss_dura // scale, v.total_changes))
      end
    end
  end
end

print("Tracing tcp congestion control status duration... Hit Ctrl-C to end.")
io.stdout:flush()
for _ = 1, outputs do
  local ok, slept = pcall(bpf.sleep, interval)
  local exiting = not ok or slept == false
  print()
  if opts.T then print(os.date("%H:%M:%S")) end
  if opts.d then
    b["dist"]:print_log2_hist(opts.u and "usecs" or "msecs", "tcp_congest_state",
      function(state) return ca_states[state] or tostring(state) end)
    b["dist"]:clear()
  else
    print_table()
  end
  b["flow_stat"]:clear()
  io.stdout:flush()
  if exiting then break end
end
