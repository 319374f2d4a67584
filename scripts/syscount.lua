#!/usr/bin/env luabpf
-- syscount: counts system calls by call (or by process with -P), with their
-- total latency (-L), failed ones only (-x), like BCC's syscount, from the
-- raw_syscalls tracepoints.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "syscount",
  summary = "Summarize system calls by call or by process.",
  examples = {
    "syscount                 # counts by call until Ctrl-C",
    "syscount -P              # counts by process",
    "syscount -L              # with their total latency",
    "syscount -x              # failed calls only",
    "syscount -p 181          # process 181 only",
    "syscount -i 1 -d 10      # print every second, for 10 seconds",
    "syscount -T 5 --json     # the top 5, as JSON lines",
  },
  options = { "pid", "tid", "comm", "duration", "cgroup" },
}
t.parser:option("-i --interval", "print a summary every this many seconds"):convert(tonumber)
t.parser:option("-T --top", "print only the top this many"):default("10"):convert(tonumber)
t.parser:flag("-L --latency", "collect the calls' latency")
t.parser:flag("-x --failures", "count failed calls only")
t.parser:flag("-P --process", "count by process, not by call")
t.parser:flag("-m --milliseconds", "latency in milliseconds, not microseconds")
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_failures = 0;
const volatile bool targ_latency = 0;
const volatile bool targ_by_process = 0;

struct counts { u64 count; u64 total_ns; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, u64); } starts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, struct counts); } data SEC(".maps");

SEC("tp/raw_syscalls/sys_enter")
int on_enter(struct trace_event_raw_sys_enter *ctx)
{
	if (!targ_latency || tool_skip())
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	u64 ts = bpf_ktime_get_ns();
	bpf_map_update_elem(&starts, &tid, &ts, BPF_ANY);
	return 0;
}

SEC("tp/raw_syscalls/sys_exit")
int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id, key;
	u64 lat = 0;

	if (tool_skip())
		return 0;
	if (targ_latency) {
		u64 *start = bpf_map_lookup_elem(&starts, &tid);
		if (!start)
			return 0;
		lat = bpf_ktime_get_ns() - *start;
		bpf_map_delete_elem(&starts, &tid);
	}
	if (ctx->id < 0 || (targ_failures && ctx->ret >= 0))
		return 0;
	key = targ_by_process ? (u32)(id >> 32) : (u32)ctx->id;
	struct counts *c = bpf_map_lookup_elem(&data, &key);
	if (!c) {
		struct counts zero = {};
		bpf_map_update_elem(&data, &key, &zero, BPF_NOEXIST);
		c = bpf_map_lookup_elem(&data, &key);
		if (!c)
			return 0;
	}
	__sync_fetch_and_add(&c->count, 1);
	__sync_fetch_and_add(&c->total_ns, lat);
	return 0;
}
]], { rodata = t:rodata {
  targ_failures = args.failures and 1 or 0, targ_latency = args.latency and 1 or 0,
  targ_by_process = args.process and 1 or 0,
} })

local function comm(pid)
  local f = io.open("/proc/" .. pid .. "/comm")
  if not f then return "[exited]" end
  local name = f:read("l") or "?"
  f:close()
  return name
end

local unit, scale = "us", 1e3
if args.milliseconds then unit, scale = "ms", 1e6 end

local function print_top()
  local rows = {}
  for key, c in pairs(b.maps.data) do rows[#rows + 1] = { key = key, count = c.count, total = c.total_ns } end
  b.maps.data:clear()
  table.sort(rows, function(x, y)
    if args.latency and x.total ~= y.total then return x.total > y.total end
    return x.count > y.count
  end)
  local cols = args.process and { { "PID", -7, "pid" }, { "COMM", -16, "comm" } } or { { "SYSCALL", -22, "syscall" } }
  cols[#cols + 1] = { "COUNT", 10, "count" }
  if args.latency then cols[#cols + 1] = { "TIME (" .. unit .. ")", 14, "time" } end
  t:columns(cols)
  for i = 1, math.min(args.top, #rows) do
    local r = rows[i]
    t:row {
      pid = r.key, comm = args.process and comm(r.key) or nil,
      syscall = not args.process and (bpf.syscall_name(r.key) or ("#" .. r.key)) or nil,
      count = r.count, time = r.total / scale,
    }
  end
end

t:note("Tracing " .. (args.failures and "failed " or "") .. "syscalls... Hit Ctrl-C to end.")
local why = t:run(b, { interval = args.interval, on_interval = function()
  if not t.json then t:write(os.date("[%H:%M:%S]\n")) end
  print_top()
  if not t.json then t:write("\n") end
end })
if not args.interval or why == "signal" then print_top() end
t:close()
