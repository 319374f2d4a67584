-- The BTF codec both ways: a BPF program fills a struct-keyed hash that Lua
-- reads by field names; Lua fills a map and globals that the program reads
-- back; thousands of random values round-trip; bad values are clear errors.
local bpf = require "bpf"
local h = require "helper"

local function my_comm()
  local f = assert(io.open("/proc/self/comm"))
  local comm = f:read("l")
  f:close()
  return comm
end

local STRUCTS = [[
struct skey { u32 pid; char comm[16]; };
struct sval {
	u64 count;
	s32 delta;
	u8 flags : 3;
	u8 kind : 5;
	bool seen;
	u16 ports[3];
	struct { s16 x; s16 y; } pos;
};
struct scfg { u32 mult; s64 offset; char tag[8]; };
]]

describe("codec", function()
  it("reads a struct-keyed hash a program filled, by field names", function()
    local me = h.getpid()
    local b <close> = bpf.new(STRUCTS .. [[
const volatile u32 target = 0;
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, struct skey); __type(value, struct sval); } stats SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, struct scfg); } cfgmap SEC(".maps");
s64 seen_offset;
char seen_tag[8];
u32 opens = 0;

SEC("tp/syscalls/sys_enter_openat")
int on_open(void *ctx)
{
	u32 zero = 0;
	struct skey k = {};
	struct scfg *c;
	struct sval *v;

	if ((bpf_get_current_pid_tgid() >> 32) != target)
		return 0;
	c = bpf_map_lookup_elem(&cfgmap, &zero);
	if (!c)
		return 0;
	opens++;
	seen_offset = c->offset;
	__builtin_memcpy(seen_tag, c->tag, sizeof(seen_tag));
	k.pid = target;
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	v = bpf_map_lookup_elem(&stats, &k);
	if (v) {
		v->count += c->mult;
		return 0;
	}
	struct sval nv = {.count = c->mult, .delta = -5, .flags = 5, .kind = 17, .seen = 1,
			 .ports = {80, 0, 443}, .pos = {.x = -3, .y = 9}};
	bpf_map_update_elem(&stats, &k, &nv, BPF_NOEXIST);
	return 0;
}
]], { rodata = { target = me } })
    local comm = my_comm() -- before the counted opens: reading it opens a file too
    b.maps.cfgmap[0] = { mult = 3, offset = -7, tag = "abc" }
    local before = b.globals.opens
    for _ = 1, 4 do assert(io.open("/etc/hostname")):close() end

    assert.are.equal(4, b.globals.opens - before)
    assert.are.same({ mult = 3, offset = -7, tag = "abc" }, b.maps.cfgmap[0])
    assert.are.equal(-7, b.globals.seen_offset)
    assert.are.equal("abc", b.globals.seen_tag)
    assert.are.equal(me, b.globals.target)
    local key = { pid = me, comm = comm }
    assert.are.same({ count = 12, delta = -5, flags = 5, kind = 17, seen = true, ports = { 80, 0, 443 },
      pos = { x = -3, y = 9 } }, b.maps.stats[key])
    local found = 0
    for k, v in pairs(b.maps.stats) do
      assert.are.same(key, k)
      assert.are.equal(12, v.count)
      found = found + 1
    end
    assert.are.equal(1, found)
    local info = b.maps.stats:info()
    assert.are.equal("struct skey", info.key_type)
    assert.are.equal("struct sval", info.value_type)
  end)

  it("writes globals in place and keeps .rodata read-only after load", function()
    local b <close> = bpf.new([[
const volatile u32 limit = 10;
u64 counter = 5;
u32 zeroed;
struct { u16 a; char name[4]; } pair = {1, "xy"};
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return counter + zeroed + pair.a; }
]], { rodata = { limit = 99 } })
    local g = b.globals
    assert.are.equal(99, g.limit)
    assert.are.equal(5, g.counter)
    assert.are.same({ a = 1, name = "xy" }, g.pair)
    g.counter = 123456789012
    g.zeroed = 7
    g.pair = { name = "abcd" }
    assert.are.equal(123456789012, g.counter)
    assert.are.equal(7, g.zeroed)
    assert.are.same({ a = 0, name = "abcd" }, g.pair)
    local names = {}
    for name in pairs(g) do names[#names + 1] = name end
    table.sort(names)
    assert.are.same({ "counter", "limit", "pair", "zeroed" }, names)
    assert.matches("global 'limit' is in .rodata and read-only once loaded",
      h.error_of(function() g.limit = 1 end), 1, true)
    assert.matches("global pair.name: a string of 5 bytes does not fit in char[4]",
      h.error_of(function() g.pair = { name = "abcde" } end), 1, true)
    assert.matches("the program has no global variable named 'nope' (its globals: zeroed, counter, pair, limit)",
      h.error_of(function() return g.nope end), 1, true)
  end)

  describe("encoding", function()
    local b = bpf.new(STRUCTS .. [[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, struct skey); __type(value, struct sval); } m SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_HASH); __uint(max_entries, 8); __type(key, u32); __type(value, struct scfg); } pc SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
]])
    local m, pc = b.maps.m, b.maps.pc
    local k = { pid = 1, comm = "x" }

    it("zeroes missing fields", function()
      m[{ pid = 2 }] = { count = 1 }
      assert.are.same({ count = 1, delta = 0, flags = 0, kind = 0, seen = false, ports = { 0, 0, 0 },
        pos = { x = 0, y = 0 } }, m[{ pid = 2, comm = "" }])
    end)

    it("refuses each kind of bad value with a message naming it", function()
      local cases = {
        { function() m[{ pid = 1, nope = 2 }] = {} end,
          "map 'm': key: struct skey has no field 'nope' (its fields: pid, comm)" },
        { function() m[{ pid = -1 }] = {} end, "map 'm': key.pid: -1 is out of range for u32 (0 to 4294967295)" },
        { function() m[k] = { flags = 8 } end, "map 'm': value.flags: 8 is out of range for u8 (0 to 7)" },
        { function() m[k] = { delta = 2 ^ 31 } end, "value.delta: 2147483648 is out of range for s32" },
        { function() m[{ pid = 1, comm = ("x"):rep(17) }] = {} end,
          "map 'm': key.comm: a string of 17 bytes does not fit in char[16]" },
        { function() m[k] = { ports = { 1, 2, 3, 4 } } end,
          "value.ports: an array of 4 elements does not fit in u16[3]" },
        { function() m[k] = { pos = 5 } end, "value.pos: expected a table for struct (anonymous), got number" },
        { function() m[k] = { count = 1.5 } end, "value.count: expected an integer for u64, got a number with a fraction" },
        { function() m[k] = "x" end, "map 'm': value: expected a table for struct sval, got string" },
        { function() return m[nil] end, "map 'm': the key is nil" },
        { function() m[{ 1, 2 }] = {} end, "map 'm': key: struct skey has only named fields, got a number key" },
        { function() pc[1] = { mult = 1 } end, "map 'pc': a per-CPU value is an array of 1 to" },
        { function() pc[1] = { { mult = 1 }, { mult = "x" } } end,
          "map 'pc': value[2].mult: expected an integer for u32, got string" },
      }
      for i, case in ipairs(cases) do
        local ok, err = pcall(case[1])
        assert(not ok, "case " .. i .. " raised no error")
        assert.matches(case[2], tostring(err), 1, true)
      end
    end)

    it("reads and writes per-CPU values as arrays, and sums them", function()
      local ncpus = pc:info().ncpus
      assert.is_true(ncpus >= 1)
      local v = {}
      for cpu = 1, ncpus do v[cpu] = { mult = cpu, offset = -cpu, tag = "c" .. cpu } end
      pc[7] = v
      assert.are.same(v, pc[7])
      local want = { mult = 0, offset = 0, tag = "c1" }
      for cpu = 1, ncpus do want.mult = want.mult + cpu; want.offset = want.offset - cpu end
      assert.are.same(want, pc:sum(7))
      assert.are.same({ mult = ncpus, offset = -1, tag = "c1" }, pc:max(7))
      assert.matches("sum is for per-CPU maps, and this is a hash", h.error_of(m.sum, m, k), 1, true)
    end)
  end)

  it("round-trips thousands of random values and rejects random bad ones", function()
    local b <close> = bpf.new([[
struct rnd {
	s8 a; u8 b; s16 c; u16 d; s32 e; u32 f; s64 g; u64 h;
	bool i;
	char name[12];
	u16 arr[3];
	struct { u8 x; s32 y; } nested;
	u32 bits_a : 5;
	s32 bits_b : 7;
	double db;
	float fl;
};
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, struct rnd); } m SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
]])
    local m = b.maps.m
    math.randomseed(20261122)
    local ints = { a = { -128, 127 }, b = { 0, 255 }, c = { -32768, 32767 }, d = { 0, 65535 },
      e = { -2 ^ 31, 2 ^ 31 - 1 }, f = { 0, 2 ^ 32 - 1 }, bits_a = { 0, 31 }, bits_b = { -64, 63 } }
    local function rand_int(lo, hi) return math.random(math.tointeger(lo), math.tointeger(hi)) end
    local function rand_string(n)
      local t = {}
      for i = 1, n do t[i] = string.char(math.random(32, 126)) end
      return table.concat(t)
    end
    local function zero()
      return { a = 0, b = 0, c = 0, d = 0, e = 0, f = 0, g = 0, h = 0, i = false, name = "", arr = { 0, 0, 0 },
        nested = { x = 0, y = 0 }, bits_a = 0, bits_b = 0, db = 0.0, fl = 0.0 }
    end
    local valid, invalid = 0, 0
    for round = 1, 3000 do
      local value, want = {}, zero()
      for field, range in pairs(ints) do
        if math.random() < 0.8 then value[field] = rand_int(range[1], range[2]); want[field] = value[field] end
      end
      if math.random() < 0.8 then value.g = math.random(math.mininteger, math.maxinteger); want.g = value.g end
      if math.random() < 0.8 then value.h = math.random(math.mininteger, math.maxinteger); want.h = value.h end
      if math.random() < 0.5 then value.i = math.random() < 0.5; want.i = value.i end
      if math.random() < 0.7 then value.name = rand_string(math.random(0, 12)); want.name = value.name end
      if math.random() < 0.5 then
        value.arr = { rand_int(0, 65535), rand_int(0, 65535) }
        want.arr = { value.arr[1], value.arr[2], 0 }
      end
      if math.random() < 0.5 then
        value.nested = { y = rand_int(-2 ^ 31, 2 ^ 31 - 1) }
        want.nested = { x = 0, y = value.nested.y }
      end
      if math.random() < 0.5 then value.db = math.random() * 1e6; want.db = value.db end
      if math.random() < 0.5 then value.fl = rand_int(-1000, 1000) / 4; want.fl = value.fl end
      local key = round % 16
      m[key] = value
      assert.are.same(want, m[key])
      valid = valid + 1
    end
    local breakers = {
      function(v) v.a = 128 end, function(v) v.b = -1 end, function(v) v.f = 2 ^ 32 end,
      function(v) v.bits_a = 32 end, function(v) v.bits_b = -65 end, function(v) v.name = rand_string(13) end,
      function(v) v.arr = { 1, 2, 3, 4 } end, function(v) v.nested = { z = 1 } end, function(v) v.i = "yes" end,
      function(v) v.db = "1.0" end, function(v) v[rand_string(5) .. "_"] = 1 end, function(v) v.h = 0.5 end,
    }
    for _ = 1, 1000 do
      local v = { a = 1 }
      breakers[math.random(#breakers)](v)
      local ok, err = pcall(function() m[1] = v end)
      assert.is_false(ok)
      assert.matches("^.-map 'm': value", tostring(err))
      invalid = invalid + 1
    end
    assert.are.equal(3000, valid)
    assert.are.equal(1000, invalid)
  end)
end)
