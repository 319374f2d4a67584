-- BCC dialect figures: what the rewrite adds to a compile, and the cost of
-- symbols (kallsyms load, ksym and usym lookups). Measurements, not tests.
local bpf = require "bpf"

local BCC = [[
BPF_HASH(counts, u32);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
	counts.increment(bpf_get_current_pid_tgid() >> 32);
	return 0;
}
]]
local PLAIN = require "count_openat"

local best = require "best_of"

local function row(what, v, unit) print(("%-52s %10.4f %s"):format(what, v, unit)) end

print(("%-52s %10s"):format("BCC dialect (best of 5; compiles bypass the cache)", "value"))
row("compile, BCC dialect (rewrite + tracefs format)", best(function() bpf.compile(BCC) end, 5), "s")
row("compile, the same count in plain libbpf C", best(function() bpf.compile(PLAIN) end, 5), "s")

local t0 = bpf.ktime_ns()
local addr = bpf.ksymaddr("vfs_read")
row("load /proc/kallsyms (first bpf.ksym)", (bpf.ktime_ns() - t0) / 1e9, "s")
local n = 200000
t0 = bpf.ktime_ns()
for i = 1, n do bpf.ksym(addr + (i % 64)) end
row("bpf.ksym lookups", n / ((bpf.ktime_ns() - t0) / 1e9) / 1e6, "M/s")

local child = io.popen("exec sh -c 'echo $$; exec build/tests/busy 2'")
local pid = tonumber(child:read("l"))
bpf.sleep(0.05)
local base
for line in io.lines("/proc/" .. pid .. "/maps") do
  local s = line:match("^(%x+)%-%x+ r%-xp")
  if s and line:find("/busy$") then base = tonumber(s, 16) end
end
t0 = bpf.ktime_ns()
bpf.usym(base, pid)
row("bpf.usym first lookup (maps + ELF symbols)", (bpf.ktime_ns() - t0) / 1e9, "s")
t0 = bpf.ktime_ns()
for i = 1, n do bpf.usym(base + (i % 512), pid) end
row("bpf.usym lookups, cached", n / ((bpf.ktime_ns() - t0) / 1e9) / 1e6, "M/s")
child:close()
