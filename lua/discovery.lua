-- bpf.tracepoints(pattern): the kernel's tracepoints from tracefs, as
-- "category:event" strings matching a glob such as "syscalls:sys_enter_*".
-- The binding runs this file with the bpf table, the object methods and the
-- map methods.
local bpf = ...

local function glob_to_pattern(glob)
  local p = glob:gsub("[%^%$%(%)%%%.%[%]%+%-]", "%%%0"):gsub("%*", ".*"):gsub("%?", ".")
  return "^" .. p .. "$"
end
-- For bpf.list, which matches probe names the same way.
bpf._glob_pattern = glob_to_pattern

function bpf.tracepoints(glob)
  if glob ~= nil and type(glob) ~= "string" then
    error("tracepoints: the pattern must be a glob string, e.g. \"syscalls:sys_enter_*\"", 2)
  end
  local pattern = glob and glob_to_pattern(glob)
  local path = bpf._tracefs_root() .. "/available_events"
  local f, err = io.open(path)
  if not f then error("tracepoints: cannot read " .. err, 2) end
  local out = {}
  for line in f:lines() do
    if not pattern or line:find(pattern) then out[#out + 1] = line end
  end
  f:close()
  table.sort(out)
  return out
end
