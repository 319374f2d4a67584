-- Teardown with many probes: one program on every syscalls:sys_enter_*
-- tracepoint, then b:close(), which returns once the program has stopped
-- (its gate closed; the kernel's own teardown goes on in a reaper process).
-- Beside it bpftrace's exit with the same probes, and the exit of a
-- one-probe script after its last event. Measurements, not tests; arg[1] is
-- the build dir.
local bpf = require "bpf"
local stats = require "stats"

local BUILD = arg[1] or "build"
local SRC = [[SEC("tp") int any(void *ctx) { return 0; }]]

local function glob_run()
  local b = bpf.new(SRC, { autoattach = false })
  local t0 = bpf.ktime_ns()
  b:attach_tracepoint("syscalls:sys_enter_*", "any")
  local t1 = bpf.ktime_ns()
  b:close()
  return (t1 - t0) / 1e6, (bpf.ktime_ns() - t1) / 1e6
end

local function one_by_one_run()
  local b = bpf.new(SRC, { autoattach = false })
  local n, t0 = 0, bpf.ktime_ns()
  for _, tp in ipairs(bpf.tracepoints("syscalls:sys_enter_*")) do
    if pcall(b.attach_tracepoint, b, tp, "any") then n = n + 1 end
  end
  local t1 = bpf.ktime_ns()
  b:close()
  return (t1 - t0) / 1e6, (bpf.ktime_ns() - t1) / 1e6, n
end

local function series(f, runs)
  local attach, close, n = {}, {}, nil
  for i = 1, runs do attach[i], close[i], n = f() end
  return stats.summary(attach), stats.summary(close), n
end

local n = #bpf.tracepoints("syscalls:sys_enter_*")
local ga, gc = series(glob_run, 7)
print(("%d tracepoints as one glob link: attach %s ms, close %s ms (target: close <= 500 ms)"):format(n,
  ga, gc))
local oa, oc, got = series(one_by_one_run, 3)
print(("%d tracepoints attached one by one: attach %s ms, close %s ms"):format(got, oa, oc))

-- Exit of a whole process after its last event: the script notes the time
-- when its body ends, the bench when the process is gone.
local script = os.tmpname()
local stamp = os.tmpname()
local f = assert(io.open(script, "w"))
f:write(([=[
local b = bpf.new(%q)
io.open(%q, "w"):write(bpf.ktime_ns()):close()
]=]):format([[
SEC("tracepoint/syscalls/sys_enter_openat") int count_openat(void *ctx) { return 0; }
]], stamp))
f:close()
local exits = {}
for i = 1, 7 do
  os.execute(BUILD .. "/luabpf " .. script)
  local gone = bpf.ktime_ns()
  exits[i] = (gone - tonumber(io.open(stamp):read("a"))) / 1e6
end
print(("one-probe script, exit after its last event: %s ms (target: <= 20 ms)"):format(stats.summary(exits)))

f = assert(io.open(script, "w"))
f:write(("local b = bpf.new(%q, { autoattach = false }) b:attach_tracepoint('syscalls:sys_enter_*', 'any')\n")
  :format(SRC))
f:close()
local whole = {}
for i = 1, 3 do
  local t0 = bpf.ktime_ns()
  os.execute(BUILD .. "/luabpf " .. script)
  whole[i] = (bpf.ktime_ns() - t0) / 1e6
end
print(("whole process, attach to all %d and exit: luabpf %s ms"):format(n, stats.summary(whole)))
if os.execute("command -v bpftrace > /dev/null") then
  local t0 = bpf.ktime_ns()
  os.execute("bpftrace -e 'tracepoint:syscalls:sys_enter_* { } BEGIN { exit(); }' > /dev/null 2>&1")
  print(("whole process, the same in bpftrace (one run): %.0f ms"):format((bpf.ktime_ns() - t0) / 1e6))
end
os.remove(script)
os.remove(stamp)
