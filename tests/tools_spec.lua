-- The tools in scripts/ built on bpf.tool: their help, their filters and
-- their --json lines, against workloads the specs run themselves.
local h = require "helper"

-- Starts a tool in the background; returns a handle whose :finish() waits
-- for it (it ends by -d) and gives its stdout and stderr.
local function start(tool, args)
  local dir = os.tmpname()
  os.remove(dir)
  h.run("mkdir -p " .. dir)
  h.run(("(%s %s/scripts/%s.lua %s > %s/out 2> %s/err; echo $? > %s/rc) > /dev/null 2>&1 &"):format(h.luabpf, h.root, tool, args,
    dir, dir, dir))
  local function read(name)
    local f = io.open(dir .. "/" .. name)
    if not f then return "" end
    local s = f:read("a")
    f:close()
    return s
  end
  for _ = 1, 200 do
    if read("err"):find("Tracing", 1, true) or read("rc") ~= "" then break end
    h.run("sleep 0.05")
  end
  return {
    finish = function()
      for _ = 1, 400 do
        if read("rc") ~= "" then break end
        h.run("sleep 0.05")
      end
      local out, err, rc = read("out"), read("err"), tonumber(read("rc"))
      h.run("rm -rf " .. dir)
      return out, err, rc
    end,
  }
end

