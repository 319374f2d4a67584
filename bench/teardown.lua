-- Teardown with many probes: one program on every syscalls:sys_enter_*
-- tracepoint, then b:close(), which returns when every link is detached.
-- Three runs; the range is printed. Measurements, not tests.
local bpf = require "bpf"

local times, n = {}, 0
for run = 1, 3 do
  local b = bpf.new([[SEC("tp") int any(void *ctx) { return 0; }]], { autoattach = false })
  n = 0
  local t0 = bpf.ktime_ns()
  for _, tp in ipairs(bpf.tracepoints("syscalls:sys_enter_*")) do
    if pcall(b.attach_tracepoint, b, tp, "any") then n = n + 1 end
  end
  local t1 = bpf.ktime_ns()
  b:close()
  times[run] = { (t1 - t0) / 1e6, (bpf.ktime_ns() - t1) / 1e9 }
end
table.sort(times, function(a, b) return a[2] < b[2] end)
print(("%d tracepoint links: attach %.0f-%.0f ms, close %.1f-%.1f s (target: close at most 0.5 s)"):format(n,
  math.min(times[1][1], times[2][1], times[3][1]), math.max(times[1][1], times[2][1], times[3][1]), times[1][2],
  times[3][2]))
