#!/usr/bin/env luabpf
-- hardirqs: time spent in, or the count of, each hard interrupt handler, as
-- totals or histograms, as BCC's hardirqs prints them, from the
-- irq:irq_handler_entry and irq:irq_handler_exit tracepoints.
local tool = require "bpf.tool"

local t = tool.new {
  name = "hardirqs",
  summary = "Summarize hard irq event time as histograms.",
  examples = {
    "hardirqs                 # sum hard irq event time",
    "hardirqs -d              # show hard irq event time as histograms",
    "hardirqs 1 10            # print 1 second summaries, 10 times",
    "hardirqs -NT 1           # 1s summaries, nanoseconds, and timestamps",
    "hardirqs -C              # count hard irqs instead of timing them",
  },
  options = { "interval" },
}
local p = t.parser
p:flag("-T --timestamp", "include timestamp on output")
p:flag("-N --nanoseconds", "output in nanoseconds")
p:mutex(p:flag("-C --count", "show event counts instead of timing"):target("events"),
  p:flag("-d --dist", "show distributions as histograms"))
local args = t:parse()

local b = t:load([[
const volatile bool targ_ns = 0;
const volatile bool targ_dist = 0;
const volatile bool targ_count = 0;
struct irq_name { char name[32]; };
struct irq_start { u64 ts; struct irq_name irq; };
struct irq_key { char name[32]; u32 slot; };
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, struct irq_start); } starts SEC(".maps");
BPF_HASH(totals, struct irq_name, u64, 1024);
BPF_HASH(dists, struct irq_key, u64, 4096);

static void add(void *map, void *key, u64 n)
{
	u64 zero = 0, *v = bpf_map_lookup_elem(map, key);
	if (!v) {
		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		v = bpf_map_lookup_elem(map, key);
		if (!v)
			return;
	}
	__sync_fetch_and_add(v, n);
}

SEC("tp/irq/irq_handler_entry")
int on_entry(struct trace_event_raw_irq_handler_entry *ctx)
{
	u32 zero = 0;
	struct irq_start *s = bpf_map_lookup_elem(&starts, &zero);
	if (!s)
		return 0;
	__builtin_memset(s->irq.name, 0, sizeof(s->irq.name));
	bpf_probe_read_kernel_str(s->irq.name, sizeof(s->irq.name), (void *)ctx + (ctx->__data_loc_name & 0xffff));
	if (targ_count) {
		add(&totals, &s->irq, 1);
		return 0;
	}
	s->ts = bpf_ktime_get_ns();
	return 0;
}

SEC("tp/irq/irq_handler_exit")
int on_exit(void *ctx)
{
	u32 zero = 0;
	struct irq_start *s = bpf_map_lookup_elem(&starts, &zero);
	if (targ_count || !s || !s->ts)
		return 0;
	u64 delta = bpf_ktime_get_ns() - s->ts;
	s->ts = 0;
	if (!targ_ns)
		delta /= 1000;
	if (targ_dist) {
		struct irq_key k = { .slot = bpf_log2l(delta) };
		__builtin_memcpy(k.name, s->irq.name, sizeof(k.name));
		add(&dists, &k, 1);
	} else {
		add(&totals, &s->irq, delta);
	}
	return 0;
}
]], { rodata = { targ_ns = args.nanoseconds and 1 or 0, targ_dist = args.dist and 1 or 0, targ_count = args.events and 1 or 0 } })

local unit = args.nanoseconds and "nsecs" or "usecs"
local function report()
  t:interval_header()
  if args.dist then
    t:hists(b.maps.dists, "name", unit, { label = "hardirq" })
    return
  end
  local rows = {}
  for irq, n in pairs(b.maps.totals) do rows[#rows + 1] = { hardirq = irq.name, total = n } end
  b.maps.totals:clear()
  table.sort(rows, function(x, y) return x.hardirq < y.hardirq end)
  t:columns { { "HARDIRQ", -18, "hardirq" }, { args.events and "TOTAL_count" or "TOTAL_" .. unit, 11, "total", u = true } }
  for _, r in ipairs(rows) do t:row(r) end
  io.stdout:flush()
end

t:note(("Tracing hard irq event %s... Hit Ctrl-C to end."):format(args.events and "count" or "time"))
local why = t:run(b, { on_interval = report })
if not args.interval or why == "signal" then report() end
t:close()
