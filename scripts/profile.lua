#!/usr/bin/env luabpf
-- profile: samples one process's user stacks at 99 Hz and prints the
-- hottest, with symbols. usage: luabpf scripts/profile.lua PID [seconds] [top]
local bpf = require "bpf"

local pid = tonumber(arg[1]) or error("usage: profile.lua PID [seconds] [top]", 0)
local seconds = tonumber(arg[2]) or 5
local top = tonumber(arg[3]) or 5

local b <close> = bpf.new([[
BPF_HASH(samples, int);          // user stack id -> samples
BPF_STACK_TRACE(stacks, 4096);

SEC("perf_event") int on_sample(struct bpf_perf_event_data *ctx) {
	samples.increment(stacks.get_stackid(ctx, BPF_F_USER_STACK));
	return 0;
}
]])
b:attach_perf_event { fn = "on_sample", type = "software", config = "cpu-clock", freq = 99, pid = pid }

io.write(("Sampling pid %d at 99 Hz for %g s...\n"):format(pid, seconds))
bpf.sleep(seconds)

local rows = {}
for stack, n in pairs(b.maps.samples) do rows[#rows + 1] = { stack = stack, n = n } end
table.sort(rows, function(x, y) return x.n > y.n end)
for i = 1, math.min(top, #rows) do
  print(("\n%d samples"):format(rows[i].n))
  local frames = b.maps.stacks:walk(rows[i].stack)
  if #frames == 0 then print("    [no user stack]") end
  for _, addr in ipairs(frames) do
    local name, off, module = bpf.usym(addr, pid)
    print(("    %#x %s+%s (%s)"):format(addr, name, off or "?", module or "?"))
  end
end
