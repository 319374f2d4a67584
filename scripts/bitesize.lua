#!/usr/bin/env luabpf
-- bitesize: block I/O sizes as a log2 histogram of kilobytes per process
-- name, as BCC's bitesize prints them, from the block:block_rq_issue tracepoint.
local tool = require "bpf.tool"
local blockdev = require "bpf.blockdev"

local t = tool.new {
  name = "bitesize",
  summary = "Summarize block device I/O size as a histogram, per process name.",
  examples = {
    "bitesize                 # until Ctrl-C",
    "bitesize 1 10            # every second, 10 times",
    "bitesize -c dd           # processes named dd only",
    "bitesize -d loop0 --json # disk loop0 only, as JSON lines",
  },
  options = { "interval" },
}
t.parser:option("-c --comm", "trace processes with this name (comm) only")
t.parser:option("-d --disk", "trace this disk only"):convert(blockdev.arg)
t.parser:flag("-T --timestamp", "include timestamp on output")
local args = t:parse()
if args.comm and #args.comm > 15 then t:fail("a process name (comm) has at most 15 characters: " .. args.comm) end

local b = t:load(tool.FILTERS .. [[
const volatile u32 targ_dev = 0;
struct size_key { char comm[16]; u32 slot; };
BPF_HASH(dist, struct size_key, u64, 10240);

SEC("tp/block/block_rq_issue")
int on_issue(struct trace_event_raw_block_rq *args)
{
	if ((targ_dev && args->dev != targ_dev) || tool_skip())
		return 0;
	struct size_key k = { .slot = bpf_log2l(args->bytes / 1024) };
	bpf_probe_read_kernel_str(k.comm, sizeof(k.comm), args->comm);
	u64 zero = 0, *n = dist.lookup_or_try_init(&k, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	return 0;
}
]], { rodata = t:rodata { targ_comm = args.comm or "", targ_dev = args.disk or 0 } })

local function report()
  t:interval_header()
  t:hists(b.maps.dist, "comm", "Kbytes", { label = "Process Name", key = "comm" })
end

t:note("Tracing block I/O... Hit Ctrl-C to end.")
local why = t:run(b, { on_interval = report })
if not args.interval or why == "signal" then report() end
t:close()
