-- Aggregations in BPF C, as bpftrace has them: `@name = COUNT(keys...)` (or
-- `@name[keys...] = COUNT()`),
-- SUM, MIN, MAX, AVG, STATS (each `(value, keys...)`), HIST(value, keys...)
-- and LHIST(value, min, max, step, keys...). translate() turns them into
-- per-CPU hash maps and the C that updates them (bpf.compile runs it on C
-- that names them); bpf.print_map prints them as bpftrace does, and what a
-- script never fetched prints when its object goes out of scope or the
-- script ends. A key is an integer expression, `comm`, `str(ptr [, n])`,
-- `ustack` or `kstack` (in a function whose context is `ctx`).
-- The binding runs this file with the bpf table.
local bpf = ...

local M = {}

-- Each kind: the arguments before the keys, its value struct (LHIST's name
-- carries its bounds) and how an update changes it.
local KINDS = {
  COUNT = { fixed = 0, value = "struct %s { __u64 count; };", update = "__v->count += 1;" },
  SUM = { fixed = 1, value = "struct %s { __s64 sum; };", update = "__v->sum += __val;" },
  MIN = { fixed = 1, value = "struct %s { __s64 min; __u64 set; };",
    update = "if (!__v->set || __val < __v->min) { __v->min = __val; __v->set = 1; }" },
  MAX = { fixed = 1, value = "struct %s { __s64 max; __u64 set; };",
    update = "if (!__v->set || __val > __v->max) { __v->max = __val; __v->set = 1; }" },
  AVG = { fixed = 1, value = "struct %s { __s64 count; __s64 sum; };", update = "__v->count += 1; __v->sum += __val;" },
  STATS = { fixed = 1, value = "struct %s { __s64 count; __s64 sum; };", update = "__v->count += 1; __v->sum += __val;" },
  -- A bucket's sum is for Prometheus's histogram _sum (bpf.metrics).
  HIST = { fixed = 1, value = "struct %s { __u64 count; __s64 sum; };", update = "__v->count += 1; __v->sum += __val;" },
  LHIST = { fixed = 4, value = "struct %s { __u64 count; __s64 sum; };", update = "__v->count += 1; __v->sum += __val;" },
}
local PREFIX = "__lbpf_agg_"

