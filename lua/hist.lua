-- Histograms rendered as BCC renders them: log2 and linear buckets with
-- counts and star bars, one section per leading key field for struct keys.
-- The binding runs this file with the bpf table, the object methods and the
-- map methods.
local bpf, _, methods = ...

local STARS = 40
local LOG2_SLOTS = 65

-- BCC's bar: floor(width * val / max) stars, at most width.
local function stars(val, max, width)
  if max <= 0 then return "" end
  return ("*"):rep(math.min(width, (width * val) // max))
end

local function count_of(v)
  if type(v) == "table" then -- per-CPU values
    local n = 0
    for _, x in ipairs(v) do n = n + x end
    return n
  end
  return v
end

-- A 64-bit integer as unsigned decimal: slot 64's bounds pass 2^63.
local function unsigned(n)
  if n >= 0 then return tostring(n) end
  local q = (n >> 1) // 5
  return tostring(q) .. tostring(n - q * 10)
end
-- For the metrics and the tools, which write u64 counts too.
bpf._unsigned = unsigned

-- {slot -> count} into BCC's rows: bucket bounds and counts up to the last
-- non-empty bucket. Log2 buckets start at 1 (the bucket of 1 reads "0 -> 1",
-- bpf_log2l's), or at 0 when slot 0 counted something: then it holds 0 alone
-- and slot 1 holds 1. Slot 64 holds 2^63 up to 2^64 - 1.
local function rows(vals, log2)
  local last = -1
  for slot, n in pairs(vals) do
    if n > 0 and slot > last then last = slot end
  end
  local zero = log2 and (vals[0] or 0) > 0
  local out = {}
  for slot = (log2 and not zero) and 1 or 0, last do
    local n = vals[slot] or 0
    if log2 then
      local low, high = (1 << slot) >> 1, (1 << slot) - 1
      if slot == 64 then low, high = math.mininteger, -1 end
      if low == high and slot == 1 and not zero then low = 0 end
      out[#out + 1] = { low = low, high = high, count = n }
    else
      out[#out + 1] = { value = slot, count = n }
    end
  end
  return out, last
end

local function render(r, last, log2, val_type, strip)
  local max = 0
  for _, row in ipairs(r) do max = math.max(max, row.count) end
  local header, body, width
  if not log2 then
    header, body, width = "     %-13s : count     distribution", "        %-10d : %-8d |%-40s|", STARS
  elseif last <= 32 then
    header, body, width = "     %-19s : count     distribution", "%10s -> %-10s : %-8d |%-40s|", STARS
  else
    header, body, width = "               %-29s : count     distribution", "%20s -> %-20s : %-8d |%-20s|", STARS // 2
  end
  if last >= 0 and (not log2 or last > 0 or r[1]) then
    print(header:format(val_type))
  end
  for _, row in ipairs(r) do
    if strip and row.count == 0 then goto continue end
    strip = false
    local bar = stars(row.count, max, width)
    if log2 then
      print(body:format(unsigned(row.low), unsigned(row.high), row.count, bar))
    else
      print(body:format(row.value, row.count, bar))
    end
    ::continue::
  end
end

local function check_slot(slot, limit, what)
  if math.type(slot) ~= "integer" or slot < 0 or slot >= limit then
    error(("%s: bucket %s is not %s"):format(what, tostring(slot), limit == math.maxinteger
      and "an integer of 0 or more" or ("an integer from 0 to %d"):format(limit - 1)), 4)
  end
  return slot
end

-- A map or table's entries as {slot -> count}, or, for struct keys, as
-- {section -> {slot -> count}} split on the key's first field, the slot
-- being its last (BCC's convention: struct { u64 section; u64 slot; }).
local function collect(src, limit, what)
  local fields
  if type(src) ~= "table" then
    local info = src:info()
    fields = info.key_fields
    if fields and #fields < 2 then
      error(("%s: map '%s' has struct keys with one field; a sectioned histogram needs "
        .. "struct { section; slot; }"):format(what, info.name), 3)
    end
  end
  local vals, sections = {}, nil
  for k, v in pairs(src) do
    local n = count_of(v)
    if fields then
      sections = sections or {}
      local s = k[fields[1]]
      sections[s] = sections[s] or {}
      local slot = check_slot(k[fields[#fields]], limit, what)
      sections[s][slot] = (sections[s][slot] or 0) + n
    else
      local slot = check_slot(k, limit, what)
      vals[slot] = (vals[slot] or 0) + n
    end
  end
  return vals, sections
end

local function sorted_keys(t)
  local ks = {}
  for k in pairs(t) do ks[#ks + 1] = k end
  table.sort(ks, function(a, b)
    if type(a) == type(b) and (type(a) == "number" or type(a) == "string") then return a < b end
    return tostring(a) < tostring(b)
  end)
  return ks
end
-- For the REPL, which lists a table's keys in the same order.
bpf._sorted_keys = sorted_keys

local function histogram(src, log2, val_type, section_header, section_fn, strip, what)
  if val_type ~= nil and type(val_type) ~= "string" then
    error(what .. ": the value label must be a string, e.g. \"bytes\"", 3)
  end
  val_type = val_type or "value"
  local vals, sections = collect(src, log2 and LOG2_SLOTS or math.maxinteger, what)
  if not sections then
    local r, last = rows(vals, log2)
    render(r, last, log2, val_type, strip)
    return
  end
  for _, s in ipairs(sorted_keys(sections)) do
    print(("\n%s = %s"):format(section_header or "Bucket ptr", section_fn and section_fn(s) or tostring(s)))
    local r, last = rows(sections[s], log2)
    render(r, last, log2, val_type, strip)
  end
end

local function data(src, log2, what)
  local vals, sections = collect(src, log2 and LOG2_SLOTS or math.maxinteger, what)
  if not sections then return (rows(vals, log2)) end
  local out = {}
  for _, s in ipairs(sorted_keys(sections)) do
    out[#out + 1] = { section = s, buckets = (rows(sections[s], log2)) }
  end
  return out
end

-- m:print_log2_hist([val_type [, section_header [, section_fn [, strip_leading_zero]]]])
function methods.print_log2_hist(m, val_type, section_header, section_fn, strip)
  histogram(m, true, val_type, section_header, section_fn, strip, "print_log2_hist")
end

-- m:print_linear_hist([val_type [, section_header [, section_fn [, strip_leading_zero]]]])
function methods.print_linear_hist(m, val_type, section_header, section_fn, strip)
  histogram(m, false, val_type, section_header, section_fn, strip, "print_linear_hist")
end

-- m:log2_hist(): the rows print_log2_hist prints, {low=, high=, count=} each;
-- with struct keys a list of {section=, buckets=rows}.
function methods.log2_hist(m) return data(m, true, "log2_hist") end
function methods.linear_hist(m) return data(m, false, "linear_hist") end

-- The same for a plain Lua table of {slot -> count}.
function bpf.print_log2_hist(t, val_type, strip)
  if type(t) ~= "table" then error("print_log2_hist: expected a table of {slot = count}", 2) end
  histogram(t, true, val_type, nil, nil, strip, "print_log2_hist")
end
function bpf.print_linear_hist(t, val_type, strip)
  if type(t) ~= "table" then error("print_linear_hist: expected a table of {value = count}", 2) end
  histogram(t, false, val_type, nil, nil, strip, "print_linear_hist")
end
function bpf.log2_hist(t) return data(t, true, "log2_hist") end
function bpf.linear_hist(t) return data(t, false, "linear_hist") end

-- The bucket BCC's bpf_log2l puts v in: floor(log2(v)) + 1, and 1 for 0.
function bpf.log2l(v)
  local r = 0
  while v ~= 0 do
    r = r + 1
    v = v >> 1
  end
  return math.max(r, 1)
end
