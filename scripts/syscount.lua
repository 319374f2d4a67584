#!/usr/bin/env luabpf
-- syscount: counts system calls per process and per call for a few seconds,
-- then prints the busiest of each. usage: luabpf scripts/syscount.lua [seconds] [top]
local bpf = require "bpf"

local seconds = tonumber(arg[1]) or 3
local top = tonumber(arg[2]) or 15

local b <close> = bpf.new([[
BPF_HASH(counts, u32);   // system calls per process (tgid)
BPF_HASH(calls, u32);    // per system call number

TRACEPOINT_PROBE(raw_syscalls, sys_enter) {
	counts.increment(bpf_get_current_pid_tgid() >> 32);
	calls.increment(args->id);
	return 0;
}
]])

io.write(("Counting system calls for %g s...\n"):format(seconds))
bpf.sleep(seconds)

local rows = {}
for pid, n in pairs(b.maps.counts) do rows[#rows + 1] = { pid = pid, n = n } end
table.sort(rows, function(x, y) return x.n > y.n end)

local function comm(pid)
  local f = io.open("/proc/" .. pid .. "/comm")
  if not f then return "[exited]" end
  local name = f:read("l") or "?"
  f:close()
  return name
end

print(("%8s  %-16s %12s"):format("PID", "COMM", "SYSCALLS"))
for i = 1, math.min(top, #rows) do
  local r = rows[i]
  print(("%8d  %-16s %12d"):format(r.pid, comm(r.pid), r.n))
end

local by_call = {}
for nr, n in pairs(b.maps.calls) do by_call[#by_call + 1] = { name = bpf.syscall_name(nr) or ("#" .. nr), n = n } end
table.sort(by_call, function(x, y) return x.n > y.n end)
print(("\n%-22s %12s"):format("SYSCALL", "COUNT"))
for i = 1, math.min(top, #by_call) do
  print(("%-22s %12d"):format(by_call[i].name, by_call[i].n))
end
