-- Bad input and missing kernel features: each a clean Lua error whose
-- message says what is wrong and what to do, never a crash.
local bpf = require "bpf"
local h = require "helper"

local NOOP = [[SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }]]

describe("errors", function()
  it("a C syntax error names the script file and the line of the C text", function()
    local line = debug.getinfo(1, "l").currentline
    local msg = h.error_of(bpf.new, [[
int ok_line = 1;
SEC("tp/syscalls/sys_enter_getpid") int p(void *ctx) {
	return undeclared_thing;
}
]])
    assert.matches("compile failed", msg, 1, true)
    assert.matches("tests/errors_spec.lua:" .. (line + 4) .. ": error: use of undeclared identifier "
      .. "'undeclared_thing'", msg, 1, true)
  end)

  it("a verifier rejection names the program and quotes the log", function()
    local ok, err = pcall(bpf.new, h.hash_u32_u64("m") .. [[
SEC("tp/syscalls/sys_enter_getpid")
int deref_null(void *ctx)
{
	u32 key = 0;
	u64 *v = bpf_map_lookup_elem(&m, &key);
	return *v;
}
]])
    assert.is_false(ok)
    assert.are.equal("deref_null", err.program)
    assert.matches("the verifier rejected program 'deref_null'", tostring(err), 1, true)
    assert.matches("R0 invalid mem access 'map_value_or_null'", tostring(err), 1, true)
    assert.is_truthy(err:find("invalid mem access", 1, true))
    assert.matches("call bpf_map_lookup_elem", err.log, 1, true)
    assert.is_true(#err.log > #"R0 invalid mem access")
  end)

  it("an unknown tracepoint is named, explicitly or in a section", function()
    local b <close> = bpf.new([[SEC("tracepoint") int p(void *ctx) { return 0; }]])
    local msg = h.error_of(b.attach_tracepoint, b, "syscalls:sys_enter_no_such_call", "p")
    assert.matches("unknown tracepoint 'syscalls:sys_enter_no_such_call'", msg, 1, true)
    msg = h.error_of(bpf.new, [[SEC("tp/syscalls/sys_enter_no_such_call") int p(void *ctx) { return 0; }]])
    assert.matches("program 'p': unknown tracepoint 'syscalls:sys_enter_no_such_call'", msg, 1, true)
    msg = h.error_of(b.attach_tracepoint, b, "no_colon_here", "p")
    assert.matches("expected \"category:event\"", msg, 1, true)
  end)

  it("an unknown raw tracepoint is named", function()
    local b <close> = bpf.new([[SEC("raw_tp") int p(void *ctx) { return 0; }]])
    local msg = h.error_of(b.attach_raw_tracepoint, b, "no_such_event", "p")
    assert.matches("unknown raw tracepoint 'no_such_event'", msg, 1, true)
  end)

  it("an unknown uprobe symbol or binary is named", function()
    local b <close> = bpf.new([[SEC("uprobe") int p(void *ctx) { return 0; }]])
    local target = h.fixture("uprobe_target")
    local msg = h.error_of(b.attach_uprobe, b, { path = target, sym = "no_such_function", fn = "p" })
    assert.matches("uprobe: no function 'no_such_function' in " .. target, msg, 1, true)
    msg = h.error_of(b.attach_uprobe, b, { path = "/no/such/binary", sym = "main", fn = "p" })
    assert.matches("uprobe: cannot read /no/such/binary: No such file or directory", msg, 1, true)
    msg = h.error_of(b.attach_uprobe, b, { path = target, fn = "p" })
    assert.matches("give 'sym' (a function name) or 'off' (a file offset)", msg, 1, true)
  end)

  it("a kprobe says this kernel has no kprobes and suggests a tracepoint", function()
    local msg = h.error_of(bpf.new, [[SEC("kprobe/do_sys_openat2") int p(void *ctx) { return 0; }]])
    assert.matches("kprobes are not available on this kernel (it was built without CONFIG_KPROBES)", msg, 1, true)
    assert.matches("use a tracepoint", msg, 1, true)
    local b <close> = bpf.new([[SEC("kprobe") int p(void *ctx) { return 0; }]])
    msg = h.error_of(b.attach_kprobe, b, { event = "do_sys_openat2", fn = "p" })
    assert.matches("program 'p': kprobes are not available on this kernel", msg, 1, true)
  end)

  it("a tracing program says the kernel refuses them and suggests a tracepoint", function()
    local msg = h.error_of(bpf.new, [[SEC("fentry/do_sys_openat2") int BPF_PROG(p) { return 0; }]])
    assert.matches("program 'p' (SEC(\"fentry/do_sys_openat2\")) is a tracing program", msg, 1, true)
    assert.matches("this kernel refuses tracing programs (Operation not permitted)", msg, 1, true)
    assert.matches("raw tracepoint", msg, 1, true)
  end)

  it("an unknown map or program name lists the ones there are", function()
    local b <close> = bpf.new(h.hash_u32_u64("counts") .. NOOP)
    assert.matches("no map named 'nope' in this bpf object (its maps: counts)",
      h.error_of(function() return b.maps.nope end), 1, true)
    assert.matches("no method or map named 'nope' in this bpf object (its maps: counts; its methods: "
      .. "attach_cgroup, attach_fentry,", h.error_of(function() return b.nope end), 1, true)
    assert.matches(", trace_print)", h.error_of(function() return b.nope end), 1, true)
    assert.matches("no program named 'nope' in this bpf object (its programs: noop)",
      h.error_of(function() return b.progs.nope end), 1, true)
    assert.matches("no program named 'nope' in this bpf object (its programs: noop)",
      h.error_of(b.attach_tracepoint, b, "syscalls:sys_enter_getpid", "nope"), 1, true)
  end)

  it("using a closed object, or its maps, programs and links, is an error", function()
    local b = bpf.new(h.hash_u32_u64("counts") .. NOOP, { autoattach = false })
    local m, p = b.maps.counts, b.progs.noop
    local link = b:attach_tracepoint("syscalls:sys_enter_getpid", "noop")
    b:close()
    assert.is_true(b.closed)
    assert.matches("this bpf object is closed", h.error_of(function() return b.maps end), 1, true)
    assert.matches("this bpf object is closed",
      h.error_of(b.attach_tracepoint, b, "syscalls:sys_enter_getpid", "noop"), 1, true)
    assert.matches("this bpf object is already closed", h.error_of(b.close, b), 1, true)
    assert.matches("this map belongs to a closed bpf object", h.error_of(function() return m[1] end), 1, true)
    assert.matches("this map belongs to a closed bpf object", h.error_of(function() m[1] = 2 end), 1, true)
    assert.matches("this map belongs to a closed bpf object", h.error_of(pairs, m), 1, true)
    assert.matches("this program belongs to a closed bpf object", h.error_of(function() return p.fd end), 1, true)
    assert.is_false(link:detach())
    assert.is_false(link.attached)
  end)

  it("attaching a program twice to the same tracepoint says so", function()
    local b <close> = bpf.new(NOOP)
    assert.matches("program 'noop' is already attached to tracepoint syscalls:sys_enter_getpid",
      h.error_of(b.attach_tracepoint, b, "syscalls:sys_enter_getpid", "noop"), 1, true)
  end)

  it("bad options are named", function()
    assert.matches("opts.cflags[2] must be a string, got number",
      h.error_of(bpf.new, NOOP, { cflags = { "-DX", 5 } }), 1, true)
    assert.matches("the program has no global variable named 'nope' (its globals: none)",
      h.error_of(bpf.new, NOOP, { rodata = { nope = 1 } }), 1, true)
    assert.matches("max_entries: no map named 'nope' (maps: counts)",
      h.error_of(bpf.new, h.hash_u32_u64("counts") .. NOOP, { max_entries = { nope = 5 } }), 1, true)
    assert.matches("opts.rodata.small: 300 is out of range for u8 (0 to 255)",
      h.error_of(bpf.new, "const volatile u8 small = 0;\n" .. NOOP, { rodata = { small = 300 } }), 1, true)
    assert.matches("not a usable BPF object",
      h.error_of(bpf.new, "\127ELF but not really an object"), 1, true)
  end)

  it("running unprivileged names the missing capability", function()
    -- A world-readable copy: the checkout may sit in a directory only root can enter.
    local dir = h.tmpdir()
    h.run("chmod 755 " .. dir .. " && cp " .. h.luabpf .. " " .. h.build .. "/libluabpf-clang.so " .. dir)
    local out, code = h.run("cd / && setpriv --reuid=65534 --regid=65534 --clear-groups " .. dir
      .. "/luabpf -e 'bpf.new[[" .. NOOP .. "]]'")
    h.run("rm -rf " .. dir)
    assert.are.equal(1, code)
    assert.matches("permission denied: loading BPF programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), "
      .. "and this process has neither", out, 1, true)
  end)
end)
