-- Open/close cycles of a cached program: what a long-running script that
-- loads and drops objects leaks, in file descriptors and resident memory.
-- Measurements, not tests.
local bpf = require "bpf"

local N = 10000
local function rss_kb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) end
  end
end

local self = io.open("/proc/self/stat")
local pid = self:read("l"):match("^%d+")
self:close()
local function fds()
  local p, n = io.popen("ls /proc/" .. pid .. "/fd"), 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n - 1 -- the directory listing's own pipe
end

local src = [[
BPF_HASH(counts, u32);
SEC("tp/syscalls/sys_enter_getpid") int p(void *c) { u32 k = 0; counts.increment(k); return 0; }
]]
local function cycle(i)
  local b = bpf.new(src, { autoattach = false })
  b.maps.counts[1] = i
  b:close()
end

cycle(0) -- compiles once; every later cycle is a cache hit
local rows, t0 = {}, bpf.ktime_ns()
for i = 1, N do
  cycle(i)
  if i == N // 10 or i == N then
    collectgarbage()
    collectgarbage()
    rows[#rows + 1] = ("  after %5d cycles: %d fds, RSS %d kB"):format(i, fds(), rss_kb())
  end
end
print(("bpf.new + map write + close of a cached program, %d times: %.2f s (%.0f us each)"):format(N,
  (bpf.ktime_ns() - t0) / 1e9, (bpf.ktime_ns() - t0) / 1e3 / N))
for _, r in ipairs(rows) do print(r) end
print("  target (issue 11): fds and RSS flat")
