-- BCC's own C on luabpf, on a kernel without headers: kernel header
-- includes and their constants, implicit probe reads through kernel
-- pointers, BCC's program model (plain functions typed by their attach
-- call), BCC's API names, __data_loc strings, signed syscall arguments and
-- lookup_or_init. Programs are written for these tests, in BCC's style.
local bpf = require "bpf"
local h = require "helper"

-- The fixture makes n getppid calls and prints its pid.
local function getppid_calls(n)
  local out, code = h.run(h.fixture("getppid_loop") .. " " .. n)
  assert.are.equal(0, code, out)
  return tonumber(out)
end

-- A cgroup v2 hierarchy: the mounted one, or one mounted for the test.
local function cgroup2_root()
  local f = assert(io.open("/proc/mounts"))
  local mounts = f:read("a")
  f:close()
  for dir, fs in mounts:gmatch("%S+ (%S+) (%S+)[^\n]*") do
    if fs == "cgroup2" then return dir, false end
  end
  local dir = h.tmpdir()
  local _, code = h.run("mount -t cgroup2 none " .. dir)
  assert.are.equal(0, code, "cannot mount cgroup2")
  return dir, true
end

local FIXTURE_COMM = [[
static __always_inline bool is_fixture(void)
{
	char comm[16];
	const char want[] = "getppid_loop";
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < sizeof(want); i++)
		if (comm[i] != want[i])
			return false;
	return true;
}
]]

