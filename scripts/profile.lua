#!/usr/bin/env luabpf
-- profile: samples stack traces at a timed interval on every CPU (a
-- cpu-clock perf event), like BCC's profile: the stacks with their counts,
-- the folded format (-f), or an interactive flame graph (--svg).
local tool = require "bpf.tool"

local t = tool.new {
  name = "profile",
  summary = "Profile CPU usage by sampling stack traces at a timed interval.",
  examples = {
    "profile                  # every CPU at 99 Hz, until Ctrl-C",
    "profile -F 199 10        # at 199 Hz, for 10 seconds",
    "profile -p 185 5         # process 185 only, for 5 seconds",
    "profile -U -f 5          # user stacks only, in the folded format",
    "profile --svg out.svg 10 # an interactive flame graph of 10 seconds",
  },
  options = { "pid", "cgroup" },
}
t.parser:argument("duration", "seconds to sample (until Ctrl-C if not given)"):args("?"):convert(tonumber)
t.parser:option("-F --frequency", "samples a second, on each CPU"):default("99"):convert(tonumber)
t.parser:flag("-U --user-stacks-only", "user stacks only")
t.parser:flag("-K --kernel-stacks-only", "kernel stacks only")
t.parser:flag("-I --include-idle", "include the idle task's samples")
t:stack_options { svg = true }
local args = t:parse()
if args.user_stacks_only and args.kernel_stacks_only then t:fail("-U and -K exclude each other") end
if not args.frequency or args.frequency < 1 or args.frequency > 10000 then
  t:fail("-F takes a frequency from 1 to 10000 Hz")
end

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_user_only = 0;
const volatile bool targ_kernel_only = 0;
const volatile bool targ_idle = 0;
struct sample_key { u32 pid; s32 ustack; s32 kstack; char comm[16]; };
BPF_HASH(samples, struct sample_key, u64, 40960);
BPF_STACK_TRACE(stacks, 16384);

SEC("perf_event") int on_sample(struct bpf_perf_event_data *ctx)
{
	struct sample_key k = {};
	k.pid = bpf_get_current_pid_tgid() >> 32;
	if ((!k.pid && !targ_idle) || tool_skip())
		return 0;
	k.ustack = targ_kernel_only ? -1 : stacks.get_stackid(ctx, BPF_F_USER_STACK);
	k.kstack = targ_user_only ? -1 : stacks.get_stackid(ctx, 0);
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	samples.increment(k);
	return 0;
}
]], { autoattach = false, rodata = t:rodata {
  targ_user_only = args.user_stacks_only and 1 or 0, targ_kernel_only = args.kernel_stacks_only and 1 or 0,
  targ_idle = args.include_idle and 1 or 0,
}, max_entries = { stacks = args.stack_storage_size } })
t:try(b.attach_perf_event, b, { fn = "on_sample", freq = math.floor(args.frequency),
  pid = args.pid })

t:note(("Sampling %s at %d Hz%s... Hit Ctrl-C to end."):format(args.pid and ("pid " .. args.pid) or "every CPU",
  math.floor(args.frequency), args.duration and (" for " .. args.duration .. " s") or ""))
t:run(b)

t:stacks(t:stacks_of(b.maps.samples, b.maps.stacks), { title = "CPU flame graph (luabpf profile)" })
t:close()
