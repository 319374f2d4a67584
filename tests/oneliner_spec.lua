-- One-off tracing as short as bpftrace's: the -e shorthand, aggregations in
-- the C (COUNT, SUM, MIN, MAX, AVG, STATS, HIST, LHIST) and their printing
-- at exit, against workloads whose calls the tests choose.
local h = require "helper"
local bpf = require "bpf"

-- luabpf -c 'CMD' -e 'PROGRAM': output and status.
local function oneliner(cmd, program)
  return h.run(("%s -c '%s' -e '%s' 2>&1"):format(h.luabpf, cmd, program))
end

-- The output without the command's own line (its pid, from the fixtures).
local function without_pid(out)
  local lines = {}
  for line in out:gmatch("([^\n]*)\n") do
    if not line:match("^%d+$") then lines[#lines + 1] = line end
  end
  return table.concat(lines, "\n") .. "\n"
end

describe("one-liners", function()
  it("counts a system call by process name", function()
    local out, code = oneliner(h.fixture("getppid_loop") .. " 1234",
      "tracepoint:syscalls:sys_enter_getppid { COUNT(comm) }")
    assert.are.equal(0, code, out)
    assert.are.equal("Attaching 1 probe...\n@[getppid_loop]: 1234\n\n", without_pid(out))
  end)

  it("draws a log2 histogram of read sizes, 0 and 1 in buckets of their own", function()
    local out, code = oneliner(h.fixture("readsizes") .. " 0 1 3 3 100 5000",
      "tracepoint:syscalls:sys_enter_read { @bytes = HIST(args->count) }")
    assert.are.equal(0, code, out)
    assert.are.equal([[
Attaching 1 probe...
@bytes:
[0]                     1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1]                     1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[2, 4)                  2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[4, 8)                  0 |                                                    |
[8, 16)                 0 |                                                    |
[16, 32)                0 |                                                    |
[32, 64)                0 |                                                    |
[64, 128)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[128, 256)              0 |                                                    |
[256, 512)              0 |                                                    |
[512, 1K)               0 |                                                    |
[1K, 2K)                0 |                                                    |
[2K, 4K)                0 |                                                    |
[4K, 8K)                1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |

]], out)
  end)

  it("draws a linear histogram with out-of-range buckets, and filters", function()
    local out, code = oneliner(h.fixture("readsizes") .. " 5 15 15 250 7",
      "tracepoint:syscalls:sys_enter_read /args->count != 7/ { @sizes = LHIST(args->count, 0, 40, 10) }")
    assert.are.equal(0, code, out)
    assert.are.equal([[
Attaching 1 probe...
@sizes:
[0, 10)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[10, 20)                2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[20, 30)                0 |                                                    |
[30, 40)                0 |                                                    |
[40, ...)               1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |

]], out)
  end)

  it("sums, takes the minimum, maximum and average, and keeps signs", function()
    local out, code = oneliner(h.fixture("readsizes") .. " 10 20 30",
      "tracepoint:syscalls:sys_enter_read { @sum = SUM(args->count); @min = MIN((long)args->count - 100); "
        .. "@max = MAX(args->count); @avg = AVG(args->count); @stats = STATS(args->count, comm) }")
    assert.are.equal(0, code, out)
    assert.are.equal("Attaching 1 probe...\n@avg: 20\n\n@max: 30\n\n@min: -90\n\n@stats[readsizes]: count 3, "
      .. "average 20, total 60\n\n@sum: 60\n\n", out)
  end)

  it("counts uprobe calls and draws a histogram of return values", function()
    local target = h.fixture("uprobe_target")
    local out, code = oneliner(target .. " 5", ("uprobe:%s:lbpf_target_add { @calls = COUNT() } "
      .. "uretprobe:%s:lbpf_target_mul { @ret = HIST(retval) }"):format(target, target))
    assert.are.equal(0, code, out)
    assert.are.equal([[
Attaching 2 probes...
1004
@calls: 5

@ret:
[0]                     1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[1]                     0 |                                                    |
[2, 4)                  1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |
[4, 8)                  2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
[8, 16)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |

]], out)
  end)

  it("counts openat calls by file name", function()
    local out, code = oneliner(h.fixture("readsizes") .. " 1",
      "tracepoint:syscalls:sys_enter_openat { COUNT(str(args->filename)) }")
    assert.are.equal(0, code, out)
    assert.are.equal("Attaching 1 probe...\n@[/dev/zero]: 1\n\n", out)
  end)

  it("counts calls of a libc function and draws its return values", function()
    local target = h.fixture("uprobe_target")
    local libc = h.run("ldd " .. target):match("libc%.so%.6 => (%S+)")
    local out, code = oneliner(target .. " 5", ("uprobe:%s:printf { @calls = COUNT(comm) } "
      .. "uretprobe:%s:printf { @ret = HIST(retval) }"):format(libc, libc))
    assert.are.equal(0, code, out)
    -- It printed "1004\n", five bytes.
    assert.are.equal("Attaching 2 probes...\n1004\n@calls[uprobe_target]: 1\n\n@ret:\n"
      .. "[4, 8)                  1 |" .. ("@"):rep(52) .. "|\n\n", out)
  end)

  it("samples a process at 99 Hz by user stack, named after it exits", function()
    local out, code = oneliner(h.fixture("busy") .. " 1", "profile:hz:99 { @samples[comm] = COUNT(ustack) }")
    assert.are.equal(0, code, out)
    local total, hot = 0, 0
    for stack, n in out:gmatch("@samples%[busy, \n(.-)%]: (%d+)\n") do
      total = total + tonumber(n)
      if stack:match("^    busy_inner%+%d+\n    busy_outer%+%d+\n    main%+%d+\n") then hot = hot + tonumber(n) end
    end
    assert.is_true(total >= 40 and total <= 110, out)
    assert.is_true(hot >= total * 0.9, out)
  end)

  it("times a system call by pairing its entry and exit per thread, in a map declared first", function()
    local out, code = oneliner(h.fixture("uprobe_target") .. " 3 20", "BPF_HASH(start, u32, u64); "
      .. "tracepoint:syscalls:sys_enter_clock_nanosleep { start.update(&tid, &nsecs); } "
      .. "tracepoint:syscalls:sys_exit_clock_nanosleep { u64 *t = start.lookup(&tid); "
      .. "if (t) { @ms = HIST((nsecs - *t) / 1000000); start.delete(&tid); } }")
    assert.are.equal(0, code, out)
    assert.are.equal("Attaching 2 probes...\n@ms:\n[16, 32)                3 |" .. ("@"):rep(52) .. "|\n\n",
      without_pid(out))
  end)

  it("counts execs by the name they run under", function()
    local out, code = oneliner(h.fixture("getppid_loop") .. " 1", "tracepoint:sched:sched_process_exec { COUNT(comm) }")
    assert.are.equal(0, code, out)
    assert.are.equal("Attaching 1 probe...\n@[getppid_loop]: 1\n\n", without_pid(out))
  end)

  it("prints with printf as the events come, strings and all", function()
    local out, code = oneliner(h.fixture("readsizes") .. " 1 22 333", "tracepoint:syscalls:sys_enter_openat "
      .. "{ printf(\"%s opens %s\\n\", comm, str(args->filename)); } tracepoint:syscalls:sys_enter_read "
      .. "{ printf(\"read %d bytes, %#lx\\n\", args->count, args->count); }")
    assert.are.equal(0, code, out)
    assert.are.equal("Attaching 2 probes...\nreadsizes opens /dev/zero\nread 1 bytes, 0x1\nread 22 bytes, 0x16\n"
      .. "read 333 bytes, 0x14d\n", out)
  end)

  it("says what is wrong with a one-liner", function()
    local out, code = oneliner("true", "tracepoint:syscalls { COUNT() }")
    assert.are.same({ "luabpf: -e: probe 'tracepoint:syscalls': a tracepoint is tracepoint:CATEGORY:EVENT\n", 1 },
      { out, code })
    out, code = oneliner("true", "tracepoint:syscalls:sys_enter_read { @x = COUNT(); @x = SUM(1) }")
    assert.are.equal(1, code)
    assert.matches("@x is COUNT with 0 keys in one place and SUM with 0 in another", out, 1, true)
    out, code = oneliner("true", "tracepoint:syscalls:sys_enter_read { @x = LHIST(1, 10, 0, 1) }")
    assert.are.equal(1, code)
    assert.matches("@x = LHIST(1, 10, 0, 1): LHIST needs min < max and a step above 0", out, 1, true)
  end)
end)

