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
  softirqs = "1 1", hardirqs = "1 1", runqlen = "1 1", biolatency = "1 1", bitesize = "1 1", biopattern = "1 1",
  filetop = "1 1", offcputime = "1", wakeuptime = "1", biosnoop = "--duration 1", funclatency = "-d 1 c:malloc",
  trace = "-d 1 't:syscalls:sys_enter_getpid'" }
-- Tools this kernel cannot run (kprobes), named in the output.
local SKIP = { capable = "needs kprobes" }

local tools, skipped = {}, {}
local p = io.popen("grep -l 'require \"bpf.tool\"' scripts/*.lua")
for path in p:lines() do
  local tool = path:match("scripts/(.-)%.lua$")
  if SKIP[tool] then skipped[#skipped + 1] = tool .. " (" .. SKIP[tool] .. ")" else tools[#tools + 1] = tool end
end
p:close()

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

local function measure(name, cmd, watch)
  run_cmd(cmd, watch) -- fills the cache
  local firsts, rss = {}, 0
  for i = 1, RUNS do
    local s, kb = run_cmd(cmd, watch)
    firsts[i], rss = s, math.max(rss, kb)
  end
  return { tool = name, median = stats.median(firsts), summary = stats.summary(firsts, "%.3f"), rss = rss }
end

local rows = {}
for _, tool in ipairs(tools) do
  rows[#rows + 1] = measure(tool, ("%s/luabpf scripts/%s.lua %s"):format(BUILD, tool, ARGS[tool] or "-d 1"))
end
table.sort(rows, function(a, b) return a.median > b.median end)
print(("%d tools; launch to first output, s (target < 0.1 s; BCC and bpftrace take 0.3 s or more), "
  .. "and RSS while running (target < 15 MB):"):format(#rows))
for i, r in ipairs(rows) do
  print(("  %-14s %s  RSS %.1f MB%s"):format(r.tool, r.summary, r.rss / 1024, i <= 5 and "  (slowest five)" or ""))
end
if #skipped > 0 then print("  not run here: " .. table.concat(skipped, ", ")) end

-- The peer: bpftrace's opensnoop equivalent, whose BEGIN prints once its
-- probes are attached. BCC's tools need kernel headers, which these
-- machines do not have.
if os.execute("command -v bpftrace > /dev/null") then
  local r = measure("bpftrace", "bpftrace -e 'BEGIN { printf(\"Tracing\\n\"); } tracepoint:syscalls:sys_enter_openat "
    .. "{ printf(\"%d %s\\n\", pid, str(args->filename)); } interval:s:1 { exit(); }'", "Tracing\n")
  print(("peer: bpftrace, an opensnoop one-liner, launch to BEGIN's line: %s  RSS %.1f MB"):format(r.summary,
    r.rss / 1024))
else
  print("peer: bpftrace is not installed (make bench-deps installs it)")
end
