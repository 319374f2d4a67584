#!/usr/bin/env luabpf
-- exporter: a Prometheus exporter of system call counts by name, block I/O
-- latency per disk and run queue latency, served over HTTP (and, with
-- --textfile, written for node_exporter's textfile collector): what a
-- typical ebpf_exporter configuration exposes, in one script.
local bpf = require "bpf"
local tool = require "bpf.tool"
local blockdev = require "bpf.blockdev"

local t = tool.new {
  name = "exporter",
  summary = "Export system calls, block I/O latency and run queue latency as Prometheus metrics.",
  examples = {
    "exporter                          # serve http://127.0.0.1:9435/metrics",
    "exporter -l :9435                 # serve on every address",
    "exporter --textfile /var/lib/node_exporter/luabpf.prom 15",
    "                                  # also write the textfile every 15 s",
    "exporter -p 181 -d sda            # one process's calls and wakeups, one disk",
  },
  options = { "pid", "comm", "duration_long" },
}
local p = t.parser
p:option("-l --listen", "the address to serve on, HOST:PORT"):default("127.0.0.1:9435")
p:option("--textfile", "also write the metrics to this .prom file every interval")
p:argument("interval", "seconds between textfile writes (and --json dumps)"):args("?"):convert(tonumber)
p:option("-d --disk", "this disk's I/O only"):convert(blockdev.arg)
local args = t:parse()
if args.textfile and not args.textfile:match("%.prom$") then t:fail("--textfile: the file must be named *.prom") end

local b = t:load(tool.FILTERS .. blockdev.RQ_DEV .. [[
const volatile u32 targ_dev = 0;
BPF_PERCPU_HASH(syscalls, u32, u64, 1024);
BPF_HASH(io_start, u64, u64, 10240);
BPF_HASH(runq_start, u32, u64, 10240);

SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	if (tool_skip())
		return 0;
	u32 id = ctx->args[1];
	u64 zero = 0, *n = syscalls.lookup_or_try_init(&id, &zero);
	if (n)
		*n += 1;
	return 0;
}

SEC("raw_tp/block_rq_issue")
int on_io_issue(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	if (targ_dev && rq_dev(rq) != targ_dev)
		return 0;
	u64 key = (u64)rq, now = bpf_ktime_get_ns();
	io_start.update(&key, &now);
	return 0;
}

SEC("raw_tp/block_rq_complete")
int on_io_complete(struct bpf_raw_tracepoint_args *ctx)
{
	struct request *rq = (struct request *)ctx->args[0];
	u64 key = (u64)rq, *start = io_start.lookup(&key);
	if (!start)
		return 0;
	s64 us = (bpf_ktime_get_ns() - *start) / 1000;
	io_start.delete(&key);
	@io[rq_dev(rq)] = HIST(us);
	return 0;
}

/* The run queue: from a wakeup (or a preemption) to running again, for the
 * tasks the filters name. */
static void runq_enqueue(struct task_struct *p)
{
	if (targ_pid && p->tgid != targ_pid)
		return;
	if (targ_comm[0]) {
		char comm[16];
		bpf_probe_read_kernel_str(comm, sizeof(comm), p->comm);
		if (tool_comm_differs(comm))
			return;
	}
	u32 pid = p->pid;
	u64 now = bpf_ktime_get_ns();
	if (pid)
		runq_start.update(&pid, &now);
}

SEC("raw_tp/sched_wakeup")
int on_wakeup(struct bpf_raw_tracepoint_args *ctx)
{
	runq_enqueue((struct task_struct *)ctx->args[0]);
	return 0;
}

SEC("raw_tp/sched_wakeup_new")
int on_wakeup_new(struct bpf_raw_tracepoint_args *ctx)
{
	runq_enqueue((struct task_struct *)ctx->args[0]);
	return 0;
}

SEC("raw_tp/sched_switch")
int on_switch(struct bpf_raw_tracepoint_args *ctx)
{
	struct task_struct *prev = (struct task_struct *)ctx->args[1];
	struct task_struct *next = (struct task_struct *)ctx->args[2];
	if (prev->__state == 0) /* TASK_RUNNING: preempted, not asleep */
		runq_enqueue(prev);
	u32 pid = next->pid;
	u64 *start = runq_start.lookup(&pid);
	if (!start)
		return 0;
	s64 us = (bpf_ktime_get_ns() - *start) / 1000;
	runq_start.delete(&pid);
	@runq = HIST(us);
	return 0;
}
]], { rodata = t:rodata { targ_dev = args.disk or 0 } })

bpf.metrics.counter {
  name = "luabpf_syscalls_total", help = "System calls entered, by name.", map = b.maps.syscalls,
  labels = { { name = "syscall", decode = "syscall" } },
}
bpf.metrics.histogram {
  name = "luabpf_block_io_latency_seconds", help = "Block I/O latency, issue to completion, by disk.",
  map = b.maps.at_io, scale = 1e-6, labels = { { name = "disk", field = "k0", decode = "disk" } },
}
bpf.metrics.histogram {
  name = "luabpf_runqueue_latency_seconds", help = "Time tasks waited in a run queue to run.",
  map = b.maps.at_runq, scale = 1e-6,
}

local server = t:try(bpf.serve_metrics, { listen = args.listen, object = b })
t:note(("Serving metrics on http://%s:%d/metrics... Hit Ctrl-C to end."):format(
  args.listen:match("^(.*):[^:]*$") ~= "" and args.listen:match("^(.*):[^:]*$") or "0.0.0.0", server:port()))

local function every_interval()
  if args.textfile then t:try(bpf.write_textfile, args.textfile) end
  if t.json then b:dump_json(io.stdout) end
end
if args.interval then
  t:run(b, { interval = args.interval, on_interval = every_interval })
else
  t:run(b)
  every_interval()
end
server:close()
t:close()
