-- The benches' summary of several runs: the median, the range, and how
-- noisy the runs were (the range as a share of the median).
local M = {}

function M.median(xs)
  local s = {}
  for i, x in ipairs(xs) do s[i] = x end
  table.sort(s)
  local n = #s
  return n % 2 == 1 and s[(n + 1) // 2] or (s[n // 2] + s[n // 2 + 1]) / 2
end

-- "12.3 (10.1-15.2, noise 41%)" for values in any unit.
function M.summary(xs, fmt)
  fmt = fmt or "%.1f"
  local lo, hi = math.huge, -math.huge
  for _, x in ipairs(xs) do lo, hi = math.min(lo, x), math.max(hi, x) end
  local m = M.median(xs)
  return (fmt .. " (" .. fmt .. "-" .. fmt .. ", noise %.0f%%, %d runs)"):format(m, lo, hi,
    m > 0 and (hi - lo) / m * 100 or 0, #xs)
end

return M
