-- The REPL's Lua side: how a result is shown (nested tables, maps as their
-- first rows and a count, aggregations as bpftrace prints them), what Tab
-- completes, and :help, which quotes the README's API section.
local bpf = require "bpf"

local M = {}

local MAX_ITEMS, MAX_DEPTH, MAP_ROWS = 20, 3, 10

local function is_ident(s) return type(s) == "string" and s:match("^[%a_][%w_]*$") ~= nil end

local function kind_of(v)
  local mt = getmetatable(v)
  return type(mt) == "table" and mt.__name or nil
end

local function scalar(v)
  if type(v) == "string" then return ("%q"):format(v) end
  return tostring(v)
end

-- A table on one line while it is short, else one entry a line, nested
-- tables indented, MAX_DEPTH deep and MAX_ITEMS long.
local function show_table(t, depth, indent)
  if depth > MAX_DEPTH then return "{...}" end
  local parts, n, long = {}, 0, false
  local keys = bpf._sorted_keys(t)
  local array = #t
  for _, k in ipairs(keys) do
    n = n + 1
    if n > MAX_ITEMS then parts[#parts + 1] = ("... (%d entries)"):format(#keys); break end
    local x = t[k]
    local key = (math.type(k) == "integer" and k >= 1 and k <= array) and "" or
      (is_ident(k) and k .. " = " or "[" .. scalar(k) .. "] = ")
    local text = type(x) == "table" and not getmetatable(x) and show_table(x, depth + 1, indent .. "  ")
      or scalar(x)
    long = long or text:find("\n", 1, true) ~= nil
    parts[#parts + 1] = key .. text
  end
  local flat = "{" .. table.concat(parts, ", ") .. "}"
  if not long and #flat <= 78 then return flat end
  return "{\n" .. indent .. "  " .. table.concat(parts, ",\n" .. indent .. "  ") .. "\n" .. indent .. "}"
end

-- Runs f, returning what it printed instead.
local function captured(f, ...)
  local lines, saved = {}, _G.print
  _G.print = function(...)
    local parts = {}
    for i = 1, select("#", ...) do parts[i] = tostring((select(i, ...))) end
    lines[#lines + 1] = table.concat(parts, "\t")
  end
  local ok, err = pcall(f, ...)
  _G.print = saved
  if not ok then error(err, 0) end
  return table.concat(lines, "\n")
end

local function show_map(m)
  local info = m:info()
  if bpf._aggregation_kind and bpf._aggregation_kind(info) then
    return (captured(bpf.print_map, m):gsub("\n+$", ""))
  end
  local lines = { ("bpf.Map %s (%s, %d entr%s)"):format(info.name, info.type, m:count(),
    m:count() == 1 and "y" or "ies") }
  local n = 0
  for k, v in pairs(m) do
    n = n + 1
    if n > MAP_ROWS then lines[#lines + 1] = "  ..."; break end
    local function text(x) return type(x) == "table" and show_table(x, 2, "  ") or scalar(x) end
    lines[#lines + 1] = "  " .. text(k) .. " => " .. text(v)
  end
  return table.concat(lines, "\n")
end

-- A REPL result as text.
function M.show(v)
  local kind = kind_of(v)
  if kind == "bpf.Map" then
    local ok, text = pcall(show_map, v)
    if ok then return text end
  end
  if type(v) == "table" and not getmetatable(v) then return show_table(v, 1, "") end
  -- As lua5.4's REPL prints them: strings bare at the top, quoted inside tables.
  return tostring(v)
end

-- ---- completion ----

local function add_names(out, seen, t, partial)
  if type(t) ~= "table" then return end
  for k in pairs(t) do
    if is_ident(k) and k:sub(1, #partial) == partial and not seen[k] then
      seen[k] = true
      out[#out + 1] = k
    end
  end
end

-- The names after "v." (fields) or "v:" (methods) that start with partial.
local function members(v, methods_only, partial)
  local out, seen = {}, {}
  local kind = kind_of(v)
  local reg = debug.getregistry()
  if kind == "bpf.Object" then
    if not methods_only then add_names(out, seen, { maps = 1, progs = 1, globals = 1, closed = 1 }, partial) end
    add_names(out, seen, reg["bpf.Object.methods"], partial)
  elseif kind == "bpf.Map" then
    if not methods_only then add_names(out, seen, { name = 1, fd = 1 }, partial) end
    add_names(out, seen, reg["bpf.Map.methods"], partial)
  elseif kind == "bpf.Maps" or kind == "bpf.Programs" or kind == "bpf.Globals" then
    local names = {}
    for name in pairs(v) do names[name] = true end
    add_names(out, seen, names, partial)
  elseif type(v) == "table" then
    add_names(out, seen, v, partial)
    local mt = getmetatable(v)
    if type(mt) == "table" and type(mt.__index) == "table" then add_names(out, seen, mt.__index, partial) end
  elseif type(v) == "string" and methods_only then
    add_names(out, seen, string, partial)
  end
  table.sort(out)
  return out
end

-- The value a dotted path names, following only tables and luabpf's own
-- objects and views (never a map lookup, which could change nothing but
-- costs a system call), or nil.
local function resolve(path)
  local v = _G
  for name in path:gmatch("[^%.]+") do
    if not is_ident(name) then return nil end
    local kind = kind_of(v)
    if type(v) == "table" then
      v = v[name]
    elseif kind == "bpf.Object" or kind == "bpf.Maps" or kind == "bpf.Programs" then
      local ok, x = pcall(function() return v[name] end)
      v = ok and x or nil
    else
      return nil
    end
    if v == nil then return nil end
  end
  return v
end

-- The fields of a map's key (inside `m[{`) or value (inside `m[k] = {`),
-- from its BTF, that start with word; nil when the line is elsewhere.
local function struct_fields(word, before)
  local path, which = before:match("([%a_][%w_%.]*)%s*%[%s*{[^%]}]*$"), "key_fields"
  if not path then path, which = before:match("([%a_][%w_%.]*)%s*%b[]%s*=%s*{[^}]*$"), "value_fields" end
  local m = path and resolve(path)
  if kind_of(m) ~= "bpf.Map" then return nil end
  local ok, info = pcall(m.info, m)
  local out = {}
  for _, f in ipairs(ok and info[which] or {}) do
    if f:sub(1, #word) == word then out[#out + 1] = f end
  end
  return out
end

-- The completions of the word before the cursor (before: the line up to
-- it): whole words.
function M.complete(word, before)
  local fields = struct_fields(word, before or "")
  if fields then return fields end
  local path, sep, partial = word:match("^(.*)([%.:])([%w_]*)$")
  local out = {}
  if not path then
    for _, name in ipairs(members(_G, false, word)) do out[#out + 1] = name end
    local keywords = { "and", "break", "do", "else", "elseif", "end", "false", "for", "function", "goto", "if",
      "in", "local", "nil", "not", "or", "repeat", "return", "then", "true", "until", "while" }
    for _, k in ipairs(keywords) do if k:sub(1, #word) == word and #word > 0 then out[#out + 1] = k end end
    table.sort(out)
    return out
  end
  local v = resolve(path)
  if v == nil then return out end
  for _, name in ipairs(members(v, sep == ":", partial)) do out[#out + 1] = path .. sep .. name end
  return out
end

-- ---- :help ----

-- The README's paragraphs and table rows of the API that name NAME in code
-- (`NAME`, `NAME(` or `:NAME(`), from the section "## API" on.
function M.help(readme, name)
  local api = readme:match("\n## API\n(.*)$") or readme
  local short = name:match("[%.:]([%w_]+)$") or name
  local found = {}
  for block in (api .. "\n\n"):gmatch("(.-)\n\n+") do
    local hit = block:find("`" .. name, 1, true) or block:find("%." .. short .. "[%(`%[]")
      or block:find(":" .. short .. "[%(`%[]")
    if hit then
      if block:find("^|") then
        for row in block:gmatch("[^\n]+") do
          if row:find(short, 1, true) and not row:find("^| %-%-%-") then found[#found + 1] = row end
        end
      else
        found[#found + 1] = block
      end
    end
    if #found >= 6 then break end
  end
  if #found == 0 then return ("no help for '%s': try :help bpf.new, :help b:run, :help m:items"):format(name) end
  return table.concat(found, "\n\n")
end

return M
