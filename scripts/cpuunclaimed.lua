#!/usr/bin/env luabpf
-- cpuunclaimed: samples every CPU's run queue at 99 Hz and prints how busy
-- the CPUs were and how much idle CPU went unclaimed while other CPUs had
-- tasks waiting, as BCC's cpuunclaimed does; BCC-style C on a perf event.
-- usage: luabpf scripts/cpuunclaimed.lua [-j|-J] [-T] [interval [count]]
local bpf = require "bpf"

local opts, rest = {}, {}
for _, a in ipairs(arg) do
  if a:match("^%-[jJT]+$") then
    for c in a:sub(2):gmatch(".") do opts[c] = true end
  else
    rest[#rest + 1] = tonumber(a) or error("cpuunclaimed: unknown argument " .. a)
  end
end
if opts.J then opts.j = true end
if opts.j and rest[1] then error("cpuunclaimed: an interval cannot be given with -j or -J", 0) end
local interval, count = opts.j and 0.2 or rest[1] or 1, rest[2] or 99999999
local frequency = 99

local b <close> = bpf.new([[
#include <uapi/linux/ptrace.h>
#include <uapi/linux/bpf_perf_event.h>
#include <linux/sched.h>

struct data_t {
	u64 ts;
	u64 cpu;
	u64 len;
};
BPF_PERF_OUTPUT(events);

int do_perf_event(struct bpf_perf_event_data *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct data_t data = {.ts = bpf_ktime_get_ns(), .cpu = bpf_get_smp_processor_id(),
			      .len = luabpf_cfs_rq_queued(task->se.cfs_rq)};
	events.perf_submit(ctx, &data, sizeof(data));
	return 0;
}
]])
b:attach_perf_event { ev_type = "software", ev_config = "cpu-clock", fn_name = "do_perf_event",
  sample_freq = frequency }

local ncpu = 0
for line in io.lines("/proc/cpuinfo") do
  if line:match("^processor%s*:") then ncpu = ncpu + 1 end
end

if opts.j then
  local cols = {}
  if opts.T then cols[#cols + 1] = "TIME" end
  cols[#cols + 1] = "TIMESTAMP_ns"
  for c = 0, ncpu - 1 do cols[#cols + 1] = "CPU" .. c end
  if opts.J then for c = 0, ncpu - 1 do cols[#cols + 1] = "OFFSET_ns_CPU" .. c end end
  print(table.concat(cols, ","))
else
  print(("Sampling run queues... Output every %s seconds. Hit Ctrl-C to end."):format(interval))
end
io.stdout:flush()

local samples = {}
b["events"]:open_perf_buffer(function(e)
  samples[#samples + 1] = { ts = e.ts, cpu = e.cpu, len = e.len }
end, { page_cnt = 64 })

-- Samples of all CPUs taken at one timer tick form a group; a gap of most of
-- a sampling period starts the next one.
local trigger = math.floor(0.8 * 1e9 / frequency)

-- Folds the complete groups of the samples so far into the totals; keeps
-- the last, perhaps incomplete, group for the next round.
-- The first group shows whether the CPUs' timers fire together at all; a
-- later group a busy (or virtual) machine delayed is left out.
local aligned = false
local function fold_groups(totals)
  table.sort(samples, function(x, y) return x.ts < y.ts end)
  local group, kept = {}, {}
  local function close_group()
    if #group == 0 then return end
    local first, last = group[1].ts, group[#group].ts
    if last - first > trigger / 2 then
      if aligned then return end
      error(("CPU samples arrived at skewed offsets (CPUs may have powered down when idle), spanning %d ns "
        .. "(expected < %d ns); output would be unreliable"):format(last - first, trigger // 2), 0)
    end
    aligned = true
    if opts.j then
      local lens, offs = {}, {}
      for c = 1, ncpu do lens[c], offs[c] = 0, 0 end
      for _, s in ipairs(group) do lens[s.cpu + 1], offs[s.cpu + 1] = s.len, s.ts - first end
      local cols = {}
      if opts.T then cols[#cols + 1] = ("%-8s"):format(os.date("%H:%M:%S")) end
      cols[#cols + 1] = tostring(first)
      for c = 1, ncpu do cols[#cols + 1] = tostring(lens[c]) end
      if opts.J then for c = 1, ncpu do cols[#cols + 1] = tostring(offs[c]) end end
      print(table.concat(cols, ","))
      return
    end
    local running, queued = 0, 0
    for _, s in ipairs(group) do
      if s.len > 0 then running = running + 1 end
      if s.len > 1 then queued = queued + s.len - 1 end
    end
    local idle = ncpu - running
    -- Threads that could have run: as many as were waiting, up to the idle CPUs.
    if idle > 0 and queued > 0 then totals.positive = totals.positive + math.min(idle, queued) end
    totals.running, totals.idle = totals.running + running, totals.idle + idle
  end
  local last = nil
  for _, s in ipairs(samples) do
    if last and s.ts - last > trigger then
      close_group()
      group = {}
    end
    if #group == 0 then last = s.ts end
    group[#group + 1] = s
  end
  for _, s in ipairs(group) do kept[#kept + 1] = s end
  samples = kept
end

for _ = 1, count do
  local ok, slept = pcall(b.run, b, { duration = interval })
  local exiting = not ok or slept == false
  local totals = { positive = 0, running = 0, idle = 0 }
  fold_groups(totals)
  if not opts.j then
    local total = totals.running + totals.idle
    local util = total > 0 and totals.running / total or 0
    local unclaimed = total > 0 and totals.positive / total or 0
    print(("%s%%CPU %6.2f%%, unclaimed idle %0.2f%%"):format(opts.T and os.date("%H:%M:%S ") or "", 100 * util,
      100 * unclaimed))
  end
  io.stdout:flush()
  if exiting then break end
end