local function json_lines(out)
  local json = require "dkjson"
  local rows = {}
  for line in out:gmatch("[^\n]+") do rows[#rows + 1] = assert(json.decode(line), line) end
  return rows
end

describe("tools", function()
  it("every tool built on bpf.tool answers -h with its usage and examples", function()
    for _, tool in ipairs { "opensnoop", "execsnoop", "syscount", "runqlat", "killsnoop", "funccount", "sigsnoop", "bashreadline", "profile", "tcpstates", "cpudist", "softirqs" } do
      local out, code = h.run(("%s %s/scripts/%s.lua -h"):format(h.luabpf, h.root, tool))
      assert.are.equal(0, code, out)
      assert.matches("^Usage: " .. tool .. " %[%-h%]", out)
      assert.matches("\nexamples:\n  " .. tool, out)
      assert.matches("%-%-json", out)
    end
  end)

  it("opensnoop -n sees exactly the opens of the processes so named, failed ones with -x", function()
    local run = start("opensnoop", "-n opener -d 2")
    local pid = h.run(h.fixture("opener") .. " 50 /etc/hostname"):match("%d+")
    local failed = h.run(h.fixture("opener") .. " 3 /nonexistent/x"):match("%d+")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal("    PID COMM               FD ERR PATH", lines[1])
    assert.are.equal(54, #lines, out)
    for i = 2, 51 do assert.matches("^ +" .. pid .. " opener +%d+   0 /etc/hostname$", lines[i]) end
    for i = 52, 54 do assert.matches("^ +" .. failed .. " opener +%-1   2 /nonexistent/x$", lines[i]) end

    run = start("opensnoop", "-n opener -x -T -U --json -d 2")
    h.run(h.fixture("opener") .. " 4 /etc/hostname")
    failed = tonumber(h.run(h.fixture("opener") .. " 2 /nonexistent/y"):match("%d+"))
    out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local rows = json_lines(out)
    assert.are.equal(2, #rows, out)
    for _, r in ipairs(rows) do
      assert.are.same({ pid = failed, comm = "opener", fd = -1, err = 2, path = "/nonexistent/y", uid = 0 },
        { pid = r.pid, comm = r.comm, fd = r.fd, err = r.err, path = r.path, uid = r.uid })
      assert.is_true(r.time > 0 and r.time < 3)
    end
  end)

  it("opensnoop -p follows one process, and a bad argument is named", function()
    local sh = io.popen("sh -c 'echo $$; sleep 1; for i in 1 2 3 4 5 6 7; do : < /etc/hostname; done'")
    local pid = sh:read("l")
    local run = start("opensnoop", "-p " .. pid .. " -d 2 --json")
    sh:close()
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local n = 0
    for _, r in ipairs(json_lines(out)) do
      assert.are.equal(tonumber(pid), r.pid)
      if r.path == "/etc/hostname" then n = n + 1 end
    end
    assert.are.equal(7, n, out)
    local msg, code = h.run(("%s %s/scripts/opensnoop.lua -p abc"):format(h.luabpf, h.root))
    assert.are_not.equal(0, code)
    assert.matches("Error: PID must be a process or thread id", msg, 1, true)
    msg, code = h.run(("%s %s/scripts/opensnoop.lua -n a_name_of_sixteen"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("opensnoop: a process name (comm) has at most 15 characters: a_name_of_sixteen", msg, 1, true)
  end)

  it("execsnoop --json carries each exec's pid, parent and file; -n filters by the command's name", function()
    local run = start("execsnoop", "-n getppid_loop -U --json -d 2")
    local sh_pid = tonumber(h.run("sh -c 'echo $$; exec " .. h.fixture("getppid_loop") .. " 1'"):match("^(%d+)"))
    h.run(h.fixture("opener") .. " 1 /dev/null")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local rows = json_lines(out)
    assert.are.equal(1, #rows, out)
    assert.are.same({ sh_pid, "getppid_loop", 0, h.fixture("getppid_loop") },
      { rows[1].pid, rows[1].comm, rows[1].uid, rows[1].filename })
    assert.is_true(rows[1].ppid > 0)
    assert.matches("1 execs %(duration%)", err)
  end)

  it("syscount counts exactly a process's calls by call, failed ones with -x, by process with -P", function()
    local run = start("syscount", "-n getppid_loop -L --json -d 2")
    h.run(h.fixture("getppid_loop") .. " 777")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local by_call = {}
    for _, r in ipairs(json_lines(out)) do by_call[r.syscall] = r end
    assert.are.equal(777, by_call.getppid.count, out)
    assert.is_true(by_call.getppid.time > 0)

    run = start("syscount", "-n opener -x --json -d 2")
    h.run(h.fixture("opener") .. " 9 /nonexistent/z")
    out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local rows = json_lines(out)
    assert.are.same({ { syscall = "openat", count = 9 } }, rows)

    run = start("syscount", "-n getppid_loop -P -d 2")
    local pid = h.run(h.fixture("getppid_loop") .. " 5"):match("%d+")
    out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    assert.matches("^PID     COMM                  COUNT\n" .. pid .. " +%[exited%] +%d+\n$", out)
  end)

  it("killsnoop sees a process's kill() calls with their signal, target and result; -x the failed only", function()
    local sh = io.popen("sh -c 'echo $$; sleep 1; kill -0 $$; kill -USR2 999999 2>/dev/null; kill -0 $$'")
    local pid = sh:read("l")
    local run = start("killsnoop", "-p " .. pid .. " -d 2")
    local failed = start("killsnoop", "-p " .. pid .. " -x --json -d 2")
    sh:close()
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local p = pid
    assert.are.equal(("    PID COMM              SIG    TPID RESULT\n%7s sh                  0 %7s 0\n"
      .. "%7s sh                 12  999999 -3\n%7s sh                  0 %7s 0\n"):format(p, p, p, p, p), out)
    out, err, rc = failed.finish()
    assert.are.equal(0, rc, err)
    assert.are.same({ { pid = tonumber(pid), comm = "sh", sig = 12, tpid = 999999, result = -3 } }, json_lines(out))
  end)

  it("funccount counts each tracepoint a glob matches, told apart by the event id each link carries", function()
    local run = start("funccount", "-n getppid_loop --json -d 2 't:syscalls:sys_*_getpp*'")
    h.run(h.fixture("getppid_loop") .. " 321")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    assert.are.same({ { func = "syscalls:sys_enter_getppid", count = 321 },
      { func = "syscalls:sys_exit_getppid", count = 321 } }, json_lines(out))
    assert.matches("Tracing 2 tracepoints for \"t:syscalls:sys_*_getpp*\"", err, 1, true)
    local msg, code = h.run(("%s %s/scripts/funccount.lua 'u:c:malloc'"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("funccount: only tracepoints (t:category:event) are counted", msg, 1, true)
  end)

  it("sigsnoop names each signal a process generates with the kernel's result; -x the undelivered only", function()
    local sh = io.popen("sh -c 'echo $$; sleep 1; trap \"\" USR1; kill -USR1 $$; trap : USR2; kill -USR2 $$'")
    local pid = sh:read("l")
    local run = start("sigsnoop", "-p " .. pid .. " -d 2")
    local failed = start("sigsnoop", "-p " .. pid .. " -x --json -d 2")
    sh:close()
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local p = pid
    assert.matches(("^    PID COMM              SIG    TPID TCOMM            RESULT\n%7s sh                 10 %7s sh "
      .. "              ignored\n%7s sh                 12 %7s sh               delivered\n%7s sh                 17 "
      .. " +%%d+ %%S+ +delivered\n$"):format(p, p, p, p, p), out)
    out, err, rc = failed.finish()
    assert.are.equal(0, rc, err)
    assert.are.same({ { pid = tonumber(pid), comm = "sh", sig = 10, tpid = tonumber(pid), tcomm = "sh",
      result = "ignored" } }, json_lines(out))
  end)

  it("bashreadline prints the commands an interactive bash reads, from a uretprobe on readline()", function()
    local run = start("bashreadline", "--json -d 3")
    local steps = os.tmpname()
    local f = io.open(steps, "w")
    f:write("send echo hello_luabpf\\n\nexpect hello_luabpf\nsend exit\\n\nexit 0\n")
    f:close()
    local drive, code = h.run(h.fixture("ptydrive") .. " bash --norc --noprofile -i < " .. steps)
    os.remove(steps)
    assert.are.equal(0, code, drive)
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local typed = {}
    for _, r in ipairs(json_lines(out)) do typed[#typed + 1] = r.command end
    assert.are.same({ "echo hello_luabpf", "exit" }, typed)
    local msg, status = h.run(("%s %s/scripts/bashreadline.lua -s /nonexistent"):format(h.luabpf, h.root))
    assert.are.equal(1, status)
    assert.matches("bashreadline: uprobe: cannot read /nonexistent: No such file or directory", msg, 1, true)
  end)

  it("tcpstates follows both ends of a loopback session through every state, filtered by port", function()
    local port = 20000 + (h.getpid() + 7) % 10000
    local server = start("tcpstates", "-L " .. port .. " --json -d 2")
    local client = start("tcpstates", "-D " .. port .. " -d 2")
    local out, code = h.run(h.fixture("tcp_pair") .. " 1000 100 " .. port)
    assert.are.equal(0, code, out)
    local cport = tonumber(out:match("^%d+ (%d+)"))
    local err, rc
    out, err, rc = server.finish()
    assert.are.equal(0, rc, err)
    local rows = json_lines(out)
    local by_sock, order = {}, {}
    for _, r in ipairs(rows) do
      if not by_sock[r.skaddr] then by_sock[r.skaddr], order[#order + 1] = {}, r.skaddr end
      table.insert(by_sock[r.skaddr], r.oldstate .. ">" .. r.newstate)
      assert.are.same({ "127.0.0.1", port }, { r.laddr, r.lport })
    end
    assert.are.same({ "CLOSE>LISTEN", "LISTEN>CLOSE" }, by_sock[order[1]])
    assert.are.same({ "LISTEN>SYN_RECV", "SYN_RECV>ESTABLISHED", "ESTABLISHED>CLOSE_WAIT", "CLOSE_WAIT>LAST_ACK",
      "LAST_ACK>CLOSE" }, by_sock[order[2]])
    out, err, rc = client.finish()
    assert.are.equal(0, rc, err)
    local states = {}
    for old, new in out:gmatch("(%u[%u_%d]+) +(%u[%u_%d]+) +[%d.]+\n") do states[#states + 1] = old .. ">" .. new end
    assert.are.same({ "CLOSE>SYN_SENT", "SYN_SENT>ESTABLISHED", "ESTABLISHED>FIN_WAIT1", "FIN_WAIT1>FIN_WAIT2",
      "FIN_WAIT2>CLOSE" }, states, out)
    assert.matches(" 127%.0%.0%.1 +" .. cport .. " 127%.0%.0%.1 +" .. port .. " SYN_SENT +ESTABLISHED ", out)
  end)

  it("softirqs sees the net_rx softirqs of a loopback transfer, as totals and as histograms", function()
    local totals = start("softirqs", "2 1 --json")
    local dists = start("softirqs", "-d 2 1 --json")
    local out, code = h.run(h.fixture("tcp_pair") .. " 4000000 1000")
    assert.are.equal(0, code, out)
    local err, rc
    out, err, rc = totals.finish()
    assert.are.equal(0, rc, err)
    local net_rx
    for _, r in ipairs(json_lines(out)) do
      if r.softirq == "net_rx" then net_rx = r end
    end
    assert.is_truthy(net_rx, out)
    assert.is_true(net_rx.count >= 1 and net_rx.total >= 0, out)
    out, err, rc = dists.finish()
    assert.are.equal(0, rc, err)
    local seen = 0
    for _, r in ipairs(json_lines(out)) do
      if r.softirq == "net_rx" then
        for _, bucket in ipairs(r.buckets) do seen = seen + bucket.count end
      end
    end
    assert.is_true(seen >= 1, out)
  end)

  it("make install puts each tool in bin as luabpf-NAME, with a man page from its help", function()
    local dest = os.tmpname()
    os.remove(dest)
    local out, code = h.run(("make -s -C %s install DESTDIR=%s PREFIX=/usr"):format(h.root, dest))
    assert.are.equal(0, code, out)
    for _, tool in ipairs { "opensnoop", "execsnoop", "syscount", "runqlat", "killsnoop", "funccount", "sigsnoop", "bashreadline", "profile", "tcpstates", "cpudist", "softirqs" } do
      local help, rc = h.run(("PATH=%s/usr/bin:$PATH luabpf-%s -h"):format(dest, tool))
      assert.are.equal(0, rc, help)
      assert.matches("^Usage: " .. tool, help)
      local man = io.open(("%s/usr/share/man/man8/luabpf-%s.8"):format(dest, tool)):read("a")
      assert.matches("^%.TH LUABPF%-" .. tool:upper() .. " 8 ", man)
      assert.matches("\n%.SH NAME\nluabpf%-" .. tool .. " \\%- ", man)
      assert.matches("\n%.SH EXAMPLES\n%.nf\n +" .. tool, man)
    end
    h.run("rm -rf " .. dest)
  end)

  it("a tool whose stdout closes ends quietly with status 0", function()
    local status = os.tmpname()
    local out = h.run(("sh -c '{ %s %s/scripts/opensnoop.lua -n opener -d 3 2>/dev/null; echo $? > %s; } | head -1' & "
      .. "sleep 1; %s 100 /etc/hostname > /dev/null; wait"):format(h.luabpf, h.root, status, h.fixture("opener")))
    assert.are.equal("    PID COMM               FD ERR PATH\n", out)
    assert.are.equal("0\n", io.open(status):read("a"))
    os.remove(status)
  end)
end)
