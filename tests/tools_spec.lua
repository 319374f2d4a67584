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

-- The tools built on bpf.tool, as make install finds them.
local function tools()
  local list = {}
  local p = io.popen("grep -l 'require \"bpf.tool\"' " .. h.root .. "/scripts/*.lua")
  for path in p:lines() do list[#list + 1] = path:match("([^/]+)%.lua$") end
  p:close()
  return list
end

-- A loop device over a fresh 8 MiB file: its name ("loop3") and a function
-- that detaches it.
local function loop_device()
  local img = os.tmpname()
  h.run("truncate -s 8M " .. img)
  local dev = h.run("losetup -f --show " .. img):match("/dev/(loop%d+)")
  assert.is_truthy(dev, "losetup failed")
  return dev, function()
    h.run("losetup -d /dev/" .. dev)
    os.remove(img)
  end
end

-- Writes n blocks of bs bytes to the start of a device, with direct I/O: one request each.
local function direct_writes(dev, n, bs)
  local out, code = h.run(("dd if=/dev/zero of=/dev/%s bs=%d count=%d oflag=direct 2>&1"):format(dev, bs, n))
  assert.are.equal(0, code, out)
end

local function json_lines(out)
  local json = require "dkjson"
  local rows = {}
  for line in out:gmatch("[^\n]+") do rows[#rows + 1] = assert(json.decode(line), line) end
  return rows
end

describe("tools", function()
  it("every tool built on bpf.tool answers -h with its usage and examples", function()
    local list = tools()
    assert.are.equal(32, #list, table.concat(list, " "))
    for _, tool in ipairs(list) do
      local out, code = h.run(("%s %s/scripts/%s.lua -h"):format(h.luabpf, h.root, tool))
      assert.are.equal(0, code, out)
      assert.matches("^Usage: " .. tool .. " ", out)
      assert.matches("[-h]", out:match("^(.-)\n\n"), 1, true)
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
    assert.matches("funccount: USDT probes (u:LIB:PROBE) are not counted by funccount; trace them with bpf.new", msg, 1, true)
    msg, code = h.run(("%s %s/scripts/funccount.lua 'vfs_*'"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("funccount: cannot attach program 'count_kprobe' to kprobe.multi vfs_*: this kernel has no kprobes "
      .. "(CONFIG_KPROBES is off)", msg, 1, true)
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

  it("exitsnoop -x --json prints a failed exit's code and a killed process's signal, not a clean exit", function()
    local run = start("exitsnoop", "-x --json -d 2")
    local out = h.run("sh -c 'echo $$; exit 3'; sh -c 'echo $$; exit 0'; sh -c 'echo $$; kill -9 $$' 2>/dev/null; true")
    local failed, clean, killed = out:match("^(%d+)\n(%d+)\n(%d+)")
    local err, rc
    out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local seen = {}
    for _, r in ipairs(json_lines(out)) do
      if r.pid == tonumber(failed) or r.pid == tonumber(clean) or r.pid == tonumber(killed) then
        seen[#seen + 1] = { r.pid, r.comm, r.code, r.signal }
      end
    end
    assert.are.same({ { tonumber(failed), "sh", 3, 0 }, { tonumber(killed), "sh", 0, 9 } }, seen)
  end)

  it("statsnoop sees a process's stat() of a file and of a missing path, with the error", function()
    local run = start("statsnoop", "-n stat --json -d 2")
    h.run("stat /etc/hostname /nonexistent/q > /dev/null 2>&1")
    local failed = start("statsnoop", "-n stat -x --json -d 2")
    h.run("stat /etc/hostname /nonexistent/q > /dev/null 2>&1")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local by_path = {}
    for _, r in ipairs(json_lines(out)) do by_path[r.path] = r end
    assert.are.same({ 0, 0 }, { by_path["/etc/hostname"].ret, by_path["/etc/hostname"].err }, out)
    assert.are.same({ -1, 2 }, { by_path["/nonexistent/q"].ret, by_path["/nonexistent/q"].err }, out)
    out, err, rc = failed.finish()
    assert.are.equal(0, rc, err)
    for _, r in ipairs(json_lines(out)) do
      assert.are.equal(-1, r.ret, out)
      assert.are_not.equal("/etc/hostname", r.path)
    end
  end)

  it("offcputime -p charges a process's three blocked reads of 100 ms to their kernel stack, as JSON and as a flame graph", function()
    local fixture = io.popen("taskset -c 0 " .. h.fixture("pipe_wake") .. " 3 100")
    local pid = fixture:read("l")
    local svg = os.tmpname()
    local run = start("offcputime", "-p " .. pid .. " -K --json 2")
    local graph = start("offcputime", "-p " .. pid .. " -K -m 50000 --svg " .. svg .. " 2")
    h.run("kill -USR1 " .. pid)
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local us = 0
    for _, r in ipairs(json_lines(out)) do
      assert.are.same({ tonumber(pid), {} }, { r.pid, r.user_stack })
      for _, frame in ipairs(r.kernel_stack) do
        if frame == "anon_pipe_read" and r.comm == "waiter" then us = us + r.us end
      end
    end
    assert.is_true(us >= 300000 and us < 400000, "expected 3 x 100 ms, got " .. us .. " us:\n" .. out)
    out, err, rc = graph.finish()
    h.run("kill -USR1 " .. pid)
    fixture:close()
    assert.are.equal(0, rc, err)
    assert.matches("%d+ stacks written to " .. svg, err)
    local f = io.open(svg)
    local text = f:read("a")
    f:close()
    os.remove(svg)
    assert.matches("^<%?xml", text)
    assert.matches("<title>anon_pipe_read_%[k%] %(", text)
  end)

  it("biosnoop, biolatency, bitesize and biopattern see exactly the direct writes made to a loop device", function()
    local dev, detach = loop_device()
    local snoop = start("biosnoop", "-d " .. dev .. " --json --duration 2")
    local lat = start("biolatency", "-d " .. dev .. " -D --json 2 1")
    local flags = start("biolatency", "-d " .. dev .. " -F 2 1")
    local sizes = start("bitesize", "-d " .. dev .. " -c dd --json 2 1")
    local pattern = start("biopattern", "-d " .. dev .. " --json 2 1")
    direct_writes(dev, 12, 4096)
    local out, err, rc = snoop.finish()
    assert.are.equal(0, rc, err)
    local rows = json_lines(out)
    assert.are.equal(12, #rows, out)
    for i, r in ipairs(rows) do
      assert.are.same({ "dd", dev, "W", (i - 1) * 8, 4096 }, { r.comm, r.disk, r.type, r.sector, r.bytes })
      assert.is_true(r.lat_ms >= 0 and r.lat_ms < 1000)
    end

    out, err, rc = lat.finish()
    assert.are.equal(0, rc, err)
    local hists = json_lines(out)
    assert.are.equal(1, #hists, out)
    local n = 0
    for _, bucket in ipairs(hists[1].buckets) do n = n + bucket.count end
    assert.are.same({ dev, "usecs", 12 }, { hists[1].disk, hists[1].unit, n })

    out, err, rc = flags.finish()
    assert.are.equal(0, rc, err)
    assert.matches("\nflags = [%a-]*Write\n     usecs  ", out)

    out, err, rc = sizes.finish()
    assert.are.equal(0, rc, err)
    hists = json_lines(out)
    assert.are.equal(1, #hists, out)
    assert.are.same({ "dd", "Kbytes", 4, 7, 12 }, { hists[1].comm, hists[1].unit, hists[1].buckets[#hists[1].buckets].low,
      hists[1].buckets[#hists[1].buckets].high, hists[1].buckets[#hists[1].buckets].count })

    out, err, rc = pattern.finish()
    detach()
    assert.are.equal(0, rc, err)
    -- The first request has no predecessor to compare with.
    assert.are.same({ { disk = dev, random_pct = 0, sequential_pct = 100, count = 11, kbytes = 44 } }, json_lines(out))
  end)

  it("hardirqs -C counts the disk interrupts of direct writes, and -d times them as histograms", function()
    local counts = start("hardirqs", "-C --json 2 1")
    local dists = start("hardirqs", "-d --json 2 1")
    local file = os.tmpname()
    local out, code = h.run(("dd if=/dev/zero of=%s bs=4096 count=40 oflag=direct 2>&1"):format(file))
    os.remove(file)
    assert.are.equal(0, code, out)
    local err, rc
    out, err, rc = counts.finish()
    assert.are.equal(0, rc, err)
    local most = 0
    for _, r in ipairs(json_lines(out)) do most = math.max(most, r.total) end
    assert.is_true(most >= 40, out)
    out, err, rc = dists.finish()
    assert.are.equal(0, rc, err)
    most = 0
    for _, r in ipairs(json_lines(out)) do
      local n = 0
      for _, bucket in ipairs(r.buckets) do n = n + bucket.count end
      assert.is_string(r.hardirq)
      most = math.max(most, n)
    end
    assert.is_true(most >= 40, out)
  end)

  it("oomkill names the process a memory cgroup's OOM killer chose", function()
    local cg, limit = "/sys/fs/cgroup/memory/luabpf_oomkill", "memory.limit_in_bytes"
    if not io.open("/sys/fs/cgroup/memory/cgroup.procs") then
      cg, limit = "/sys/fs/cgroup/luabpf_oomkill", "memory.max"
    end
    h.run("mkdir -p " .. cg .. " && echo 16M > " .. cg .. "/" .. limit)
    local run = start("oomkill", "--json -d 2")
    local out = h.run(("sh -c 'echo $$; echo $$ > %s/cgroup.procs; exec %s 64' 2>/dev/null; true"):format(cg, h.fixture("hog")))
    local pid = tonumber(out:match("^(%d+)"))
    local err, rc
    out, err, rc = run.finish()
    h.run("rmdir " .. cg)
    assert.are.equal(0, rc, err)
    local rows = json_lines(out)
    assert.are.equal(1, #rows, out)
    assert.are.same({ pid, "hog", pid, "hog" }, { rows[1].pid, rows[1].comm, rows[1].victim_pid, rows[1].victim_comm })
    assert.is_true(rows[1].rss_kb > 8000 and rows[1].rss_kb < 20000, out)
  end)

  it("capable says that it needs kprobes, which this kernel lacks", function()
    local out, code = h.run(("%s %s/scripts/capable.lua -d 1"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("^capable: program 'on_check': kprobes are not available on this kernel %(it was built without "
      .. "CONFIG_KPROBES%), so 'cap_capable' cannot be probed", out)
  end)

  it("funccount counts a binary's functions through a glob, and libc's by the library's short name", function()
    local target = h.fixture("uprobe_target")
    local run = start("funccount", "-n uprobe_target --json -d 2 '" .. target .. ":lbpf_*'")
    local libc = start("funccount", "-n uprobe_target --json -d 2 'c:*nanosleep'")
    h.run(target .. " 7 10")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    assert.are.same({ { func = "lbpf_slow_nap", count = 7 }, { func = "lbpf_target_add", count = 7 },
      { func = "lbpf_target_mul", count = 7 } }, json_lines(out))
    assert.matches('Tracing 3 functions for "' .. target:gsub("%p", "%%%0") .. ':lbpf_%*"', err)
    out, err, rc = libc.finish()
    assert.are.equal(0, rc, err)
    local by_func = {}
    for _, r in ipairs(json_lines(out)) do by_func[r.func] = r.count end
    assert.are.equal(7, by_func.nanosleep, out)
    assert.is_nil(by_func.__nanosleep, out)
    local msg, code = h.run(("%s %s/scripts/funccount.lua 'c:no_such_function*'"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("funccount: no function of /%S+libc%.so%.6 matches 'no_such_function%*'", msg)
  end)

  it("funclatency -F times each call of a function that sleeps 20 ms", function()
    local target = h.fixture("uprobe_target")
    local run = start("funclatency", "-n uprobe_target -m -F --json -d 2 '" .. target .. ":lbpf_*'")
    h.run(target .. " 5 20")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local hists, totals = {}, {}
    for _, r in ipairs(json_lines(out)) do
      if r.buckets then hists[r["function"]] = r else totals[r["function"]] = r end
    end
    local nap = hists.lbpf_slow_nap.buckets
    assert.are.same({ 16, 31, 5 }, { nap[#nap].low, nap[#nap].high, nap[#nap].count })
    assert.are.same({ 5, 5 }, { totals.lbpf_slow_nap.count, totals.lbpf_target_add.count })
    assert.is_true(totals.lbpf_slow_nap.avg >= 20 and totals.lbpf_slow_nap.avg < 30, out)
    assert.are.equal(0, totals.lbpf_target_add.avg)
  end)

  it("runqlen --json samples the run queue 99 times a second", function()
    local out, code = h.run(("%s %s/scripts/runqlen.lua --json 1 1 2>/dev/null"):format(h.luabpf, h.root))
    assert.are.equal(0, code, out)
    local hists = json_lines(out)
    assert.are.equal(1, #hists, out)
    local n = 0
    for _, bucket in ipairs(hists[1].buckets) do n = n + bucket.count end
    assert.are.equal("runqlen", hists[1].unit)
    assert.is_true(n >= 90 and n <= 210, out)
  end)

  it("tcplife --json gives both ends of a loopback session with their byte counts", function()
    local run = start("tcplife", "--json -d 2")
    local out, code = h.run(h.fixture("tcp_pair") .. " 10240 3072")
    assert.are.equal(0, code, out)
    local pid, cport, sport = out:match("^(%d+) (%d+) (%d+)")
    local err, rc
    out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local ends = {}
    for _, r in ipairs(json_lines(out)) do
      if r.pid == tonumber(pid) then ends[#ends + 1] = { r.lport, r.rport, r.tx_bytes // 1024, r.rx_bytes // 1024 } end
    end
    assert.are.same({ { tonumber(cport), tonumber(sport), 10, 3 }, { tonumber(sport), tonumber(cport), 3, 10 } }, ends)
  end)

  it("trace prints a formatted line per hit of a uprobe, a uretprobe, a tracepoint and a USDT probe, filtered", function()
    local target, usdt = h.fixture("uprobe_target"), h.fixture("usdt_target")
    local run = start("trace", ("-n uprobe_target --json -d 2 '%s:lbpf_target_add (arg1 > 2) \"a=%%d b=%%u\", arg1, arg2' "
      .. "'r:%s:lbpf_target_mul \"%%d*2 is %%d\", arg1, retval' 't:syscalls:sys_enter_openat (args->flags & 0100) "
      .. "\"created %%s\", args->filename'"):format(target, target))
    local ticks = start("trace", ("-M 2 -d 2 'u:%s:tick \"i=%%d name=%%s\", arg1, arg2'"):format(usdt))
    h.run(target .. " 5")
    h.run(usdt .. " 4")
    local out, err, rc = run.finish()
    assert.are.equal(0, rc, err)
    local lines = {}
    for _, r in ipairs(json_lines(out)) do lines[#lines + 1] = r.func .. ": " .. r.message end
    -- lbpf_target_mul's first argument is gone by its return: a register the callee reused.
    local want = {}
    for i = 0, 4 do
      if i > 2 then want[#want + 1] = ("lbpf_target_add: a=%d b=1000"):format(i) end
      want[#want + 1] = "lbpf_target_mul: " .. lines[#want + 1]:match("^lbpf_target_mul: (%-?%d+)%*2") .. "*2 is " .. 2 * i
    end
    assert.are.same(want, lines)
    out, err, rc = ticks.finish()
    assert.are.equal(0, rc, err)
    assert.matches("^PID +TID +COMM +FUNC +%-\n%d+ +%d+ +usdt_target +tick +i=0 name=tick%-0\n%d+ +%d+ +usdt_target +tick +"
      .. "i=1 name=tick%-1\n$", out)
    local msg, code = h.run(("%s %s/scripts/trace.lua 'c:malloc \"%%d %%d\", arg1'"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("trace: probe 1 (c:malloc \"%d %d\", arg1): the format has 2 conversions but 1 arguments follow it",
      msg, 1, true)
    msg, code = h.run(("%s %s/scripts/trace.lua 'vfs_read'"):format(h.luabpf, h.root))
    assert.are.equal(1, code)
    assert.matches("trace: program 'probe_1': kprobes are not available on this kernel", msg, 1, true)
  end)

  it("filetop counts each process's reads and writes of a file, and filelife a file's age when it is removed", function()
    local dir = h.tmpdir()
    local top = start("filetop", "-C -n dd --json 2 1")
    local life = start("filelife", "--json -d 2")
    h.run(("dd if=/dev/zero of=%s/data bs=1000 count=7 2>/dev/null; dd if=%s/data of=/dev/null bs=2000 2>/dev/null; "
      .. "sh -c 'echo > %s/brief; sleep 0.3; rm %s/brief'"):format(dir, dir, dir, dir))
    local out, err, rc = top.finish()
    assert.are.equal(0, rc, err)
    local seen = {}
    for _, r in ipairs(json_lines(out)) do
      if r.file == "data" then seen[#seen + 1] = { r.comm, r.reads, r.rbytes, r.writes, r.wbytes, r.type } end
    end
    table.sort(seen, function(x, y) return x[4] > y[4] end)
    -- The reader's last read() returns 0: the end of the file.
    assert.are.same({ { "dd", 0, 0, 7, 7000, "R" }, { "dd", 5, 7000, 0, 0, "R" } }, seen)
    out, err, rc = life.finish()
    h.run("rm -rf " .. dir)
    assert.are.equal(0, rc, err)
    local rows = {}
    for _, r in ipairs(json_lines(out)) do
      if r.file == "brief" then rows[#rows + 1] = r end
    end
    assert.are.equal(1, #rows, out)
    assert.are.equal("rm", rows[1].comm)
    assert.is_true(rows[1].age >= 0.3 and rows[1].age < 1.5, out)
  end)

  it("opensnoop -c follows the processes of one cgroup v2 directory only", function()
    local root
    for line in io.lines("/proc/mounts") do
      root = root or line:match("^%S+ (%S+) cgroup2 ")
    end
    assert.is_truthy(root, "no cgroup2 mount")
    local cg = root .. "/luabpf_tools_" .. h.getpid()
    h.run("mkdir -p " .. cg)
    local run = start("opensnoop", "-c " .. cg .. " --json -d 2")
    local inside = h.run(("sh -c 'echo $$ > %s/cgroup.procs; exec %s 4 /etc/hostname'"):format(cg, h.fixture("opener")))
    h.run(h.fixture("opener") .. " 3 /etc/hostname")
    local out, err, rc = run.finish()
    h.run("rmdir " .. cg)
    assert.are.equal(0, rc, err)
    local n = 0
    for _, r in ipairs(json_lines(out)) do
      assert.are.equal(tonumber(inside:match("%d+")), r.pid, out)
      if r.path == "/etc/hostname" then n = n + 1 end
    end
    assert.are.equal(4, n, out)
    local msg, code = h.run(("%s %s/scripts/opensnoop.lua -c /tmp"):format(h.luabpf, h.root))
    assert.are_not.equal(0, code)
    assert.matches("Error: /tmp is not a cgroup v2 directory", msg, 1, true)
  end)

  it("make install puts each tool in bin as luabpf-NAME, with a man page from its help", function()
    local dest = os.tmpname()
    os.remove(dest)
    local out, code = h.run(("make -s -C %s install DESTDIR=%s PREFIX=/usr"):format(h.root, dest))
    assert.are.equal(0, code, out)
    for _, tool in ipairs(tools()) do
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
