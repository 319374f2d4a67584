#!/usr/bin/env luabpf
-- funccount: counts the calls of the functions, or the events of the
-- tracepoints, a glob matches, like BCC's funccount. One program on all of
-- them tells them apart by its attach cookie (a tracepoint's tracefs id, a
-- user function's place in the list) or, for kernel functions, the address.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "funccount",
  summary = "Count function calls and tracepoint events, by function or tracepoint.",
  examples = {
    "funccount 'c:malloc*'                     # libc functions whose names start with malloc",
    "funccount '/bin/bash:readline'            # readline() calls of bash",
    "funccount 't:syscalls:sys_enter_*open*'   # opens of every kind",
    "funccount -i 1 't:sched:*'                # scheduler events, every second",
    "funccount -p 181 't:syscalls:sys_enter_*' # process 181's system calls",
    "funccount 'vfs_*'                         # kernel functions (needs kprobes)",
    "funccount -d 5 --json 't:block:*'         # 5 seconds, as JSON lines",
  },
  options = { "pid", "tid", "comm", "duration", "cgroup" },
}
t.parser:argument("pattern", "t:CATEGORY:EVENT, [p:]LIB:FUNCTION (LIB a path, a library like c, or a program) "
  .. "or a kernel FUNCTION; globs allowed")
t.parser:option("-i --interval", "print the counts every this many seconds"):convert(tonumber)
t.parser:flag("-T --timestamp", "print a time with each output")
local args = t:parse()

-- What the pattern names: "tracepoint", "uprobe" or "kprobe", and its parts.
local function parse(pattern)
  local kind, rest = pattern:match("^([tpu]):(.*)$")
  if kind == "u" then t:fail("USDT probes (u:LIB:PROBE) are not counted by funccount; trace them with bpf.new") end
  if kind == "t" then
    local category, event = rest:match("^([^:]+):([^:]+)$")
    if not category then t:fail("the pattern is t:CATEGORY:EVENT, e.g. 't:syscalls:sys_enter_open*'") end
    return "tracepoint", category .. ":" .. event
  end
  rest = rest or pattern
  local lib, func = rest:match("^([^:]*):([^:]+)$")
  if not lib then
    if rest:find(":", 1, true) then t:fail("cannot read the pattern '" .. pattern .. "'") end
    return "kprobe", rest
  end
  -- CATEGORY:EVENT without t:, as earlier versions took it.
  if not kind and #bpf.tracepoints(rest) > 0 then return "tracepoint", rest end
  if lib == "" then return "kprobe", func end
  local path, why = tool.binary(lib)
  if not path then t:fail(why) end
  return "uprobe", path, func
end

local kind, what, func = parse(args.pattern)

local b = t:load(tool.FILTERS .. [[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 65536); __type(key, u64); __type(value, u64); } counts SEC(".maps");

static int count(u64 id)
{
	u64 one = 1, *n;
	if (tool_skip())
		return 0;
	n = bpf_map_lookup_elem(&counts, &id);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &id, &one, BPF_NOEXIST);
	return 0;
}

SEC("tp") int count_tp(void *ctx) { return count(bpf_get_attach_cookie(ctx)); }
SEC("uprobe.multi") int count_uprobe(struct pt_regs *ctx) { return count(bpf_get_attach_cookie(ctx)); }
SEC("kprobe.multi") int count_kprobe(struct pt_regs *ctx) { return count(bpf_get_func_ip(ctx)); }
]], { autoattach = false, rodata = t:rodata() })

-- Each counted id's name.
local names, n = {}, 0
local name_of
if kind == "tracepoint" then
  t:try(b.attach_tracepoint, b, what, "count_tp")
  for _, tp in ipairs(bpf.tracepoints(what)) do
    local f = io.open("/sys/kernel/tracing/events/" .. tp:gsub(":", "/") .. "/id")
    if f then
      names[f:read("n")] = tp
      f:close()
    end
    n = n + 1
  end
elseif kind == "uprobe" then
  local funcs = t:try(tool.functions, what, func)
  if #funcs == 0 then t:fail(("no function of %s matches '%s'"):format(what, func)) end
  t:try(b.attach_uprobe_multi, b, { path = what, sym = funcs, pid = args.pid, fn = "count_uprobe" })
  for i, name in ipairs(funcs) do names[i] = name end
  n = #funcs
else
  t:try(b.attach_kprobe_multi, b, { pattern = what, fn = "count_kprobe" })
  name_of = function(addr) return (bpf.ksym(addr)) end
  n = "the"
end

local function print_counts()
  local rows = {}
  for id, c in pairs(b.maps.counts) do
    rows[#rows + 1] = { func = names[id] or name_of and name_of(id) or ("id " .. id), count = c }
  end
  b.maps.counts:clear()
  table.sort(rows, function(x, y) return x.count > y.count or (x.count == y.count and x.func < y.func) end)
  if args.timestamp and not t.json then t:write(os.date("%H:%M:%S\n")) end
  t:columns { { "FUNC", -40, "func" }, { "COUNT", 10, "count", u = true } }
  for _, r in ipairs(rows) do t:row(r) end
end

t:note(("Tracing %s %s for \"%s\"... Hit Ctrl-C to end."):format(n, kind == "tracepoint" and "tracepoints" or "functions",
  args.pattern))
local why = t:run(b, { interval = args.interval, on_interval = args.interval and print_counts or nil })
if not args.interval or why == "signal" then print_counts() end
t:close()
