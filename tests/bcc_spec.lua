-- The BCC dialect against the kernel: declaration macros, map.method()
-- calls, TRACEPOINT_PROBE args, probes named by function, record types
-- inferred for events, histograms, stacks with symbols, and the errors.
local bpf = require "bpf"
local h = require "helper"

-- A child of the opener fixture opens path n times; returns its pid.
local function open_files(n, path)
  local out, code = h.run(h.fixture("opener") .. " " .. n .. " " .. path)
  assert.are.equal(0, code, out)
  return tonumber(out)
end

-- What f prints (histograms print with the global print, which busted's
-- sandbox would otherwise hide).
local function printed(f)
  local lines, saved = {}, _G.print
  _G.print = function(...)
    local parts = table.pack(...)
    for i = 1, parts.n do parts[i] = tostring(parts[i]) end
    lines[#lines + 1] = table.concat(parts, "\t")
  end
  local ok, err = pcall(f)
  _G.print = saved
  assert(ok, err)
  return table.concat(lines, "\n") .. "\n"
end

local function compile_error(src)
  return h.error_of(bpf.new, src)
end

describe("BCC dialect", function()
  it("TRACEPOINT_PROBE reads args->filename; perf_submit and ringbuf_output records decode without opts.type", function()
    local b <close> = bpf.new([[
struct data_t { u32 pid; u32 flags; char path[64]; };
BPF_PERF_OUTPUT(events);
BPF_RINGBUF_OUTPUT(ring, 16);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
	struct data_t d = {};
	char comm[16];
	bpf_get_current_comm(&comm, sizeof(comm));
	if (comm[0] != 'o' || comm[1] != 'p' || comm[2] != 'e' || comm[3] != 'n' || comm[4] != 'e' || comm[5] != 'r')
		return 0;
	d.pid = bpf_get_current_pid_tgid() >> 32;
	d.flags = args->flags;
	bpf_probe_read_user_str(&d.path, sizeof(d.path), args->filename);
	events.perf_submit(args, &d, sizeof(d));
	ring.ringbuf_output(&d, sizeof(d), 0);
	return 0;
}
]])
    local perf, ring = {}, {}
    b:perf_buffer("events", function(e) perf[#perf + 1] = e:table() end)
    b:ring_buffer("ring", function(e) ring[#ring + 1] = { pid = e.pid, path = e.path, flags = e.flags } end)
    local pid = open_files(3, "/etc/hostname")
    while b:poll(50) > 0 do end
    assert.are.equal(3, #perf)
    assert.are.equal(3, #ring)
    for i = 1, 3 do
      assert.are.same({ pid = pid, flags = 0, path = "/etc/hostname" }, perf[i])
      assert.are.same({ pid = pid, flags = 0, path = "/etc/hostname" }, ring[i])
    end
  end)

  it("increment, lookup_or_try_init, update, lookup and delete keep exact counts", function()
    local b <close> = bpf.new([[
BPF_HASH(counts, u32);                 // default leaf u64, 10240 entries
BPF_TABLE("hash", u32, u64, totals, 16);
BPF_ARRAY(last, u64, 4);
BPF_PERCPU_ARRAY(percpu, u64, 1);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
	char comm[16];
	bpf_get_current_comm(&comm, sizeof(comm));
	if (comm[0] != 'o' || comm[1] != 'p' || comm[2] != 'e' || comm[3] != 'n' || comm[4] != 'e' || comm[5] != 'r')
		return 0;
	u32 pid = bpf_get_current_pid_tgid() >> 32, zero_key = 0, two = 2;
	u64 zero = 0, *t, *l;
	counts.increment(pid);
	counts.increment(7, 10);
	t = totals.lookup_or_try_init(&zero_key, &zero);
	if (t)
		__sync_fetch_and_add(t, 5);
	l = last.lookup(&zero_key);
	if (l)
		*l = pid;
	u64 v = 42;
	last.update(&two, &v);
	percpu.increment(0);
	return 0;
}
]])
    local pid = open_files(4, "/etc/hostname")
    assert.are.equal(4, b.maps.counts[pid])
    assert.are.equal(40, b.maps.counts[7])
    assert.are.equal(20, b.maps.totals[0])
    assert.are.equal(pid, b.maps.last[0])
    assert.are.equal(42, b.maps.last[2])
    assert.are.equal(4, b.maps.percpu:sum(0))
    assert.are.equal("hash", b.maps.totals:info().type)
    assert.are.equal(16, b.maps.totals:info().max_entries)
    assert.are.equal(10240, b.maps.counts:info().max_entries)
  end)

  it("prints the exact log2 histogram of a child's read sizes", function()
    local b <close> = bpf.new([[
BPF_HISTOGRAM(dist);
TRACEPOINT_PROBE(syscalls, sys_exit_read) {
	char comm[16];
	bpf_get_current_comm(&comm, sizeof(comm));
	if (comm[0] != 'r' || comm[1] != 'e' || comm[2] != 'a' || comm[3] != 'd' || comm[4] != 's' || comm[5] != 'i')
		return 0;
	if (args->ret >= 0)
		dist.increment(bpf_log2l(args->ret));
	return 0;
}
]])
    local out, code = h.run(h.fixture("readsizes") .. " 1 3 3 100 5000 5000 5000")
    assert.are.equal(0, code, out)
    assert.are.equal([[
     bytes               : count     distribution
         0 -> 1          : 1        |*************                           |
         2 -> 3          : 2        |**************************              |
         4 -> 7          : 0        |                                        |
         8 -> 15         : 0        |                                        |
        16 -> 31         : 0        |                                        |
        32 -> 63         : 0        |                                        |
        64 -> 127        : 1        |*************                           |
       128 -> 255        : 0        |                                        |
       256 -> 511        : 0        |                                        |
       512 -> 1023       : 0        |                                        |
      1024 -> 2047       : 0        |                                        |
      2048 -> 4095       : 0        |                                        |
      4096 -> 8191       : 3        |****************************************|
]], printed(function() b.maps.dist:print_log2_hist("bytes") end))
    local rows = b.maps.dist:log2_hist()
    assert.are.equal(13, #rows)
    assert.are.same({ low = 4096, high = 8191, count = 3 }, rows[13])
    assert.are.same({ low = 0, high = 1, count = 1 }, rows[1])
  end)

  it("samples a busy child at 99 Hz with get_stackid and names its functions with usym", function()
    local b <close> = bpf.new([[
struct key_t { u32 pid; int stack; };
BPF_HASH(samples, struct key_t);
BPF_STACK_TRACE(stacks, 1024);
SEC("perf_event") int on_sample(struct bpf_perf_event_data *ctx) {
	struct key_t k = {.pid = bpf_get_current_pid_tgid() >> 32};
	k.stack = stacks.get_stackid(ctx, BPF_F_USER_STACK);
	samples.increment(k);
	return 0;
}
]])
    local child = io.popen("exec sh -c 'echo $$; exec " .. h.fixture("busy") .. " 1.5'")
    local pid = tonumber(child:read("l"))
    b:attach_perf_event { fn = "on_sample", type = "software", config = "cpu-clock", freq = 99, pid = pid }
    bpf.sleep(0.8)
    local names, total = {}, 0
    for k, n in pairs(b.maps.samples) do
      assert.are.equal(pid, k.pid)
      total = total + n
      for _, addr in ipairs(b.maps.stacks:walk(k.stack)) do
        local name, _, module = bpf.usym(addr, pid)
        names[name] = module
      end
    end
    child:close()
    assert.is_true(total >= 20 and total <= 110, "samples: " .. total)
    for _, fn in ipairs { "busy_inner", "busy_outer", "main" } do
      assert.is_truthy(names[fn], fn .. " not among the sampled frames")
      assert.is_truthy(names[fn]:find("/busy$"), names[fn])
    end
    local addr = bpf.ksymaddr("do_sys_openat2")
    assert.is_truthy(addr)
    assert.are.same({ "do_sys_openat2", 3, "kernel" }, { bpf.ksym(addr + 3) })
  end)

  it("scripts/profile.lua prints a busy process's hottest stacks with symbols, folded and as a flame graph", function()
    -- busy outlives the profile however slow its start (its symbols are
    -- read from the running process at the end), then goes.
    local svg = os.tmpname()
    local out, code = h.run("sh -c '" .. h.fixture("busy") .. " 30 & p=$!; " .. h.luabpf .. " " .. h.root
      .. "/scripts/profile.lua -U -f -p $p 1 2>/dev/null; " .. h.luabpf .. " " .. h.root
      .. "/scripts/profile.lua -U --svg " .. svg .. " -p $p 1; s=$?; kill $p; wait; exit $s'")
    assert.are.equal(0, code, out)
    -- The folded lines are sorted by stack: the hottest is the largest count.
    local hottest, n = nil, 0
    for stack, count in out:gmatch("(busy;[^\n]*) (%d+)\n") do
      if tonumber(count) > n then hottest, n = stack, tonumber(count) end
    end
    assert.matches(";main;busy_outer;busy_inner$", hottest, nil, false)
    assert.is_true(tonumber(n) >= 50, out) -- 99 Hz for 1 s, mostly in busy_inner
    assert.matches("Sampling pid %d+ at 99 Hz for 1 s%.%.%. Hit Ctrl%-C to end%.\n%d+ stacks written to ", out)
    local picture = io.open(svg):read("a")
    os.remove(svg)
    assert.matches("^<%?xml", picture)
    assert.matches('<g class="f" data%-name="busy_inner"[^>]*><title>busy_inner %(%d+ samples, [%d.]+%%%)</title>',
      picture)
    assert.matches('<script type="text/ecmascript">', picture, 1, true)
  end)

  it("RAW_TRACEPOINT_PROBE and functions named raw_tracepoint__ev and tracepoint__cat__ev attach by name", function()
    local b <close> = bpf.new([[
BPF_ARRAY(seen, u64, 4);
static bool is_loop(void)
{
	char comm[16];
	bpf_get_current_comm(&comm, sizeof(comm));
	return comm[0] == 'g' && comm[1] == 'e' && comm[2] == 't' && comm[3] == 'p' && comm[7] == '_';
}
RAW_TRACEPOINT_PROBE(sys_enter) {
	if (is_loop() && ctx->args[1] == 110)   /* __NR_getppid on x86_64 */
		seen.increment(0);
	return 0;
}
int raw_tracepoint__sys_exit(struct bpf_raw_tracepoint_args *ctx) {
	if (is_loop())
		seen.increment(1);
	return 0;
}
int tracepoint__syscalls__sys_enter_getppid(void *ctx) {
	if (is_loop())
		seen.increment(2);
	return 0;
}
]])
    local out, code = h.run(h.fixture("getppid_loop") .. " 25")
    assert.are.equal(0, code, out)
    assert.are.equal(110, bpf.syscall_nr("getppid"))
    assert.are.equal(25, b.maps.seen[0])
    assert.is_true(b.maps.seen[1] >= 26) -- the calls, exit_group aside, and the write of its pid
    assert.are.equal(25, b.maps.seen[2])
    assert.are.equal("raw_tracepoint/sys_exit", b.progs.raw_tracepoint__sys_exit.section)
    assert.are.equal("tracepoint/syscalls/sys_enter_getppid", b.progs.tracepoint__syscalls__sys_enter_getppid.section)
  end)

  it("queues, stacks, LPM tries and tail calls through prog arrays", function()
    local b <close> = bpf.new([[
BPF_QUEUE(q, u64, 8);
BPF_STACK(st, u32, 8);
struct lpm_key { u32 prefixlen; u32 addr; };
BPF_LPM_TRIE(routes, struct lpm_key, u32, 16);
BPF_PROG_ARRAY(jump, 2);
BPF_ARRAY(result, u64, 4);
SEC("xdp") int second(struct xdp_md *ctx) {
	result.increment(1);
	return XDP_PASS;
}
SEC("xdp") int first(struct xdp_md *ctx) {
	u64 v = 11, out = 0;
	q.push(&v, 0);
	v = 12;
	q.push(&v, 0);
	if (q.pop(&out) == 0)
		result.increment(0, out);
	u32 s = 5;
	st.push(&s, 0);
	struct lpm_key k = {32, 0x0100000a};    /* 10.0.0.1 */
	u32 *route = routes.lookup(&k);
	if (route)
		result.increment(2, *route);
	jump.call(ctx, 0);
	return XDP_DROP;
}
]])
    b.maps.routes["10.0.0.0/8"] = 77
    b.maps.jump[0] = b.progs.second
    local ret = b.progs.first:test_run { data = ("\0"):rep(64) }
    assert.are.equal(2, ret) -- XDP_PASS from the tail call
    assert.are.equal(11, b.maps.result[0])
    assert.are.equal(1, b.maps.result[1])
    assert.are.equal(77, b.maps.result[2])
    assert.are.equal(12, b.maps.q:pop())
    assert.is_nil(b.maps.q:pop())
    assert.are.equal(5, b.maps.st:pop())
  end)

  it("insert, delete, peek, atomic_increment, per-CPU hashes and reserved ring buffer records", function()
    local b <close> = bpf.new([[
struct rec { u32 kind; u64 value; };
BPF_PERCPU_HASH(per_cpu, u32, u64, 8);
BPF_HASH(h, u32, u64, 8);
BPF_QUEUE(q, u32, 4);
BPF_RINGBUF_OUTPUT(out, 4);
SEC("xdp") int run(struct xdp_md *ctx) {
	u32 k = 1, k2 = 2, qv = 9, peeked = 0;
	u64 v = 100, v2 = 200;
	per_cpu.atomic_increment(k, 3);
	h.insert(&k, &v);
	h.insert(&k, &v2);              /* exists: stays 100 */
	h.insert(&k2, &v2);
	h.delete(&k2);
	q.push(&qv, 0);
	q.peek(&peeked);
	struct rec *r = out.ringbuf_reserve(sizeof(struct rec));
	if (r) {
		r->kind = peeked;
		r->value = 7;
		out.ringbuf_submit(r, 0);
	}
	r = out.ringbuf_reserve(sizeof(*r));
	if (r)
		out.ringbuf_discard(r, 0);
	return XDP_PASS;
}
]])
    local recs = {}
    b:ring_buffer("out", function(e) recs[#recs + 1] = e:table() end)
    b.progs.run:test_run { data = ("\0"):rep(64) }
    b:poll(0)
    assert.are.equal(3, b.maps.per_cpu:sum(1))
    assert.are.equal(100, b.maps.h[1])
    assert.is_nil(b.maps.h[2])
    assert.are.equal(9, b.maps.q:pop())
    assert.are.same({ { kind = 9, value = 7 } }, recs)
    assert.are.equal("percpu_hash", b.maps.per_cpu:info().type)
  end)

  it("takes bpf_trace_printk without the format size", function()
    local b <close> = bpf.new([[
SEC("xdp") int say(struct xdp_md *ctx) {
	bpf_trace_printk("bcc printk %d %s", 42, "ok");
	return XDP_PASS;
}
]])
    local seen
    b:trace_pipe(function(f) if f.msg:find("bcc printk", 1, true) then seen = f.msg end end)
    -- The kernel makes its trace_printk buffer on first use after boot, and
    -- a line written before trace_pipe is ready can be missed: write again.
    for _ = 1, 40 do
      if seen then break end
      b.progs.say:test_run { data = ("\0"):rep(64) }
      b:poll(50)
    end
    assert.are.equal("bcc printk 42 ok", seen)
  end)

  it("leaves comments and strings alone and keeps every line on its line", function()
    local b <close> = bpf.new([[
BPF_HASH(counts, u32);
/* counts.increment(99) in a comment stays a comment */
const char text[] = "counts.increment(1); counts.lookup(&k)";
SEC("xdp") int prog(struct xdp_md *ctx) {
	counts
		.increment(
			3);   // counts.delete(&k)
	return XDP_PASS;
}
]])
    b.progs.prog:test_run { data = ("\0"):rep(64) }
    assert.are.equal(1, b.maps.counts[3])
    assert.is_nil(b.maps.counts[99])
    assert.are.equal("counts.increment(1); counts.lookup(&k)", b.globals.text)
    local err = compile_error([[
BPF_HASH(counts, u32);
SEC("xdp") int prog(struct xdp_md *ctx) {
	counts.increment(
		1);
	counts.update(&k, &v);   // LINE-AFTER-MULTILINE
	return XDP_PASS;
}
]])
    local line = h.line_of("LINE-AFTER-MULTILINE")
    assert.is_truthy(err:find("bcc_spec.lua:" .. line .. ": error: use of undeclared identifier 'k'", 1, true), err)
  end)

  it("names the script line of each bad form", function()
    local cases = {
      { [[
BPF_HASH(counts, u32);
SEC("xdp") int prog(struct xdp_md *ctx) {
	u32 x = 0;
	x.increment(1);                          // NOT-A-MAP
	return 0;
}
]], "NOT-A-MAP", "error: 'x' is not a map declared in this program, so x.increment() is not a map method; "
        .. "declare it first, e.g. BPF_HASH(x)" },
      { [[
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
	return args->no_such_field;              // NO-FIELD
}
]], "NO-FIELD", "error: no member named 'no_such_field' in 'struct tracepoint__syscalls__sys_enter_openat'" },
      { [[
BPF_HASH(counts, u32, u64, 10, 11);           // WRONG-ARGS
]], "WRONG-ARGS", "error: BPF_HASH takes 1 to 4 arguments, BPF_HASH(name[, key_type[, leaf_type[, size]]]), "
        .. "but was given 5" },
      { [[
BPF_PERF_OUTPUT(events);
SEC("xdp") int prog(struct xdp_md *ctx) {
	events.increment(1);                     // WRONG-KIND
	return 0;
}
]], "WRONG-KIND", "error: events.increment() does not apply to events, declared with BPF_PERF_OUTPUT" },
      { [[
BPF_HASH(counts);
SEC("xdp") int prog(struct xdp_md *ctx) {
	counts.incr(1);                          // NO-METHOD
	return 0;
}
]], "NO-METHOD", "error: map 'counts' has no method 'incr'; map methods are lookup, lookup_or_try_init" },
      { [[
BPF_HASH(counts);
SEC("xdp") int prog(struct xdp_md *ctx) {
	counts.increment(1, 2, 3);               // METHOD-ARGS
	return 0;
}
]], "METHOD-ARGS", "error: counts.increment() takes 1 or 2 arguments, as in counts.increment(key[, amount]), "
        .. "but was given 3" },
      { [[
BPF_TABLE("hashmap", u32, u64, t, 4);         // TABLE-TYPE
]], "TABLE-TYPE", "error: BPF_TABLE: unknown map type \"hashmap\"; use one of \"hash\", \"array\"" },
      { [[
TRACEPOINT_PROBE(syscalls, sys_enter_no_such_call) {   // NO-TRACEPOINT
	return 0;
}
]], "NO-TRACEPOINT", "error: TRACEPOINT_PROBE(syscalls, sys_enter_no_such_call): this kernel has no tracepoint "
        .. "syscalls:sys_enter_no_such_call" },
      { [[
TRACEPOINT_PROBE(syscalls) {                  // TP-ARGS
	return 0;
}
]], "TP-ARGS", "error: TRACEPOINT_PROBE takes two names, TRACEPOINT_PROBE(category, event)" },
    }
    for _, c in ipairs(cases) do
      local err = compile_error(c[1])
      local want = "bcc_spec.lua:" .. h.line_of(c[2]) .. ": " .. c[3]
      assert.is_truthy(err:find(want, 1, true), "\nwant: " .. want .. "\ngot: " .. err)
    end
  end)

  it("kprobes, kretprobes and KFUNC_PROBE compile, and this kernel's refusal is named", function()
    local err = h.error_of(bpf.new, [[
BPF_HASH(reads);
int kprobe__vfs_read(struct pt_regs *ctx, struct file *file, char *buf, size_t count) {
	reads.increment(count);
	return 0;
}
int kretprobe__vfs_read(struct pt_regs *ctx) { return PT_REGS_RC(ctx) > 0; }
]])
    assert.is_truthy(err:find("program 'kprobe__vfs_read': kprobes are not available on this kernel "
      .. "(it was built without CONFIG_KPROBES)", 1, true), err)
    err = h.error_of(bpf.new, [[
KFUNC_PROBE(vfs_read, struct file *file) { return 0; }
]])
    assert.is_truthy(err:find("program 'kfunc__vfs_read' (SEC(\"fentry/vfs_read\")) is a tracing program "
      .. "(fentry/fexit, LSM or iterator), and this kernel refuses tracing programs", 1, true), err)
    assert.are.equal("string", type(bpf.compile([[
KRETFUNC_PROBE(vfs_read, struct file *file, char *buf, size_t count, loff_t *pos, ssize_t ret) { return 0; }
]])))
    local b <close> = bpf.new([[
int kprobe__vfs_read(struct pt_regs *ctx, struct file *file) { return PT_REGS_PARM3(ctx) > 0; }
int kretprobe__vfs_read(struct pt_regs *ctx) { return 0; }
]], { autoattach = false })
    assert.are.equal("kprobe/vfs_read", b.progs.kprobe__vfs_read.section)
    assert.are.equal("kretprobe/vfs_read", b.progs.kretprobe__vfs_read.section)
  end)
end)
