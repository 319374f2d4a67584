-- Startup beside bpftrace: the same program (count sys_enter_openat per pid,
-- attach, then exit), whole-process wall time and RSS, first run and warm.
-- Measurements, not tests. arg[1] is the build dir.
local bpf = require "bpf"

local BUILD = arg[1] or "build"
local RUNS = 5
local home = os.getenv("HOME") or "/root"
local cache = home .. "/.cache/luabpf-bench"
local script = os.tmpname()

local f = assert(io.open(script, "w"))
f:write("local b = bpf.new(" .. string.format("%q", require "count_openat") .. ")\n", [=[
if arg[1] then
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then io.open(arg[1], "w"):write(kb):close() end
  end
end
]=])
f:close()

-- The same count through the raw sys_enter tracepoint, attached by libbpf
-- without a gate: its detach waits for the kernel in the script's exit.
local raw_script = os.tmpname()
f = assert(io.open(raw_script, "w"))
f:write([=[
local b = bpf.new([[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 10240); __type(key, u32); __type(value, u64); } counts SEC(".maps");
SEC("raw_tp/sys_enter")
int count_openat(struct bpf_raw_tracepoint_args *ctx)
{
	if (ctx->args[1] != 257) /* __NR_openat on x86_64 */
		return 0;
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *v = bpf_map_lookup_elem(&counts, &pid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);
	return 0;
}
]])
]=])
f:close()

local function measure(cmd)
  local p = io.popen(BUILD .. "/bench/measure " .. cmd)
  local secs, kb, code = p:read("n", "n", "n")
  p:close()
  assert(code == 0, cmd .. " failed")
  return secs, kb / 1024
end

local stats = require "stats"
local spreads = {}

-- The median wall time of RUNS runs (the spread kept for the report) and the largest RSS.
local function median_run(cmd, setup)
  local ts, rss = {}, 0
  for i = 1, RUNS do
    if setup then setup() end
    local s, r = measure(cmd)
    ts[i], rss = s, math.max(rss, r)
  end
  spreads[cmd] = stats.summary(ts, "%.3f")
  return stats.median(ts), rss
end

local LUABPF = "env LUABPF_CACHE_DIR=" .. cache .. " " .. BUILD .. "/luabpf " .. script
local function clear() os.execute("rm -rf " .. cache) end
-- Cold: the precompiled header is there, the object is not.
local function clear_objects() os.execute("rm -f " .. cache .. "/*.o") end

local bt_t, bt_rss
if os.execute("command -v bpftrace > /dev/null") then
  bt_t, bt_rss = median_run("bpftrace -e 'tracepoint:syscalls:sys_enter_openat { @[pid] = count(); } BEGIN { exit(); }'")
end
local first_t, first_peak = median_run(LUABPF, clear)
measure(LUABPF)
local cold_t, cold_peak = median_run(LUABPF, clear_objects)
-- The tracing process's own RSS once the compile has finished (the compiler
-- ran in a child that is gone by then).
clear()
local rss_file = os.tmpname()
measure(LUABPF .. " " .. rss_file)
local after_compile = tonumber(io.open(rss_file):read("a")) / 1024
local warm_t, warm_rss = median_run(LUABPF)
local RAW = "env LUABPF_CACHE_DIR=" .. cache .. " " .. BUILD .. "/luabpf " .. raw_script
measure(RAW)
local raw_t, raw_rss = median_run(RAW)
os.remove(rss_file)
clear()
os.remove(script)
os.remove(raw_script)

local function ratio(t) return bt_t and ("%.2fx bpftrace"):format(t / bt_t) or "-" end
local row = "%-40s %8.3f s %8.1f MB  %-16s %s"
print(("%-40s %10s %11s  %-16s %s"):format("startup, count openat per pid", "wall", "RSS", "ratio", "target"))
if bt_t then print(row:format("bpftrace (Debian package)", bt_t, bt_rss, "1.00x", "")) end
print(row:format("luabpf first run (no cache)", first_t, first_peak, ratio(first_t), "<= 1.5 s"))
print(row:format("luabpf cold (precompiled header, no object)", cold_t, cold_peak, ratio(cold_t), "<= 0.35x"))
print(row:format("luabpf warm (object cached)", warm_t, warm_rss, ratio(warm_t), "<= 0.08x, RSS <= 15 MB"))
print(row:format("luabpf warm, raw tracepoint sys_enter", raw_t, raw_rss, ratio(raw_t),
  "the same count through the raw tracepoint"))
print(("%-40s %10s %8.1f MB  %-16s %s"):format("luabpf RSS after a cold compile", "", after_compile, "",
  "<= 25 MB (peak above includes the compiler child)"))
print(("warm runs, s: %s"):format(spreads[LUABPF]))

-- Launch to attached: the script notes the time once bpf.new has attached.
local stamp = os.tmpname()
f = assert(io.open(script, "w"))
f:write("local b = bpf.new(" .. string.format("%q", require "count_openat") .. ")\n",
  ("io.open(%q, 'w'):write(bpf.ktime_ns()):close()\n"):format(stamp))
f:close()
measure(LUABPF)
local attached = {}
for i = 1, RUNS do
  local t0 = bpf.ktime_ns()
  measure(LUABPF)
  attached[i] = (tonumber(io.open(stamp):read("a")) - t0) / 1e9
end
print(("%-40s %s s  target <= 0.03 s (includes the bench's fork of its timer)"):format(
  "luabpf warm, launch to attached", stats.summary(attached, "%.4f")))
os.remove(stamp)
os.remove(script)
clear()
