-- Maps as Prometheus metrics: counters, gauges and histograms declared on
-- maps (bpf.metrics), read at scrape time and written in the Prometheus text
-- format or OpenMetrics, served over HTTP (bpf.serve_metrics) or written for
-- node_exporter's textfile collector (bpf.write_textfile).
local bpf = ...

local M = {}
local families, by_name = {}, {}

local PROMETHEUS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
local OPENMETRICS_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"

-- Declaration errors carry no position: the public functions raise them at
-- the script's line.
local function fail(fmt, ...) error(fmt:format(...), 0) end

-- ---- label decoders ----

local cgroups, cgroups_read = {}, -math.huge

-- Where cgroup v2 is mounted: /sys/fs/cgroup, or beside v1 (.../unified).
local function cgroup2_root()
  for line in io.lines("/proc/self/mounts") do
    local dir = line:match("^%S+ (%S+) cgroup2 ")
    if dir then return dir end
  end
end

-- cgroup v2 ids are the inode numbers of their directories; a path is
-- written from the v2 root, as /proc/PID/cgroup writes it.
local function cgroup_path(id)
  if not cgroups[id] and os.time() - cgroups_read >= 1 then
    cgroups, cgroups_read = {}, os.time()
    local root = cgroup2_root()
    if not root then return tostring(id) end
    local p = io.popen(("find '%s' -xdev -type d -printf '%%i %%P\\n' 2>/dev/null"):format((root:gsub("'", ""))))
    for line in p:lines() do
      local ino, rel = line:match("^(%d+) (.*)$")
      if ino then cgroups[tonumber(ino)] = "/" .. rel end
    end
    p:close()
  end
  return cgroups[id] or tostring(id)
end

local function inet(v)
  if type(v) == "string" and #v == 16 or type(v) == "table" and #v == 16 then return bpf.inet_ntop(10, v) end
  return bpf.inet_ntop(2, v)
end

local DECODERS = {
  syscall = function(v) return bpf.syscall_name(v) end,
  ksym = function(v)
    local name, offset = bpf.ksym(v)
    if offset then return name end
    return ("0x%x"):format(v)
  end,
  cgroup = cgroup_path,
  inet = inet,
  disk = function(v) return require("bpf.blockdev").name(v) end,
}

-- ---- declarations ----

local function check_name(name, what)
  if type(name) ~= "string" or not name:match("^[%a_:][%w_:]*$") then
    fail("bpf.metrics: %s %s is not a Prometheus name (letters, digits, _ and :, not starting with a digit)", what,
      tostring(name))
  end
end

-- A label spec: "field", or {name=, field=, decode=}; the field is the whole
-- key for a map whose keys are not structs.
local function label_of(spec, fields, mapname)
  if type(spec) == "string" then spec = { name = spec, field = fields and spec or nil } end
  if type(spec) ~= "table" then fail("bpf.metrics: a label is a field name or {name =, field =, decode =}") end
  local l = { name = spec.name or spec.field, field = spec.field, decode = spec.decode }
  check_name(l.name, "label")
  if not l.name:match("^[%a_][%w_]*$") or l.name:match("^__") then
    fail("bpf.metrics: label %s is not a Prometheus label name", l.name)
  end
  if fields and l.field == nil then l.field = l.name end
  if fields and not fields[l.field] then
    fail("bpf.metrics: map '%s' has no key field '%s' (its fields: %s)", mapname, tostring(l.field),
      table.concat(fields, ", "))
  elseif not fields and l.field ~= nil then
    fail("bpf.metrics: map '%s' has keys that are not structs: leave out field for label %s", mapname, l.name)
  end
  if type(l.decode) == "string" then
    l.decode = DECODERS[l.decode] or fail("bpf.metrics: no decoder '%s' (there are syscall, ksym, cgroup, inet, disk, or a function)", l.decode)
  elseif l.decode ~= nil and type(l.decode) ~= "function" then
    fail("bpf.metrics: label %s's decode is a decoder name or a function", l.name)
  end
  return l
end

local function set_of(list)
  if not list then return nil end
  local s = {}
  for i, f in ipairs(list) do s[i], s[f] = f, true end
  return s
