-- luabpf -l [glob] and -lv: the probes this machine offers, named as
-- bpftrace names them (tracepoint:cat:event, rawtracepoint:event,
-- software:event:, hardware:event:, uprobe:/path:function,
-- usdt:/path:provider:probe, kprobe:function), and with -v a tracepoint's
-- fields as its format declares them.
local bpf = require "bpf"

local M = {}

local SOFTWARE = { "alignment-faults", "bpf-output", "context-switches", "cpu-clock", "cpu-migrations", "dummy",
  "emulation-faults", "major-faults", "minor-faults", "page-faults", "task-clock" }
local HARDWARE = { "backend-stalls", "branch-instructions", "branch-misses", "bus-cycles", "cache-misses",
  "cache-references", "cpu-cycles", "frontend-stalls", "instructions", "ref-cycles" }


local function read_lines(path)
  local f = io.open(path)
  if not f then return {} end
  local out = {}
  for line in f:lines() do out[#out + 1] = line end
  f:close()
  return out
end

-- A tracepoint's fields, "TYPE NAME" each, from its format (the common ones left out).
function M.tracepoint_fields(category, event)
  local out = {}
  for _, line in ipairs(read_lines(("%s/events/%s/%s/format"):format(bpf._tracefs_root(), category, event))) do
    local decl = line:match("^%s*field:([^;]+);")
    if decl and not decl:find("common_", 1, true) then out[#out + 1] = decl end
  end
  return out
end

-- The probes of one provider: names, and for -v the lines under each.
local providers = {}

function providers.tracepoint(verbose)
  local out = {}
  for _, ev in ipairs(bpf.tracepoints()) do
    local cat, name = ev:match("^([^:]+):(.+)$")
    out[#out + 1] = { "tracepoint:" .. ev, verbose and M.tracepoint_fields(cat, name) }
  end
  return out
end

function providers.rawtracepoint()
  local out, seen = {}, {}
  for _, ev in ipairs(bpf.tracepoints()) do
    local name = ev:match(":(.+)$")
    if not seen[name] then
      seen[name] = true
      out[#out + 1] = { "rawtracepoint:" .. name }
    end
  end
  return out
end

function providers.software()
  local out = {}
  for _, e in ipairs(SOFTWARE) do out[#out + 1] = { "software:" .. e .. ":" } end
  return out
end

function providers.hardware()
  local out = {}
  for _, e in ipairs(HARDWARE) do out[#out + 1] = { "hardware:" .. e .. ":" } end
  return out
end

-- Kernel functions, where kprobes exist to attach to them.
function providers.kprobe()
  local out = {}
  if not bpf.features({ "kprobes" }).kprobes then return out end
  for _, line in ipairs(read_lines(bpf._tracefs_root() .. "/available_filter_functions")) do
    out[#out + 1] = { "kprobe:" .. line:match("^(%S+)") }
  end
  return out
end

function providers.uprobe(_, path)
  local out = {}
  for _, f in ipairs(bpf.elf_functions(path)) do out[#out + 1] = { ("uprobe:%s:%s"):format(path, f) } end
  return out
end

function providers.usdt(verbose, path)
  local out = {}
  for _, p in ipairs(bpf.usdt_probes(path)) do
    local args = {}
    for a in (p.args or ""):gmatch("%S+") do args[#args + 1] = ("arg%d: %s"):format(#args, a) end
    out[#out + 1] = { ("usdt:%s:%s:%s"):format(path, p.provider, p.name), verbose and args }
  end
  return out
end

-- The probes a glob matches: "provider:rest" narrows to one provider
-- (uprobe: and usdt: name a binary, "uprobe:/bin/bash:*"); a bare glob
-- matches any provider's names but a binary's.
function M.probes(glob, verbose)
  glob = glob or "*"
  local provider, rest = glob:match("^(%a+):(.*)$")
  local names = provider and { provider } or { "tracepoint", "rawtracepoint", "software", "hardware", "kprobe" }
  if provider and not providers[provider] then
    error(("-l: no probe type '%s' (there are tracepoint, rawtracepoint, software, hardware, kprobe, uprobe, usdt)")
      :format(provider), 0)
  end
  local path
  if provider == "uprobe" or provider == "usdt" then
    path = rest:match("^([^:*?]+)")
    if not path then error(("-l %s: name the binary, as in '%s:/bin/bash:*'"):format(glob, provider), 0) end
    if not rest:find(":", 1, true) then glob = glob .. ":*" end
  end
  local pattern, out = bpf._glob_pattern(glob), {}
  for _, name in ipairs(names) do
    local ok, probes = pcall(providers[name], verbose, path)
    if not ok then error(("-l %s: %s"):format(glob, tostring(probes):gsub("^[%w%.]+:%d+: ", "")), 0) end
    for _, p in ipairs(probes) do
      if p[1]:find(pattern) then out[#out + 1] = p end
    end
  end
  table.sort(out, function(a, b) return a[1] < b[1] end)
  return out
end

-- Prints the probes a glob matches, one per line, -v's details indented.
function M.print(glob, verbose)
  for _, p in ipairs(M.probes(glob, verbose)) do
    print(p[1])
    for _, line in ipairs(p[2] or {}) do print("    " .. line) end
  end
end

return M
