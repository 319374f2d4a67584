-- Attach kinds beyond the common ones: uprobe_multi on a glob (one link for
-- every matching function), task iterators read through their link, and the
-- kinds this kernel cannot run, kprobe_multi and fentry-style tracing
-- programs, each refused with what is missing.
local h = require "helper"
local bpf = require "bpf"

local SRC = [[
u64 hits = 0;
SEC("uprobe.multi") int on_any(struct pt_regs *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }
SEC("uretprobe.multi") int on_return(struct pt_regs *ctx) { __sync_fetch_and_add(&hits, 100); return 0; }
SEC("kprobe.multi") int on_kernel(struct pt_regs *ctx) { return 0; }
SEC("fentry/do_nanosleep") int BPF_PROG(on_entry) { return 0; }
const volatile int me = 0;
/* One line per thread of this process: a BTF-typed program whose pointers
 * must stay direct loads for the verifier. */
SEC("iter/task") int on_task(struct bpf_iter__task *ctx)
{
	struct seq_file *seq = ctx->meta->seq;
	struct task_struct *t = ctx->task;
	if (t && t->tgid == me)
		BPF_SEQ_PRINTF(seq, "task %d %s\n", t->pid, t->comm);
	return 0;
}
SEC("tp/syscalls/sys_enter_getpid") int tp(void *c) { return 0; }
u64 by_cookie[4] = {};
SEC("uprobe.multi") int on_listed(struct pt_regs *ctx)
{
	u64 c = bpf_get_attach_cookie(ctx);
	if (c < 4)
		__sync_fetch_and_add(&by_cookie[c], 1);
	return 0;
}
]]

