-- bpf.tool: what every tool in scripts/ shares, so a tool is mostly its BPF
-- C and its output: BCC's command line conventions (lua-argparse), filters
-- passed as rodata, aligned tables or --json lines (dkjson), BCC-style
-- histograms, and a run that ends on -d, on interval/count, on Ctrl-C
-- (printing the summary) or quietly when stdout goes away.
local bpf = require "bpf"
local argparse = require "argparse"
local json = require "dkjson"

local M = {}
local Tool = {}
Tool.__index = Tool

-- BPF C for the common filters: declare them, then call tool_skip() first.
M.FILTERS = [[
const volatile u32 targ_pid = 0;
const volatile u32 targ_tid = 0;
const volatile char targ_comm[16] = {};
const volatile u64 targ_cgroup = 0;
/* Whether comm is not the name -n asked for (any name is when none was). */
static __always_inline bool tool_comm_differs(const char *comm)
{
	for (int i = 0; i < 16 && targ_comm[0]; i++) {
		if (comm[i] != targ_comm[i])
			return true;
		if (!comm[i])
			break;
	}
	return false;
}
static __always_inline bool tool_skip(void)
{
	u64 id = bpf_get_current_pid_tgid();
	if (targ_pid && (id >> 32) != targ_pid)
		return true;
	if (targ_tid && (u32)id != targ_tid)
		return true;
	if (targ_cgroup && bpf_get_current_cgroup_id() != targ_cgroup)
		return true;
	if (targ_comm[0]) {
		char comm[16];
		bpf_get_current_comm(comm, sizeof(comm));
		return tool_comm_differs(comm);
	}
	return false;
}
]]

-- BPF C: fd_file(fd), the current task's open file of that number, or NULL.
M.FD_FILE = [[
static struct file *fd_file(u64 fd)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	if (fd >= BPF_CORE_READ(fdt, max_fds))
		return 0;
	struct file **fds = BPF_CORE_READ(fdt, fd), *file = 0;
	bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]);
	return file;
}
]]

local function positive(what)
  return function(s)
    local n = tonumber(s)
    if not n or n <= 0 then return nil, what .. " must be a positive number" end
    return n
  end
end

local function id_arg(what)
  return function(s)
    local n = math.tointeger(tonumber(s))
    if not n or n <= 0 or n > 0x7fffffff then return nil, what .. " must be a process or thread id" end
    return n
  end
end

-- An argparse converter to an integer from lo to hi: tool.integer("a port", 1, 65535).
function M.integer(what, lo, hi)
  return function(s)
    local n = math.tointeger(tonumber(s))
    if not n or n < lo or n > hi then return nil, ("%s is a number from %d to %d"):format(what, lo, hi) end
    return n
  end
end

-- The file a uprobe pattern's LIB names: a path, a library's short name
-- ("c" for libc, as BCC names them), or a program on the PATH.
function M.binary(name)
  if name:find("/", 1, true) then return name end
  local lib = bpf.find_library(name)
  if lib then return lib end
  for dir in (os.getenv("PATH") or ""):gmatch("[^:]+") do
    local f = io.open(dir .. "/" .. name)
    if f then
      f:close()
      return dir .. "/" .. name
    end
  end
  return nil, ("no library or program named %s (give its path)"):format(name)
end

