-- The luabpf host: scripts with arguments, shebang scripts, -e, exit codes,
-- and the REPL driven through a pseudo-terminal.
local h = require "helper"

local ptydrive = h.fixture("ptydrive")

-- Drives the REPL with steps (see tests/fixtures/ptydrive.c); returns output and exit code.
local function repl(steps)
  local dir = h.tmpdir()
  h.write_file(dir .. "/steps", table.concat(steps, "\n") .. "\n")
  local out, code = h.run("cd " .. dir .. " && HOME=" .. dir .. " " .. ptydrive .. " " .. h.luabpf .. " < steps")
  local hist = io.open(dir .. "/.luabpf_history")
  local history = hist and hist:read("a")
  if hist then hist:close() end
  h.run("rm -rf " .. dir)
  return out, code, history
end

describe("luabpf host", function()
  local dir

  before_each(function() dir = h.tmpdir() end)
  after_each(function() h.run("rm -rf " .. dir) end)

  it("runs a script with the arg table and ... as lua5.4 does", function()
    h.write_file(dir .. "/args.lua", "print(arg[0], arg[1], arg[2], select('#', ...), ...)\n")
    local out, code = h.run(h.luabpf .. " " .. dir .. "/args.lua one two")
    assert.are.equal(0, code)
    assert.are.equal(dir .. "/args.lua\tone\ttwo\t2\tone\ttwo\n", out)
  end)

  it("runs a #!/usr/bin/env luabpf script that loads BPF", function()
    h.write_file(dir .. "/tool", "#!/usr/bin/env luabpf\n"
      .. "local b = bpf.new[[SEC(\"tp/syscalls/sys_enter_getpid\") int p(void *ctx) { return 0; }]]\n"
      .. "print(b.progs.p.type)\n")
    local out, code = h.run("chmod +x " .. dir .. "/tool && PATH=" .. h.build .. ":$PATH " .. dir .. "/tool")
    assert.are.equal(0, code)
    assert.are.equal("tracepoint\n", out)
  end)

  it("runs -e chunks and requires bpf as a module too", function()
    local out, code = h.run(h.luabpf .. " -e 'print(require(\"bpf\") == bpf, 6 * 7)'")
    assert.are.equal(0, code)
    assert.are.equal("true\t42\n", out)
  end)

  it("exits 1 with the error and its script line when a script fails", function()
    h.write_file(dir .. "/fail.lua", "local x = 1\nerror('it broke')\n")
    local out, code = h.run(h.luabpf .. " " .. dir .. "/fail.lua")
    assert.are.equal(1, code)
    assert.matches("luabpf: " .. dir .. "/fail.lua:2: it broke", out, 1, true)
  end)

  it("rejects an unknown option with the usage text", function()
    local out, code = h.run(h.luabpf .. " --frobnicate")
    assert.are.equal(1, code)
    assert.matches("unrecognized option '--frobnicate'", out, 1, true)
    assert.matches("usage: luabpf [options] [script [args]]", out, 1, true)
  end)

  it("Ctrl-C during bpf.sleep makes it return false, and the script goes on to print", function()
    h.write_file(dir .. "/sleeper.lua", "print(bpf.sleep(10))\nprint('after')\n")
    local out = h.run(("%s %s/sleeper.lua & p=$!; sleep 0.5; kill -INT $p; wait $p; echo status $?"):format(h.luabpf,
      dir))
    assert.are.equal("false\nafter\nstatus 0\n", out)
  end)

  it("-l lists the probes a glob matches as bpftrace names them; -lv adds fields and arguments", function()
    local function list(args) return h.run(h.luabpf .. " " .. args) end
    assert.are.same({ "tracepoint:syscalls:sys_enter_openat\ntracepoint:syscalls:sys_enter_openat2\n", 0 },
      { list("-l 'tracepoint:syscalls:sys_enter_openat*'") })
    assert.are.same({ "tracepoint:syscalls:sys_enter_openat\n    int __syscall_nr\n    int dfd\n"
      .. "    const char * filename\n    int flags\n    umode_t mode\n", 0 },
      { list("-lv tracepoint:syscalls:sys_enter_openat") })
    assert.are.same({ "rawtracepoint:sched_switch\ntracepoint:sched:sched_switch\n", 0 }, { list("-l '*sched_switch'") })
    assert.are.same({ "software:cpu-clock:\nsoftware:cpu-migrations:\n", 0 }, { list("-l 'software:cpu-*'") })
    local target = h.fixture("uprobe_target")
    assert.are.same({ ("uprobe:%s:lbpf_target_add\nuprobe:%s:lbpf_target_mul\n"):format(target, target), 0 },
      { list("-l 'uprobe:" .. target .. ":lbpf_target_*'") })
    local usdt = h.fixture("usdt_target")
    local out, code = list("-lv 'usdt:" .. usdt .. ":*'")
    assert.are.equal(0, code, out)
    assert.matches("^usdt:" .. usdt:gsub("%p", "%%%0") .. ":luabpf_test:tick\n    arg0: %-4@%S+\n    arg1: 8@%S+\n$", out)
    assert.are.same({ "luabpf: -l: no probe type 'kfunc' (there are tracepoint, rawtracepoint, software, hardware, "
      .. "kprobe, uprobe, usdt)\n", 1 }, { list("-l 'kfunc:*'") })
    assert.are.same({ "luabpf: -l uprobe:*: name the binary, as in 'uprobe:/bin/bash:*'\n", 1 }, { list("-l 'uprobe:*'") })
    assert.are.same({ "luabpf: -l uprobe:/nonexistent:*: elf_functions: cannot read /nonexistent: No such file or "
      .. "directory\n", 1 }, { list("-l 'uprobe:/nonexistent:*'") })
  end)

  -- Counts getppid calls by pid, FILTER_TARGET() keeping only the target's.
  local COUNT_GETPPID = [[
local b <close> = bpf.new[=[
BPF_HASH(calls, u32);
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) { FILTER_TARGET(); calls.increment(bpf_get_current_pid_tgid() >> 32); return 0; }
]=]
local t0 = bpf.ktime_ns()
print(bpf.sleep(%d), (bpf.ktime_ns() - t0) < 8e9)
for pid, n in pairs(b.maps.calls) do print(pid == bpf.target(), n) end
]]

  it("-c CMD runs the command once the script waits, traces only it, and ends the wait when it exits", function()
    h.write_file(dir .. "/count.lua", COUNT_GETPPID:format(10))
    -- Other processes calling getppid meanwhile are not counted.
    local out, code = h.run(("%s 50 > /dev/null & %s -c '%s 1234' %s/count.lua; wait"):format(h.fixture("getppid_loop"),
      h.luabpf, h.fixture("getppid_loop"), dir))
    assert.are.equal(0, code, out)
    assert.matches("^%d+\nfalse\ttrue\ntrue\t1234\n$", out)
    out, code = h.run(h.luabpf .. " -c")
    assert.are.equal(1, code)
    assert.matches("^luabpf: '%-c' needs a command\nusage: luabpf ", out)
  end)

  it("-p PID traces only that process", function()
    h.write_file(dir .. "/count.lua", COUNT_GETPPID:format(3))
    local out, code = h.run(("sh -c 'sleep 1; exec %s 77' > /dev/null & %s -p $! %s/count.lua; %s 5 > /dev/null; wait")
      :format(h.fixture("getppid_loop"), h.luabpf, dir, h.fixture("getppid_loop")))
    assert.are.equal(0, code, out)
    assert.are.equal("true\ttrue\ntrue\t77\n", out)
    assert.are.same({ "luabpf: -p 999999999: no such process\n", 1 }, { h.run(h.luabpf .. " -p 999999999 -e 1") })
  end)

  it("REPL: continues incomplete input, prints values, keeps history", function()
    local out, code, history = repl {
      "expect > ",
      "send t = {\\n", "expect >> ",
      "send   n = 6 * 7 }\\n", "expect > ",
      "send t.n\\n", "expect 42\\r\\n", "expect > ",
      "send 'a', 'b'\\n", "expect a\\tb\\r\\n", "expect > ",
      "send \\x04", "exit 0",
    }
    assert.are.equal(0, code, out)
    -- libedit's format: a header, then one entry per line, blanks and newlines escaped.
    assert.are.equal("_HiStOrY_V2_\nt\\040=\\040{\\012\\040\\040n\\040=\\0406\\040*\\0407\\040}\n"
      .. "t.n\n'a',\\040'b'\n", history)
  end)

  it("REPL: Ctrl-C interrupts a running statement and returns to the prompt", function()
    local out, code = repl {
      "expect > ",
      "send while true do end\\n", "expect end\\r\\n", "sleep 300",
      "send \\x03", "expect interrupted!", "expect > ",
      "send print('still here')\\n", "expect still here\\r\\n", "expect > ",
      "send \\x04", "exit 0",
    }
    assert.are.equal(0, code, out)
  end)

  it("REPL: Ctrl-C at the prompt drops the line; Ctrl-D detaches and exits", function()
    local out, code = repl {
      "expect > ",
      "send b = bpf.new[[SEC(\"tp/syscalls/sys_enter_getpid\") int p(void *c) { return 0; }]]\\n",
      "expect > ",
      "send b.progs.p.type\\n", "expect tracepoint\\r\\n", "expect > ",
      "send half a line", "expect half a line", "send \\x03", "sleep 200", "expect > ",
      "send print(b.closed)\\n", "expect false\\r\\n", "expect > ",
      "send getmetatable(b).__gc(b) or print(b.closed)\\n", "expect true\\r\\n", "expect > ",
      "send g = setmetatable({}, {__gc = function() io.write('finalized\\\\n') end})\\n", "expect > ",
      "send \\x04", "expect finalized", "exit 0",
    }
    assert.are.equal(0, code, out)
  end)

  it("REPL: Tab completes globals, bpf.*, methods, map and program names, and struct fields", function()
    local out, code = repl {
      "expect > ",
      "send b = bpf.new[[BPF_HASH(counts, u32); SEC(\"tp/syscalls/sys_enter_getpid\") int on_getpid(void *c) "
        .. "{ return 0; }]]\\n", "expect > ",
      -- Each line runs only if Tab completed it (libedit redraws the line as it likes).
      "send bpf.sle\\t", "sleep 200", "send (0)\\n", "expect true\r\\n", "expect > ",
      "send b.maps.cou\\t", "sleep 200", "send :count()\\n", "expect 0\r\\n", "expect > ",
      "send b.progs.on_\\t", "sleep 200", "send .type\\n", "expect tracepoint\r\\n", "expect > ",
      "send b:ru\\t", "sleep 200", "send {duration = 0.1}\\n", "expect 0\tduration\r\\n", "expect > ",
      -- The fields of a struct key and value, from the map's BTF.
      "send s = bpf.new[[struct k { u32 pid; char comm[16]; }; struct v { u64 total; u64 n; }; "
        .. "BPF_HASH(by, struct k, struct v); SEC(\"xdp\") int f(struct xdp_md *c) { return XDP_PASS; }]]\\n",
      "expect > ",
      "send s.maps.by[{p\\t", "sleep 200", "send = 1, co\\t", "sleep 200", "send = 'sh'}] = {tot\\t", "sleep 200",
      "send = 3, n = 1}\\n", "expect > ",
      "send s.maps.by[{pid = 1, comm = 'sh'}].total\\n", "expect 3\r\\n", "expect > ",
      "send \\x04", "exit 0",
    }
    assert.are.equal(0, code, out)
  end)

  it("REPL: shows nested tables, maps as their first rows, aggregations as histograms; :help quotes the API",
    function()
      local out, code = repl {
        "expect > ",
        "send {1, a = {b = {c = 'x'}}}\\n", "expect {1, a = {b = {c = \"x\"}}}\r\\n", "expect > ",
        "send b = bpf.new[[BPF_HASH(counts, u32); SEC(\"xdp\") int f(struct xdp_md *ctx) { counts.increment(7, 5); "
          .. "@sizes = HIST(ctx->data_end - ctx->data); return XDP_PASS; }]]\\n", "expect > ",
        "send b.progs.f:test_run{data = ('x'):rep(100)}\\n", "expect > ",
        "send b.maps.counts\\n", "expect bpf.Map counts (hash, 1 entry)\r\\n  7 => 5\r\\n", "expect > ",
        "send b.maps.at_sizes\\n", "expect @sizes:\r\\n[64, 128)               1 |@@@@", "expect > ",
        "send :help bpf.sleep\\n", "expect bpf.sleep(seconds)", "expect > ",
        "send \\x04", "exit 0",
      }
      assert.are.equal(0, code, out)
    end)

  it("REPL: a bpf.new([[ ... ]]) typed line by line; Ctrl-C ends bpf.sleep and b:run, probes stay attached",
    function()
      local out, code = repl {
        "expect > ",
        "send b = bpf.new([[\\n", "expect >> ",
        "send BPF_HASH(calls, u32);\\n", "expect >> ",
        "send TRACEPOINT_PROBE(syscalls, sys_enter_getppid) { calls.increment(0); return 0; }\\n", "expect >> ",
        "send ]])\\n", "expect > ",
        "send bpf.sleep(100)\\n", "sleep 300", "send \\x03", "expect interrupted!", "expect > ",
        "send b:run()\\n", "sleep 300", "send \\x03", "expect interrupted!", "expect > ",
        "send os.execute('" .. h.fixture("getppid_loop") .. " 3 > /dev/null')\\n", "expect > ",
        "send b.maps.calls[0] >= 3\\n", "expect true\r\\n", "expect > ",
        "send \\x04", "exit 0",
      }
      assert.are.equal(0, code, out)
    end)

  it("REPL: reports a syntax error and carries on", function()
    local out, code = repl {
      "expect > ",
      "send x = = 1\\n", "expect unexpected symbol near '='", "expect > ",
      "send print(1 + 1)\\n", "expect 2\\r\\n", "expect > ",
      "send \\x04", "exit 0",
    }
    assert.are.equal(0, code, out)
  end)
end)