describe("attach kinds", function()
  local target = h.fixture("uprobe_target")

  it("uprobe_multi: one link on every function a glob matches, for all processes or one", function()
    local b <close> = bpf.new(SRC, { autoattach = false, autoload = { on_entry = false, on_task = false } })
    local l = b:attach_uprobe_multi { path = target, sym = "lbpf_target_*", fn = "on_any" }
    h.run(target .. " 5")
    assert.are.equal(10, b.globals.hits) -- lbpf_target_add and lbpf_target_mul, 5 calls each
    l:detach()
    h.run(target .. " 5")
    assert.are.equal(10, b.globals.hits)
    b:attach_uprobe_multi { path = target, sym = "lbpf_target_mul", fn = "on_return", ret = true }
    h.run(target .. " 3")
    assert.are.equal(310, b.globals.hits)
    -- Another process's pid: this one's calls are not counted.
    b:attach_uprobe_multi { path = target, sym = "lbpf_target_add", fn = "on_any", pid = 1 }
    h.run(target .. " 3")
    assert.are.equal(610, b.globals.hits)
    assert.matches("uprobe_multi: no function of " .. target .. " matches 'nomatch_*' (list them with: nm "
      .. target .. ")", h.error_of(b.attach_uprobe_multi, b, { path = target, sym = "nomatch_*", fn = "on_any" }),
      1, true)
    assert.matches("program 'tp' is not a uprobe_multi program (its section is \"tp/syscalls/sys_enter_getpid\"); "
      .. "declare it with SEC(\"uprobe.multi\") or SEC(\"uretprobe.multi\")",
      h.error_of(b.attach_uprobe_multi, b, { path = target, sym = "lbpf_*", fn = "tp" }), 1, true)
    assert.matches("attach_uprobe_multi: give 'path'", h.error_of(b.attach_uprobe_multi, b, { fn = "on_any" }),
      1, true)
  end)

  it("uprobe_multi on a list of functions gives each its place in the list as its cookie", function()
    local b <close> = bpf.new(SRC, { autoattach = false, autoload = { on_entry = false, on_task = false } })
    local names, offsets = bpf.elf_functions(target, "lbpf_target_*")
    assert.are.same({ "lbpf_target_add", "lbpf_target_mul" }, names)
    assert.is_true(offsets[1] > 0 and offsets[2] > 0 and offsets[1] ~= offsets[2])
    b:attach_uprobe_multi { path = target, sym = { "lbpf_target_mul", "lbpf_slow_nap", "lbpf_target_add" },
      fn = "on_listed" }
    h.run(target .. " 4 1")
    assert.are.same({ 0, 4, 4, 4 }, b.globals.by_cookie)
    h.run(target .. " 2")
    assert.are.same({ 0, 6, 4, 6 }, b.globals.by_cookie)
    assert.matches("uprobe_multi: " .. target .. " defines no function lbpf_nothing (list them with: nm -D " .. target,
      h.error_of(b.attach_uprobe_multi, b, { path = target, sym = { "lbpf_target_add", "lbpf_nothing" },
        fn = "on_listed" }), 1, true)
    assert.matches("attach_uprobe_multi: 'sym' lists from 1 to 65536 function names, not 0",
      h.error_of(b.attach_uprobe_multi, b, { path = target, sym = {}, fn = "on_listed" }), 1, true)
    assert.matches("attach_uprobe_multi: 'sym' item 2 is a number, not a function name",
      h.error_of(b.attach_uprobe_multi, b, { path = target, sym = { "lbpf_target_add", 7 }, fn = "on_listed" }), 1, true)
    assert.matches("elf_functions: /etc/hostname is not an ELF binary or library",
      h.error_of(bpf.elf_functions, "/etc/hostname"), 1, true)
    assert.matches("cgroup_id: /tmp is not a cgroup v2 directory", h.error_of(bpf.cgroup_id, "/tmp"), 1, true)
    assert.are.same({}, (bpf.elf_functions(target, "no_such_*")))
  end)

  it("lists a binary's USDT probes with their argument specs", function()
    local probes = bpf.usdt_probes(h.fixture("usdt_target"))
    assert.are.equal(1, #probes)
    local p = probes[1]
    assert.are.same({ "luabpf_test", "tick", 0 }, { p.provider, p.name, p.semaphore })
    assert.matches("^%-4@%%%w+ 8@%%%w+$", p.args) -- an int and a pointer, in registers
    assert.is_true(p.address > 0)
    assert.are.same({}, bpf.usdt_probes(target))
    assert.matches("usdt_probes: cannot read /nonexistent: No such file or directory",
      h.error_of(bpf.usdt_probes, "/nonexistent"), 1, true)
  end)

  it("a USDT probe attached for one pid fires for that process only", function()
    local usdt = h.fixture("usdt_target")
    local b <close> = bpf.new([[
u64 ticks = 0;
SEC("usdt") int on_tick(struct pt_regs *ctx) { __sync_fetch_and_add(&ticks, 1); return 0; }
]], { autoattach = false })
    local mine, other = io.popen(usdt .. " 6 wait"), io.popen(usdt .. " 4 wait")
    local pid, other_pid = tonumber(mine:read("l")), tonumber(other:read("l"))
    b:attach_usdt { path = usdt, pid = pid, probe = "luabpf_test:tick", fn = "on_tick" }
    h.run(("kill -USR1 %d %d"):format(pid, other_pid))
    assert.are.same({ "6", "4" }, { mine:read("l"), other:read("l") })
    mine:close()
    other:close()
    assert.are.equal(6, b.globals.ticks)
  end)

  it("names what this kernel lacks for kprobe_multi and tracing programs, and a program left unloaded", function()
    local b <close> = bpf.new(SRC, { autoattach = false, autoload = { on_entry = false, on_task = false } })
    assert.matches("cannot attach program 'on_kernel' to kprobe.multi vfs_*: this kernel has no kprobes "
      .. "(CONFIG_KPROBES is off)", h.error_of(b.attach_kprobe_multi, b, { pattern = "vfs_*", fn = "on_kernel" }),
      1, true)
    assert.matches("program 'on_entry' was not loaded (its autoload was false), so it cannot be attached",
      h.error_of(b.attach_fentry, b, "on_entry"), 1, true)
    assert.matches("program 'tp' is not a fexit program (its section is \"tp/syscalls/sys_enter_getpid\"); "
      .. "declare it with SEC(\"fexit/FUNC\")", h.error_of(b.attach_fexit, b, { fn = "tp" }), 1, true)
    assert.matches("program 'tp' is not a iter program", h.error_of(b.attach_iter, b, "tp"), 1, true)
    assert.matches("attach_lsm: give the program (its name or b.progs.NAME)", h.error_of(b.attach_lsm, b), 1, true)
  end)

  it("an iterator's link runs it again on every read", function()
    local pid = h.getpid()
    local b <close> = bpf.new(SRC, { autoattach = false, autoload = { on_entry = false }, rodata = { me = pid } })
    local l = b:attach_iter("on_task")
    local expected = ("task %d lua5.4\n"):format(pid)
    assert.are.equal(expected, l:read())
    assert.are.equal(expected, l:read())
    l:detach()
    assert.matches("this link is detached", h.error_of(l.read, l), 1, true)
    local tp = b:attach_tracepoint("syscalls:sys_enter_getpid", "tp")
    assert.matches("cannot read the iterator: Invalid argument (the link is not an iterator's)",
      h.error_of(tp.read, tp), 1, true)
  end)
end)