-- The arguments of a call's parenthesized text, split at top-level commas
-- (not those inside brackets or string literals).
local function split_args(inner)
  local args, depth, start, quoted = {}, 0, 1, false
  for i = 1, #inner do
    local c = inner:sub(i, i)
    if quoted then
      if c == '"' and inner:sub(i - 1, i - 1) ~= "\\" then quoted = false end
    elseif c == '"' then quoted = true
    elseif c == "(" or c == "[" or c == "{" then depth = depth + 1
    elseif c == ")" or c == "]" or c == "}" then depth = depth - 1
    elseif c == "," and depth == 0 then
      args[#args + 1] = inner:sub(start, i - 1)
      start = i + 1
    end
  end
  local last = inner:sub(start)
  if last:find("%S") then args[#args + 1] = last end
  for i, a in ipairs(args) do args[i] = a:match("^%s*(.-)%s*$") end
  return args
end
-- For the one-liner shorthand's printf, which splits its arguments the same way.
bpf._split_args = split_args

local STACKS = "__lbpf_stacks"

-- A key's C field and the code that fills it from its expression. A stack
-- is an id in STACKS, taken from the function's context `ctx`; a user
-- stack keeps its process too, to name its frames.
local function key_field(expr, i)
  local field = "k" .. i
  if expr == "ustack" then
    return ("__s64 ustack%d; __u32 __pid%d;"):format(i, i), ("__k.ustack%d = bpf_get_stackid(ctx, &%s, "
      .. "BPF_F_USER_STACK); __k.__pid%d = bpf_get_current_pid_tgid() >> 32;"):format(i, STACKS, i)
  elseif expr == "kstack" then
    return ("__s64 kstack%d;"):format(i), ("__k.kstack%d = bpf_get_stackid(ctx, &%s, 0);"):format(i, STACKS)
  end
  if expr == "comm" then
    return ("char %s[16];"):format(field), ("bpf_get_current_comm(&__k.%s, sizeof(__k.%s));"):format(field, field)
  end
  local inner = expr:match("^str%s*(%b())$")
  if inner then
    local a = split_args(inner:sub(2, -2))
    local n = math.tointeger(tonumber(a[2] or "64"))
    if not a[1] or #a > 2 or not n or n < 1 or n > 256 then
      error(("str(%s): str takes a pointer and at most 256 bytes, as in str(args->filename, 64)"):format(
        inner:sub(2, -2)), 0)
    end
    -- User memory first (system call arguments, uprobes), then the kernel's.
    return ("char %s[%d];"):format(field, n), ("if (bpf_probe_read_user_str(&__k.%s, sizeof(__k.%s), "
      .. "(const void *)(long)(%s)) < 0) bpf_probe_read_kernel_str(&__k.%s, sizeof(__k.%s), (const void *)(long)(%s));")
      :format(field, field, a[1], field, field, a[1])
  end
  return ("__s64 %s;"):format(field), ("__k.%s = (__s64)(%s);"):format(field, expr)
end

local function number(s, what, call)
  local n = math.tointeger(tonumber(s))
  if not n then error(("%s: %s must be an integer literal, got '%s'"):format(call, what, s), 0) end
  return n
end

-- LHIST's bounds in its value type's name: n for minus.
local function lhist_type(min, max, step)
  local function enc(n) return n < 0 and "n" .. -n or tostring(n) end
  return ("%slhist__%s__%s__%s"):format(PREFIX, enc(min), enc(max), enc(step))
end

-- One use: { name, cname, kind, value, keys = {exprs}, lhist = {min, max, step} }.
local function parse_use(name, kind, inner, subscript)
  local args = split_args(inner)
  local nfixed = KINDS[kind].fixed
  local call = ("%s%s(%s)"):format(name ~= "@" and name .. " = " or "", kind, inner)
  if #args < nfixed then
    error(("%s: %s takes %s"):format(call, kind, kind == "LHIST" and "(value, min, max, step, keys...)"
      or "(value, keys...)"), 0)
  end
  local use = { name = name, cname = "at_" .. name:sub(2), kind = kind, keys = {} }
  if nfixed > 0 then use.value = args[1] end
  if kind == "LHIST" then
    local min, max, step = number(args[2], "min", call), number(args[3], "max", call), number(args[4], "step", call)
    if step <= 0 or max <= min then error(call .. ": LHIST needs min < max and a step above 0", 0) end
    use.lhist = { min, max, step }
  end
  for _, k in ipairs(subscript and split_args(subscript) or {}) do use.keys[#use.keys + 1] = k end
  for i = nfixed + 1, #args do use.keys[#use.keys + 1] = args[i] end
  return use
end

-- The C a use becomes: a block that finds or makes the key's entry and
-- updates this CPU's value.
local function update_code(use, vtype)
  local fills = {}
  for i, expr in ipairs(use.keys) do fills[#fills + 1] = select(2, key_field(expr, i - 1)) end
  local value = use.value and ("__s64 __val = (__s64)(%s); "):format(use.value) or ""
  local slot = ""
  if use.kind == "HIST" then
    slot = "__k.__slot = __val < 0 ? 0 : __val == 0 ? 1 : bpf_log2l((__u64)__val) + 1; "
  elseif use.kind == "LHIST" then
    local min, max, step = table.unpack(use.lhist)
    slot = ("__k.__slot = __val < %d ? 0 : __val >= %d ? %d : 1 + (__u32)((__u64)(__val - %d) / %d); "):format(min, max,
      (max - min + step - 1) // step + 1, min, step)
  end
  return ("{ %sstruct %skey_%s __k = {}; %s%sstruct %s *__v = bpf_map_lookup_elem(&%s, &__k); if (!__v) { "
    .. "struct %s __z = {}; bpf_map_update_elem(&%s, &__k, &__z, BPF_NOEXIST); __v = bpf_map_lookup_elem(&%s, "
    .. "&__k); } if (__v) { %s } }"):format(value, PREFIX, use.cname, table.concat(fills, " "), slot, vtype,
      use.cname, vtype, use.cname, use.cname, KINDS[use.kind].update)
end

local function is_ident_char(c) return c ~= "" and c:find("[%w_]") ~= nil end

-- The source with its aggregations made C, or nil when it has none.
function M.translate(src)
  local out, uses, maps, pos = {}, {}, {}, 1
  -- C that defines MIN or MAX (or any of these) as its own macro keeps it.
  local own = {}
  for name in src:gmatch("#%s*define%s+(%u+)") do own[name] = true end
  while true do
    local s, e, kind, inner = src:find("(%u+)%s*(%b())", pos)
    while s and (not KINDS[kind] or own[kind] or is_ident_char(src:sub(s - 1, s - 1))) do
      s, e, kind, inner = src:find("(%u+)%s*(%b())", s + 1)
    end
    if not s then break end
    -- An optional "@name =" before it, or bpftrace's "@name[keys] =".
    local before = src:sub(pos, s - 1)
    local at, name, subscript = before:match("()(@[%a_]?[%w_]*)%s*(%b[])%s*=%s*$")
    if not at then at, name = before:match("()(@[%a_]?[%w_]*)%s*=%s*$") end
    local start = at and pos + at - 1 or s
    name = name or "@"
    local use = parse_use(name, kind, inner:sub(2, -2), subscript and subscript:sub(2, -2))
    local known = maps[name]
    if known and (known.kind ~= use.kind or #known.keys ~= #use.keys) then
      error(("%s is %s with %d key%s in one place and %s with %d in another"):format(name, known.kind, #known.keys,
        #known.keys == 1 and "" or "s", use.kind, #use.keys), 0)
    end
    if not known then
      maps[name] = use
      uses[#uses + 1] = use
    end
    local vtype = use.kind == "LHIST" and lhist_type(table.unpack(use.lhist)) or PREFIX .. use.kind:lower()
    out[#out + 1] = src:sub(pos, start - 1)
    out[#out + 1] = update_code(use, vtype)
    pos = e + 1
  end
  if #uses == 0 then return nil end
  out[#out + 1] = src:sub(pos)
  -- The declarations go first, on one line, so the script's lines stay put.
  local decls, defined = {}, {}
  for _, use in ipairs(uses) do
    for _, k in ipairs(use.keys) do
      if (k == "ustack" or k == "kstack") and not defined[STACKS] then
        defined[STACKS] = true
        decls[#decls + 1] = ("struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(max_entries, 10240); "
          .. "__uint(key_size, 4); __uint(value_size, 127 * 8); } %s SEC(\".maps\");"):format(STACKS)
      end
    end
  end
  for _, use in ipairs(uses) do
    local vtype = use.kind == "LHIST" and lhist_type(table.unpack(use.lhist)) or PREFIX .. use.kind:lower()
    if not defined[vtype] then
      defined[vtype] = true
      decls[#decls + 1] = KINDS[use.kind].value:format(vtype)
    end
    local fields = {}
    for i, expr in ipairs(use.keys) do fields[#fields + 1] = (key_field(expr, i - 1)) end
    if use.kind == "HIST" or use.kind == "LHIST" then fields[#fields + 1] = "__u32 __slot;" end
    if #fields == 0 then fields[1] = "__u32 none;" end
    decls[#decls + 1] = ("struct %skey_%s { %s }; struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); "
      .. "__uint(max_entries, 10240); __type(key, struct %skey_%s); __type(value, struct %s); } %s SEC(\".maps\");")
      :format(PREFIX, use.cname, table.concat(fields, " "), PREFIX, use.cname, vtype, use.cname)
  end
  return table.concat(decls, " ") .. " " .. table.concat(out)
end

-- ---- printing, as bpftrace prints ----

-- The aggregation a map holds, from its value type: kind and LHIST's bounds.
function M.kind_of(info)
  local vt = info.value_type or ""
  local kind = vt:match("^struct " .. PREFIX .. "(%l+)")
  if not kind then return nil end
  kind = kind:upper()
  if kind == "LHIST" then
    local function dec(s) return s:sub(1, 1) == "n" and -tonumber(s:sub(2)) or tonumber(s) end
    local a, b, c = vt:match("lhist__(%w+)__(%w+)__(%w+)$")
    return kind, { dec(a), dec(b), dec(c) }
  end
  return kind
end

-- One CPU-combined value per key.
local function combine(kind, percpu)
  local acc = {}
  for _, v in ipairs(percpu) do
    if kind == "COUNT" or kind == "HIST" or kind == "LHIST" then
      acc.count = (acc.count or 0) + v.count
    elseif kind == "SUM" then
      acc.sum = (acc.sum or 0) + v.sum
    elseif kind == "MIN" or kind == "MAX" then
      if v.set ~= 0 and (acc.v == nil or (kind == "MIN" and v.min < acc.v) or (kind == "MAX" and v.max > acc.v)) then
        acc.v = kind == "MIN" and v.min or v.max
      end
    else
      acc.count, acc.sum = (acc.count or 0) + v.count, (acc.sum or 0) + v.sum
    end
  end
  return acc
end

-- A stack as bpftrace prints one: a frame a line, indented, innermost first.
local function stack_text(stacks, id, pid)
  local lines = { "" }
  local names, addrs = stacks:symbols(id, pid)
  for i, name in ipairs(names) do
    local _, off
    if pid then _, off = bpf.usym(addrs[i], pid) else _, off = bpf.ksym(addrs[i]) end
    lines[#lines + 1] = "    " .. name .. ((off or 0) > 0 and "+" .. off or "")
  end
  return table.concat(lines, "\n") .. "\n"
end

local function key_text(k, fields, stacks)
  local parts = {}
  for _, f in ipairs(fields) do
    local n = f:match("^ustack(%d+)$")
    if n then
      parts[#parts + 1] = stack_text(stacks, k[f], k["__pid" .. n])
    elseif f:match("^kstack%d+$") then
      parts[#parts + 1] = stack_text(stacks, k[f])
    elseif f ~= "__slot" and f ~= "none" and not f:match("^__pid%d+$") then
      parts[#parts + 1] = tostring(k[f])
    end
  end
  return #parts > 0 and "[" .. table.concat(parts, ", ") .. "]" or ""
end

-- 1024 as 1K, as bpftrace labels buckets.
local function short(n)
  for _, unit in ipairs { "", "K", "M", "G", "T", "P" } do
    if n % 1024 ~= 0 or math.abs(n) < 1024 or unit == "P" then return tostring(n) .. unit end
    n = n // 1024
  end
end

local function bucket_label(kind, slot, lhist)
  if kind == "HIST" then
    if slot == 0 then return "(..., 0)" end
    if slot == 1 then return "[0]" end
    if slot == 2 then return "[1]" end
    local low = 1 << (slot - 2)
    return ("[%s, %s)"):format(short(low), slot == 65 and "..." or short(low * 2))
  end
  local min, max, step = table.unpack(lhist)
  local last = (max - min + step - 1) // step + 1
  if slot == 0 then return ("(..., %d)"):format(min) end
  if slot == last then return ("[%s, ...)"):format(short(max)) end
  local low = min + (slot - 1) * step
  return ("[%s, %s)"):format(short(low), short(math.min(low + step, max)))
end

local BAR = 52

local function print_hist(kind, lhist, slots)
  local lo, hi, top = math.huge, -1, 0
  for slot, n in pairs(slots) do
    if n > 0 then lo, hi, top = math.min(lo, slot), math.max(hi, slot), math.max(top, n) end
  end
  for slot = lo, hi do
    local n = slots[slot] or 0
    local bar = ("@"):rep(top > 0 and (n * BAR) // top or 0)
    print(("%-16s %8d |%-" .. BAR .. "s|"):format(bucket_label(kind, slot, lhist), n, bar))
  end
end

-- The number a combined value shows (and sorts by): STATS's is its average.
local function scalar(kind, v)
  if kind == "COUNT" then return v.count end
  if kind == "SUM" then return v.sum end
  if kind == "MIN" or kind == "MAX" then return v.v or 0 end
  return v.count > 0 and v.sum // v.count or 0
end

local function scalar_text(kind, v)
  if kind ~= "STATS" then return tostring(scalar(kind, v)) end
  return ("count %d, average %d, total %d"):format(v.count, scalar(kind, v), v.sum)
end

-- Prints one aggregation map: name is its C name (at_x prints as @x).
function M.print_map(m)
  local info = m:info()
  local kind, lhist = M.kind_of(info)
  if not kind then error(("map '%s' is not an aggregation (COUNT, SUM, HIST, ...)"):format(info.name), 2) end
  local name = "@" .. info.name:gsub("^at_", "")
  local fields = info.key_fields or {}
  local stacks
  for _, f in ipairs(fields) do
    if f:match("^[uk]stack%d+$") then stacks = m:object().maps[STACKS] end
  end
  if kind == "HIST" or kind == "LHIST" then
    local groups, order = {}, {}
    for k, v in pairs(m) do
      local label = key_text(k, fields, stacks)
      if not groups[label] then
        groups[label] = {}
        order[#order + 1] = label
      end
      groups[label][k.__slot] = (groups[label][k.__slot] or 0) + combine(kind, v).count
    end
    table.sort(order)
    for _, label in ipairs(order) do
      print(name .. label .. ":")
      print_hist(kind, lhist, groups[label])
      print()
    end
    return
  end
  local rows = {}
  for k, v in pairs(m) do
    local c = combine(kind, v)
    if kind ~= "MIN" and kind ~= "MAX" or c.v then rows[#rows + 1] = { key_text(k, fields, stacks), c } end
  end
  table.sort(rows, function(a, b)
    local x, y = scalar(kind, a[2]), scalar(kind, b[2])
    if x ~= y then return x < y end
    return a[1] < b[1]
  end)
  for _, r in ipairs(rows) do print(("%s%s: %s"):format(name, r[1], scalar_text(kind, r[2]))) end
  print()
end


-- ---- printing at exit ----

-- The map types that hold what a script counts; others (stacks, ring
-- buffers, program arrays) are not printed.
local TABLES = { hash = true, array = true, percpu_hash = true, percpu_array = true, lru_hash = true,
  lru_percpu_hash = true }

local function total(v)
  if type(v) ~= "table" then return v end
  local n = 0
  for _, x in ipairs(v) do
    if math.type(x) ~= "integer" then return nil end
    n = n + x
  end
  return #v > 0 and n or nil
end

local function value_text(v)
  if type(v) ~= "table" then return tostring(v) end
  local parts = {}
  for _, k in ipairs(bpf._sorted_keys(v)) do parts[#parts + 1] = ("%s = %s"):format(k, tostring(v[k])) end
  return "{" .. table.concat(parts, ", ") .. "}"
end

-- A map of the script's own, bpftrace's way: a BCC histogram as a log2
-- histogram, a table as "@name[key]: value" sorted by value (an array's
-- zero entries left out).
local function print_plain(m, info)
  if info.value_type == "__lbpf_hist_count" and not info.key_fields then
    if m:count() > 0 then
      print("@" .. info.name .. ":")
      m:print_log2_hist()
      print()
    end
    return
  end
  local rows, is_array = {}, info.type:find("array") ~= nil
  for k, v in pairs(m) do
    local n = total(v)
    if not (is_array and n == 0) then
      local key = type(k) == "table" and key_text(k, info.key_fields or {}) or "[" .. tostring(k) .. "]"
      rows[#rows + 1] = { key, n, n and tostring(n) or value_text(v) }
    end
  end
  if #rows == 0 then return end
  table.sort(rows, function(a, b)
    if a[2] and b[2] and a[2] ~= b[2] then return a[2] < b[2] end
    return a[1] < b[1]
  end)
  for _, r in ipairs(rows) do print(("@%s%s: %s"):format(info.name, r[1], r[3])) end
  print()
end

-- Objects whose maps were printed at exit already.
local printed = setmetatable({}, { __mode = "k" })

-- Prints b's maps not in skip (names), by name: its aggregations, and with
-- everything its own tables and histograms too.
local function print_maps(b, skip, everything)
  local names = {}
  for name in pairs(b.maps) do
    if not (skip and skip[name]) then names[#names + 1] = name end
  end
  table.sort(names)
  for _, name in ipairs(names) do
    local m = b.maps[name]
    local info = m:info()
    if M.kind_of(info) then
      M.print_map(m)
    elseif everything and TABLES[info.type] then
      print_plain(m, info)
    end
  end
end

-- Prints every aggregation map of object b not in skip (names), by name.
function M.print_object(b, skip) print_maps(b, skip, false) end

-- Prints b's maps the script never fetched (b.maps.NAME), once.
local function print_unread(b, everything)
  if printed[b] or b.closed then return end
  printed[b] = true
  print_maps(b, b:_fetched_maps(), everything)
end

-- When the script ends: every object still open, everything unfetched.
function M.print_live()
  if not debug.getregistry()["luabpf.print_unread"] then return end
  local objects = debug.getregistry()["luabpf.objects"] or {}
  local live = {}
  for b in pairs(objects) do live[#live + 1] = b end
  for _, b in ipairs(live) do print_unread(b, true) end
end

-- bpf.print_at_exit(false): no printing when the script ends.
function bpf.print_at_exit(on)
  debug.getregistry()["luabpf.print_unread"] = on ~= false and print_unread or nil
end
bpf.print_at_exit(true)
bpf.print_map = M.print_map
bpf.print_aggregations = M.print_object
bpf._print_live_aggregations = M.print_live
bpf._aggregation_kind = M.kind_of
debug.getregistry()["luabpf.translate_aggregations"] = M.translate