-- The functions of the file at path whose names match glob, sorted, one
-- name for each address: of aliases, the one with the fewest leading
-- underscores (nanosleep, not __nanosleep too).
function M.functions(path, glob)
  local names, offsets = bpf.elf_functions(path, glob)
  local best = {}
  for i, name in ipairs(names) do
    local b = best[offsets[i]]
    if not b or #name:match("^_*") < #b:match("^_*") then best[offsets[i]] = name end
  end
  local out = {}
  for _, name in pairs(best) do out[#out + 1] = name end
  table.sort(out)
  return out
end

-- tool.new{name=, summary=, examples={...}, options={"pid", "tid", "comm",
-- "cgroup", "timestamp", "duration", "interval", "histograms"}}: a tool whose parser
-- (t.parser) the tool may add its own options to before t:parse().
-- "duration_long" is --duration alone, for a tool whose -d is BCC's disk.
-- "histograms" gives BCC's -T (a time per output), -m and -P (per process).
function M.new(spec)
  local t = setmetatable({ name = spec.name, json = false, objects = {} }, Tool)
  -- A tool prints what it means to; its working maps stay unprinted at exit.
  bpf.print_at_exit(false)
  local p = argparse(spec.name, spec.summary)
  if spec.examples then p:epilog("examples:\n  " .. table.concat(spec.examples, "\n  ")) end
  local want = {}
  for _, o in ipairs(spec.options or {}) do want[o] = true end
  if want.pid then p:option("-p --pid", "trace this process only"):convert(id_arg("PID")) end
  if want.tid then p:option("-t --tid", "trace this thread only"):convert(id_arg("TID")) end
  if want.comm then p:option("-n --name", "trace processes whose name (comm) is this only") end
  if want.cgroup then
    p:option("-c --cgroup", "trace processes in this cgroup v2 directory only"):convert(function(path)
      local ok, id = pcall(bpf.cgroup_id, path)
      if not ok then return nil, (tostring(id):gsub("^cgroup_id: ", "")) end
      return id
    end)
  end
  if want.timestamp then p:flag("-T --timestamp", "include a timestamp column") end
  if want.duration or want.duration_long then
    p:option(want.duration and "-d --duration" or "--duration", "stop after this many seconds"):convert(positive("duration"))
  end
  if want.interval then
    p:argument("interval", "seconds between outputs"):args("?"):convert(positive("interval"))
    p:argument("count", "number of outputs"):args("?"):convert(positive("count"))
  end
  if want.histograms then
    p:flag("-T --timestamp", "print a time with each output")
    p:flag("-m --milliseconds", "in milliseconds, not microseconds")
    p:flag("-P --pids", "one histogram per process")
  end
  p:flag("--json", "one JSON object per line instead of text")
  t.parser = p
  return t
end

-- The stack tools' options: -f (folded), --svg FILE (opts.svg), and
-- --stack-storage-size; with opts.block_times, -m and -M (microseconds).
function Tool:stack_options(opts)
  local p = self.parser
  p:flag("-f --folded", "output folded format: comm;outer;...;inner count")
  if opts.svg then p:option("--svg", "write an interactive flame graph to this file") end
  p:option("--stack-storage-size", "the number of unique stack traces that can be stored and displayed")
    :default("16384"):convert(M.integer("the stack storage size", 1, 1 << 20))
  if opts.block_times then
    p:option("-m --min-block-time", "the amount of time in microseconds over which we store traces")
      :default("1"):convert(M.integer("the minimum block time", 0, 1 << 50))
    p:option("-M --max-block-time", "the amount of time in microseconds under which we store traces")
      :convert(M.integer("the maximum block time", 1, 1 << 50))
  end
end

-- Parses the command line (arg by default); -h prints the help and exits.
function Tool:parse(argv)
  local args = self.parser:parse(argv or arg)
  if args.name and #args.name > 15 then
    self:fail("a process name (comm) has at most 15 characters: " .. args.name)
  end
  self.args, self.json = args, args.json == true
  bpf.ignore_sigpipe()
  return args
end

-- The rodata of the common filters, with the tool's own merged in.
function Tool:rodata(extra)
  local a = self.args or {}
  local r = { targ_pid = a.pid or 0, targ_tid = a.tid or 0, targ_comm = a.name or "", targ_cgroup = a.cgroup or 0 }
  for k, v in pairs(extra or {}) do r[k] = v end
  return r
end

-- Prints "NAME: message" to stderr and exits 1.
function Tool:fail(msg)
  io.stderr:write(self.name, ": ", tostring(msg), "\n")
  self:close()
  os.exit(1)
end

-- f(...)'s result, or its error as the tool's failure, without the Lua
-- location the message starts with (a missing kernel feature is named).
function Tool:try(f, ...)
  local ok, res = pcall(f, ...)
  if not ok then
    local msg = type(res) == "table" and res.message or tostring(res)
    self:fail((msg:gsub("^[^:]*:%d+: ", "")))
  end
  return res
end

-- bpf.new(src, opts), or the tool's failure.
function Tool:load(src, opts)
  local b = self:try(bpf.new, src, opts)
  self.objects[#self.objects + 1] = b
  return b
end

function Tool:close()
  for _, b in ipairs(self.objects) do
    if not b.closed then b:close() end
  end
end

-- stdout went away (a closed pipe): end quietly, detached.
function Tool:write(s)
  if not io.stdout:write(s) then
    self:close()
    os.exit(0)
  end
end

-- ("%d"):format of a u64 the codec gave as a negative integer.
local function unsigned(v)
  if math.type(v) == "integer" and v < 0 then return bpf._unsigned(v) end
  return v
end
M.unsigned = unsigned

local raw = { __tojson = function(self) return self[1] end }

-- Columns: {{"PID", 7, "pid"}, {"COMM", -16, "comm"}, {"PATH", 0, "path"},
-- {"BYTES", 10, "bytes", u = true}}: header, width (negative: left-aligned,
-- 0: the last, unpadded), the row field, and whether it is a u64. With -T,
-- a TIME(s) column comes first, from the rows' time field. A column with
-- json = false is text only (a formatted form); json = true, JSON only.
function Tool:columns(cols)
  if self.args and self.args.timestamp and cols[1][3] ~= "time" then
    table.insert(cols, 1, { "TIME(s)", -9, "time" })
  end
  self.cols = {}
  for _, c in ipairs(cols) do
    if c.json == nil or c.json == self.json then self.cols[#self.cols + 1] = c end
  end
  if self.json then return end
  local parts = {}
  for i, c in ipairs(self.cols) do
    parts[i] = c[2] == 0 and c[1] or ("%" .. c[2] .. "s"):format(c[1])
  end
  self:write(table.concat(parts, " "):gsub("%s+$", "") .. "\n")
end

-- One row: a line of the columns, or a JSON object of the row's fields.
function Tool:row(row)
  if self.json then
    local obj = {}
    for _, c in ipairs(self.cols) do
      local v = row[c[3]]
      if c.u and math.type(v) == "integer" and v < 0 then v = setmetatable({ unsigned(v) }, raw) end
      obj[c[3]] = v
    end
    self:write(json.encode(obj, { keyorder = self:keyorder() }) .. "\n")
    return
  end
  local parts = {}
  for i, c in ipairs(self.cols) do
    local v = row[c[3]]
    if c.u then v = unsigned(v) end
    if type(v) == "number" and math.type(v) == "float" then v = ("%.3f"):format(v) end
    parts[i] = c[2] == 0 and tostring(v) or ("%" .. c[2] .. "s"):format(tostring(v))
  end
  self:write(table.concat(parts, " ") .. "\n")
end

function Tool:keyorder()
  if not self.order then
    self.order = {}
    for i, c in ipairs(self.cols) do self.order[i] = c[3] end
  end
  return self.order
end

-- Any value as one JSON line (a summary, a table of counts).
function Tool:json_line(obj)
  self:write(json.encode(obj) .. "\n")
end

-- A histogram of {slot = count} (or a map of them), log2 unless linear:
-- BCC's stars, or {"hist": label, "unit": unit, "buckets": [{"low":,
-- "high":, "count":}]} (linear: {"value":, "count":}) with the fields of
-- group (what the histogram is of: {disk = "sda"}) added.
function Tool:hist(t, unit, label, linear, group)
  if self.json then
    local buckets = {}
    local rows
    if type(t) == "table" then
      rows = linear and bpf.linear_hist(t) or bpf.log2_hist(t)
    else
      rows = linear and t:linear_hist() or t:log2_hist()
    end
    for i, r in ipairs(rows) do
      buckets[i] = linear and { value = r.value, count = r.count } or { low = r.low, high = r.high, count = r.count }
    end
    local obj = { hist = label or unit, unit = unit, buckets = buckets }
    for k, v in pairs(group or {}) do obj[k] = v end
    self:json_line(obj)
    return
  end
  if type(t) == "table" then
    (linear and bpf.print_linear_hist or bpf.print_log2_hist)(t, unit)
  else
    (linear and t.print_linear_hist or t.print_log2_hist)(t, unit)
  end
