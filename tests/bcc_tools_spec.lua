-- BCC's tracepoint tools ported to Lua line by line (scripts/exitsnoop.lua,
-- scripts/runqlat.lua, ...), run as a user runs them, against workloads whose
-- exits, sleeps and lost packets the tests make themselves.
local h = require "helper"
local bpf = require "bpf"

-- Starts a tool (on one CPU if cpu is given); returns its output pipe once
-- its first line (printed after it has attached) is read.
local function start_tool(cmd, cpu)
  local p = io.popen((cpu and "taskset -c " .. cpu .. " " or "") .. h.luabpf .. " " .. cmd .. " 2>&1")
  local first = p:read("l")
  return p, first
end


-- Of pipe_wake 20's 21 waits (the signal, then 20 reads), a read finds its
-- byte already there, and does not wait, when a busy VM delays the waiter
-- past the waker's next write; CI has seen one such read in a run.
local MIN_WAITS = 19

-- Runs the pipe_wake fixture (a "waiter" blocked N times for MS ms on a pipe
-- its child "waker" writes) under a tool given "-p PID", starting it once the
-- tool is ready; returns the tool's first line, the rest of its output, and the pid.
local function tool_over_pipe_wake(script, args, n, ms)
  -- The fixture on one CPU, so each wakeup runs in the waker (not queued to
  -- an idle CPU); the tool on the other, so its own work does not preempt it.
  local fixture = io.popen("taskset -c 0 " .. h.fixture("pipe_wake") .. " " .. (n or 3) .. " " .. (ms or 100))
  local pid = fixture:read("l")
  local p, first = start_tool(h.root .. "/scripts/" .. script .. " -p " .. pid .. " " .. args, 1)
  h.run("kill -USR1 " .. pid)
  local out = p:read("a")
  p:close()
  h.run("kill -USR1 " .. pid)
  fixture:close()
  return first, out, pid
end

-- Runs the tcp_pair fixture on a fixed server port while lo loses its first
-- data segment (see h.lossy_loopback); returns pid, client and server port.
local function lossy_session(direction)
  local port = 20000 + h.getpid() % 10000
  local lossy = h.lossy_loopback(port, direction)
  local out, code = h.run(h.fixture("tcp_pair") .. " 10240 3072 " .. port)
  assert.are.equal(1, lossy.close())
  assert.are.equal(0, code, out)
  local pid, cport, sport = out:match("^(%d+) (%d+) (%d+)")
  assert.are.equal(tostring(port), sport)
  return pid, cport, sport
end

-- Runs a tool across a lossy session; returns its first line, the rest of its
-- output, and the session's pid, client and server port.
local function tool_over_lossy_session(cmd, direction)
  local p, first = start_tool(cmd)
  local pid, cport, sport = lossy_session(direction)
  local out = p:read("a")
  p:close()
  return first, out, pid, cport, sport
end

