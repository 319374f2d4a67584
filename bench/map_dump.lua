-- Map dump: fill a 1,000,000-entry u32 -> u64 hash, then read it all into a
-- Lua table, through batches (pairs) and key by key. Measurements, not tests.
local bpf = require "bpf"

local N = 1000000
local b <close> = bpf.new([[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1000000); __type(key, u32); __type(value, u64); } big SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
]], { autoattach = false })
local m = b.maps.big

local function seconds(f)
  collectgarbage()
  local t0 = bpf.ktime_ns()
  local r = f()
  return (bpf.ktime_ns() - t0) / 1e9, r
end

local fill = seconds(function() for i = 1, N do m[i] = i end end)
local function dump(iter)
  return function()
    local t, n = {}, 0
    for k, v in iter() do t[k] = v; n = n + 1 end
    assert(n == N, "read " .. n .. " entries")
    return t
  end
end
local batch = seconds(dump(function() return pairs(m) end))
local slow = seconds(dump(function() return m:iter { batch = false } end))
local items = seconds(function() return #m:items() end)

local row = "%-46s %8.3f s  %s"
print(("%-46s %10s  %s"):format("map dump, 1,000,000 u32 -> u64 entries", "luabpf", "target / peers"))
print(row:format("fill from Lua (m[k] = v, one syscall each)", fill, ""))
print(row:format("pairs(m) into a Lua table (batch lookups)", batch, "target <= 0.4 s; BCC items_lookup_batch() 0.59 s"))
print(row:format("m:iter{batch=false} into a Lua table (next_key)", slow, "BCC items() 7.2 s"))
print(row:format("m:items() (array of {key, value})", items, ""))
