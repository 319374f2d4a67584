-- luabpf -e '[DECLARATIONS;] PROBES [/FILTER/] { C }': the one-liner
-- shorthand. C declarations (maps of one's own) may come first. Each block
-- becomes one BCC-dialect function, the C inside the braces unchanged but
-- for bpftrace's builtins (pid, tid, uid, cpu, nsecs, comm, arg0..arg5,
-- retval, args), printf (to standard output), the aggregations of
-- lua/aggregate.lua, and a filter; the
-- script then waits for Ctrl-C, or -c's command to exit, and prints its
-- aggregations as bpftrace does.
--
--   PROBES  probe[, probe]...
--   probe   tracepoint:CAT:EVENT | rawtracepoint:EVENT | kprobe:FN | kretprobe:FN
--           | uprobe:PATH:FN | uretprobe:PATH:FN | usdt:PATH:PROVIDER:NAME
--           | profile:hz:N
local bpf = require "bpf"

local M = {}

local PROVIDERS = { tracepoint = true, rawtracepoint = true, kprobe = true, kretprobe = true, uprobe = true,
  uretprobe = true, usdt = true, profile = true }

-- Where the first probe starts: C declarations may come before it.
local function first_probe(text)
  local best
  for p in pairs(PROVIDERS) do
    local at = text:find("%f[%w]" .. p .. ":[^%s{]*%s*[/{]")
    if at and (not best or at < best) then best = at end
  end
  return best
end

-- Whether an -e chunk is a one-liner rather than Lua: C declarations ending
-- in ';' (or none), then a probe and a block.
function M.is_program(text)
  local at = first_probe(text)
  return at ~= nil and (text:sub(1, at - 1):match("^%s*$") or text:sub(1, at - 1):match(";%s*$")) ~= nil
end

-- The C for each builtin the text names, declared at the top of a probe.
local BUILTINS = {
  { "pid", "__u32 pid = bpf_get_current_pid_tgid() >> 32;" },
  { "tid", "__u32 tid = (__u32)bpf_get_current_pid_tgid();" },
  { "uid", "__u32 uid = (__u32)bpf_get_current_uid_gid();" },
  { "cpu", "__u32 cpu = bpf_get_smp_processor_id();" },
  { "nsecs", "__u64 nsecs = bpf_ktime_get_ns();" },
}
local REGS_BUILTINS = {
  { "arg0", "__u64 arg0 = PT_REGS_PARM1(ctx);" }, { "arg1", "__u64 arg1 = PT_REGS_PARM2(ctx);" },
  { "arg2", "__u64 arg2 = PT_REGS_PARM3(ctx);" }, { "arg3", "__u64 arg3 = PT_REGS_PARM4(ctx);" },
  { "arg4", "__u64 arg4 = PT_REGS_PARM5(ctx);" }, { "arg5", "__u64 arg5 = PT_REGS_PARM6(ctx);" },
  { "retval", "__s64 retval = PT_REGS_RC(ctx);" },
}

local function names(text, word)
  return text:find("%f[%w_]" .. word .. "%f[^%w_]") ~= nil
end

-- A probe's function header (C) and what the runner attaches by hand.
local function probe_header(spec, n)
  local fn = "__lbpf_probe_" .. n
  local kind, rest = spec:match("^(%a+):(.*)$")
  if kind == "tracepoint" then
    local cat, ev = rest:match("^([%w_]+):([%w_]+)$")
    if not cat then error(("probe '%s': a tracepoint is tracepoint:CATEGORY:EVENT"):format(spec), 0) end
    return ("TRACEPOINT_PROBE(%s, %s)"):format(cat, ev), false
  elseif kind == "rawtracepoint" and rest:match("^[%w_]+$") then
    return ("SEC(\"raw_tp/%s\") int %s(struct bpf_raw_tracepoint_args *ctx)"):format(rest, fn), false
  elseif (kind == "kprobe" or kind == "kretprobe") and rest:match("^[%w_.]+$") then
    return ("SEC(\"%s/%s\") int %s(struct pt_regs *ctx)"):format(kind, rest, fn), true
  elseif kind == "uprobe" or kind == "uretprobe" then
    local path, func = rest:match("^(.+):([%w_.@]+)$")
    if not path then error(("probe '%s': a uprobe is uprobe:PATH:FUNCTION"):format(spec), 0) end
    return ("SEC(\"%s/%s:%s\") int %s(struct pt_regs *ctx)"):format(kind, path, func, fn), true
  elseif kind == "usdt" then
    local path, provider, name = rest:match("^(.+):([%w_]+):([%w_]+)$")
    if not path then error(("probe '%s': a USDT probe is usdt:PATH:PROVIDER:NAME"):format(spec), 0) end
    return ("SEC(\"usdt/%s:%s:%s\") int %s(struct pt_regs *ctx)"):format(path, provider, name, fn), true
  elseif kind == "profile" then
    local hz = math.tointeger(tonumber(rest:match("^hz:(%d+)$") or ""))
    if not hz or hz < 1 then error(("probe '%s': profile takes profile:hz:N"):format(spec), 0) end
    return ("SEC(\"perf_event\") int %s(struct bpf_perf_event_data *ctx)"):format(fn), true, hz
  end
  error(("probe '%s': not a probe this shorthand knows (tracepoint:, rawtracepoint:, kprobe:, kretprobe:, "
    .. "uprobe:, uretprobe:, usdt:, profile:hz:N)"):format(spec), 0)
