-- BCC's Python API names in Lua form, so a BCC tool ports line by line:
-- keyword attach calls (fn_name=, tp=, name=, ev_type=), attach_kretprobe,
-- get_syscall_fnname, the poll spellings and m:open_perf_buffer. The binding
-- runs this file with the bpf table, the object methods and the map methods.
local bpf, object, methods = ...

-- b:attach_tracepoint{tp = "sched:sched_switch", fn_name = "f"} as well as
-- b:attach_tracepoint("sched:sched_switch", "f"); raw tracepoints the same.
local function keyword_form(name)
  local positional = object[name]
  object[name] = function(b, tp, fn)
    if type(tp) == "table" then
      if tp.tp == nil then error(name .. ": give tp = \"...\" and fn_name = \"...\"", 2) end
      return positional(b, tp.tp, tp.fn_name or tp.fn)
    end
    return positional(b, tp, fn)
  end
end
keyword_form("attach_tracepoint")
keyword_form("attach_raw_tracepoint")

-- BCC names libraries without "lib" and ".so" (name = "c", "pthread"): the
-- loader's cache says where they are.
function bpf.find_library(name)
  local p = io.popen("ldconfig -p 2>/dev/null")
  local pattern, found = "^lib" .. name:gsub("%p", "%%%0") .. "%.so"
  for line in p:lines() do
    local lib, path = line:match("^%s*(%S+) .-=> (%S+)$")
    if not found and lib and lib:match(pattern) then found = path end
  end
  p:close()
  return found
end

-- BCC's attach_uprobe(name=, sym=, addr=, fn_name=, pid=): name is the
-- binary, or a library's short name.
local attach_uprobe = object.attach_uprobe
function object.attach_uprobe(b, o)
  if type(o) == "table" and o.path == nil and o.name ~= nil then
    local path = o.name
    if type(path) == "string" and not path:find("/", 1, true) and not path:find(".so", 1, true) then
      path = bpf.find_library(path) or path
    end
    o = { path = path, sym = o.sym, off = o.off or o.addr, pid = o.pid, fn = o.fn or o.fn_name, ret = o.ret }
  end
  return attach_uprobe(b, o)
end

local function returning(attach, what)
  return function(b, o)
    if type(o) ~= "table" then error(what .. ": expected a table of options", 2) end
    local copy = {}
    for k, v in pairs(o) do copy[k] = v end
    copy.ret = true
    return attach(b, copy)
  end
end
object.attach_kretprobe = returning(object.attach_kprobe, "attach_kretprobe")
object.attach_uretprobe = returning(object.attach_uprobe, "attach_uretprobe")

-- BCC's attach_perf_event(ev_type=, ev_config=, sample_period=, sample_freq=, fn_name=).
local attach_perf_event = object.attach_perf_event
local PERF_TYPES = { [0] = "hardware", [1] = "software" }
function object.attach_perf_event(b, o)
  if type(o) == "table" and (o.ev_type ~= nil or o.ev_config ~= nil or o.sample_period ~= nil or o.sample_freq ~= nil) then
    o = {
      type = PERF_TYPES[o.ev_type] or o.ev_type, config = o.ev_config, period = o.sample_period,
      freq = o.sample_freq, fn = o.fn or o.fn_name, pid = o.pid, cpu = o.cpu,
    }
  end
  return attach_perf_event(b, o)
end

function object.get_syscall_fnname(_, name)
  return bpf.syscall_fnname(name)
end

function object.perf_buffer_poll(b, timeout_ms)
  return b:poll(timeout_ms or -1)
end
object.ring_buffer_poll = object.perf_buffer_poll

function object.ring_buffer_consume(b)
  return b:poll(0)
end

-- b.events:open_perf_buffer(cb [, {page_cnt=, lost_cb=}]) and
-- b.events:open_ring_buffer(cb); BCC's lost_cb gets only the count.
local function open_buffer(how)
  return function(m, cb, opts)
    local b = m:object()
    if not b then error(how .. ": this map belongs to no object", 2) end
    if type(opts) == "table" and (opts.page_cnt ~= nil or opts.lost_cb ~= nil) then
      local lost_cb = opts.lost_cb
      opts = { pages = opts.page_cnt or opts.pages, wakeup = opts.wakeup,
        lost = lost_cb and function(_, n) return lost_cb(n) end or opts.lost }
    end
    return b[how](b, m:info().name, cb, opts)
  end
end
methods.open_perf_buffer = open_buffer("perf_buffer")
methods.open_ring_buffer = open_buffer("ring_buffer")

-- bpf.USDT{pid=, path=}: BCC's USDT context. u:enable_probe{probe=, fn_name=}
-- records a probe; bpf.new(src, {usdt_contexts = {u}}) attaches them.
local USDT = {}
USDT.__index = USDT

function USDT:enable_probe(o)
  if type(o) ~= "table" or type(o.probe) ~= "string" or (o.fn_name or o.fn) == nil then
    error("enable_probe: give probe = \"name\" (or \"provider:name\") and fn_name = \"function\"", 2)
  end
  self.probes[#self.probes + 1] = { probe = o.probe, fn = o.fn_name or o.fn }
end
USDT.enable_probe_or_bail = USDT.enable_probe

function bpf.USDT(o)
  o = o or {}
  if o.pid == nil and o.path == nil then error("USDT: give pid = process id, path = binary, or both", 2) end
  return setmetatable({ pid = o.pid, path = o.path, probes = {} }, USDT)
end

-- bpf.new(src, {usdt_contexts = {u}}) calls this once loaded.
function object._attach_usdt_contexts(b, contexts)
  if type(contexts) ~= "table" then
    b:close()
    error("opts.usdt_contexts must be a list of bpf.USDT contexts", 3)
  end
  for i, u in ipairs(contexts) do
    if getmetatable(u) ~= USDT then
      b:close()
      error(("opts.usdt_contexts[%d] is not a context from bpf.USDT{pid=, path=}"):format(i), 3)
    end
  end
  local ok, err = pcall(function()
    for _, u in ipairs(contexts) do
      for _, p in ipairs(u.probes) do
        b:attach_usdt { path = u.path, pid = u.pid, probe = p.probe, fn = p.fn }
      end
    end
  end)
  if not ok then
    b:close()
    error(err, 0)
  end
end
