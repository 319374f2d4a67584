#!/usr/bin/env luabpf
-- syscount: counts system calls per process for a few seconds, then prints
-- the busiest processes. usage: luabpf scripts/syscount.lua [seconds] [top]
local bpf = require "bpf"

local seconds = tonumber(arg[1]) or 3
local top = tonumber(arg[2]) or 15

local b <close> = bpf.new([[
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, u32);   /* tgid */
	__type(value, u64); /* system calls made */
} counts SEC(".maps");

SEC("tracepoint/raw_syscalls/sys_enter")
int count_syscalls(void *ctx)
{
	u32 tgid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *n = bpf_map_lookup_elem(&counts, &tgid);

	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &tgid, &one, BPF_NOEXIST);
	return 0;
}
]])

io.write(("Counting system calls for %g s...\n"):format(seconds))
bpf.sleep(seconds)

local rows = {}
for pid, n in pairs(b.maps.counts) do rows[#rows + 1] = { pid = pid, n = n } end
table.sort(rows, function(x, y) return x.n > y.n end)

local function comm(pid)
  local f = io.open("/proc/" .. pid .. "/comm")
  if not f then return "[exited]" end
  local name = f:read("l") or "?"
  f:close()
  return name
end

print(("%8s  %-16s %12s"):format("PID", "COMM", "SYSCALLS"))
for i = 1, math.min(top, #rows) do
  local r = rows[i]
  print(("%8d  %-16s %12d"):format(r.pid, comm(r.pid), r.n))
end
