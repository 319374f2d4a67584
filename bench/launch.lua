-- Launch to first output, and RSS then, of a command run in the background:
-- what bench/tools.lua and bench/bundle.lua measure.
local bpf = require "bpf"
local stats = require "stats"

local M = { RUNS = 5 }

local function rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return 0 end
  local kb = f:read("a"):match("VmRSS:%s+(%d+)")
  f:close()
  return tonumber(kb) or 0
end

-- One run: the command in the background, its stderr (or stdout) polled
-- until it holds the pattern (by default, a first line).
local function run_cmd(cmd, watch)
  local err = os.tmpname()
  local t0 = bpf.ktime_ns()
  local redirect = watch and "> %s 2> /dev/null" or "> /dev/null 2> %s"
  local h = io.popen(("%s " .. redirect .. " & echo $!"):format(cmd, err))
  local pid = h:read("l")
  h:close()
  local first
  while not first do
    local f = io.open(err)
    local s = f and f:read("a") or ""
    if f then f:close() end
    if s:find(watch or "\n") then first = (bpf.ktime_ns() - t0) / 1e9 end
    if bpf.ktime_ns() - t0 > 10e9 then break end
  end
  local kb = rss_kb(pid)
  os.execute("while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.05; done")
  os.remove(err)
  return first or math.huge, kb
end

function M.measure(name, cmd, watch)
  run_cmd(cmd, watch) -- fills the cache
  local firsts, rss = {}, 0
  for i = 1, M.RUNS do
    local s, kb = run_cmd(cmd, watch)
    firsts[i], rss = s, math.max(rss, kb)
  end
  return { tool = name, median = stats.median(firsts), summary = stats.summary(firsts, "%.3f"), rss = rss }
end


return M
