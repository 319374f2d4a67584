-- The tools built on bpf.tool, warm from the cache: launch to first output
-- (the "Tracing..." line, printed once attached) and the RSS of the running
-- tool, the slowest five first. Measurements, not tests; arg[1] is the
-- build dir.
local bpf = require "bpf"
local stats = require "stats"

local BUILD = arg[1] or "build"
local RUNS = 5
-- Each for about a second; the rest take -d 1.
local ARGS = { funccount = "-d 1 't:syscalls:sys_enter_getpid'", profile = "1", runqlat = "1 1", cpudist = "1 1",
  softirqs = "1 1" }

local tools = {}
local p = io.popen("grep -l 'require \"bpf.tool\"' scripts/*.lua")
for path in p:lines() do tools[#tools + 1] = path:match("scripts/(.-)%.lua$") end
p:close()

local function rss_kb(pid)
  local f = io.open("/proc/" .. pid .. "/status")
  if not f then return 0 end
  local kb = f:read("a"):match("VmRSS:%s+(%d+)")
  f:close()
  return tonumber(kb) or 0
end

-- One run: the tool in the background, its stderr polled for its first line.
local function run(tool)
  local err = os.tmpname()
  local t0 = bpf.ktime_ns()
  local h = io.popen(("%s/luabpf scripts/%s.lua %s > /dev/null 2> %s & echo $!"):format(BUILD, tool,
    ARGS[tool] or "-d 1", err))
  local pid = h:read("l")
  h:close()
  local first
  while not first do
    local f = io.open(err)
    local s = f and f:read("a") or ""
    if f then f:close() end
    if s:find("\n") then first = (bpf.ktime_ns() - t0) / 1e9 end
    if bpf.ktime_ns() - t0 > 10e9 then break end
  end
  local kb = rss_kb(pid)
  os.execute("while kill -0 " .. pid .. " 2>/dev/null; do sleep 0.05; done")
  os.remove(err)
  return first or math.huge, kb
end

local rows = {}
for _, tool in ipairs(tools) do
  run(tool) -- fills the cache
  local firsts, rss = {}, 0
  for i = 1, RUNS do
    local s, kb = run(tool)
    firsts[i], rss = s, math.max(rss, kb)
  end
  rows[#rows + 1] = { tool = tool, median = stats.median(firsts), summary = stats.summary(firsts, "%.3f"), rss = rss }
end
table.sort(rows, function(a, b) return a.median > b.median end)
print(("%d tools; launch to first output, s (target < 0.1 s; BCC and bpftrace take 0.3 s or more), "
  .. "and RSS while running (target < 15 MB):"):format(#rows))
for i, r in ipairs(rows) do
  print(("  %-14s %s  RSS %.1f MB%s"):format(r.tool, r.summary, r.rss / 1024, i <= 5 and "  (slowest five)" or ""))
end
