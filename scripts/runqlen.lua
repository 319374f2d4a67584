#!/usr/bin/env luabpf
-- runqlen: samples each CPU's run queue length at 99 Hz and prints it as a
-- linear histogram (or its occupancy, -O), as BCC's runqlen does; BCC-style C
-- on a cpu-clock perf event (implicit reads through the current task).
-- usage: luabpf scripts/runqlen.lua [-T] [-O] [-C] [interval [count]]
local bpf = require "bpf"

local opts, rest = {}, {}
for _, a in ipairs(arg) do
  if a:match("^%-[TOC]+$") then
    for c in a:sub(2):gmatch(".") do opts[c] = true end
  else
    rest[#rest + 1] = tonumber(a) or error("runqlen: unknown argument " .. a)
  end
end
local interval, count = rest[1] or 99999999, rest[2] or 99999999

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <linux/sched.h>

typedef struct cpu_key {
	int cpu;
	unsigned int slot;
} cpu_key_t;

const volatile bool per_cpu = false;
BPF_HISTOGRAM(dist, unsigned int);
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
		dist.atomic_increment(len);
	}
	return 0;
}
]], { rodata = { per_cpu = opts.C or false } })
b:attach_perf_event { ev_type = "software", ev_config = "cpu-clock", fn_name = "do_perf_event", sample_freq = 99 }

-- Occupancy: the share of samples with a task waiting.
local function occupancy(rows)
  local idle, queued = 0, 0
  for _, kv in ipairs(rows) do
    if kv.slot == 0 then idle = idle + kv.count else queued = queued + kv.count end
  end
  return idle + queued > 0 and queued / (idle + queued) or 0
end

print("Sampling run queue length... Hit Ctrl-C to end.")
io.stdout:flush()
local dist = opts.C and b["cpu_dist"] or b["dist"]
for _ = 1, count do
  local ok, slept = pcall(bpf.sleep, interval)
  local exiting = not ok or slept == false
  print()
  if opts.T then print(os.date("%H:%M:%S")) end
  if opts.O and opts.C then
    local cpus = {}
    for _, kv in ipairs(dist:items()) do
      local k = kv[1]
      cpus[k.cpu] = cpus[k.cpu] or {}
      table.insert(cpus[k.cpu], { slot = k.slot, count = kv[2] })
    end
    local ids = {}
    for cpu in pairs(cpus) do ids[#ids + 1] = cpu end
    table.sort(ids)
    for _, cpu in ipairs(ids) do print(("runqocc, CPU %-3d %6.2f%%"):format(cpu, 100 * occupancy(cpus[cpu]))) end
  elseif opts.O then
    local rows = {}
    for _, kv in ipairs(dist:items()) do rows[#rows + 1] = { slot = kv[1], count = kv[2] } end
    print(("runqocc: %0.2f%%"):format(100 * occupancy(rows)))
  else
    dist:print_linear_hist("runqlen", "cpu")
  end
  dist:clear()
  io.stdout:flush()
  if exiting then break end
end
