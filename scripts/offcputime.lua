#!/usr/bin/env luabpf
-- offcputime: time threads spent blocked, by their stack when they blocked,
-- as BCC's offcputime prints it, or as a folded file or an interactive flame
-- graph (--svg); from the sched_switch raw tracepoint with stack traces.
local tool = require "bpf.tool"

local t = tool.new {
  name = "offcputime",
  summary = "Summarize off-CPU time by stack trace.",
  examples = {
    "offcputime               # trace off-CPU stack time until Ctrl-C",
    "offcputime 5             # trace for 5 seconds only",
    "offcputime -f 5          # 5 seconds, and output in folded format",
    "offcputime --svg o.svg 5 # 5 seconds, as an interactive flame graph",
    "offcputime -m 1000       # trace only events that last more than 1000 usec",
    "offcputime -M 10000      # trace only events that last less than 10000 usec",
    "offcputime -p 185        # only trace threads for PID 185",
    "offcputime -t 188        # only trace thread 188",
    "offcputime -u            # only trace user threads (no kernel)",
    "offcputime -k            # only trace kernel threads (no user)",
    "offcputime -U            # only show user space stacks (no kernel)",
    "offcputime -K            # only show kernel space stacks (no user)",
    "offcputime --state 2     # only trace threads in TASK_UNINTERRUPTIBLE",
  },
  options = { "pid", "tid" },
}
local p = t.parser
p:argument("duration", "seconds to trace (until Ctrl-C if not given)"):args("?"):convert(tool.integer("duration", 1, 1 << 30))
p:mutex(p:flag("-u --user-threads-only", "user threads only (no kernel threads)"),
  p:flag("-k --kernel-threads-only", "kernel threads only (no user threads)"))
p:mutex(p:flag("-U --user-stacks-only", "show stacks from user space only (no kernel space stacks)"),
  p:flag("-K --kernel-stacks-only", "show stacks from kernel space only (no user space stacks)"))
t:stack_options { svg = true, block_times = true }
local args = t:parse()

local b = t:load([[
const volatile u32 targ_pid = 0;
const volatile u32 targ_tid = 0;
const volatile bool targ_user_threads = 0;
const volatile bool targ_kernel_threads = 0;
const volatile bool targ_user_only = 0;
const volatile bool targ_kernel_only = 0;
const volatile u64 targ_min_us = 1;
const volatile u64 targ_max_us = ~0ULL;
const volatile s64 targ_state = -1;

struct blocked { u64 ts; u32 pid; s32 ustack; s32 kstack; char comm[16]; };
struct offcpu_key { u32 pid; s32 ustack; s32 kstack; char comm[16]; };
BPF_HASH(starts, u32, struct blocked, 10240);
BPF_HASH(offcpu, struct offcpu_key, u64, 10240);
BPF_STACK_TRACE(stacks, 16384);

static bool wanted(struct task_struct *task)
{
	u32 pid = BPF_CORE_READ(task, tgid), tid = BPF_CORE_READ(task, pid);
	if (!tid)
		return false; /* the idle task */
	if (targ_pid && pid != targ_pid)
		return false;
	if (targ_tid && tid != targ_tid)
		return false;
	bool kthread = BPF_CORE_READ(task, flags) & 0x00200000; /* PF_KTHREAD */
	if ((targ_user_threads && kthread) || (targ_kernel_threads && !kthread))
		return false;
	if (targ_state >= 0 && !(BPF_CORE_READ(task, __state) & targ_state))
		return false;
	return true;
}

/* The thread leaving the CPU is the current one: its stacks are taken now;
 * the one coming in ends its off-CPU time. */
SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	u64 now = bpf_ktime_get_ns();

	if (wanted(prev)) {
		u32 tid = BPF_CORE_READ(prev, pid);
		struct blocked s = { .ts = now, .pid = BPF_CORE_READ(prev, tgid) };
		s.ustack = targ_kernel_only ? -1 : stacks.get_stackid(ctx, BPF_F_USER_STACK);
		s.kstack = targ_user_only ? -1 : stacks.get_stackid(ctx, 0);
		BPF_CORE_READ_STR_INTO(&s.comm, prev, comm);
		starts.update(&tid, &s);
	}

	u32 tid = BPF_CORE_READ(next, pid);
	struct blocked *s = starts.lookup(&tid);
	if (!s)
		return 0;
	u64 us = (now - s->ts) / 1000;
	if (us >= targ_min_us && us <= targ_max_us) {
		struct offcpu_key k = { .pid = s->pid, .ustack = s->ustack, .kstack = s->kstack };
		__builtin_memcpy(k.comm, s->comm, sizeof(k.comm));
		u64 zero = 0, *total = offcpu.lookup_or_try_init(&k, &zero);
		if (total)
			__sync_fetch_and_add(total, us);
	}
	starts.delete(&tid);
	return 0;
}
]], {
  rodata = {
    targ_pid = args.pid or 0, targ_tid = args.tid or 0,
    targ_user_threads = args.user_threads_only and 1 or 0, targ_kernel_threads = args.kernel_threads_only and 1 or 0,
    targ_user_only = args.user_stacks_only and 1 or 0, targ_kernel_only = args.kernel_stacks_only and 1 or 0,
    targ_min_us = args.min_block_time, targ_max_us = args.max_block_time or -1, targ_state = args.state or -1,
  },
  max_entries = { stacks = args.stack_storage_size },
})

if not args.folded then
  t:note(("Tracing off-CPU time (us) of %s by %s stack%s"):format(
    args.pid and ("PID " .. args.pid) or args.tid and ("TID " .. args.tid) or "all threads",
    args.user_stacks_only and "user" or args.kernel_stacks_only and "kernel" or "user + kernel",
    args.duration and (" for " .. args.duration .. " secs.") or "... Hit Ctrl-C to end."))
end
t:run(b)
t:stacks(t:stacks_of(b.maps.offcpu, b.maps.stacks), { title = "Off-CPU time flame graph (luabpf offcputime)", unit = "us" })
t:close()