-- The lines of out that mention both ports.
local function lines_with(out, cport, sport)
  local found = {}
  for line in out:gmatch("[^\n]+") do
    if line:find(":" .. cport .. "%f[%D]") and line:find(":" .. sport .. "%f[%D]")
      or line:find("/" .. cport .. "%f[%D]") and line:find("/" .. sport .. "%f[%D]") then
      found[#found + 1] = line
    end
  end
  return found
end

describe("BCC tools ported to luabpf", function()
  it("exitsnoop prints each exit with its parent and status", function()
    local p, first = start_tool(h.root .. "/scripts/exitsnoop.lua -d 2")
    assert.are.equal("Tracing process exits... Hit Ctrl-C to end.", first)
    assert.are.equal("PCOMM            PID     PPID    TID     AGE(s)  EXIT_CODE", p:read("l"))
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

  -- The waiter wakes 21 times: the signal that starts it, then 20 writes (its
  -- child has usually exited by the time it waits for it). Each wakeup is one
  -- run queue wait; a preemption while running adds one more, so a few extra
  -- may show.
  it("cpudist -O -m -p PID puts each of a process's 20 sleeps of 20 ms in the 16 -> 31 ms line", function()
    local first, out = tool_over_pipe_wake("cpudist.lua", "-O -m 3 1", 20, 20)
    assert.are.equal("Tracing off-CPU time... Hit Ctrl-C to end.", first)
    assert.matches("     msecs               : count     distribution\n", out, 1, true)
    local n = tonumber(out:match("\n +16 %-> 31 +: (%d+)"))
    assert.is_true(n and n >= 20 and n <= 22, out)
  end)

  it("runqlat -p PID counts a process's wakeups in a log2 histogram of microseconds", function()
    local first, out = tool_over_pipe_wake("runqlat.lua", "3 1", 20, 20)
    assert.are.equal("Tracing run queue latency... Hit Ctrl-C to end.", first)
    assert.matches("     usecs               : count     distribution\n", out, 1, true)
    local total = 0
    for lo, hi, n in out:gmatch("\n%s+(%d+) %-> (%d+)%s+: (%d+)") do
      assert.is_true(tonumber(hi) == 2 * tonumber(lo) - 1 or (lo == "0" and hi == "1"), out)
      total = total + tonumber(n)
    end
    assert.is_true(total >= MIN_WAITS and total <= 25, "expected 21 wakeups, got " .. total .. ":\n" .. out)

    first, out = tool_over_pipe_wake("runqlat.lua", "-m 3 1 --json", 20, 20)
    assert.are.equal("Tracing run queue latency... Hit Ctrl-C to end.", first)
    local hist = require("dkjson").decode(out)
    assert.are.same({ "msecs", "msecs" }, { hist.hist, hist.unit })
    total = 0
    for _, bucket in ipairs(hist.buckets) do total = total + bucket.count end
    assert.is_true(total >= MIN_WAITS and total <= 25, "expected 21 wakeups, got " .. total .. ":\n" .. out)
    assert.is_true(hist.buckets[1].count >= 1, out) -- waits under a millisecond: bucket 0 -> 1
  end)

  it("runqslower -p PID -P prints each of a process's run queue waits over the threshold", function()
    local first, out, pid = tool_over_pipe_wake("runqslower.lua", "-P 0 -d 3", 20, 20)
    assert.are.equal("Tracing run queue latency higher than 0 us", first)
    local header, rest = out:match("^([^\n]*)\n(.*)$")
    assert.are.equal("TIME     COMM             TID           LAT(us) PREV COMM        PREV TID", header)
    local waits = 0
    for line in rest:gmatch("[^\n]+") do
      local comm, tid = line:match("^%d%d:%d%d:%d%d (%S+)%s+(%d+)%s+%d+ ")
      -- It names itself "waiter" once the signal has woken it.
      assert.are.same({ waits == 0 and "pipe_wake" or "waiter", pid }, { comm, tid }, line)
      waits = waits + 1
    end
    assert.is_true(waits >= MIN_WAITS and waits <= 25, "expected 21 waits, got " .. waits .. ":\n" .. out)
  end)

  it("tcplife prints both ends of a loopback session with their bytes each way", function()
    local p, first = start_tool(h.root .. "/scripts/tcplife.lua -d 2")
    assert.are.equal("Tracing TCP sessions... Hit Ctrl-C to end.", first)
    assert.are.equal("PID     COMM         LADDR           LPORT RADDR           RPORT TX_KB RX_KB MS", p:read("l"))
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

  it("tcpretrans prints the one retransmission a lost segment causes, and -c counts it per flow", function()
    local p, first = start_tool(h.root .. "/scripts/tcpretrans.lua -s -d 3")
    assert.are.equal("Tracing retransmits ... Hit Ctrl-C to end", first)
    assert.are.equal("TIME     PID     IP LADDR:LPORT          T> RADDR:RPORT          STATE        SEQ",
      p:read("l"))
    local c, cfirst = start_tool(h.root .. "/scripts/tcpretrans.lua -c -d 3")
    assert.are.equal("Tracing retransmits ... Hit Ctrl-C to end", cfirst)
    local _, cport, sport = lossy_session("ingress")
    local events = lines_with(p:read("a"), cport, sport)
    p:close()
    local counted = lines_with(c:read("a"), cport, sport)
    c:close()
    assert.are.equal(1, #events, table.concat(events, "\n"))
    assert.matches("^%d%d:%d%d:%d%d %d+%s+4  127%.0%.0%.1:" .. cport .. "%s+R> 127%.0%.0%.1:" .. sport
      .. "%s+ESTABLISHED%s+%d+$", events[1])
    assert.are.same({ ("%-25s %-25s %10d"):format("127.0.0.1:" .. cport, "127.0.0.1:" .. sport, 1) }, counted)
  end)

  it("tcpcong shows the lost segment's one congestion state change (cwr) on the sender's flow", function()
    local first, out, _, cport, sport = tool_over_lossy_session(h.root .. "/scripts/tcpcong.lua -u 3 1", "ingress")
    assert.are.equal("Tracing tcp congestion control status duration... Hit Ctrl-C to end.", first)
    assert.matches("LAddrPort             RAddrPort             Open_us Dod_us Rcov_us Cwr_us  Los_us Chgs", out, 1, true)
    local rows = lines_with(out, cport, sport)
    assert.are.equal(1, #rows, out)
    local f = {}
    for w in rows[1]:gmatch("%S+") do f[#f + 1] = w end
    assert.are.same({ "127.0.0.1/" .. cport, "127.0.0.1/" .. sport, "0", "0", "0", "0", "1" },
      { f[1], f[2], f[3], f[4], f[5], f[7], f[8] })
    assert.is_true(tonumber(f[6]) >= 0)
  end)

  it("tcpdrop names a dropped segment's flow, flags, reason (from the kernel's enum) and kernel stack", function()
    local first, out, pid, cport, sport = tool_over_lossy_session(h.root .. "/scripts/tcpdrop.lua 3", "egress")
    assert.are.equal("TIME     PID     IP SADDR:SPORT          > DADDR:DPORT          STATE (FLAGS)        REASON (CODE)", first)
    local code
    for value, name in pairs(bpf.kernel_enum("skb_drop_reason")) do
      if name == "SKB_DROP_REASON_TC_EGRESS" then code = value end
    end
    local events = lines_with(out, cport, sport)
    assert.are.same({ ("%s %-7s %-2d %-20s > %-20s %-20s TC_EGRESS (%d)"):format(events[1] and events[1]:sub(1, 8) or "",
      pid, 4, "127.0.0.1:" .. cport, "127.0.0.1:" .. sport, "ESTABLISHED (PSH|ACK)", code) }, events)
    local stack = out:match("TC_EGRESS %(%d+%)\n(.-)\n\n")
    assert.matches("\t__tcp_transmit_skb%+0x%x+\n", stack)
    assert.matches("\ttcp_sendmsg%+0x%x+\n", stack)
  end)

  it("runqlen -C shows the run queue of a CPU that three spinning processes share", function()
    local spin = io.popen("for i in 1 2 3; do taskset -c 1 " .. h.fixture("busy") .. " 3 & done; wait")
    local out = h.run(h.luabpf .. " " .. h.root .. "/scripts/runqlen.lua -C 2 1")
    spin:close()
    assert.matches("^Sampling run queue length... Hit Ctrl%-C to end.\n", out)
    local cpu1 = out:match("\ncpu = 1\n     runqlen       : count     distribution\n(.-)\n\n") or out:match("\ncpu = 1\n.-\n(.*)$")
    assert.is_truthy(cpu1, out)
    local counts, total = {}, 0
    for len, n in cpu1:gmatch("%s+(%d+)%s+: (%d+)") do
      counts[tonumber(len)] = tonumber(n)
      total = total + tonumber(n)
    end
    -- 99 samples a second for 2 s; one spinner runs, two wait.
    assert.is_true(total >= 150 and total <= 200, out)
    assert.is_true((counts[2] or 0) >= 0.9 * total, out)
  end)

  it("cpuunclaimed sees one CPU idle while the other has two tasks waiting", function()
    local spin = io.popen("for i in 1 2 3; do taskset -c 1 " .. h.fixture("busy") .. " 4 & done; wait")
    local out = h.run(h.luabpf .. " " .. h.root .. "/scripts/cpuunclaimed.lua 1 3")
    spin:close()
    local lines = {}
    for util, unclaimed in out:gmatch("%%CPU%s+([%d.]+)%%, unclaimed idle ([%d.]+)%%") do
      lines[#lines + 1] = { tonumber(util), tonumber(unclaimed) }
    end
    assert.are.equal(3, #lines, out)
    -- Two CPUs: the spinners' one busy, the other idle but for this test and
    -- whatever else the machine does, which may take one second of three.
    local near = 0
    for _, l in ipairs(lines) do
      if math.abs(l[1] - 50) <= 10 and math.abs(l[2] - 50) <= 10 then near = near + 1 end
    end
    assert.is_true(near >= 2, out)
  end)

  -- The waiter's three blocks add up to 300 ms (in one entry or several: a
  -- preemption of the waker can split one).
  local function assert_blocked_300ms(out, stack_part)
    local us = 0
    for entry in (out .. "\n\n"):gmatch("(.-)\n\n") do
      if entry:find("    target:          waiter", 1, true) and entry:find(stack_part, 1, true) then
        us = us + tonumber(entry:match("(%d+)$"))
      end
    end
    assert.is_true(us >= 300000 and us < 400000, "expected 3 x 100 ms, got " .. us .. " us:\n" .. out)
  end

  it("offwaketime prints the waiter's blocked stacks under its waker's, with the time blocked", function()
    local first, out = tool_over_pipe_wake("offwaketime.lua", "2")
    assert.are.equal("Tracing blocked time (us) by user + kernel off-CPU and waker stack for 2 secs.", first)
    local entry
    for e in (out .. "\n\n"):gmatch("(.-)\n\n") do
      if e:find("    waker:           waker ", 1, true) and e:find("\n    anon_pipe_read\n", 1, true) then entry = e end
    end
    assert.is_truthy(entry, out)
    -- The waker's stacks outermost first (user, unknown once it exited, then
    -- kernel), "--", then the waiter's innermost first (kernel, then user).
    assert.matches("\n    do_syscall_64\n    ksys_write\n    vfs_write\n    anon_pipe_write\n.-\n    try_to_wake_up\n"
      .. "    ttwu_do_activate\n    %-%-               %-%-\n    __schedule\n    schedule\n    anon_pipe_read\n"
      .. "    vfs_read\n    ksys_read\n    do_syscall_64\n    entry_SYSCALL_64_after_hwframe\n    __read\n", entry)
    assert_blocked_300ms(out, "\n    anon_pipe_read\n")
  end)

  it("wakeuptime prints the waker's kernel stack over the time the waiter was blocked", function()
    local first, out = tool_over_pipe_wake("wakeuptime.lua", "2")
    assert.are.equal("Tracing blocked time (us) by kernel stack for 2 secs.", first)
    local entry = out:match("    target:          waiter\n(    ttwu_do_activate\n.-anon_pipe_write\n.-)\n\n")
    assert.is_truthy(entry, out)
    assert_blocked_300ms(out, "")
    assert.matches("\nDetaching...\n$", out)
  end)
end)
