-- The benches' timer: the best wall time of n runs of f, in seconds.
local bpf = require "bpf"

return function(f, n)
  local best = math.huge
  for _ = 1, n do
    local t0 = bpf.ktime_ns()
    f()
    best = math.min(best, (bpf.ktime_ns() - t0) / 1e9)
  end
  return best
end
