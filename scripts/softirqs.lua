#!/usr/bin/env luabpf
-- softirqs: time spent in each kind of soft interrupt, as totals or (-d) as
-- histograms, like BCC's softirqs, from the irq:softirq_entry and
-- softirq_exit tracepoints.
local tool = require "bpf.tool"

local t = tool.new {
  name = "softirqs",
  summary = "Summarize soft interrupt (softirq) time.",
  examples = {
    "softirqs                 # total time per softirq, until Ctrl-C",
    "softirqs -d              # as histograms",
    "softirqs 1 10            # every second, 10 times",
    "softirqs -NT 1           # in nanoseconds, with a time",
    "softirqs 5 1 --json      # one 5 s summary as JSON lines",
  },
  options = { "interval" },
}
t.parser:flag("-T --timestamp", "print a time with each output")
t.parser:flag("-N --nanoseconds", "in nanoseconds, not microseconds")
t.parser:flag("-d --dist", "histograms instead of totals")
local args = t:parse()

local b = t:load([[
const volatile bool targ_ns = 0;
const volatile bool targ_dist = 0;
struct slot { u32 vec; u32 slot; };
struct totals { u64 count; u64 time; };
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } start SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, struct totals); } sums SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, struct slot); __type(value, u64); } dists SEC(".maps");

SEC("tp/irq/softirq_entry")
int on_entry(struct trace_event_raw_softirq *ctx)
{
	u32 zero = 0;
	u64 *ts = bpf_map_lookup_elem(&start, &zero);
	if (ts)
		*ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp/irq/softirq_exit")
int on_exit(struct trace_event_raw_softirq *ctx)
{
	u32 zero = 0, vec = ctx->vec;
	u64 *ts = bpf_map_lookup_elem(&start, &zero);
	if (!ts || !*ts)
		return 0;
	u64 delta = bpf_ktime_get_ns() - *ts;
	*ts = 0;
	if (!targ_ns)
		delta /= 1000;
	if (targ_dist) {
		struct slot k = {vec, bpf_log2l(delta)};
		u64 one = 1, *n = bpf_map_lookup_elem(&dists, &k);
		if (n)
			__sync_fetch_and_add(n, 1);
		else
			bpf_map_update_elem(&dists, &k, &one, BPF_NOEXIST);
		return 0;
	}
	struct totals *s = bpf_map_lookup_elem(&sums, &vec);
	if (!s) {
		struct totals none = {};
		bpf_map_update_elem(&sums, &vec, &none, BPF_NOEXIST);
		s = bpf_map_lookup_elem(&sums, &vec);
		if (!s)
			return 0;
	}
	__sync_fetch_and_add(&s->count, 1);
	__sync_fetch_and_add(&s->time, delta);
	return 0;
}
]], { rodata = { targ_ns = args.nanoseconds and 1 or 0, targ_dist = args.dist and 1 or 0 } })

-- The kernel's softirq_to_name[], unchanged since Linux 4.1 (its enum has no name in BTF).
local NAMES = { [0] = "hi", "timer", "net_tx", "net_rx", "block", "irq_poll", "tasklet", "sched", "hrtimer", "rcu" }
local unit = args.nanoseconds and "nsecs" or "usecs"

local function print_summary()
  t:interval_header()
  if args.dist then
    t:hists(b.maps.dists, "vec", unit, { label = "softirq", name = function(vec) return NAMES[vec] or ("vec " .. vec) end })
    return
  end
  local rows = {}
  for vec, s in pairs(b.maps.sums) do
    rows[#rows + 1] = { softirq = NAMES[vec] or ("vec " .. vec), count = s.count, total = s.time }
  end
  b.maps.sums:clear()
  table.sort(rows, function(x, y) return x.softirq < y.softirq end)
  t:columns { { "SOFTIRQ", -18, "softirq" }, { "COUNT", 10, "count", u = true },
    { "TOTAL_" .. unit, 12, "total", u = true } }
  for _, r in ipairs(rows) do t:row(r) end
  io.stdout:flush()
end

t:note("Tracing soft irq event time... Hit Ctrl-C to end.")
local why = t:run(b, { on_interval = print_summary })
if not args.interval or why == "signal" then print_summary() end
t:close()
