#!/usr/bin/env luabpf
-- cpudist: how long threads run on a CPU each time (or, with -O, how long
-- they are off it), as a log2 histogram, like BCC's cpudist, from the
-- sched_switch raw tracepoint.
local tool = require "bpf.tool"

local t = tool.new {
  name = "cpudist",
  summary = "Summarize on-CPU (or off-CPU) time per task as a histogram.",
  examples = {
    "cpudist                  # on-CPU time, until Ctrl-C",
    "cpudist -O               # off-CPU time instead",
    "cpudist 1 10             # every second, 10 times",
    "cpudist -mP              # in milliseconds, one histogram per process",
    "cpudist -p 185 5 1       # process 185 only, for 5 seconds",
  },
  options = { "pid", "interval", "histograms" },
}
t.parser:flag("-O --offcpu", "measure off-CPU time instead")
local args = t:parse()

local b = t:load([[
const volatile u32 targ_tgid = 0;
const volatile bool targ_offcpu = 0;
const volatile bool targ_ms = 0;
const volatile bool targ_per_pid = 0;
struct dist_key { u32 pid; u32 slot; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, u64); } since SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, struct dist_key); __type(value, u64); } dist SEC(".maps");

static void count(u32 tgid, u64 delta)
{
	delta /= 1000;
	if (targ_ms)
		delta /= 1000;
	struct dist_key k = {targ_per_pid ? tgid : 0, bpf_log2l(delta)};
	u64 one = 1, *n = bpf_map_lookup_elem(&dist, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&dist, &k, &one, BPF_NOEXIST);
}

/* The thread leaving the CPU ends an on-CPU span and starts an off-CPU one;
 * the one coming in, the reverse. Each span is timed from its start. */
SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	u32 prev_pid = BPF_CORE_READ(prev, pid), prev_tgid = BPF_CORE_READ(prev, tgid);
	u32 next_pid = BPF_CORE_READ(next, pid), next_tgid = BPF_CORE_READ(next, tgid);
	u64 now = bpf_ktime_get_ns(), *start;
	/* on-CPU: time next in, count prev out; off-CPU: the other way round */
	u32 in_pid = targ_offcpu ? prev_pid : next_pid, in_tgid = targ_offcpu ? prev_tgid : next_tgid;
	u32 out_pid = targ_offcpu ? next_pid : prev_pid, out_tgid = targ_offcpu ? next_tgid : prev_tgid;

	if (out_pid && (!targ_tgid || out_tgid == targ_tgid) && (start = bpf_map_lookup_elem(&since, &out_pid))) {
		count(out_tgid, now - *start);
		bpf_map_delete_elem(&since, &out_pid);
	}
	if (in_pid && (!targ_tgid || in_tgid == targ_tgid))
		bpf_map_update_elem(&since, &in_pid, &now, BPF_ANY);
	return 0;
}
]], { rodata = {
  targ_tgid = args.pid or 0, targ_offcpu = args.offcpu and 1 or 0, targ_ms = args.milliseconds and 1 or 0,
  targ_per_pid = args.pids and 1 or 0,
} })

t:note(("Tracing %s-CPU time... Hit Ctrl-C to end."):format(args.offcpu and "off" or "on"))

local unit = args.milliseconds and "msecs" or "usecs"
local function print_dist() t:pid_hists(b.maps.dist, unit, args.pids) end

local why = t:run(b, { on_interval = print_dist })
if not args.interval or why == "signal" then print_dist() end
t:close()