describe("BCC compatibility", function()
  it("compiles the kernel headers BCC tools include, with their constants and field aliases", function()
    local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
#include <linux/fs.h>
#include <net/sock.h>
#include <net/inet_sock.h>
#include <linux/blkdev.h>
#include <bcc/proto.h>
u64 vals[12] = {
	AF_INET, AF_INET6, TASK_RUNNING, TASK_UNINTERRUPTIBLE, PAGE_SIZE, REQ_OP_MASK,
	S_ISREG(0100644), S_ISDIR(0100644), O_CREAT, NAME_MAX, DNAME_INLINE_LEN, LINUX_VERSION_CODE,
};
u64 same_field = __builtin_offsetof(struct sock, sk_state) == __builtin_offsetof(struct sock, __sk_common.skc_state) &&
	__builtin_offsetof(struct inet_sock, inet_dport) == __builtin_offsetof(struct inet_sock, sk.__sk_common.skc_dport);
u16 swapped = 0;
SEC("xdp") int order(struct xdp_md *ctx) { swapped = ntohs(0x3412); return XDP_PASS; }
]])
    local release = h.run("uname -r")
    local a, bb, c = release:match("^(%d+)%.(%d+)%.?(%d*)")
    local version = (tonumber(a) << 16) + (tonumber(bb) << 8) + math.min(tonumber(c) or 0, 255)
    assert.are.same({ 2, 10, 0, 2, 4096, 255, 1, 0, 64, 255, 40, version }, b.globals.vals)
    assert.are.equal(1, b.globals.same_field)
    b.progs.order:test_run { data = ("\0"):rep(64) }
    assert.are.equal(0x1234, b.globals.swapped)
  end)

  it("names an include it does not know, at the script's line", function()
    local err = h.error_of(bpf.new, [[
#include <linux/sched.h>
#include <linux/no_such_header.h> // UNKNOWN-INCLUDE
]])
    assert.matches("bcc_compat_spec.lua:" .. h.line_of("UNKNOWN-INCLUDE") .. ": fatal error: 'linux/no_such_header.h' file not found", err, 1, true)
  end)

  it("reads kernel structs through kernel pointers, chains and arrays included, as BCC does", function()
    local b <close> = bpf.new([[
#include <linux/sched.h>
struct seen { u32 pid; u32 ppid; u32 pppid_ok; char first; char comm[16]; u64 same_addr; u32 by_deref; u32 by_fn; char by_cast; };
/* The shape BCC tools give a kernel struct they only need the start of. */
struct pid_pair { u32 pid; u32 tgid; };
BPF_HASH(execs, u32, struct seen);
static struct task_struct *parent_of(struct task_struct *t) { return t->real_parent; }
RAW_TRACEPOINT_PROBE(sched_process_exec) {
	struct task_struct *t = (struct task_struct *)ctx->args[0];
	struct seen s = {};
	s.pid = t->tgid;
	s.ppid = t->real_parent->tgid;
	s.pppid_ok = t->real_parent->real_parent->tgid == t->real_parent->real_parent->pid;
	s.first = t->comm[0];
	bpf_probe_read_kernel_str(s.comm, sizeof(s.comm), t->comm);
	s.same_addr = (u64)&t->pid == (u64)t + __builtin_offsetof(struct task_struct, pid);
	u32 *tgidp = &t->tgid;
	s.by_deref = ((struct pid_pair *)&t->pid)->tgid + *tgidp - s.pid;
	s.by_fn = parent_of(t)->tgid;
	s.by_cast = ((char *)t->comm)[1];
	execs.update(&s.pid, &s);
	return 0;
}
]])
    local out = h.run("sh -c 'echo $$ $PPID; exec " .. h.fixture("getppid_loop") .. " 0'")
    local pid, ppid = out:match("^(%d+) (%d+)")
    pid, ppid = tonumber(pid), tonumber(ppid)
    assert.are.same({ pid = pid, ppid = ppid, pppid_ok = 1, first = ("g"):byte(), comm = "getppid_loop", same_addr = 1,
      by_deref = pid, by_fn = ppid, by_cast = ("e"):byte() }, b.maps.execs[pid])
  end)

  it("makes a struct the script declares and the kernel also has a CO-RE flavor of the kernel's", function()
    local b <close> = bpf.new([[
#include <linux/sched.h>
#include <linux/nsproxy.h>
#include <linux/ns_common.h>
/* Kernel headers keep this private, so BCC tools declare it: an older layout. */
struct mnt_namespace {
	atomic_t count;
	struct ns_common ns;
};
BPF_HASH(mnt_ns, u32, u64);
RAW_TRACEPOINT_PROBE(sched_process_exec) {
	struct task_struct *t = (struct task_struct *)ctx->args[0];
	struct mnt_namespace *ns = t->nsproxy->mnt_ns;
	u32 pid = t->tgid;
	u64 inum = ns->ns.inum;
	mnt_ns.update(&pid, &inum);
	return 0;
}
]])
    local out = h.run("sh -c 'echo $$; exec readlink /proc/self/ns/mnt'")
    local pid, inum = out:match("^(%d+)\nmnt:%[(%d+)%]")
    assert.are.equal(tonumber(inum), b.maps.mnt_ns[tonumber(pid)])
  end)

  it("loads plain functions at their attach, with the attach's type, sharing maps and globals", function()
    local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
BPF_HASH(by_tp, u32, u64);
BPF_HASH(by_raw, u32, u64);
u64 calls;
]] .. FIXTURE_COMM .. [[
int count_calls(void *ctx) {
	if (!is_fixture())
		return 0;
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	by_tp.increment(pid);
	__sync_fetch_and_add(&calls, 1);
	return 0;
}
int count_raw(struct bpf_raw_tracepoint_args *ctx) {
	if (!is_fixture() || ctx->args[1] != NR_GETPPID)
		return 0;
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	by_raw.increment(pid);
	return 0;
}
]], { cflags = { "-DNR_GETPPID=" .. bpf.syscall_nr("getppid") } })
    assert.are.equal("luabpf_function", b.progs.count_calls.section)
    assert.is_true(b.progs.count_calls.fd < 0, "a plain function loads at its attach")
    b:attach_tracepoint { tp = "syscalls:sys_enter_getppid", fn_name = "count_calls" }
    b:attach_tracepoint("syscalls:sys_exit_getppid", "count_calls")
    b:attach_raw_tracepoint { tp = "sys_enter", fn_name = "count_raw" }
    local pid = getppid_calls(250)
    assert.are.equal(500, b.maps.by_tp[pid])
    assert.are.equal(250, b.maps.by_raw[pid])
    assert.are.equal(500, b.globals.calls)
  end)

  it("copies a fixed size out of a shorter string literal, as BCC tools do", function()
    local b <close> = bpf.new([[
typedef struct { char op[8]; u64 slot; } op_key_t;
BPF_HASH(ops, op_key_t, u64);
]] .. FIXTURE_COMM .. [[
static int count(void *ctx, const char *op) {
	op_key_t k = { .slot = 1 };
	__builtin_memcpy(&k.op, op, sizeof(k.op));
	ops.increment(k);
	return 0;
}
int on_enter(void *ctx) { return is_fixture() ? count(ctx, "ppid") : 0; }
int on_exit(void *ctx) { return is_fixture() ? count(ctx, "out") : 0; }
]])
    b:attach_tracepoint { tp = "syscalls:sys_enter_getppid", fn_name = "on_enter" }
    b:attach_tracepoint { tp = "syscalls:sys_exit_getppid", fn_name = "on_exit" }
    getppid_calls(9)
    local got = {}
    for k, v in pairs(b.maps.ops) do got[k.op .. "/" .. k.slot] = v end
    assert.are.same({ ["ppid/1"] = 9, ["out/1"] = 9 }, got)
  end)

  it("passes a probed function's arguments after ctx, for uprobes and uretprobes", function()
    local b <close> = bpf.new([[
BPF_ARRAY(sums, u64, 4);
int on_add(struct pt_regs *ctx, int a, int b) {
	sums.increment(0, a);
	sums.increment(1, b);
	sums.increment(2);
	return 0;
}
int on_return(struct pt_regs *ctx) {
	int ret = PT_REGS_RC(ctx);
	sums.update(&(u32){3}, &(u64){ret});
	return 0;
}
]])
    local target = h.fixture("uprobe_target")
    b:attach_uprobe { name = target, sym = "lbpf_target_add", fn_name = "on_add" }
    b:attach_uretprobe { name = target, sym = "lbpf_target_add", fn_name = "on_return" }
    local out = h.run(target .. " 10")
    assert.are.equal("1009\n", out)
    assert.are.same({ 45, 10000, 10, 1009 }, { b.maps.sums[0], b.maps.sums[1], b.maps.sums[2], b.maps.sums[3] })
  end)

  it("loads a kprobe function with its arguments, and names this kernel's missing kprobes at attach", function()
    local b <close> = bpf.new([[
#include <linux/fs.h>
BPF_HASH(bytes, u32, u64);
int trace_read(struct pt_regs *ctx, struct file *file, char __user *buf, size_t count) {
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 mode = file->f_mode;
	if (mode & FMODE_READ)
		bytes.increment(pid, count);
	return 0;
}
int syscall__openat(struct pt_regs *ctx, int dfd, const char __user *filename) {
	return dfd < 0;
}
]])
    local err = h.error_of(b.attach_kprobe, b, { event = "vfs_read", fn_name = "trace_read" })
    assert.matches("program 'trace_read': kprobes are not available on this kernel (it was built without CONFIG_KPROBES), so 'vfs_read' cannot be probed", err, 1, true)
    err = h.error_of(b.attach_kretprobe, b, { event = b:get_syscall_fnname("openat"), fn_name = "syscall__openat" })
    assert.matches("program 'syscall__openat': kprobes are not available on this kernel (it was built without CONFIG_KPROBES), so '__x64_sys_openat' cannot be probed", err, 1, true)
    assert.are.equal("__x64_sys_openat", b:get_syscall_fnname("openat"))
  end)

  it("reads both __data_loc strings of a tracepoint with TP_DATA_LOC_READ_STR", function()
    local b <close> = bpf.new([[
struct move { u32 pid; char path[64]; char comm[16]; };
BPF_PERF_OUTPUT(moves);
TRACEPOINT_PROBE(cgroup, cgroup_attach_task) {
	struct move m = { .pid = args->pid };
	TP_DATA_LOC_READ_STR(m.path, dst_path, sizeof(m.path));
	TP_DATA_LOC_READ_STR(m.comm, comm, sizeof(m.comm));
	moves.perf_submit(args, &m, sizeof(m));
	return 0;
}
]])
    local seen = {}
    b["moves"]:open_perf_buffer(function(m)
      seen[#seen + 1] = { pid = m.pid, path = m.path, comm = m.comm }
    end)
    local root, mounted = cgroup2_root()
    local name = "luabpf_test_" .. h.getpid()
    assert(os.execute("mkdir " .. root .. "/" .. name))
    local out = h.run("sh -c 'echo $$; echo $$ > " .. root .. "/" .. name .. "/cgroup.procs; echo $$ > " .. root .. "/cgroup.procs'")
    os.execute("rmdir " .. root .. "/" .. name)
    if mounted then os.execute("umount " .. root .. " && rmdir " .. root) end
    local pid = tonumber(out:match("^(%d+)"))
    b:perf_buffer_poll(100)
    local mine = {}
    for _, m in ipairs(seen) do if m.pid == pid then mine[#mine + 1] = m end end
    assert.are.same({ { pid = pid, path = "/" .. name, comm = "sh" }, { pid = pid, path = "/", comm = "sh" } }, mine)
  end)

  it("types tracepoint arguments by their declared sign: int dfd is negative for AT_FDCWD", function()
    local b <close> = bpf.new([[
BPF_HASH(negative, u32, u64);
BPF_HASH(last_dfd, u32, s64);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	s64 dfd = args->dfd;
	if (args->dfd < 0)
		negative.increment(pid);
	last_dfd.update(&pid, &dfd);
	return 0;
}
]])
    local out, code = h.run(h.fixture("opener") .. " 7 /etc/hostname")
    assert.are.equal(0, code, out)
    local pid = tonumber(out)
    assert.are.equal(7, b.maps.negative[pid])
    assert.are.equal(-100, b.maps.last_dfd[pid])
  end)

  it("leaves the program when lookup_or_init finds no room, as BCC does", function()
    local b <close> = bpf.new([[
BPF_HASH(one, u32, u64, 1);
u64 calls, after;
]] .. FIXTURE_COMM .. [[
TRACEPOINT_PROBE(syscalls, sys_enter_getppid) {
	if (!is_fixture())
		return 0;
	u32 k = __sync_fetch_and_add(&calls, 1);
	u64 zero = 0;
	u64 *v = one.lookup_or_init(&k, &zero);
	(*v)++;
	__sync_fetch_and_add(&after, 1);
	return 0;
}
]])
    getppid_calls(20)
    assert.are.equal(20, b.globals.calls)
    assert.are.equal(1, b.globals.after)
    assert.are.equal(1, b.maps.one[0])
  end)

  it("answers to BCC's API names: b[\"map\"], items, open_perf_buffer, perf_buffer_poll, attach_perf_event", function()
    local b <close> = bpf.new([[
#include <uapi/linux/bpf_perf_event.h>
BPF_HASH(samples, u32, u64);
struct ev { u32 pid; };
BPF_PERF_OUTPUT(events);
]] .. FIXTURE_COMM .. [[
int on_call(void *ctx) {
	if (!is_fixture())
		return 0;
	struct ev e = { .pid = bpf_get_current_pid_tgid() >> 32 };
	events.perf_submit(ctx, &e, sizeof(e));
	return 0;
}
int on_sample(struct bpf_perf_event_data *ctx) {
	u32 cpu = bpf_get_smp_processor_id();
	samples.increment(cpu);
	return 0;
}
]])
    b:attach_tracepoint { tp = "syscalls:sys_enter_getppid", fn_name = "on_call" }
    b:attach_perf_event { ev_type = 1, ev_config = 0, sample_freq = 1000, fn_name = "on_sample" }
    local pids = {}
    b["events"]:open_perf_buffer(function(e) pids[#pids + 1] = e.pid end)
    local pid = getppid_calls(3)
    b:perf_buffer_poll(100)
    assert.are.same({ pid, pid, pid }, pids)
    bpf.sleep(0.2)
    local total = 0
    for _, kv in ipairs(b["samples"]:items()) do total = total + kv[2] end
    assert.is_true(total > 0, "no cpu-clock samples in 0.2 s")
  end)

  it("reads USDT arguments with bpf_usdt_readarg and bpf_usdt_readarg_p, through bpf.USDT contexts", function()
    local target = h.fixture("usdt_target")
    local u = bpf.USDT { path = target }
    u:enable_probe { probe = "tick", fn_name = "on_tick" }
    local b <close> = bpf.new([[
struct name_t { char s[16]; };
BPF_ARRAY(stats, u64, 2);
BPF_HASH(names, u64, struct name_t);
int on_tick(struct pt_regs *ctx) {
	long i = 0;
	struct name_t n = {};
	bpf_usdt_readarg(1, ctx, &i);
	bpf_usdt_readarg_p(2, ctx, &n.s, sizeof(n.s));
	stats.increment(0);
	stats.increment(1, i);
	u64 k = i;
	names.update(&k, &n);
	return 0;
}
]], { usdt_contexts = { u } })
    assert.are.equal("12\n", h.run(target .. " 12"))
    assert.are.same({ 12, 66 }, { b.maps.stats[0], b.maps.stats[1] })
    assert.are.equal("tick-0", b.maps.names[0].s)
    assert.are.equal("tick-11", b.maps.names[11].s)
    local err = h.error_of(b.attach_usdt, b, { path = target, probe = "luabpf_test:no_such_probe", fn = "on_tick" })
    assert.matches("usdt: " .. target .. " has no USDT probe luabpf_test:no_such_probe", err, 1, true)
    err = h.error_of(b.attach_usdt, b, { path = target, probe = "nothing", fn = "on_tick" })
    assert.matches("usdt: " .. target .. " has no USDT probe named 'nothing'", err, 1, true)
    -- Counted with earlier garbage collected, so its finalizers do not move the count.
    collectgarbage()
    local fds = h.fd_count(h.getpid())
    err = h.error_of(bpf.new, "int f(struct pt_regs *ctx) { return 0; }", { usdt_contexts = { { probes = {} } } })
    assert.matches("opts.usdt_contexts[1] is not a context from bpf.USDT{pid=, path=}", err, 1, true)
    local bad = bpf.USDT { path = target }
    bad:enable_probe { probe = "luabpf_test:missing", fn_name = "f" }
    err = h.error_of(bpf.new, "int f(struct pt_regs *ctx) { long v = 0; bpf_usdt_readarg(1, ctx, &v); return v; }",
      { usdt_contexts = { bad } })
    assert.matches("has no USDT probe luabpf_test:missing", err, 1, true)
    local plain = bpf.USDT { path = target }
    plain:enable_probe { probe = "tick", fn_name = "f" }
    err = h.error_of(bpf.new, "int f(struct pt_regs *ctx) { return 0; }", { usdt_contexts = { plain } })
    assert.matches("usdt: program 'f' was compiled without USDT support; read arguments with bpf_usdt_readarg()", err, 1, true)
    collectgarbage()
    assert.are.equal(fds, h.fd_count(h.getpid()))
  end)

  it("finds a library by BCC's short name for uprobes", function()
    local libc = bpf.find_library("c")
    assert.matches("/libc%.so%.6$", libc)
    assert.is_nil(bpf.find_library("no_such_library_anywhere"))
    local b <close> = bpf.new([[
BPF_ARRAY(calls, u64, 1);
int on_printf(struct pt_regs *ctx) {
	char comm[16];
	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] == 'u' && comm[1] == 'p' && comm[2] == 'r' && comm[7] == 't')
		calls.increment(0);
	return 0;
}
]])
    b:attach_uprobe { name = "c", sym = "printf", fn_name = "on_printf" }
    assert.are.equal("1002\n", h.run(h.fixture("uprobe_target") .. " 3"))
    assert.are.equal(1, b.maps.calls[0])
  end)

end)
