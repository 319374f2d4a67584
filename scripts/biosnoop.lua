#!/usr/bin/env luabpf
-- biosnoop: each block device I/O with its process, disk, operation,
-- sector, size and latency, as BCC's biosnoop prints it, from the block
-- raw tracepoints (the process is the one that started the I/O).
local bpf = require "bpf"
local tool = require "bpf.tool"
local blockdev = require "bpf.blockdev"

local t = tool.new {
  name = "biosnoop",
  summary = "Trace block I/O.",
  examples = {
    "biosnoop                 # trace all block I/O",
    "biosnoop -Q              # include OS queued time",
    "biosnoop -d sdc          # trace sdc only",
    "biosnoop -p 181          # I/O started by process 181 only",
    "biosnoop -d loop0 --json # as JSON lines",
  },
  options = { "pid", "duration_long" },
}
t.parser:flag("-Q --queue", "include OS queued time")
t.parser:option("-d --disk", "trace this disk only"):convert(blockdev.arg)
local args = t:parse()

local b = t:load(blockdev.RQ_DEV .. [[
const volatile bool targ_queued = 0;
const volatile u32 targ_dev = 0;
const volatile u32 targ_pid = 0;
struct who { u32 pid; char comm[16]; };
struct times { u64 insert; u64 issue; };
struct bio_event {
	u64 sector;
	u64 lat_ns;
	u64 queued_ns;
	u32 bytes;
	u32 pid;
	u32 dev;
	u32 cmd_flags;
	char comm[16];
};
BPF_HASH(owners, u64, struct who, 10240);
BPF_HASH(starts, u64, struct times, 10240);
LUABPF_RINGBUF(events, 1 << 20);

/* The process that starts an I/O is current where its accounting starts. */
SEC("raw_tp/block_io_start")
int on_start(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	if (targ_dev && rq_dev(rq) != targ_dev)
		return 0;
	u64 key = (u64)rq;
	struct who w = { .pid = bpf_get_current_pid_tgid() >> 32 };
	bpf_get_current_comm(w.comm, sizeof(w.comm));
	owners.update(&key, &w);
	return 0;
}

static void stamp(struct request *rq, bool insert)
{
	if (targ_dev && rq_dev(rq) != targ_dev)
		return;
	u64 key = (u64)rq, now = bpf_ktime_get_ns();
	struct times zero = {}, *t = starts.lookup_or_try_init(&key, &zero);
	if (!t)
		return;
	if (insert)
		t->insert = now;
	else
		t->issue = now;
}

SEC("raw_tp/block_rq_insert")
int on_insert(struct bpf_raw_tracepoint_args *ctx)
{
	stamp((struct request *)ctx->args[0], true);
	return 0;
}

SEC("raw_tp/block_rq_issue")
int on_issue(struct bpf_raw_tracepoint_args *ctx)
{
	stamp((struct request *)ctx->args[0], false);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int on_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	u64 key = (u64)rq, now = bpf_ktime_get_ns();
	struct times *t = starts.lookup(&key);
	struct who *w = owners.lookup(&key);
	if (!t || !t->issue)
		goto done;
	if (targ_pid && (!w || w->pid != targ_pid))
		goto done;
	struct bio_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		goto done;
	e->sector = BPF_CORE_READ(rq, __sector);
	e->bytes = (u32)ctx->args[2];
	e->lat_ns = now - t->issue;
	e->queued_ns = t->insert && t->insert < t->issue ? t->issue - t->insert : 0;
	e->dev = rq_dev(rq);
	e->cmd_flags = BPF_CORE_READ(rq, cmd_flags);
	e->pid = w ? w->pid : 0;
	if (w)
		__builtin_memcpy(e->comm, w->comm, sizeof(e->comm));
	else
		e->comm[0] = '?';
	bpf_ringbuf_submit(e, 0);
done:
	starts.delete(&key);
	owners.delete(&key);
	return 0;
}
]], { rodata = { targ_queued = args.queue and 1 or 0, targ_dev = args.disk or 0, targ_pid = args.pid or 0 } })

local cols = { { "TIME(s)", -11, "time" }, { "COMM", -14, "comm" }, { "PID", -7, "pid" }, { "DISK", -9, "disk" },
  { "T", -1, "type" }, { "SECTOR", -10, "sector", u = true }, { "BYTES", -7, "bytes" } }
if args.queue then cols[#cols + 1] = { "QUE(ms)", 7, "queued_ms" } end
cols[#cols + 1] = { "LAT(ms)", 7, "lat_ms" }
t:columns(cols)
t:note("Tracing block I/O... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  t:row { time = (bpf.ktime_ns() - start) / 1e9, comm = e.comm, pid = e.pid, disk = blockdev.name(e.dev),
    type = blockdev.op_letter(e.cmd_flags), sector = e.sector, bytes = e.bytes, queued_ms = e.queued_ns / 1e6,
    lat_ms = e.lat_ns / 1e6 }
end, { type = "struct bio_event" })
t:run(b)
t:close()