end

-- What starts each interval's output in text: a blank line, and the time with -T.
function Tool:interval_header()
  if self.json then return end
  self:write("\n")
  if self.args.timestamp then self:write(os.date("%H:%M:%S\n")) end
end

-- The histograms of a map keyed {FIELD=, slot=}, cleared after: one per
-- value of the key's field (sorted; "\nLABEL = NAME" above each, NAME from
-- opts.name(value) or the value; in JSON the field "KEY": NAME), or one of
-- every entry when field is nil. opts: label (default the field), key
-- (default the label), name, linear.
function Tool:hists(map, field, unit, opts)
  opts = opts or {}
  local groups = {}
  for k, n in pairs(map) do
    local g = field and k[field] or 0
    groups[g] = groups[g] or {}
    groups[g][k.slot] = (groups[g][k.slot] or 0) + n
  end
  map:clear()
  local keys = {}
  for g in pairs(groups) do keys[#keys + 1] = g end
  table.sort(keys)
  if #keys == 0 and not field then keys[1], groups[0] = 0, {} end
  local label = opts.label or field
  for _, g in ipairs(keys) do
    local name = field and (opts.name and opts.name(g) or g)
    if field and not self.json then self:write(("\n%s = %s\n"):format(label, name)) end
    self:hist(groups[g], unit, unit, opts.linear, field and { [opts.key or label] = name })
  end
  io.stdout:flush()
end

-- The histograms of a map keyed {pid=, slot=} (pid 0 when not per
-- process), cleared after: one per process with per_pid, preceded by the
-- time with -T, as BCC's runqlat and cpudist print them.
function Tool:pid_hists(map, unit, per_pid)
  self:interval_header()
  self:hists(map, per_pid and "pid" or nil, unit)
end

-- Stack traces with their values ({frames=, count=, pid=, comm=, user=,
-- kernel=} each; frames outermost first) as the tool's options ask: an
-- interactive flame graph (--svg FILE), the folded format (-f), JSON lines,
-- or BCC's text, kernel stack over user stack, smallest first. opts.title
-- names the graph; opts.unit, what the counts are.
function Tool:stacks(stacks, opts)
  local a = self.args
  if a.svg then
    local f, why = io.open(a.svg, "w")
    if not f then self:fail(why) end
    f:write(require("bpf.flamegraph").svg(stacks, { title = opts.title }))
    f:close()
    self:note(("%d stacks written to %s"):format(#stacks, a.svg))
  elseif a.folded then
    for _, line in ipairs(require("bpf.flamegraph").folded(stacks)) do self:write(line .. "\n") end
  elseif self.json then
    for _, s in ipairs(stacks) do
      self:json_line { pid = s.pid, comm = s.comm, [opts.unit or "count"] = s.count, user_stack = s.user,
        kernel_stack = s.kernel }
    end
  else
    table.sort(stacks, function(x, y) return x.count < y.count end)
    for _, s in ipairs(stacks) do
      for _, name in ipairs(s.kernel) do self:write("    " .. name .. "\n") end
      if #s.kernel > 0 and #s.user > 0 then self:write("    --\n") end
      for _, name in ipairs(s.user) do self:write("    " .. name .. "\n") end
      self:write(("    %-16s %s (%d)\n        %d\n\n"):format("-", s.comm, s.pid, s.count))
    end
  end
end

-- The stacks of a map keyed {pid=, ustack=, kstack=, comm=} whose stack ids
-- are in stack_map (-1: none), for Tool:stacks: the process, its user
-- stack, then the kernel's (marked _[k], as BCC's folded output marks them).
function Tool:stacks_of(map, stack_map)
  local stacks = {}
  for k, n in pairs(map) do
    local frames = { k.comm }
    local user = k.ustack >= 0 and stack_map:symbols(k.ustack, k.pid) or {}
    local kernel = k.kstack >= 0 and stack_map:symbols(k.kstack) or {}
    for i = #user, 1, -1 do frames[#frames + 1] = user[i] end
    for i = #kernel, 1, -1 do frames[#frames + 1] = kernel[i] .. "_[k]" end
    stacks[#stacks + 1] = { frames = frames, count = n, pid = k.pid, user = user, kernel = kernel, comm = k.comm }
  end
  return stacks
end

-- Stderr, so that it never mixes with --json output.
function Tool:note(msg)
  io.stderr:write(msg, "\n")
end

-- Runs b's event loop until -d's seconds, interval x count, or Ctrl-C;
-- opts.on_interval(n) runs every interval. Returns why it stopped.
function Tool:run(b, opts)
  opts = opts or {}
  local a = self.args or {}
  local interval = opts.interval or a.interval
  local count = a.count
  local n = 0
  local duration = a.duration
  if interval and count then duration = interval * count + interval / 2 end
  local run = { duration = duration }
  if interval and opts.on_interval then
    run.interval = interval
    run.on_interval = function()
      n = n + 1
      opts.on_interval(n)
      io.stdout:flush()
    end
  end
  local _, why = b:run(run)
  return why
end

return M
