#!/usr/bin/env luabpf
-- trace: BCC's trace one-liners: print a line, formatted like printf, each
-- time a tracepoint fires or a user (or kernel) function is entered or
-- returns, when a C filter holds. Each probe becomes one BPF function.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "trace",
  summary = "Attach to functions and tracepoints, and print a message when they are hit.",
  examples = {
    "trace 't:syscalls:sys_enter_openat \"%s\", args->filename'   # every openat's path",
    "trace 'r:c:malloc (retval > 4096) \"size %d\", retval'     # libc mallocs returning large pointers",
    "trace 'c:write (arg3 > 100) \"fd %d wrote %d\", arg1, arg3' # libc writes over 100 bytes",
    "trace 'u:/usr/bin/app:my_probe \"%d\", arg1'              # a USDT probe's first argument",
    "trace -p 181 'c:open \"%s\", arg1'                        # process 181 only",
    "trace -M 10 't:sched:sched_process_exec'                 # the first 10 execs",
  },
  options = { "pid", "comm", "timestamp", "duration", "cgroup" },
}
t.parser:argument("probe", "KIND:TARGET [(FILTER)] [\"FORMAT\"[, ARG...]], KIND t (tracepoint), p or r (a "
  .. "function's entry or return: LIB:FUNCTION, or :FUNCTION in the kernel) or u (USDT)"):args("+")
t.parser:option("-L --tid", "trace this thread only"):convert(tool.integer("TID", 1, 0x7fffffff))
t.parser:option("-M --max-events", "stop after this many events"):convert(tool.integer("the event count", 1, 1 << 40))
local args = t:parse()

local MAX_ARGS, STR_LEN = 6, 64