end

-- One "probes /filter/ { body }" block at pos: its parts and where it ends.
local function next_block(text, pos)
  local brace = text:find("{", pos, true)
  if not brace then return nil end
  local head = text:sub(pos, brace - 1)
  local body = text:match("^%b{}", brace)
  if not body then error("a block's { has no matching }", 0) end
  local probes, filter = head:match("^%s*(.-)%s*/(.*)/%s*$")
  probes = probes or head:match("^%s*(.-)%s*$")
  local list = {}
  for p in probes:gmatch("[^,%s]+") do list[#list + 1] = p end
  if #list == 0 then error("a block { ... } needs a probe before it, as in tracepoint:syscalls:sys_enter_openat { }", 0) end
  return { probes = list, filter = filter, body = body:sub(2, -2) }, brace + #body
end

-- ---- printf, to the script's standard output through a ring buffer ----

local PRINTF_MAP = "__lbpf_printf"

local split_args = bpf._split_args

-- One argument's field (8-byte aligned, so Lua reads it at a known place),
-- the C that fills it, and how Lua reads it back.
local function printf_field(expr, i)
  local f = "a" .. i
  if expr == "comm" then
    return ("char %s[16];"):format(f), ("bpf_get_current_comm(&__e->%s, 16);"):format(f), 16
  end
  local inner = expr:match("^str%s*(%b())$")
  if inner then
    local a = split_args(inner:sub(2, -2))
    local n = math.tointeger(tonumber(a[2] or "64"))
    if not n or n < 1 or n > 256 then error(("str(%s): at most 256 bytes"):format(inner:sub(2, -2)), 0) end
    n = (n + 7) // 8 * 8
    return ("char %s[%d];"):format(f, n), ("if (bpf_probe_read_user_str(&__e->%s, %d, (const void *)(long)(%s)) < 0) "
      .. "bpf_probe_read_kernel_str(&__e->%s, %d, (const void *)(long)(%s));"):format(f, n, a[1], f, n, a[1]), n
  end
  return ("__s64 %s;"):format(f), ("__e->%s = (__s64)(%s);"):format(f, expr), 0
end

-- The body with each printf("fmt", args...) made a ring buffer record;
-- sites gets {format, sizes} per call (size 0: an integer).
local function printfs(body, sites)
  return (body:gsub("%f[%w_]printf%s*(%b())", function(call)
    local args = split_args(call:sub(2, -2))
    local fmt = args[1] and args[1]:match('^"(.*)"$')
    if not fmt then error(("printf%s: the format must be a string literal"):format(call), 0) end
    if #args > 7 then error(("printf%s: at most 6 arguments"):format(call), 0) end
    local id = #sites + 1
    local fields, fills, sizes = {}, {}, {}
    for i = 2, #args do
      fields[#fields + 1], fills[#fills + 1], sizes[#sizes + 1] = printf_field(args[i], i - 1)
    end
    sites[id] = { fmt = fmt, sizes = sizes }
    return ("{ struct __lbpf_printf_%d { __u64 id; %s } *__e = bpf_ringbuf_reserve(&%s, sizeof(*__e), 0); "
      .. "if (__e) { __e->id = %d; %s bpf_ringbuf_submit(__e, 0); } }"):format(id, table.concat(fields, " "),
      PRINTF_MAP, id, table.concat(fills, " "))
  end))
end

-- C's escapes in a format string literal, and its length modifiers, which
-- Lua's string.format does not take.
local function lua_format(fmt)
  local escapes = { n = "\n", t = "\t", ["\\"] = "\\", ['"'] = '"', r = "\r", ["0"] = "" }
  fmt = fmt:gsub("\\(.)", function(c) return escapes[c] or c end)
  return (fmt:gsub("%%([%-%+ #0]*%d*%.?%d*)[hlLqjzt]*([diouxXcs%%])", function(flags, conv)
    if conv == "u" or conv == "i" then conv = "d" end
    return "%" .. flags .. conv
  end))
end

-- Prints one record: its call site's format with its arguments.
local function print_record(sites, data)
  local id = string.unpack("<I8", data)
  local site = sites[id]
  if not site then return end
  local values, pos = {}, 9
  for i, size in ipairs(site.sizes) do
    if size == 0 then
      values[i], pos = string.unpack("<i8", data, pos)
    else
      values[i] = data:sub(pos, pos + size - 1):match("^[^%z]*")
      pos = pos + size
    end
  end
  site.lua_fmt = site.lua_fmt or lua_format(site.fmt)
  io.write(site.lua_fmt:format(table.unpack(values, 1, #site.sizes)))
end

-- The program's C and the perf events (profile:hz:N) to attach by function name.
function M.translate(text)
  local start = first_probe(text)
  local declarations = text:sub(1, start - 1)
  local blocks, pos = {}, start
  while true do
    local block, after = next_block(text, pos)
    if not block then break end
    blocks[#blocks + 1] = block
    pos = after
  end
  if text:sub(pos):find("%S") then error(("after the last block: '%s'"):format(text:sub(pos):match("^%s*(.-)%s*$")), 0) end
  local parts, profiles, n, sites = {}, {}, 0, {}
  for _, block in ipairs(blocks) do
    block.body = printfs(block.body, sites)
    for _, spec in ipairs(block.probes) do
      n = n + 1
      local header, regs, hz = probe_header(spec, n)
      if hz then profiles[#profiles + 1] = { fn = "__lbpf_probe_" .. n, hz = hz } end
      local code = block.body .. " " .. (block.filter or "")
      local decls = {}
      for _, b in ipairs(BUILTINS) do if names(code, b[1]) then decls[#decls + 1] = b[2] end end
      if regs then
        for _, b in ipairs(REGS_BUILTINS) do if names(code, b[1]) then decls[#decls + 1] = b[2] end end
      end
      if names(code, "comm") then decls[#decls + 1] = "char comm[16]; bpf_get_current_comm(&comm, sizeof(comm));" end
      -- Stacks are taken from ctx; a tracepoint's context is its args.
      if header:find("^TRACEPOINT_PROBE") and (names(code, "ustack") or names(code, "kstack")) then
        decls[#decls + 1] = "void *ctx = args;"
      end
      local filter = block.filter and ("if (!(%s)) return 0; "):format(block.filter) or ""
      parts[#parts + 1] = ("%s { FILTER_TARGET(); %s %s%s; return 0; }"):format(header, table.concat(decls, " "),
        filter, block.body)
    end
  end
  if #sites > 0 then
    declarations = ("struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 256 * 1024); } %s "
      .. "SEC(\".maps\"); "):format(PRINTF_MAP) .. declarations
  end
  return declarations .. table.concat(parts, "\n"), profiles, n, sites
end

-- The Lua chunk an -e one-liner runs.
function M.compile(text)
  local c, profiles, n, sites = M.translate(text)
  return function()
    local b = bpf.new(c, { name = "-e" })
    for _, p in ipairs(profiles) do
      b:attach_perf_event { fn = p.fn, freq = p.hz }
    end
    print(("Attaching %d probe%s..."):format(n, n == 1 and "" or "s"))
    io.stdout:flush()
    if #sites == 0 then
      bpf.sleep(1e8)
      return
    end
    b:ring_buffer(PRINTF_MAP, function(data) print_record(sites, data) end, { raw = true })
    b:run()
    b:ring_buffer_consume() -- what was written before the end
    io.stdout:flush()
  end
end

return M