describe("aggregations in scripts", function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(function() h.run("rm -rf " .. dir) end)

  it("print when the script ends, unless the script fetched them or said not to", function()
    h.write_file(dir .. "/agg.lua", [[
local b = bpf.new[=[
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
	FILTER_TARGET();
	@calls = COUNT(comm);
	@fetched = COUNT();
	return 0;
}
]=]
bpf.sleep(10)
print("fetched", b.maps.at_fetched:count())
if arg[1] == "quiet" then bpf.print_at_exit(false) end
]])
    local cmd = ("%s -c '%s 3' %s/agg.lua"):format(h.luabpf, h.fixture("getppid_loop"), dir)
    local out, code = h.run(cmd)
    assert.are.same({ "fetched\t1\n@calls[getppid_loop]: 3\n\n", 0 }, { without_pid(out), code })
    assert.are.equal("fetched\t1\n", without_pid(h.run(cmd .. " quiet")))
  end)

  it("print the script's own maps it never fetched too: tables by value, BCC histograms as histograms", function()
    h.write_file(dir .. "/plain.lua", [[
local b = bpf.new[=[
BPF_HASH(calls, u32);
BPF_ARRAY(slots, u64, 8);
BPF_HISTOGRAM(dist);
BPF_HASH(start, u32, u64);
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
	FILTER_TARGET();
	calls.increment(7);
	calls.increment(9, 10);
	slots.increment(3, 2);
	dist.increment(bpf_log2l(5));
	return 0;
}
]=]
bpf.sleep(10)
]])
    local out, code = h.run(("%s -c '%s 4' %s/plain.lua"):format(h.luabpf, h.fixture("getppid_loop"), dir))
    assert.are.equal(0, code, out)
    assert.are.equal([[
@calls[7]: 4
@calls[9]: 40

@dist:
     value               : count     distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 4        |****************************************|

@slots[3]: 8

]], without_pid(out))
  end)

  it("print when a <close> object goes out of scope, and bpf.print_map prints one", function()
    local b <close> = bpf.new[[
SEC("xdp") int fill(struct xdp_md *ctx) { @by = SUM(ctx->data_end - ctx->data, 7); @one = COUNT(); return XDP_PASS; }
]]
    b.progs.fill:test_run { data = ("x"):rep(64), ["repeat"] = 3 }
    assert.are.equal(1, b.maps.at_one:count())
    local lines = {}
    local saved = _G.print
    _G.print = function(...) lines[#lines + 1] = table.concat({ ... }, "\t") end
    local ok, err = pcall(function()
      bpf.print_map(b.maps.at_by)
      do local inner <close> = bpf.new[[SEC("xdp") int one(struct xdp_md *ctx) { @n = COUNT(); return XDP_PASS; }]]
        inner.progs.one:test_run()
      end
    end)
    _G.print = saved
    assert.is_true(ok, err)
    assert.are.same({ "@by[7]: 192", "", "@n: 1", "" }, lines)
  end)

  it("leaves alone a MAX the C defines itself", function()
    local b <close> = bpf.new[[
#define MAX(a, b) ((a) > (b) ? (a) : (b))
u64 biggest;
SEC("xdp") int f(struct xdp_md *ctx) { biggest = MAX(3, 9); return XDP_PASS; }
]]
    b.progs.f:test_run()
    assert.are.equal(9, b.globals.biggest)
  end)
end)
