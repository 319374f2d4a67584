#!/usr/bin/env luabpf
-- biolatency: block device I/O latency as a log2 histogram, as BCC's
-- biolatency prints it: issue (or, with -Q, insert) to completion, from the
-- block_rq_* raw tracepoints; per disk (-D) or per request flags (-F).
local tool = require "bpf.tool"
local blockdev = require "bpf.blockdev"

local t = tool.new {
  name = "biolatency",
  summary = "Summarize block device I/O latency as a histogram.",
  examples = {
    "biolatency               # summarize block I/O latency as a histogram",
    "biolatency 1 10          # print 1 second summaries, 10 times",
    "biolatency -mT 1         # 1s summaries, milliseconds, and timestamps",
    "biolatency -Q            # include OS queued time in I/O time",
    "biolatency -D            # show each disk device separately",
    "biolatency -F            # show I/O flags separately",
    "biolatency -d sdc        # trace sdc only",
  },
  options = { "interval" },
}
local p = t.parser
p:flag("-T --timestamp", "include timestamp on output")
p:flag("-Q --queued", "include OS queued time in I/O time")
p:flag("-m --milliseconds", "millisecond histogram")
p:mutex(p:flag("-D --disks", "print a histogram per disk device"), p:flag("-F --flags", "print a histogram per set of I/O flags"))
p:option("-d --disk", "trace this disk only"):convert(blockdev.arg)
local args = t:parse()

local b = t:load(blockdev.RQ_DEV .. [[
const volatile bool targ_queued = 0;
const volatile bool targ_ms = 0;
const volatile bool targ_per_disk = 0;
const volatile bool targ_per_flag = 0;
const volatile u32 targ_dev = 0;
struct bio_key { u32 group; u32 slot; };
BPF_HASH(starts, u64, u64, 10240);
BPF_HASH(dist, struct bio_key, u64, 4096);

static void stamp(struct request *rq, u64 flags)
{
	if (targ_dev && rq_dev(rq) != targ_dev)
		return;
	u64 key = (u64)rq, now = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &key, &now, flags);
}

SEC("raw_tp/block_rq_insert")
int on_insert(struct bpf_raw_tracepoint_args *ctx)
{
	if (targ_queued)
		stamp((struct request *)ctx->args[0], BPF_ANY);
	return 0;
}

/* With -Q a request inserted in a queue keeps its insert time. */
SEC("raw_tp/block_rq_issue")
int on_issue(struct bpf_raw_tracepoint_args *ctx)
{
	stamp((struct request *)ctx->args[0], targ_queued ? BPF_NOEXIST : BPF_ANY);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int on_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	u64 key = (u64)rq, *start = starts.lookup(&key);
	if (!start)
		return 0;
	u64 delta = (bpf_ktime_get_ns() - *start) / 1000;
	starts.delete(&key);
	if (targ_ms)
		delta /= 1000;
	struct bio_key k = { .slot = bpf_log2l(delta) };
	if (targ_per_disk)
		k.group = rq_dev(rq);
	else if (targ_per_flag)
		k.group = BPF_CORE_READ(rq, cmd_flags);
	u64 zero = 0, *n = dist.lookup_or_try_init(&k, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
]], { rodata = {
  targ_queued = args.queued and 1 or 0, targ_ms = args.milliseconds and 1 or 0, targ_per_disk = args.disks and 1 or 0,
  targ_per_flag = args.flags and 1 or 0, targ_dev = args.disk or 0,
} })

local unit = args.milliseconds and "msecs" or "usecs"
local function report()
  t:interval_header()
  if args.disks then
    t:hists(b.maps.dist, "group", unit, { label = "disk", name = blockdev.name })
  elseif args.flags then
    t:hists(b.maps.dist, "group", unit, { label = "flags", name = blockdev.flags })
  else
    t:hists(b.maps.dist, nil, unit)
  end
end

t:note("Tracing block device I/O... Hit Ctrl-C to end.")
local why = t:run(b, { on_interval = report })
if not args.interval or why == "signal" then report() end
t:close()
