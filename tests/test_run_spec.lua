-- p:test_run against the kernel's BPF_PROG_TEST_RUN: a context in and out,
-- packet data out, per-kind rules (raw tracepoints read their context, syscall
-- programs change theirs in place), and every option checked.
local h = require "helper"
local bpf = require "bpf"

local SRC = [[
struct args { int a; int b; };
SEC("raw_tp/sys_enter") int rtp(struct bpf_raw_tracepoint_args *ctx) { return ctx->args[0] + ctx->args[1]; }
SEC("syscall") int sc(struct args *ctx) { ctx->b = ctx->a * 2; return ctx->a + 1; }
SEC("xdp") int flip(struct xdp_md *ctx)
{
	unsigned char *d = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	if (d + 1 > end)
		return XDP_ABORTED;
	d[0] = ~d[0];
	return XDP_TX;
}
SEC("tc") int mark(struct __sk_buff *skb) { skb->mark = 7; return skb->len; }
/* The kernel's kfuncs come declared (weak) with vmlinux.h. */
int target = 0;
SEC("syscall") int find(void *ctx)
{
	if (!bpf_ksym_exists(bpf_task_from_pid))
		return -1;
	struct task_struct *t = bpf_task_from_pid(target);
	if (!t)
		return -2;
	int pid = t->pid;
	bpf_task_release(t);
	return pid;
}
]]

describe("test_run", function()
  local b
  setup(function() b = bpf.new(SRC, { autoattach = false }) end)
  teardown(function() b:close() end)

  it("gives a raw tracepoint its arguments as ctx", function()
    local ret, duration, data, ctx = b.progs.rtp:test_run { ctx = string.pack("<I8I8", 40, 2) }
    assert.are.same({ 42, "number", nil, nil }, { ret, math.type(duration) and "number", data, ctx })
    assert.are.equal(42, (b.progs.rtp:test_run { ctx = string.pack("<I8I8", 40, 2), cpu = 0 }))
  end)

  it("returns the context a syscall program changed, leaving the Lua string alone", function()
    local input = string.pack("<i4i4", 20, 0)
    local ret, _, data, ctx = b.progs.sc:test_run { ctx = input }
    assert.are.equal(21, ret)
    assert.is_nil(data)
    assert.are.same({ 20, 40, 9 }, { string.unpack("<i4i4", ctx) })
    assert.are.same({ 20, 0, 9 }, { string.unpack("<i4i4", input) })
  end)

  it("runs a syscall program that calls kfuncs vmlinux.h declares", function()
    b.globals.target = h.getpid()
    assert.are.equal(h.getpid(), (b.progs.find:test_run { ctx = string.pack("<i4", 0) }))
    b.globals.target = 0x7ffffff0
    assert.are.equal(-2, (b.progs.find:test_run { ctx = string.pack("<i4", 0) }) | ~0xffffffff)
  end)

  it("returns the packet an XDP program changed, over repeated runs", function()
    local ret, _, data = b.progs.flip:test_run { data = ("\1"):rep(64), data_out = true, ["repeat"] = 3 }
    assert.are.equal(3, ret) -- XDP_TX
    assert.are.equal(64, #data)
    assert.are.same({ 254, 1 }, { data:byte(1, 2) })
  end)

  it("passes a TC program's __sk_buff in and out", function()
    local skb = ("\0"):rep(192) -- struct __sk_buff, zeroed: the kernel fills what it must
    local ret, _, _, ctx = b.progs.mark:test_run { data = ("\0"):rep(64), ctx = skb }
    assert.are.equal(64, ret)
    assert.are.equal(192, #ctx)
    assert.are.equal(7, (string.unpack("<I4", ctx, 9))) -- mark, the third u32
  end)

  it("names a wrong option, a wrong value and what the kernel refuses", function()
    local flip = b.progs.flip
    assert.matches("test_run: unknown option 'dat' (it takes data, ctx, repeat, flags, cpu, data_out)",
      h.error_of(flip.test_run, flip, { dat = "x" }), 1, true)
    assert.matches("test_run: 'data' must be a string of bytes (string.pack makes one), got number",
      h.error_of(flip.test_run, flip, { data = 5 }), 1, true)
    assert.matches("test_run: 'repeat' must be an integer from 1 to 4294967295",
      h.error_of(flip.test_run, flip, { ["repeat"] = 0 }), 1, true)
    assert.matches("test_run: 'cpu' must be an integer from 0 to 2147483647",
      h.error_of(flip.test_run, flip, { cpu = -2 }), 1, true)
    assert.matches("test_run failed: Invalid argument (the kernel can test-run XDP, TC, socket filter, raw "
      .. "tracepoint and syscall programs; raw tracepoints take ctx and no data, some kinds no repeat)",
      h.error_of(b.progs.rtp.test_run, b.progs.rtp, { ctx = string.pack("<I8", 1), ["repeat"] = 2 }), 1, true)
  end)
end)
