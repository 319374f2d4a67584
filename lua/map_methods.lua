-- Map methods written in Lua, where speed does not matter: per-CPU sums and
-- maxima. The binding runs this file with the bpf table, the object methods
-- and the map methods.
local _, _, methods = ...

-- Combines two per-CPU values: numbers by op, tables field by field (nested),
-- anything else (strings, booleans) from the first CPU.
local function combine(a, b, op)
  if math.type(a) and math.type(b) then return op(a, b) end
  if type(a) == "table" and type(b) == "table" then
    local out = {}
    for k, v in pairs(a) do out[k] = combine(v, b[k], op) end
    return out
  end
  return a
end

local function reduce(m, k, op, what)
  local info = m:info()
  if not info.ncpus then
    error(("map '%s': %s is for per-CPU maps, and this is a %s"):format(info.name, what, info.type), 3)
  end
  local per_cpu = m:get(k)
  if per_cpu == nil then return nil end
  local acc = per_cpu[1]
  for cpu = 2, #per_cpu do acc = combine(acc, per_cpu[cpu], op) end
  return acc
end

-- m:sum(k): a per-CPU value added up over the CPUs (structs field by field).
function methods.sum(m, k)
  return reduce(m, k, function(x, y) return x + y end, "sum")
end

-- m:max(k): the largest per-CPU value (structs field by field).
function methods.max(m, k)
  return reduce(m, k, math.max, "max")
end
