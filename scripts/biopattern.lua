#!/usr/bin/env luabpf
-- biopattern: how random or sequential each disk's I/O is, as BCC's
-- biopattern prints it: a request is sequential when it starts where the
-- disk's last one ended (the block:block_rq_complete tracepoint).
local tool = require "bpf.tool"
local blockdev = require "bpf.blockdev"

local t = tool.new {
  name = "biopattern",
  summary = "Show block device I/O pattern.",
  examples = {
    "biopattern               # show block I/O pattern",
    "biopattern 1 10          # print 1 second summaries, 10 times",
    "biopattern -T 1          # 1s summaries with timestamps",
    "biopattern -d sdc        # trace sdc only",
  },
  options = { "interval" },
}
t.parser:flag("-T --timestamp", "include timestamp on output")
t.parser:option("-d --disk", "trace this disk only"):convert(blockdev.arg)
local args = t:parse()

local b = t:load([[
const volatile u32 targ_dev = 0;
struct counter { u64 last_sector; u64 bytes; u32 sequential; u32 random; };
BPF_HASH(counters, u32, struct counter, 64);

SEC("tp/block/block_rq_complete")
int on_complete(struct trace_event_raw_block_rq_completion *args)
{
	u32 dev = args->dev;
	if (targ_dev && dev != targ_dev)
		return 0;
	struct counter zero = {}, *c = counters.lookup_or_try_init(&dev, &zero);
	if (!c)
		return 0;
	u64 sector = args->sector;
	if (c->last_sector) {
		if (c->last_sector == sector)
			__sync_fetch_and_add(&c->sequential, 1);
		else
			__sync_fetch_and_add(&c->random, 1);
		__sync_fetch_and_add(&c->bytes, args->nr_sector * 512);
	}
	c->last_sector = sector + args->nr_sector;
	return 0;
}
]], { rodata = { targ_dev = args.disk or 0 } })

local cols = { { "DISK", -7, "disk" }, { "%RND", 5, "random_pct" }, { "%SEQ", 5, "sequential_pct" },
  { "COUNT", 8, "count" }, { "KBYTES", 0, "kbytes" } }
if args.timestamp then table.insert(cols, 1, { "TIME", -8, "time" }) end
t:columns(cols)

-- Each disk's counts since the last report; the map keeps the last sector.
local function report()
  local rows = {}
  for dev, c in pairs(b.maps.counters) do
    local n = c.sequential + c.random
    if n > 0 then
      rows[#rows + 1] = { time = os.date("%H:%M:%S"), disk = blockdev.name(dev), count = n, kbytes = c.bytes // 1024,
        random_pct = c.random * 100 // n, sequential_pct = c.sequential * 100 // n }
      b.maps.counters[dev] = { last_sector = c.last_sector }
    end
  end
  table.sort(rows, function(x, y) return x.disk < y.disk end)
  for _, r in ipairs(rows) do t:row(r) end
  io.stdout:flush()
end

t:note("Tracing block device I/O requested seeks... Hit Ctrl-C to end.")
local why = t:run(b, { on_interval = report })
if not args.interval or why == "signal" then report() end
t:close()
