-- The tools built on bpf.tool, warm from the cache: launch to first output
-- (the "Tracing..." line, printed once attached) and the RSS of the running
-- tool, the slowest five first. Measurements, not tests; arg[1] is the
-- build dir.
local bpf = require "bpf"
local launch = require "launch"

local BUILD = arg[1] or "build"
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

local rows = {}
for _, tool in ipairs(tools) do
  rows[#rows + 1] = launch.measure(tool, ("%s/luabpf scripts/%s.lua %s"):format(BUILD, tool, ARGS[tool] or "-d 1"))
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
  local r = launch.measure("bpftrace", "bpftrace -e 'BEGIN { printf(\"Tracing\\n\"); } tracepoint:syscalls:sys_enter_openat "
    .. "{ printf(\"%d %s\\n\", pid, str(args->filename)); } interval:s:1 { exit(); }'", "Tracing\n")
  print(("peer: bpftrace, an opensnoop one-liner, launch to BEGIN's line: %s  RSS %.1f MB"):format(r.summary,
    r.rss / 1024))
else
  print("peer: bpftrace is not installed (make bench-deps installs it)")
end
