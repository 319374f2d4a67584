-- Open, configure, then load: bpf.open leaves the object unloaded so that a
-- program can be switched off (the fentry twin this kernel refuses), a map
-- resized and a global given its first value; b:load() then loads and attaches.
local h = require "helper"
local bpf = require "bpf"

local SRC = [[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, u64); } counts SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __uint(value_size, 8); } sized SEC(".maps");
const volatile u32 me = 0;
static void bump(void)
{
	u32 k = 1;
	u64 one = 1, *v;
	if (bpf_get_current_pid_tgid() >> 32 != me)
		return;
	v = bpf_map_lookup_elem(&counts, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &k, &one, BPF_ANY);
}
SEC("fentry/do_nanosleep") int BPF_PROG(fast) { bump(); return 0; }
SEC("tp/syscalls/sys_enter_openat") int slow(void *ctx) { bump(); return 0; }
]]

local function open_three()
  for _ = 1, 3 do io.open("/dev/null"):close() end
end

describe("bpf.open and b:load()", function()
  it("loads without the twin switched off, with maps resized and a rodata value set", function()
    local b <close> = bpf.open(SRC)
    assert.are.same({ true, 16, 8, 0 }, { b.progs.fast.autoload, b.maps.counts.max_entries,
      b.maps.sized.value_size, b.globals.me })
    b.progs.fast.autoload = false
    b.maps.counts.max_entries = 64
    b.maps.sized.value_size = 128
    b.globals.me = h.getpid()
    assert.are.equal(b, b:load())
    assert.are.same({ 64, 128, false }, { b.maps.counts:info().max_entries, b.maps.sized:info().value_size,
      b.progs.fast.autoload })
    open_three()
    assert.are.equal(3, b.maps.counts[1])
  end)

  it("takes the same choices as bpf.new options", function()
    local b <close> = bpf.new(SRC, { autoload = { fast = false }, value_size = { sized = 64 },
      max_entries = { counts = 32 }, rodata = { me = h.getpid() } })
    assert.are.same({ 32, 64 }, { b.maps.counts:info().max_entries, b.maps.sized:info().value_size })
    open_three()
    assert.are.equal(3, b.maps.counts[1])
  end)

  it("loads a program as another type than its section says", function()
    local b <close> = bpf.open([[SEC("tc") int pass(void *ctx) { return 2; }]], { autoattach = false })
    b.progs.pass.type = "xdp"
    b:load()
    assert.are.same({ "xdp", 2 }, { b.progs.pass.type, (b.progs.pass:test_run()) })
  end)

  it("says what needs a load, what is too late after it, and why a load failed", function()
    local b <close> = bpf.open(SRC, { autoattach = false })
    assert.matches("map 'counts' is not loaded yet, so it has only its definition (name, type, max_entries, "
      .. "key_size, value_size, flags, inner); call b:load() to use it", h.error_of(function() return b.maps.counts[1] end),
      1, true)
    assert.matches("this bpf object is not loaded yet: configure it, then call b:load()",
      h.error_of(b.attach_tracepoint, b, "syscalls:sys_enter_openat", "slow"), 1, true)
    assert.matches("program 'slow' is not loaded yet: call b:load() first",
      h.error_of(b.progs.slow.test_run, b.progs.slow), 1, true)
    assert.matches("map 'sized': 'type' cannot be set (max_entries, key_size, value_size, flags and inner "
      .. "can)",
      h.error_of(function() b.maps.sized.type = 1 end), 1, true)
    assert.matches("autoload must be true or false", h.error_of(function() b.progs.slow.autoload = 0 end), 1, true)
    assert.matches("program 'slow': type must be a program type's name, such as \"xdp\"",
      h.error_of(function() b.progs.slow.type = "fast" end), 1, true)
    local spec = b.maps.counts
    b.progs.fast.autoload = false
    b:load()
    assert.matches("this bpf object is already loaded", h.error_of(b.load, b), 1, true)
    assert.matches("program 'slow' is loaded: set autoload before b:load()",
      h.error_of(function() b.progs.slow.autoload = false end), 1, true)
    assert.matches("map 'counts' is loaded: read b.maps.counts again for the map itself",
      h.error_of(function() return spec.max_entries end), 1, true)
    assert.matches("program 'slow' is loaded: set its attach target before b:load()",
      h.error_of(b.progs.slow.set_attach_target, b.progs.slow, "do_nanosleep"), 1, true)

    local twin <close> = bpf.open(SRC)
    assert.matches("program 'fast' (SEC(\"fentry/do_nanosleep\")) is a tracing program (fentry/fexit, LSM or "
      .. "iterator), and this kernel refuses tracing programs", h.error_of(twin.load, twin), 1, true)
    assert.is_true(twin.closed)
  end)

  it("shows a map of maps' inner template, and takes another map as the template", function()
    -- Looked up through the template, slot 7 exists only when the template has 8 entries.
    local src = [[
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); };
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, u32); __array(values, struct inner); } outer SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); __uint(max_entries, 1); __type(key, u32); __type(value, u32); } bare SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } plain SEC(".maps");
const volatile u32 me = 0;
SEC("tp/syscalls/sys_enter_openat") int count(void *ctx)
{
	u32 zero = 0, seven = 7;
	u64 *v;
	void *in;
	if (bpf_get_current_pid_tgid() >> 32 != me)
		return 0;
	if ((in = bpf_map_lookup_elem(&outer, &zero)) && (v = bpf_map_lookup_elem(in, &seven)))
		__sync_fetch_and_add(v, 1);
	if ((in = bpf_map_lookup_elem(&bare, &zero)) && (v = bpf_map_lookup_elem(in, &seven)))
		__sync_fetch_and_add(v, 10);
	return 0;
}
]]
    local EIGHT = [[
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, u32); __type(value, u64); } eight SEC(".maps");
]]
    local store <close> = bpf.new(EIGHT .. [[
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 8); __type(key, u32); __type(value, u64); } other SEC(".maps");
]])
    local b <close> = bpf.open(src, { rodata = { me = h.getpid() } })
    local template = b.maps.outer.inner
    assert.are.same({ "array", 1, 4, 8 }, { template.type, template.max_entries, template.key_size, template.value_size })
    assert.is_nil(b.maps.bare.inner)
    assert.matches("map 'outer.inner' is an inner map template, which cannot change; give its map of maps another "
      .. "map as the template instead", h.error_of(function() template.max_entries = 8 end), 1, true)
    b.maps.outer.inner = store.maps.eight
    do
      -- The template's fd stays with the object until the load, past its lender.
      local lender <close> = bpf.new(EIGHT)
      b.maps.bare.inner = lender.maps.eight
    end
    assert.matches("map 'bare': cannot take an inner map template: Invalid argument (it is not a map of maps, or "
      .. "has its template already)", h.error_of(function() b.maps.bare.inner = store.maps.other end), 1, true)
    assert.matches("map 'bare': inner must be a loaded map (a bpf.Map) whose type and sizes the inner maps will "
      .. "have, got number", h.error_of(function() b.maps.bare.inner = 3 end), 1, true)
    assert.matches("map 'plain' has type array, not a map of maps: it has no inner map template",
      h.error_of(function() b.maps.plain.inner = store.maps.other end), 1, true)
    b:load()
    b.maps.outer[0] = store.maps.eight
    b.maps.bare[0] = store.maps.other
    open_three()
    assert.are.same({ 3, 30 }, { store.maps.eight[7], store.maps.other[7] })
  end)
end)
