-- What the kernel offers (features, tracepoints, BTF fields), symbols and
-- system call names, histograms of struct keys and plain tables, and perf
-- event attach errors.
local bpf = require "bpf"
local h = require "helper"

local function printed(f)
  local lines, saved = {}, _G.print
  _G.print = function(s) lines[#lines + 1] = s end
  local ok, err = pcall(f)
  _G.print = saved
  assert(ok, err)
  return table.concat(lines, "\n") .. "\n"
end

describe("discovery", function()
  it("says what this kernel allows", function()
    local f = bpf.features()
    assert.is_false(f.kprobes)
    assert.is_false(f.tracing)
    assert.is_false(f.hardware_counters)
    for _, name in ipairs { "btf", "uprobes", "tracepoint", "raw_tracepoint", "perf_event", "xdp", "tc",
      "socket_filter", "cgroup_skb", "ringbuf", "user_ringbuf", "lpm_trie" } do
      assert.is_true(f[name], name)
    end
    -- Only what is asked, when given a list (some checks load a program).
    assert.are.same({ kprobes = false, tracepoint = true }, bpf.features { "tracepoint", "kprobes" })
    assert.are.same({}, bpf.features {})
  end)

  it("lists tracepoints by glob and knows which exist", function()
    local enters = bpf.tracepoints("syscalls:sys_enter_open*")
    assert.are.same({ "syscalls:sys_enter_open", "syscalls:sys_enter_open_by_handle_at",
      "syscalls:sys_enter_open_tree", "syscalls:sys_enter_open_tree_attr", "syscalls:sys_enter_openat",
      "syscalls:sys_enter_openat2" }, enters)
    assert.is_true(#bpf.tracepoints() > 1000)
    assert.are.same({ "sched:sched_process_exec" }, bpf.tracepoints("sched:sched_process_exe?"))
    assert.is_true(bpf.tracepoint_exists("syscalls", "sys_enter_openat"))
    assert.is_false(bpf.tracepoint_exists("syscalls", "sys_enter_nothing"))
    assert.is_false(bpf.tracepoint_exists("../..", "x"))
    assert.has_error(function() bpf.tracepoints(3) end,
      "tracepoints: the pattern must be a glob string, e.g. \"syscalls:sys_enter_*\"")
  end)

  it("finds fields and types in the kernel's BTF", function()
    assert.is_true(bpf.kernel_has_field("task_struct", "__state"))
    assert.is_false(bpf.kernel_has_field("task_struct", "state"))
    assert.is_true(bpf.kernel_has_field("struct sk_buff", "len"))
    assert.is_true(bpf.kernel_has_field("sk_buff", "tstamp")) -- inside an anonymous union
    assert.is_false(bpf.kernel_has_field("no_such_struct", "x"))
    assert.is_true(bpf.kernel_has_type("struct task_struct"))
    assert.is_true(bpf.kernel_has_type("pid_t"))
    assert.is_false(bpf.kernel_has_type("struct no_such_struct"))
  end)

  it("names a kernel enum's values as this kernel numbers them", function()
    assert.are.same({ [0] = "TCP_CA_Open", "TCP_CA_Disorder", "TCP_CA_CWR", "TCP_CA_Recovery", "TCP_CA_Loss" },
      bpf.kernel_enum("enum tcp_ca_state"))
    local reasons = bpf.kernel_enum("skb_drop_reason")
    assert.are.equal("SKB_DROP_REASON_NOT_SPECIFIED", reasons[2])
    assert.are.equal("SKB_DROP_REASON_NO_SOCKET", reasons[3])
    assert.are.equal("kernel_enum: this kernel's BTF has no enum named 'no_such_enum'",
      h.error_of(bpf.kernel_enum, "no_such_enum"))
  end)
end)

describe("network values", function()
  it("prints addresses in every form a program copies them out", function()
    assert.are.equal("127.0.0.1", bpf.inet_ntop(2, 0x0100007f))
    assert.are.equal("10.1.2.3", bpf.inet_ntop(4, { 10, 1, 2, 3, 0, 0 }))
    assert.are.equal("::1", bpf.inet_ntop(10, ("\0"):rep(15) .. "\1"))
    assert.are.equal("fe80::1:2", bpf.inet_ntop(6, "\254\128" .. ("\0"):rep(10) .. "\0\1\0\2"))
    assert.are.equal("2001:db8::", bpf.inet_ntop(10, "\32\1\13\184" .. ("\0"):rep(12)))
    assert.are.equal("1:0:2:0:3:0:4:0", bpf.inet_ntop(10, "\0\1\0\0\0\2\0\0\0\3\0\0\0\4\0\0"))
    assert.are.equal("::ffff:192.168.0.1", bpf.inet_ntop(10, ("\0"):rep(10) .. "\255\255\192\168\0\1"))
    assert.matches("inet_ntop: unknown address family 7", h.error_of(bpf.inet_ntop, 7, 1), 1, true)
    assert.matches("inet_ntop: an IPv6 address needs 16 bytes, got 4", h.error_of(bpf.inet_ntop, 10, 1), 1, true)
    assert.matches("inet_ntop: expected an address (integer, byte string or byte array), got boolean",
      h.error_of(bpf.inet_ntop, 2, true), 1, true)
  end)

  it("names TCP states and flags", function()
    assert.are.equal("ESTABLISHED", bpf.tcp_state(1))
    assert.are.equal("NEW_SYN_RECV", bpf.tcp_state(12))
    assert.are.equal("UNKNOWN(99)", bpf.tcp_state(99))
    assert.are.equal("SYN|ACK", bpf.tcp_flags(0x12))
    assert.are.equal("FIN|PSH|ACK", bpf.tcp_flags(0x19))
    assert.are.equal("", bpf.tcp_flags(0))
  end)
end)

describe("symbols", function()
  it("resolves kernel addresses and names", function()
    local addr = bpf.ksymaddr("vfs_read")
    assert.are.equal("number", type(addr))
    assert.are.same({ "vfs_read", 0, "kernel" }, { bpf.ksym(addr) })
    assert.are.same({ "vfs_read", 16, "kernel" }, { bpf.ksym(addr + 16) })
    assert.is_nil(bpf.ksymaddr("no_such_kernel_function"))
    assert.are.equal("[unknown]", (bpf.ksym(1)))
  end)

  it("resolves a PIE binary's functions in a running process", function()
    local child = io.popen("exec sh -c 'echo $$; exec " .. h.fixture("busy") .. " 0.5'")
    local pid = tonumber(child:read("l"))
    bpf.sleep(0.05) -- let exec finish
    local base
    for line in io.lines("/proc/" .. pid .. "/maps") do
      local s, off, path = line:match("^(%x+)%-%x+ r%-xp (%x+) %S+ %S+%s+(.*)$")
      if path and path:find("/busy$") then base = tonumber(s, 16) - tonumber(off, 16) end
    end
    local p = io.popen("nm " .. h.fixture("busy"))
    local syms = {}
    for line in p:lines() do
      local v, name = line:match("^(%x+) [Tt] (%S+)$")
      if v then syms[name] = tonumber(v, 16) end
    end
    p:close()
    local name, off, module = bpf.usym(base + syms.busy_inner + 4, pid)
    child:close()
    assert.are.equal("busy_inner", name)
    assert.are.equal(4, off)
    assert.is_truthy(module:find("/busy$"), module)
    assert.are.equal("[unknown]", (bpf.usym(8, pid)))
    assert.has_error(function() bpf.usym(8, 0) end)
  end)

  it("names system calls", function()
    assert.are.equal("execve", bpf.syscall_name(59))
    assert.are.equal("openat", bpf.syscall_name(257))
    assert.is_nil(bpf.syscall_name(100000))
    assert.are.equal(0, bpf.syscall_nr("read"))
    assert.is_nil(bpf.syscall_nr("no_such_call"))
    assert.are.equal("__x64_sys_execve", bpf.syscall_fnname("execve"))
    assert.has_error(function() bpf.syscall_fnname("no_such_call") end,
      "syscall_fnname: the kernel has no function for system call 'no_such_call'")
  end)
end)

describe("histograms", function()
  it("prints one section per leading key field, and linear histograms", function()
    local b <close> = bpf.new([[
struct hkey { u32 cpu_group; u32 slot; };
BPF_HISTOGRAM(by_group, struct hkey);
BPF_HISTOGRAM(lin);
SEC("xdp") int fill(struct xdp_md *ctx) {
	struct hkey k = {1, 1};
	by_group.increment(k, 2);
	k.slot = 3;
	by_group.increment(k);
	k.cpu_group = 0;
	by_group.increment(k, 4);
	lin.increment(2, 5);
	lin.increment(0);
	return XDP_PASS;
}
]])
    b.progs.fill:test_run { data = ("\0"):rep(64) }
    assert.are.equal([[

group = 0
     usecs               : count     distribution
         0 -> 1          : 0        |                                        |
         2 -> 3          : 0        |                                        |
         4 -> 7          : 4        |****************************************|

group = g1
     usecs               : count     distribution
         0 -> 1          : 2        |****************************************|
         2 -> 3          : 0        |                                        |
         4 -> 7          : 1        |********************                    |
]], printed(function()
      b.maps.by_group:print_log2_hist("usecs", "group", function(g) return g == 1 and "g1" or g end)
    end))
    assert.are.equal([[
     value         : count     distribution
        0          : 1        |********                                |
        1          : 0        |                                        |
        2          : 5        |****************************************|
]], printed(function() b.maps.lin:print_linear_hist() end))
    assert.are.same({ { section = 0, buckets = { { low = 0, high = 1, count = 0 }, { low = 2, high = 3, count = 0 },
      { low = 4, high = 7, count = 4 } } }, { section = 1, buckets = { { low = 0, high = 1, count = 2 },
      { low = 2, high = 3, count = 0 }, { low = 4, high = 7, count = 1 } } } }, b.maps.by_group:log2_hist())
  end)

  it("prints plain Lua tables, skipping leading zeros when asked", function()
    assert.are.equal([[
     ms                  : count     distribution
        16 -> 31         : 10       |****************************************|
]], printed(function() bpf.print_log2_hist({ [5] = 10 }, "ms", true) end))
    assert.are.equal(1, bpf.log2l(0))
    assert.are.equal(1, bpf.log2l(1))
    assert.are.equal(13, bpf.log2l(5000))
    -- The program's buckets are BCC's, the same as bpf.log2l's.
    local b <close> = bpf.new([[
u32 l2[6], l2l[6];
SEC("xdp") int buckets(struct xdp_md *ctx)
{
	u64 v[6] = {0, 1, 2, 5000, 0xffffffffull, 1ull << 40};
	for (int i = 0; i < 6; i++) {
		l2[i] = bpf_log2((u32)v[i]);
		l2l[i] = bpf_log2l(v[i]);
	}
	return XDP_PASS;
}
]])
    b.progs.buckets:test_run()
    assert.are.same({ 0, 0, 1, 12, 31, 0 }, b.globals.l2)
    assert.are.same({ 1, 1, 2, 13, 32, 41 }, b.globals.l2l)
    for i, v in ipairs { 0, 1, 2, 5000, 0xffffffff, 1 << 40 } do assert.are.equal(b.globals.l2l[i], bpf.log2l(v)) end
    assert.has_error(function() bpf.print_log2_hist({ [70] = 1 }) end,
      "print_log2_hist: bucket 70 is not an integer from 0 to 64")
    assert.has_error(function() bpf.print_linear_hist({ [-1] = 1 }) end,
      "print_linear_hist: bucket -1 is not an integer of 0 or more")
  end)

  it("shows slot 0 (the value 0) when it counted, slot 64 up to 2^64 - 1, and linear slots past 1024", function()
    assert.are.equal([[
     value               : count     distribution
         0 -> 0          : 2        |****************************************|
         1 -> 1          : 1        |********************                    |
         2 -> 3          : 1        |********************                    |
]], printed(function() bpf.print_log2_hist({ [0] = 2, [1] = 1, [2] = 1 }) end))
    local top = printed(function() bpf.print_log2_hist({ [1] = 1, [64] = 3 }) end)
    assert.matches("\n 9223372036854775808 %-> 18446744073709551615 : 3        |%*+|\n$", top)
    assert.matches("^               value                         : count     distribution\n +0 %-> 1 +: 1 ", top)
    -- An array of 2000 slots, the last one counted.
    local b <close> = bpf.new([[
BPF_ARRAY(lin, u64, 2000);
SEC("xdp") int fill(struct xdp_md *ctx) { lin.increment(1999, 7); lin.increment(1000); return XDP_PASS; }
]])
    b.progs.fill:test_run()
    local out = printed(function() b.maps.lin:print_linear_hist() end)
    local lines = {}
    for line in out:gmatch("[^\n]+") do lines[#lines + 1] = line end
    assert.are.equal(2001, #lines)
    assert.are.equal("        1000       : 1        |*****                                   |", lines[1002])
    assert.are.equal("        1999       : 7        |****************************************|", lines[2001])
  end)
end)

describe("perf events", function()
  it("names what is wrong", function()
    local b <close> = bpf.new([[
SEC("perf_event") int sample(struct bpf_perf_event_data *ctx) { return 0; }
SEC("xdp") int not_perf(struct xdp_md *ctx) { return XDP_PASS; }
]])
    local err = h.error_of(b.attach_perf_event, b, { fn = "sample", type = "hardware", config = "cpu-cycles" })
    assert.is_truthy(err:find("this machine has no hardware performance counters", 1, true), err)
    err = h.error_of(b.attach_perf_event, b, { fn = "not_perf" })
    assert.is_truthy(err:find("program 'not_perf' is not a perf event program (its section is \"xdp\")", 1, true), err)
    err = h.error_of(b.attach_perf_event, b, { fn = "sample", config = "cpu-clocks" })
    assert.is_truthy(err:find("attach_perf_event: 'config' must be one of cpu-clock, task-clock", 1, true), err)
    err = h.error_of(b.attach_perf_event, b, { fn = "sample", freq = 99, period = 1000 })
    assert.is_truthy(err:find("give 'freq' (samples a second) or 'period'", 1, true), err)
    -- system-wide on every CPU, then detached as one link
    local fds = h.fd_count(h.getpid())
    local link = b:attach_perf_event { fn = "sample", freq = 49 }
    assert.is_true(h.fd_count(h.getpid()) > fds)
    link:detach()
    assert.are.equal(fds, h.fd_count(h.getpid()))
  end)
end)
