-- Maps as Lua tables for integer keys and values: reads, writes, deletes,
-- iteration, sizes from opts.max_entries, and bad keys refused.
local bpf = require "bpf"
local h = require "helper"

local SRC = h.hash_u32_u64("counts", 64) .. [[
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 4); __type(key, u32); __type(value, u32); } slots SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
]]

describe("map", function()
  local elf = bpf.compile(SRC)

  it("reads, writes and deletes hash entries from Lua", function()
    local b <close> = bpf.new(elf)
    local m = b.maps.counts
    assert.is_nil(m[5])
    m[5] = 50
    m[6] = 60
    assert.are.equal(50, m[5])
    assert.are.equal(60, m:get(6))
    m:set(7, 70)
    assert.are.equal(3, #m)
    m[5] = nil
    assert.is_nil(m[5])
    assert.is_true(m:delete(6))
    assert.is_false(m:delete(6))
    assert.are.equal(1, #m)
    assert.are.equal(b.maps.counts, b.counts) -- the BCC-style shortcut is the same map
  end)

  it("iterates every entry with pairs", function()
    local b <close> = bpf.new(elf)
    local m = b.maps.counts
    local want = {}
    for i = 1, 40 do m[i] = i * 3; want[i] = i * 3 end
    local got = {}
    for k, v in pairs(m) do got[k] = v end
    assert.are.same(want, got)
  end)

  it("stores full 64-bit values", function()
    local b <close> = bpf.new(elf)
    b.maps.counts[1] = math.maxinteger
    b.maps.counts[2] = -1
    assert.are.equal(math.maxinteger, b.maps.counts[1])
    assert.are.equal(-1, b.maps.counts[2])
  end)

  it("reads array slots that were never written as zero", function()
    local b <close> = bpf.new(elf)
    assert.are.equal(0, b.maps.slots[3])
    b.maps.slots[3] = 4294967295
    assert.are.equal(4294967295, b.maps.slots[3])
    assert.is_nil(b.maps.slots[4])
    assert.are.equal(4, #b.maps.slots)
  end)

  it("resizes maps through opts.max_entries", function()
    local b <close> = bpf.new(elf, { max_entries = { counts = 2 } })
    b.maps.counts[1] = 1
    b.maps.counts[2] = 2
    assert.matches("map 'counts': update failed: Argument list too long",
      h.error_of(function() b.maps.counts[3] = 3 end), 1, true)
  end)

  it("refuses keys and values of the wrong shape", function()
    local b <close> = bpf.new(elf)
    local m = b.maps.counts
    assert.matches("map 'counts': the key is nil", h.error_of(function() return m[nil] end), 1, true)
    assert.matches("map 'counts': key: 4294967296 is out of range for u32 (0 to 4294967295)",
      h.error_of(function() m[4294967296] = 1 end), 1, true)
    assert.matches("map 'counts': key: expected an integer for u32, got table",
      h.error_of(function() m[{}] = 1 end), 1, true)
    assert.matches("map 'counts': value: expected an integer for u64, got boolean",
      h.error_of(function() m[1] = true end), 1, true)
    assert.matches("map 'counts': key: expected an integer for u32, got string",
      h.error_of(function() m["12"] = 1 end), 1, true)
    assert.matches("map 'slots': update failed: Argument list too long",
      h.error_of(function() b.maps.slots[9] = 1 end), 1, true)
  end)
end)