-- The probe's parts: kind, target, filter (C), format and its argument
-- expressions (C), or nil and what is wrong.
local function parse(spec)
  local head, rest = spec:match("^%s*([^%s(\"]+)%s*(.-)%s*$")
  if not head then return nil, "a probe starts with KIND:TARGET" end
  local p = { spec = spec, args = {} }
  local kind, a, b2 = head:match("^([tpru]):([^:]*):([^:]+)$")
  if not kind then
    kind, b2 = head:match("^([pr]):([^:]+)$")
    if kind then a = "" end
  end
  if not kind then
    a, b2 = head:match("^([^:]+):([^:]+)$")
    kind = "p"
    if not a then a, b2 = "", head end
  end
  p.kind, p.lib, p.name = kind, a, b2
  if rest:sub(1, 1) == "(" then
    local depth, i = 0, 1
    repeat
      local c = rest:sub(i, i)
      if c == "(" then depth = depth + 1 elseif c == ")" then depth = depth - 1 end
      i = i + 1
    until depth == 0 or i > #rest
    if depth ~= 0 then return nil, "the filter's parentheses do not close" end
    p.filter = rest:sub(2, i - 2)
    rest = rest:sub(i):match("^%s*(.-)$")
  end
  if rest ~= "" then
    local close = rest:sub(1, 1) == '"' and rest:find('[^\\]"', 1) or nil
    if rest:sub(1, 2) == '""' then close = 1 end
    if not close then return nil, "the format is a string in double quotes: \"%d\", arg1" end
    local fmt, after = rest:sub(2, close), rest:sub(close + 2):match("^%s*(.-)$")
    p.format = fmt:gsub("\\n", "\n"):gsub('\\"', '"')
    if after ~= "" then
      if after:sub(1, 1) ~= "," then return nil, "arguments follow the format after a comma" end
      local depth, cur = 0, {}
      for c in after:sub(2):gmatch(".") do
        if c == "(" then depth = depth + 1 elseif c == ")" then depth = depth - 1 end
        if c == "," and depth == 0 then
          p.args[#p.args + 1] = table.concat(cur):match("^%s*(.-)%s*$")
          cur = {}
        else
          cur[#cur + 1] = c
        end
      end
      p.args[#p.args + 1] = table.concat(cur):match("^%s*(.-)%s*$")
    end
  end
  -- The conversions of the format, one per argument.
  p.convs = {}
  for conv in (p.format or ""):gmatch("%%[-+ #0-9.]*[lhz]*([diuxXpcs%%])") do
    if conv ~= "%" then p.convs[#p.convs + 1] = conv end
  end
  if #p.convs ~= #p.args then
    return nil, ("the format has %d conversions but %d arguments follow it"):format(#p.convs, #p.args)
  end
  if #p.args > MAX_ARGS then return nil, ("at most %d arguments"):format(MAX_ARGS) end
  return p
end

local probes = {}
for i, spec in ipairs(args.probe) do
  local p, why = parse(spec)
  if not p then t:fail(("probe %d (%s): %s"):format(i, spec, why)) end
  if p.kind == "t" and not bpf.tracepoint_exists(p.lib, p.name) then
    t:fail(("probe %d: no tracepoint %s:%s (bpf.tracepoints() lists them)"):format(i, p.lib, p.name))
  end
  if p.lib ~= "" and p.kind ~= "t" then
    local path, why2 = tool.binary(p.lib)
    if not path then t:fail(("probe %d: %s"):format(i, why2)) end
    p.path = path
  end
  probes[i] = p
end

-- The C of one probe: its filter, then an event with its arguments.
local function probe_c(i, p)
  local body = {}
  if p.kind == "t" then
    body[#body + 1] = ("TRACEPOINT_PROBE(%s, %s)\n{"):format(p.lib, p.name)
  else
    body[#body + 1] = ("int probe_%d(struct pt_regs *ctx)\n{"):format(i)
    for n = 1, MAX_ARGS do
      if p.kind == "u" then
        body[#body + 1] = ("\tu64 arg%d = 0;\n\tbpf_usdt_readarg(%d, ctx, &arg%d);"):format(n, n, n)
      else
        body[#body + 1] = ("\tu64 arg%d = PT_REGS_PARM%d(ctx);"):format(n, n)
      end
    end
    body[#body + 1] = "\tu64 retval = PT_REGS_RC(ctx);"
  end
  body[#body + 1] = "\tif (trace_skip())\n\t\treturn 0;"
  if p.filter then body[#body + 1] = ("\tif (!(%s))\n\t\treturn 0;"):format(p.filter) end
  body[#body + 1] = ("\tstruct trace_line *e = trace_start(%d);\n\tif (!e)\n\t\treturn 0;"):format(i)
  for n, expr in ipairs(p.args) do
    if p.convs[n] == "s" then
      body[#body + 1] = ("\ttrace_str(e->strs[%d], (const void *)(%s));"):format(n - 1, expr)
    else
      body[#body + 1] = ("\te->vals[%d] = (u64)(%s);"):format(n - 1, expr)
    end
  end
  body[#body + 1] = "\tbpf_ringbuf_submit(e, 0);\n\treturn 0;\n}\n"
  return table.concat(body, "\n")
end

local src = { tool.FILTERS, ([[
const volatile u32 targ_tid2 = 0;
struct trace_line {
	u64 ts;
	u32 pid;
	u32 tid;
	u32 probe;
	u32 cpu;
	char comm[16];
	u64 vals[%d];
	char strs[%d][%d];
};
LUABPF_RINGBUF(events, 1 << 22);

static __always_inline bool trace_skip(void)
{
	return tool_skip() || (targ_tid2 && (u32)bpf_get_current_pid_tgid() != targ_tid2);
}

static __always_inline struct trace_line *trace_start(u32 probe)
{
	struct trace_line *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	u64 id = bpf_get_current_pid_tgid();
	e->ts = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->probe = probe;
	e->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* User memory first (system call and function arguments), then the kernel's. */
static __always_inline void trace_str(char *dst, const void *src)
{
	if (bpf_probe_read_user_str(dst, %d, src) < 0)
		bpf_probe_read_kernel_str(dst, %d, src);
}
]]):format(MAX_ARGS, MAX_ARGS, STR_LEN, STR_LEN, STR_LEN) }
for i, p in ipairs(probes) do src[#src + 1] = probe_c(i, p) end

local b = t:load(table.concat(src, "\n"), { rodata = t:rodata { targ_tid2 = args.tid or 0 } })
for i, p in ipairs(probes) do
  local fn = "probe_" .. i
  if p.kind == "u" then
    t:try(b.attach_usdt, b, { path = p.path, pid = args.pid, probe = p.name, fn = fn })
  elseif p.kind ~= "t" and p.path then
    t:try(b.attach_uprobe, b, { path = p.path, sym = p.name, pid = args.pid, fn = fn, ret = p.kind == "r" })
  elseif p.kind ~= "t" then
    t:try(b.attach_kprobe, b, { event = p.name, fn_name = fn, ret = p.kind == "r" })
  end
end

-- printf's conversions, from the event's values: an integer conversion
-- without l takes 32 bits, as C's would.
local function message(p, e)
  if not p.format then return "" end
  local n = 0
  return (p.format:gsub("%%([-+ #0-9.]*)([lhz]*)([diuxXpcs%%])", function(flags, len, conv)
    if conv == "%" then return "%" end
    n = n + 1
    if conv == "s" then return ("%" .. flags .. "s"):format(e.strs[n]) end
    local v = e.vals[n]
    if len == "" or len == "h" then
      v = v & 0xffffffff
      if (conv == "d" or conv == "i") and v >= 0x80000000 then v = v - 0x100000000 end
    end
    if conv == "u" then return ("%" .. flags .. "s"):format(tool.unsigned(v)) end
    if conv == "p" then return ("0x%x"):format(v) end
    if conv == "c" then return string.char(v & 0xff) end
    if conv == "i" then conv = "d" end
    return ("%" .. flags .. conv):format(v)
  end))
end

t:columns { { "PID", -7, "pid" }, { "TID", -7, "tid" }, { "COMM", -15, "comm" }, { "FUNC", -16, "func" },
  { "-", 0, "message" } }
t:note(("Tracing %d probe%s... Hit Ctrl-C to end."):format(#probes, #probes == 1 and "" or "s"))
local start, seen = bpf.ktime_ns(), 0
b:ring_buffer("events", function(e)
  local p = probes[e.probe]
  t:row { time = (e.ts - start) / 1e9, pid = e.pid, tid = e.tid, comm = e.comm, func = p.name, message = message(p, e) }
  seen = seen + 1
  -- The kernel detaches everything as the process exits.
  if args.max_events and seen >= args.max_events then
    io.stdout:flush()
    os.exit(0)
  end
end, { type = "struct trace_line" })
t:run(b)
t:close()
