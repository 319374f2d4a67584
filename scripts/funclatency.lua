#!/usr/bin/env luabpf
-- funclatency: how long user functions take, entry to return, as a log2
-- histogram, like BCC's funclatency: one uprobe_multi link on entry and one
-- on return for every function the glob matches (per function with -F).
local tool = require "bpf.tool"

local t = tool.new {
  name = "funclatency",
  summary = "Time user functions and print the latency as a histogram.",
  examples = {
    "funclatency c:read               # time libc's read()",
    "funclatency -u c:malloc          # in microseconds",
    "funclatency -m /bin/bash:readline # in milliseconds",
    "funclatency -i 2 -d 10 c:open    # every 2 seconds, for 10 seconds",
    "funclatency -p 181 c:read        # process 181 only",
    "funclatency -F 'c:*sleep*'       # one histogram per function",
  },
  options = { "pid", "tid", "comm", "duration", "cgroup" },
}
local p = t.parser
p:argument("pattern", "[p:]LIB:FUNCTION: LIB a path, a library like c, or a program; globs allowed")
p:option("-i --interval", "summary interval, in seconds"):convert(tool.integer("the interval", 1, 1 << 30))
p:flag("-T --timestamp", "include timestamp on output")
p:mutex(p:flag("-u --microseconds", "microsecond histogram"), p:flag("-m --milliseconds", "millisecond histogram"))
p:flag("-F --function", "show a separate histogram per function")
local args = t:parse()

local lib, glob = args.pattern:gsub("^p:", ""):match("^([^:]+):([^:]+)$")
if not lib then
  t:fail("the pattern is LIB:FUNCTION (kernel functions need kprobes, which funclatency does not use), e.g. c:read")
end
local path, why = tool.binary(lib)
if not path then t:fail(why) end
local funcs = t:try(tool.functions, path, glob)
if #funcs == 0 then t:fail(("no function of %s matches '%s'"):format(path, glob)) end

local b = t:load(tool.FILTERS .. [[
const volatile u64 targ_div = 1;
const volatile bool targ_per_func = 0;
struct entry_key { u32 tid; u32 func; };
struct lat_key { u32 func; u32 slot; };
struct lat_total { u64 sum; u64 count; };
BPF_HASH(starts, struct entry_key, u64, 10240);
BPF_HASH(dist, struct lat_key, u64, 4096);
BPF_HASH(totals, u32, struct lat_total, 4096);

SEC("uprobe.multi") int on_entry(struct pt_regs *ctx)
{
	if (tool_skip())
		return 0;
	struct entry_key k = { (u32)bpf_get_current_pid_tgid(), bpf_get_attach_cookie(ctx) };
	u64 now = bpf_ktime_get_ns();
	starts.update(&k, &now);
	return 0;
}

SEC("uretprobe.multi") int on_return(struct pt_regs *ctx)
{
	struct entry_key k = { (u32)bpf_get_current_pid_tgid(), bpf_get_attach_cookie(ctx) };
	u64 *start = starts.lookup(&k);
	if (!start)
		return 0;
	u64 delta = (bpf_ktime_get_ns() - *start) / targ_div;
	starts.delete(&k);
	u32 func = targ_per_func ? k.func : 0;
	struct lat_key lk = { func, bpf_log2l(delta) };
	u64 zero = 0, *n = dist.lookup_or_try_init(&lk, &zero);
	if (n)
		__sync_fetch_and_add(n, 1);
	struct lat_total none = {}, *tot = totals.lookup_or_try_init(&func, &none);
	if (tot) {
		__sync_fetch_and_add(&tot->sum, delta);
		__sync_fetch_and_add(&tot->count, 1);
	}
	return 0;
}
]], { autoattach = false, rodata = t:rodata {
  targ_div = args.milliseconds and 1000000 or args.microseconds and 1000 or 1, targ_per_func = args["function"] and 1 or 0,
} })
for _, ret in ipairs { false, true } do
  t:try(b.attach_uprobe_multi, b, { path = path, sym = funcs, pid = args.pid, ret = ret,
    fn = ret and "on_return" or "on_entry" })
end

local unit = args.milliseconds and "msecs" or args.microseconds and "usecs" or "nsecs"
local function report()
  t:interval_header()
  local totals = {}
  for func, s in pairs(b.maps.totals) do totals[func] = s end
  b.maps.totals:clear()
  local name = function(i) return funcs[i] or "?" end
  if args["function"] then
    t:hists(b.maps.dist, "func", unit, { label = "Function", key = "function", name = name })
  else
    t:hists(b.maps.dist, nil, unit)
  end
  for func, s in pairs(totals) do
    if s.count > 0 then
      local avg = s.sum // s.count
      if t.json then
        t:json_line { ["function"] = args["function"] and name(func) or nil, unit = unit, avg = avg, total = s.sum,
          count = s.count }
      else
        t:write(("\n%savg = %d %s, total: %d %s, count: %d\n"):format(
          args["function"] and (name(func) .. ": ") or "", avg, unit, s.sum, unit, s.count))
      end
    end
  end
  io.stdout:flush()
end

t:note(("Tracing %d functions for \"%s\"... Hit Ctrl-C to end."):format(#funcs, args.pattern))
local why = t:run(b, { interval = args.interval, on_interval = args.interval and report or nil })
if not args.interval or why == "signal" then report() end
t:close()
