#!/usr/bin/env luabpf
-- runqlen: samples each CPU's run queue length at 99 Hz and prints it as a
-- linear histogram (or its occupancy, -O), as BCC's runqlen does; BCC-style C
-- on a cpu-clock perf event (implicit reads through the current task).
local tool = require "bpf.tool"

local t = tool.new {
  name = "runqlen",
  summary = "Summarize scheduler run queue length as a histogram.",
  examples = {
    "runqlen                  # summarize run queue length as a histogram",
    "runqlen 1 10             # print 1 second summaries, 10 times",
    "runqlen -T 1             # 1s summaries and timestamps",
    "runqlen -O               # report run queue occupancy",
    "runqlen -C               # show each CPU separately",
  },
  options = { "interval" },
}
t.parser:flag("-T --timestamp", "include timestamp on output")
t.parser:flag("-O --runqocc", "report run queue occupancy")
t.parser:flag("-C --cpus", "print output for each CPU separately")
local args = t:parse()

local b = t:load([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

typedef struct cpu_key {
	int cpu;
	unsigned int slot;
} cpu_key_t;

const volatile bool per_cpu = false;
BPF_HISTOGRAM(dist, cpu_key_t, 64);
BPF_HISTOGRAM(cpu_dist, cpu_key_t, 4096);

int do_perf_event(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	unsigned int len = luabpf_cfs_rq_queued(task->se.cfs_rq);

	/* Not counting the task that runs: 0 is idle, 1 is one task waiting. */
	if (len > 0)
		len--;
	if (per_cpu) {
		cpu_key_t key = {.cpu = bpf_get_smp_processor_id(), .slot = len};
		cpu_dist.increment(key);
	} else {
		cpu_key_t key = {.cpu = 0, .slot = len};
		dist.atomic_increment(key);
	}
	return 0;
}
]], { rodata = { per_cpu = args.cpus or false } })
t:try(b.attach_perf_event, b, { ev_type = "software", ev_config = "cpu-clock", fn_name = "do_perf_event", sample_freq = 99 })

-- Occupancy: the share of samples with a task waiting.
local function occupancy(slots)
  local idle, queued = 0, 0
  for slot, n in pairs(slots) do
    if slot == 0 then idle = idle + n else queued = queued + n end
  end
  return idle + queued > 0 and 100 * queued / (idle + queued) or 0
end

local function report()
  local dist = args.cpus and b.maps.cpu_dist or b.maps.dist
  t:interval_header()
  if not args.runqocc then
    t:hists(dist, args.cpus and "cpu" or nil, "runqlen", { linear = true })
    return
  end
  local cpus = {}
  for k, n in pairs(dist) do
    cpus[k.cpu] = cpus[k.cpu] or {}
    cpus[k.cpu][k.slot] = n
  end
  dist:clear()
  local ids = {}
  for cpu in pairs(cpus) do ids[#ids + 1] = cpu end
  table.sort(ids)
  if not args.cpus then ids, cpus = { 0 }, { [0] = cpus[0] or {} } end
  for _, cpu in ipairs(ids) do
    local occ = occupancy(cpus[cpu])
    if t.json then
      t:json_line(args.cpus and { cpu = cpu, runqocc = occ } or { runqocc = occ })
    elseif args.cpus then
      t:write(("runqocc, CPU %-3d %6.2f%%\n"):format(cpu, occ))
    else
      t:write(("runqocc: %0.2f%%\n"):format(occ))
    end
  end
  io.stdout:flush()
end

t:note("Sampling run queue length... Hit Ctrl-C to end.")
local why = t:run(b, { on_interval = report })
if not args.interval or why == "signal" then report() end
t:close()
