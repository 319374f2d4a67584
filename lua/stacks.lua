-- Stack trace maps: m:walk(stackid) gives the addresses bpf_get_stackid
-- stored, innermost first. The binding runs this file with the bpf table,
-- the object methods and the map methods.
local _, _, methods = ...

function methods.walk(m, stackid)
  if math.type(stackid) ~= "integer" then
    error("walk: expected a stack id (an integer from get_stackid), got " .. type(stackid), 2)
  end
  local out = {}
  if stackid < 0 then return out end -- get_stackid failed: -EFAULT, -EEXIST, ...
  local frames = m:get(stackid)
  if type(frames) ~= "table" then return out end
  for _, addr in ipairs(frames) do
    if addr == 0 then break end
    out[#out + 1] = addr
  end
  return out
end
