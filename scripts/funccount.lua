#!/usr/bin/env luabpf
-- funccount: counts the events of the tracepoints a glob matches, like BCC's
-- funccount 't:category:event'; one program on all of them, which tells them
-- apart by the attach cookie luabpf gives each: the event's tracefs id.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "funccount",
  summary = "Count tracepoint events, by tracepoint.",
  examples = {
    "funccount 't:syscalls:sys_enter_*open*'   # opens of every kind",
    "funccount -i 1 't:sched:*'                # scheduler events, every second",
    "funccount -p 181 't:syscalls:sys_enter_*' # process 181's system calls",
    "funccount -d 5 --json 't:block:*'         # 5 seconds, as JSON lines",
  },
  options = { "pid", "tid", "comm", "duration" },
}
t.parser:argument("pattern", "t:CATEGORY:EVENT, globs allowed (the t: may be left out)")
t.parser:option("-i --interval", "print the counts every this many seconds"):convert(tonumber)
t.parser:flag("-T --timestamp", "print a time with each output")
local args = t:parse()

local pattern = args.pattern:gsub("^t:", "")
if pattern:match("^[uc]:") or pattern:match("^p:") then
  t:fail("only tracepoints (t:category:event) are counted; uprobe patterns are not supported yet")
end
local category, event = pattern:match("^([^:]+):([^:]+)$")
if not category then t:fail("the pattern is t:CATEGORY:EVENT, e.g. 't:syscalls:sys_enter_open*'") end

local b = t:load(tool.FILTERS .. [[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4096); __type(key, u32); __type(value, u64); } counts SEC(".maps");

SEC("tp") int count(void *ctx)
{
	u32 id = bpf_get_attach_cookie(ctx);
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
]], { autoattach = false, rodata = t:rodata() })

t:try(b.attach_tracepoint, b, category .. ":" .. event, "count")

-- Event ids to names, from tracefs (mounted by the attach above).
local names = {}
for _, tp in ipairs(bpf.tracepoints(category .. ":" .. event)) do
  local f = io.open("/sys/kernel/tracing/events/" .. tp:gsub(":", "/") .. "/id")
  if f then
    names[f:read("n")] = tp
    f:close()
  end
end

local function print_counts()
  local rows = {}
  for id, n in pairs(b.maps.counts) do rows[#rows + 1] = { func = names[id] or ("event " .. id), count = n } end
  b.maps.counts:clear()
  table.sort(rows, function(x, y) return x.count > y.count or (x.count == y.count and x.func < y.func) end)
  if args.timestamp and not t.json then t:write(os.date("%H:%M:%S\n")) end
  t:columns { { "FUNC", -40, "func" }, { "COUNT", 10, "count", u = true } }
  for _, r in ipairs(rows) do t:row(r) end
end

t:note(("Tracing %d tracepoints for \"%s\"... Hit Ctrl-C to end."):format(#bpf.tracepoints(category .. ":" .. event),
  args.pattern))
local why = t:run(b, { interval = args.interval, on_interval = args.interval and print_counts or nil })
if not args.interval or why == "signal" then print_counts() end
t:close()