end

local function declare(kind, spec)
  if type(spec) ~= "table" then fail("bpf.metrics.%s takes a table: {name =, help =, map =, labels =}", kind) end
  local name = spec.name
  check_name(name, "metric name")
  local family = kind == "counter" and name:gsub("_total$", "") or name
  if by_name[family] then fail("bpf.metrics: a metric named %s exists already", family) end
  local help = (spec.help or family):gsub("\\", "\\\\"):gsub("\n", "\\n") -- escaped as HELP lines are
  local f = { kind = kind, family = family, help = help, labels = {}, scale = spec.scale or 1 }
  if spec.fn ~= nil then
    if type(spec.fn) ~= "function" then fail("bpf.metrics: fn must be a function") end
    if kind == "histogram" then fail("bpf.metrics: a histogram is read from a map (map = b.maps.NAME), not fn") end
    f.fn = spec.fn
  elseif spec.map ~= nil then
    local ok, info = pcall(function() return spec.map:info() end)
    if not ok then fail("bpf.metrics: map must be a map, like b.maps.counts") end
    f.map, f.info = spec.map, info
    f.agg, f.lhist = bpf._aggregation_kind(info)
  else
    fail("bpf.metrics: metric %s needs a map (map = b.maps.NAME) or a function (fn =)", name)
  end
  if f.info then
    local fields = set_of(f.info.key_fields)
    if f.agg then -- the aggregation's own key fields k0, k1 ...; __slot is the bucket
      local kept = {}
      for _, k in ipairs(f.info.key_fields or {}) do
        if k ~= "__slot" and k ~= "none" then kept[#kept + 1] = k end
      end
      fields = #kept > 0 and set_of(kept) or nil
    end
    if kind == "histogram" then
      f.hist = f.agg == "HIST" and "agg_log2" or f.agg == "LHIST" and "agg_linear"
        or (spec.kind or "log2") == "log2" and "log2" or spec.kind == "linear" and "linear"
        or fail("bpf.metrics: histogram kind is \"log2\" or \"linear\", not %s", tostring(spec.kind))
      if f.agg and f.agg ~= "HIST" and f.agg ~= "LHIST" then
        fail("bpf.metrics: map '%s' is a %s aggregation, not a histogram", f.info.name, f.agg)
      end
      if not f.agg then
        f.slot = spec.slot or (f.info.key_fields and f.info.key_fields[#f.info.key_fields])
        if f.info.key_fields and not fields[f.slot] then
          fail("bpf.metrics: map '%s' has no key field '%s' for the bucket", f.info.name, tostring(f.slot))
        end
      end
      f.min, f.step = spec.min or 0, spec.step or 1
    elseif f.agg == "HIST" or f.agg == "LHIST" then
      fail("bpf.metrics: map '%s' is a histogram: declare it with bpf.metrics.histogram", f.info.name)
    end
    if spec.value ~= nil then
      local vf = set_of(f.info.value_fields)
      if not vf or not vf[spec.value] then
        fail("bpf.metrics: map '%s' has no value field '%s'", f.info.name, tostring(spec.value))
      end
      f.value = spec.value
    elseif f.info.value_fields and not f.agg and kind ~= "histogram" then
      fail("bpf.metrics: map '%s' has struct values: say which field to count with value = (one of: %s)",
        f.info.name, table.concat(f.info.value_fields, ", "))
    end
    for i, l in ipairs(spec.labels or {}) do
      f.labels[i] = label_of(l, fields, f.info.name)
      if f.labels[i].field == f.slot and f.slot then
        fail("bpf.metrics: field '%s' is the histogram's bucket and cannot be a label too", f.slot)
      end
    end
  end
  families[#families + 1], by_name[family] = f, f
  return f
end

for _, kind in ipairs { "counter", "gauge", "histogram" } do
  M[kind] = function(spec)
    local ok, f = pcall(declare, kind, spec)
    if not ok then error(f, 2) end
    return f
  end
end

-- Forgets every declared metric.
function M.clear()
  families, by_name = {}, {}
end

-- ---- reading ----

-- One number from a value: per-CPU values summed, aggregations combined.
local function number_of(f, v)
  if type(v) == "table" and v[1] ~= nil then -- per CPU
    local agg = f.agg
    if agg == "MIN" or agg == "MAX" then
      local best
      for _, x in ipairs(v) do
        local n = agg == "MIN" and x.min or x.max
        if x.set ~= 0 and (best == nil or (agg == "MIN" and n < best) or (agg == "MAX" and n > best)) then best = n end
      end
      return best or 0
    end
    local n = 0
    for _, x in ipairs(v) do n = n + number_of(f, x) end
    if agg == "AVG" or agg == "STATS" then
      local c = 0
      for _, x in ipairs(v) do c = c + x.count end
      return f.value and n or c > 0 and n // c or 0
    end
    return n
  end
  if f.value then return v[f.value] end
  local agg = f.agg
  if agg == "COUNT" or agg == "HIST" or agg == "LHIST" then return v.count end
  if agg == "SUM" or agg == "AVG" or agg == "STATS" then return v.sum end
  if agg == "MIN" then return v.min end
  if agg == "MAX" then return v.max end
  return v
end

-- A label value as the exposition formats quote it.
local function escape_label(s)
  if not s:find('[\\"\n]') then return s end
  return (s:gsub('[\\"\n]', { ["\\"] = "\\\\", ['"'] = '\\"', ["\n"] = "\\n" }))
end

-- One label's name="value" text for a key; cache holds those of values seen.
local function label_part(l, k, cache)
  local raw = k
  if l.field then raw = k[l.field] end
  local part = cache[raw]
  if part then return part end
  local value = raw
  if l.decode then
    value = l.decode(raw, k)
    if value == nil then value = raw end -- nothing known: the raw value
  end
  part = l.name .. '="' .. escape_label(tostring(value)) .. '"'
  if type(raw) ~= "table" then cache[raw] = part end
  return part
end

-- The label text of a key: name="value",...
local function label_text(f, k, cache, parts)
  local labels = f.labels
  local n = #labels
  if n == 0 then return "" end
  if n == 1 then return label_part(labels[1], k, cache[1]) end
  for i = 1, n do parts[i] = label_part(labels[i], k, cache[i]) end
  return table.concat(parts, ",", 1, n)
end

-- {label text -> number} for a counter or gauge, summing keys whose labels agree.
local function read_scalar(f)
  if f.fn then
    local v = f.fn()
    if type(v) == "number" then return { [""] = v } end
    local out = {}
    for _, s in ipairs(v or {}) do
      local parts, names = {}, {}
      for name in pairs(s.labels or {}) do names[#names + 1] = name end
      table.sort(names)
      for i, name in ipairs(names) do parts[i] = name .. '="' .. escape_label(tostring(s.labels[name])) .. '"' end
      local t = table.concat(parts, ",")
      out[t] = (out[t] or 0) + s.value
    end
    return out
  end
  local out, cache, parts = {}, {}, {}
  for i = 1, #f.labels do cache[i] = {} end
  -- Label texts by key bytes, kept from one scrape to the next for the
  -- keys still there.
  local seen, kept, m = f.by_key or {}, {}, f.map
  local plain = not f.value and not f.agg -- values that are the number
  for raw, v in m:iter { raw_keys = true } do
    local t = seen[raw]
    if not t then t = label_text(f, m:decode_key(raw), cache, parts) end
    kept[raw] = t
    if not plain or type(v) == "table" then v = number_of(f, v) end
    out[t] = (out[t] or 0) + v
  end
  f.by_key = kept
  return out
end

-- A bucket's inclusive upper bound (nil: +Inf) and a value inside it, by
-- the histogram's slot convention.
local function bucket(f, slot)
  local h = f.hist
  if h == "log2" then -- BCC's: slot 0 holds 0, slot i 2^(i-1) .. 2^i - 1
    if slot >= 64 then return nil, 2.0 ^ 63 end
    if slot == 0 then return 0, 0 end
    return (1 << slot) - 1, ((1 << (slot - 1)) + (1 << slot) - 1) / 2
  elseif h == "agg_log2" then -- aggregations': 0 negatives, 1 zero, k 2^(k-2) .. 2^(k-1) - 1
    if slot == 0 then return -1, -1 end
    if slot >= 65 then return nil, 2.0 ^ 63 end
    if slot == 1 then return 0, 0 end
    return (1 << (slot - 1)) - 1, ((1 << (slot - 2)) + (1 << (slot - 1)) - 1) / 2
  elseif h == "agg_linear" then
    local min, max, step = table.unpack(f.lhist)
    local last = (max - min + step - 1) // step + 1
    if slot == 0 then return min - 1, min - 1 end
    if slot >= last then return nil, max end
    local low = min + (slot - 1) * step
    local high = math.min(low + step, max) - 1
    return high, (low + high) / 2
  end
  local low = f.min + slot * f.step
  return low + f.step - 1, low + (f.step - 1) / 2
end

-- {label text -> {slots = {slot -> count}, sum, count}} for a histogram.
local function read_hist(f)
  local out, cache, parts = {}, {}, {}
  for i = 1, #f.labels do cache[i] = {} end
  local slot_field = f.agg and "__slot" or f.slot
  for k, v in pairs(f.map) do
    local t = label_text(f, k, cache, parts)
    local s = out[t]
    if not s then
      s = { slots = {}, sum = 0, count = 0 }
      out[t] = s
    end
    local slot = slot_field and k[slot_field] or k
    local n, sum
    if f.agg then
      n, sum = 0, 0
      for _, x in ipairs(type(v) == "table" and v[1] and v or { v }) do n, sum = n + x.count, sum + x.sum end
    else
      n = number_of(f, v)
      sum = n * select(2, bucket(f, slot))
    end
    s.slots[slot] = (s.slots[slot] or 0) + n
    s.count, s.sum = s.count + n, s.sum + sum
  end
  return out
end

-- ---- writing ----

-- hist.lua's, found when called: the modules load in any order.
local function unsigned(n) return bpf._unsigned(n) end

local function number_text(n, is_unsigned)
  if math.type(n) == "integer" then return is_unsigned and unsigned(n) or tostring(n) end
  if n ~= n then return "NaN" end
  if n == math.huge then return "+Inf" end
  if n == -math.huge then return "-Inf" end
  if n == math.floor(n) and math.abs(n) < 2 ^ 53 then return ("%d"):format(n) end
  return ("%.15g"):format(n)
end

local function scaled(f, n)
  if f.scale == 1 then return n end
  return n * f.scale
end

-- The series' label texts in order: the family's last order when the
-- series are the same ones (the usual scrape), else sorted afresh.
local function sorted(f, t)
  local last, n = f.order, 0
  for _ in pairs(t) do n = n + 1 end
  if last and #last == n then
    local same = true
    for i = 1, n do
      if t[last[i]] == nil then
        same = false
        break
      end
    end
    if same then return last end
  end
  local keys = {}
  for k in pairs(t) do keys[#keys + 1] = k end
  table.sort(keys)
  f.order = keys
  return keys
end

local function braces(labels, extra)
  if labels == "" then return extra and "{" .. extra .. "}" or "" end
  return "{" .. labels .. (extra and "," .. extra or "") .. "}"
end

local function write_family(f, out, openmetrics)
  local sample = f.kind == "counter" and f.family .. "_total" or f.family
  local head = openmetrics and f.family or sample
  out[#out + 1] = "# HELP " .. head .. " " .. f.help
  out[#out + 1] = "# TYPE " .. head .. " " .. f.kind
  if f.kind ~= "histogram" then
    local series = read_scalar(f)
    local is_counter, n, unscaled = f.kind == "counter", #out, f.scale == 1
    for _, labels in ipairs(sorted(f, series)) do
      local v = series[labels]
      -- Most values are integers of 0 or more, which need no formatting.
      if not (unscaled and math.type(v) == "integer" and v >= 0) then v = number_text(scaled(f, v), is_counter) end
      n = n + 1
      out[n] = labels == "" and sample .. " " .. v or sample .. "{" .. labels .. "} " .. v
    end
    return
  end
  local series = read_hist(f)
  local lo, hi = math.huge, -1
  for _, s in pairs(series) do
    for slot, n in pairs(s.slots) do
      if n > 0 then lo, hi = math.min(lo, slot), math.max(hi, slot) end
    end
  end
  -- Every series has the same buckets: their le="..." once.
  local le = {}
  for slot = lo, hi do
    local upper = bucket(f, slot)
    le[slot] = upper and 'le="' .. number_text(scaled(f, upper)) .. '"'
  end
  for _, labels in ipairs(sorted(f, series)) do
    local s, total = series[labels], 0
    for slot = lo, hi do
      total = total + (s.slots[slot] or 0)
      if le[slot] then
        out[#out + 1] = f.family .. "_bucket" .. braces(labels, le[slot]) .. " " .. unsigned(total)
      end
    end
    out[#out + 1] = f.family .. "_bucket" .. braces(labels, 'le="+Inf"') .. " " .. unsigned(s.count)
    out[#out + 1] = f.family .. "_sum" .. braces(labels) .. " " .. number_text(scaled(f, s.sum))
    out[#out + 1] = f.family .. "_count" .. braces(labels) .. " " .. unsigned(s.count)
  end
end

-- The declared metrics' text: format "prometheus" (the default) or "openmetrics".
function M.render(format)
  format = format or "prometheus"
  if format ~= "prometheus" and format ~= "openmetrics" then
    error(("bpf.metrics.render: format is \"prometheus\" or \"openmetrics\", not %s"):format(tostring(format)), 2)
  end
  local out = {}
  for _, f in ipairs(families) do write_family(f, out, format == "openmetrics") end
  if format == "openmetrics" then out[#out + 1] = "# EOF" end
  out[#out + 1] = ""
  return table.concat(out, "\n")
end

-- ---- serving ----

-- bpf.serve_metrics{listen = "127.0.0.1:9435", object = b, path = "/metrics"}:
-- scrapes are answered while b:run (or bpf.run) runs b's event loop.
function bpf.serve_metrics(opts)
  opts = opts or {}
  if type(opts) ~= "table" then error("bpf.serve_metrics takes a table: {listen = \"127.0.0.1:9435\", object = b}", 2) end
  local object = opts.object
  for _, f in ipairs(families) do
    if object then break end
    object = f.map and f.map:object()
  end
  if not object then
    error("bpf.serve_metrics: give object = b, the object whose b:run serves the scrapes (or declare a metric on "
      .. "one of its maps first)", 2)
  end
  local path = opts.path or "/metrics"
  local ok, server = pcall(bpf._http_serve, opts.listen or "127.0.0.1:9435", object, function(_, p, accept)
    if p ~= path then
      if p == "/" then return 200, "text/html; charset=utf-8", ('<a href="%s">metrics</a>\n'):format(path) end
      return 404, "text/plain; charset=utf-8", "not found: the metrics are at " .. path .. "\n"
    end
    if accept:find("application/openmetrics-text", 1, true) then return 200, OPENMETRICS_TYPE, M.render("openmetrics") end
    return 200, PROMETHEUS_TYPE, M.render("prometheus")
  end)
  if not ok then error("bpf.serve_metrics: " .. tostring(server):gsub("^[^%s:]+%.lua:%d+: ", ""), 2) end
  return server
end

-- bpf.write_textfile(path): the metrics for node_exporter's textfile
-- collector, replaced whole (written beside it, then renamed over it).
function bpf.write_textfile(path)
  if type(path) ~= "string" or not path:match("%.prom$") then
    error("bpf.write_textfile: node_exporter's textfile collector reads files named *.prom; got "
      .. tostring(path), 2)
  end
  local text = M.render("prometheus")
  local tmp = path .. ".luabpf-tmp"
  local f, why = io.open(tmp, "w")
  if not f then error("bpf.write_textfile: " .. why, 2) end
  local ok, werr = f:write(text)
  local closed, cerr = f:close()
  if not ok or not closed then
    os.remove(tmp)
    error("bpf.write_textfile: writing " .. tmp .. ": " .. tostring(werr or cerr), 2)
  end
  local renamed, rerr = os.rename(tmp, path)
  if not renamed then
    os.remove(tmp)
    error("bpf.write_textfile: " .. rerr, 2)
  end
end

bpf.metrics = M
