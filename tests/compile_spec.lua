-- Compiling in memory: the prelude, cflags, licenses, line mapping and
-- loading a precompiled object without the compiler.
local bpf = require "bpf"
local h = require "helper"

local NOOP = [[SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }]]

describe("compile", function()
  it("turns BPF C into an ELF object with BTF, needing no #include", function()
    local elf = bpf.compile([[
SEC("raw_tp/sched_process_exec")
int uses_kernel_types(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *t = (struct task_struct *)bpf_get_current_task();
	return BPF_CORE_READ(t, tgid) > 0;
}
]])
    assert.are.equal("\127ELF", elf:sub(1, 4))
    assert.is_truthy(elf:find(".BTF", 1, true))
    assert.is_truthy(elf:find(".BTF.ext", 1, true))
  end)

  it("loads a precompiled object without compiling again", function()
    local elf = bpf.compile(h.hash_u32_u64("counts") .. NOOP)
    local b <close> = bpf.new(elf)
    assert.are.equal("noop", b.progs.noop.name)
  end)

  it("passes cflags to the compiler", function()
    local src = "#if VALUE != 42\n#error VALUE is not 42\n#endif\n" .. NOOP
    assert.are.equal("\127ELF", bpf.compile(src, { cflags = { "-DVALUE=42" } }):sub(1, 4))
    assert.matches("error: VALUE is not 42", h.error_of(bpf.compile, src, { cflags = { "-DVALUE=7" } }), 1, true)
  end)

  it("keeps a license the script declares itself", function()
    local b <close> = bpf.new([[
char LICENSE[] SEC("license") = "Dual BSD/GPL";
SEC("tp/syscalls/sys_enter_getpid") int uses_gpl_helper(void *ctx) { bpf_printk("hi"); return 0; }
]])
    assert.are.equal("uses_gpl_helper", b.progs.uses_gpl_helper.name)
  end)

  it("compiles without the prelude when asked, with the script's own includes", function()
    local src = [[
#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
char LICENSE[] SEC("license") = "GPL";
]] .. NOOP
    local b <close> = bpf.new(src, { prelude = false })
    assert.are.equal("noop", b.progs.noop.name)
    assert.matches("unknown type name 'u32'",
      h.error_of(bpf.compile, "u32 x;\n", { prelude = false }), 1, true)
  end)

  it("compiles without vmlinux.h using linux/types.h and libbpf's headers", function()
    local b <close> = bpf.new([[
#include <linux/types.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
char LICENSE[] SEC("license") = "GPL";
__u64 seen;
SEC("tp/syscalls/sys_enter_getpid") int p(void *ctx) { seen = bpf_htons(1); return 0; }
]], { prelude = false })
    assert.are.equal(0, b.globals.seen)
  end)

  it("has the small uapi headers network programs include, with their constants", function()
    local b <close> = bpf.new([[
#include <asm-generic/errno.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <linux/pkt_cls.h>
#include <linux/netfilter.h>
#include <bpf/bpf_endian.h>
SEC("tc") int consts(struct __sk_buff *skb)
{
	return EINVAL * 1000000 + ETH_P_IP * 100 + IPPROTO_UDP + TC_ACT_SHOT * 10 + NF_ACCEPT + (bpf_htons(1) == 256);
}
]], { autoattach = false })
    assert.are.equal(22 * 1000000 + 0x0800 * 100 + 17 + 20 + 1 + 1, (b.progs.consts:test_run()))
  end)

  it("reads no header from disk: a host header is not found", function()
    assert.matches("'stdio.h' file not found", h.error_of(bpf.compile, "#include <stdio.h>\n" .. NOOP), 1, true)
  end)

  it("names the script line of an error in a script run by luabpf", function()
    local dir = h.tmpdir()
    local lines = {}
    for i = 1, 9 do lines[i] = "-- line " .. i end
    lines[10] = "local b = bpf.new([["
    lines[11] = "SEC(\"tp/syscalls/sys_enter_getpid\")"
    lines[12] = "int p(void *ctx) {"
    lines[13] = "  return not_declared;"
    lines[14] = "}"
    lines[15] = "]])"
    h.write_file(dir .. "/tool.lua", table.concat(lines, "\n") .. "\n")
    local out, code = h.run("cd " .. dir .. " && " .. h.luabpf .. " tool.lua")
    h.run("rm -rf " .. dir)
    assert.are.equal(1, code)
    assert.matches("tool.lua:13: error: use of undeclared identifier 'not_declared'", out, 1, true)
  end)

  it("lets opts.name and opts.line place the C text", function()
    local msg = h.error_of(bpf.compile, "int a;\nint b = c;\n", { name = "probe.c", line = 100 })
    assert.matches("probe.c:101: error: use of undeclared identifier 'c'", msg, 1, true)
  end)

  it("refuses a source with a NUL byte", function()
    assert.matches("contains a NUL byte", h.error_of(bpf.compile, "int a;\0int b;"), 1, true)
  end)
end)
