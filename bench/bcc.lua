-- BCC dialect figures: what the rewrite adds to a compile, and the cost of
-- symbols (kallsyms load, ksym and usym lookups). Measurements, not tests.
local bpf = require "bpf"

local BCC = [[
BPF_HASH(counts, u32);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
	counts.increment(bpf_get_current_pid_tgid() >> 32);
	return 0;
}
]]
local PLAIN = require "count_openat"

-- A BCC tool's text (kernel header includes, implicit probe reads, map
-- methods) and the same run queue latency program in plain libbpf C.
local BCC_TOOL = [[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>
BPF_HASH(start, u32, u64);
BPF_HISTOGRAM(dist);
RAW_TRACEPOINT_PROBE(sched_wakeup) {
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	u32 pid = p->pid;
	u64 ts = bpf_ktime_get_ns();
	start.update(&pid, &ts);
	return 0;
}
RAW_TRACEPOINT_PROBE(sched_switch) {
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	u64 now = bpf_ktime_get_ns();
	if (prev->__state == TASK_RUNNING) {
		u32 p = prev->pid;
		start.update(&p, &now);
	}
	u32 pid = next->pid;
	u64 *tsp = start.lookup(&pid);
	if (!tsp)
		return 0;
	dist.increment(bpf_log2l((now - *tsp) / 1000));
	start.delete(&pid);
	return 0;
}
]]
local PLAIN_TOOL = [[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, u64); } start SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 64); __type(key, int); __type(value, u64); } dist SEC(".maps");
SEC("raw_tp/sched_wakeup") int on_wakeup(struct bpf_raw_tracepoint_args *ctx) {
	struct task_struct *p = (struct task_struct *)ctx->args[0];
	u32 pid = BPF_CORE_READ(p, pid);
	u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&start, &pid, &ts, BPF_ANY);
	return 0;
}
SEC("raw_tp/sched_switch") int on_switch(struct bpf_raw_tracepoint_args *ctx) {
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	u64 now = bpf_ktime_get_ns();
	if (BPF_CORE_READ(prev, __state) == 0) {
		u32 p = BPF_CORE_READ(prev, pid);
		bpf_map_update_elem(&start, &p, &now, BPF_ANY);
	}
	u32 pid = BPF_CORE_READ(next, pid);
	u64 *tsp = bpf_map_lookup_elem(&start, &pid);
	if (!tsp)
		return 0;
	int slot = bpf_log2l((now - *tsp) / 1000);
	u64 *n = bpf_map_lookup_elem(&dist, &slot);
	if (n)
		__sync_fetch_and_add(n, 1);
	bpf_map_delete_elem(&start, &pid);
	return 0;
}
]]

local best = require "best_of"

local function row(what, v, unit) print(("%-52s %10.4f %s"):format(what, v, unit)) end

print(("%-52s %10s"):format("BCC dialect (best of 5; compiles bypass the cache)", "value"))
row("compile, BCC dialect (rewrite + tracefs format)", best(function() bpf.compile(BCC) end, 5), "s")
row("compile, the same count in plain libbpf C", best(function() bpf.compile(PLAIN) end, 5), "s")
local bcc_tool = best(function() bpf.compile(BCC_TOOL) end, 5)
local plain_tool = best(function() bpf.compile(PLAIN_TOOL) end, 5)
row("compile, a BCC tool text (includes, probe reads)", bcc_tool, "s")
row("compile, the same tool in plain libbpf C", plain_tool, "s")
row("  BCC text / plain C (target <= 1.10)", bcc_tool / plain_tool, "x")

local t0 = bpf.ktime_ns()
local addr = bpf.ksymaddr("vfs_read")
row("load /proc/kallsyms (first bpf.ksym)", (bpf.ktime_ns() - t0) / 1e9, "s")
local n = 200000
t0 = bpf.ktime_ns()
for i = 1, n do bpf.ksym(addr + (i % 64)) end
row("bpf.ksym lookups", n / ((bpf.ktime_ns() - t0) / 1e9) / 1e6, "M/s")

local child = io.popen("exec sh -c 'echo $$; exec build/tests/busy 2'")
local pid = tonumber(child:read("l"))
bpf.sleep(0.05)
local base
for line in io.lines("/proc/" .. pid .. "/maps") do
  local s = line:match("^(%x+)%-%x+ r%-xp")
  if s and line:find("/busy$") then base = tonumber(s, 16) end
end
t0 = bpf.ktime_ns()
bpf.usym(base, pid)
row("bpf.usym first lookup (maps + ELF symbols)", (bpf.ktime_ns() - t0) / 1e9, "s")
t0 = bpf.ktime_ns()
for i = 1, n do bpf.usym(base + (i % 512), pid) end
row("bpf.usym lookups, cached", n / ((bpf.ktime_ns() - t0) / 1e9) / 1e6, "M/s")
child:close()
