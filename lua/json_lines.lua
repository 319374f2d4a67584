-- JSON lines of a whole object: b:dump_json(file) writes one line per map
-- entry, {"map":..., "key":..., "value":...}, each written by the map's BTF
-- types (bpf.json.encode, lua/json.c).
local bpf, methods = ...

-- Maps whose entries are read by key; the rest hold events or programs.
local READABLE = {
  hash = true, array = true, percpu_hash = true, percpu_array = true, lru_hash = true, lru_percpu_hash = true,
  lpm_trie = true, stack_trace = true, cgroup_storage = true, percpu_cgroup_storage = true, sk_storage = true,
  inode_storage = true, task_storage = true, cgrp_storage = true,
}

function methods.dump_json(b, file)
  file = file or io.stdout
  if io.type(file) ~= "file" then error("b:dump_json: give an open file, e.g. io.stdout", 2) end
  local names = {}
  for name, m in pairs(b.maps) do
    if READABLE[m:info().type] and not name:find(".", 1, true) then names[#names + 1] = name end
  end
  table.sort(names)
  local encode, n = bpf.json.encode, 0
  for _, name in ipairs(names) do
    local m = b.maps[name]
    local head = '{"map":' .. encode(name) .. ',"key":'
    for k, v in pairs(m) do
      file:write(head, encode(k, m, "key"), ',"value":', encode(v, m), "}\n")
      n = n + 1
    end
  end
  return n
end
