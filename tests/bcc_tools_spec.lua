-- BCC's tracepoint tools ported to Lua line by line (scripts/exitsnoop.lua,
-- scripts/runqlat.lua), run as a user runs them, against workloads whose
-- exits and sleeps the tests make themselves.
local h = require "helper"

-- Starts a tool; returns its output pipe once its first line (printed after
-- it has attached) is read.
local function start_tool(cmd)
  local p = io.popen(h.luabpf .. " " .. cmd .. " 2>&1")
  local first = p:read("l")
  return p, first
end

-- A process that sleeps 1 s, then wakes 20 times; returns its pipe and pid.
local function start_sleeper()
  local sleeper = io.popen(h.luabpf .. [[ -e 'local f = io.open("/proc/self/stat"); print(f:read("l"):match("^%d+")); f:close(); io.stdout:flush(); bpf.sleep(1); for i = 1, 20 do bpf.sleep(0.02) end']])
  return sleeper, sleeper:read("l")
end

describe("BCC tools ported to luabpf", function()
  it("exitsnoop prints each exit with its parent and status", function()
    local p, header = start_tool(h.root .. "/scripts/exitsnoop.lua 2")
    assert.are.equal("PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE", header)
    local out = h.run("sh -c 'echo $$ $PPID; exit 3'; sh -c 'echo $$ $PPID; kill -9 $$' 2>/dev/null; true")
    local pid1, ppid1, pid2, ppid2 = out:match("^(%d+) (%d+)\n(%d+) (%d+)")
    local rest = p:read("a")
    p:close()
    local lines = {}
    for line in rest:gmatch("[^\n]+") do
      local comm, pid, ppid, tid, age, status = line:match("^(%S+)%s+(%d+)%s+(%d+)%s+(%d+)%s+([%d.]+)%s+(.-)%s*$")
      if pid == pid1 or pid == pid2 then
        lines[#lines + 1] = { comm = comm, pid = pid, ppid = ppid, tid = tid, status = status, age_ok = tonumber(age) < 1 }
      end
    end
    assert.are.same({
      { comm = "sh", pid = pid1, ppid = ppid1, tid = pid1, status = "3", age_ok = true },
      { comm = "sh", pid = pid2, ppid = ppid2, tid = pid2, status = "signal 9 (SIGKILL)", age_ok = true },
    }, lines)
  end)

  it("runqlat -p PID counts a sleeper's wakeups in a log2 histogram of microseconds", function()
    -- The sleeper wakes 20 times; each wakeup is one run queue wait. A
    -- preemption while running adds one more, so a few extra may show.
    local sleeper, pid = start_sleeper()
    local p, first = start_tool(h.root .. "/scripts/runqlat.lua -p " .. pid .. " 2 1")
    assert.are.equal("Tracing run queue latency... Hit Ctrl-C to end.", first)
    sleeper:read("a")
    sleeper:close()
    local out = p:read("a")
    p:close()
    assert.matches("     usecs               : count     distribution\n", out, 1, true)
    local total = 0
    for lo, hi, n in out:gmatch("\n%s+(%d+) %-> (%d+)%s+: (%d+)") do
      assert.is_true(tonumber(hi) == 2 * tonumber(lo) - 1 or (lo == "0" and hi == "1"), out)
      total = total + tonumber(n)
    end
    assert.is_true(total >= 20 and total <= 24, "expected 20 wakeups, got " .. total .. ":\n" .. out)
  end)

  it("runqslower -p PID -P prints each of a sleeper's run queue waits over the threshold", function()
    local sleeper, pid = start_sleeper()
    local p, first = start_tool(h.root .. "/scripts/runqslower.lua -p " .. pid .. " -P 0 2")
    assert.are.equal("Tracing run queue latency higher than 0 us", first)
    assert.are.equal("TIME     COMM             TID           LAT(us) PREV COMM        PREV TID", p:read("l"))
    sleeper:read("a")
    sleeper:close()
    local out = p:read("a")
    p:close()
    local waits = 0
    for line in out:gmatch("[^\n]+") do
      local comm, tid, lat = line:match("^%d%d:%d%d:%d%d (%S+)%s+(%d+)%s+(%d+) ")
      assert.is_truthy(comm, line)
      assert.are.equal(pid, tid, line)
      assert.are.equal("luabpf", comm)
      waits = waits + 1
    end
    -- 20 wakeups, and perhaps a preemption or two while running.
    assert.is_true(waits >= 20 and waits <= 24, "expected 20 waits, got " .. waits .. ":\n" .. out)
  end)

  it("tcplife prints both ends of a loopback session with their bytes each way", function()
    local p, header = start_tool(h.root .. "/scripts/tcplife.lua 2")
    assert.are.equal("PID     COMM         LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS", header)
    local out, code = h.run(h.fixture("tcp_pair") .. " 10240 3072")
    assert.are.equal(0, code, out)
    local pid, cport, sport = out:match("^(%d+) (%d+) (%d+)")
    local rest = p:read("a")
    p:close()
    local sessions = {}
    for line in rest:gmatch("[^\n]+") do
      local f = {}
      for w in line:gmatch("%S+") do f[#f + 1] = w end
      if f[1] == pid then sessions[#sessions + 1] = table.concat(f, " ", 1, 8) end
    end
    assert.are.same({
      pid .. " tcp_pair 127.0.0.1 " .. cport .. " 127.0.0.1 " .. sport .. " 10 3",
      pid .. " tcp_pair 127.0.0.1 " .. sport .. " 127.0.0.1 " .. cport .. " 3 10",
    }, sessions)
  end)
end)
