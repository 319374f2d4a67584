-- Every common map type from Lua and from BPF: LRU and per-CPU maps, LPM
-- tries, queues, stacks, bloom filters, program arrays (tail calls), maps of
-- maps and stack traces; batch and key-by-key reads agree.
local bpf = require "bpf"
local h = require "helper"

local me = h.getpid()
local function open_files(n)
  for _ = 1, n do assert(io.open("/etc/hostname")):close() end
end

local SRC = [[
const volatile u32 target = 0;
struct lpm_v4 { u32 prefixlen; u8 data[4]; };
struct pc { u64 hits; u64 bytes; };

struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 16); __type(key, struct lpm_v4); __type(value, u32); __uint(map_flags, BPF_F_NO_PREALLOC); } routes SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_QUEUE); __uint(max_entries, 8); __type(value, u32); } in_q SEC(".maps"), out_q SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK); __uint(max_entries, 4); __type(value, u64); } lifo SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_BLOOM_FILTER); __uint(max_entries, 64); __type(value, u32); } seen SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_PERCPU_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, struct pc); } pcpu SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_LRU_HASH); __uint(max_entries, 64); __type(key, u32); __type(value, u32); } lru SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_STACK_TRACE); __uint(max_entries, 64); __type(key, u32); __type(value, u64[127]); } stacks SEC(".maps");

u32 lpm_result, bloom_hit, bloom_miss, stack_id;
s32 stack_err;

SEC("tp/syscalls/sys_enter_openat")
int roundtrip(void *ctx)
{
	struct lpm_v4 k = {.prefixlen = 32, .data = {10, 1, 2, 3}};
	u32 zero = 0, v, probe, *r;
	u64 seven = 7;
	struct pc *p;

	if ((bpf_get_current_pid_tgid() >> 32) != target)
		return 0;
	r = bpf_map_lookup_elem(&routes, &k);
	lpm_result = r ? *r : 0xffffffff;
	if (bpf_map_pop_elem(&in_q, &v) == 0) {
		v *= 10;
		bpf_map_push_elem(&out_q, &v, 0);
	}
	bpf_map_push_elem(&lifo, &seven, BPF_EXIST);
	probe = 42;
	bloom_hit = bpf_map_peek_elem(&seen, &probe) == 0;
	probe = 43;
	bloom_miss = bpf_map_peek_elem(&seen, &probe) == 0;
	p = bpf_map_lookup_elem(&pcpu, &zero);
	if (p) {
		p->hits++;
		p->bytes += 100;
	}
	stack_err = bpf_get_stackid(ctx, &stacks, BPF_F_USER_STACK);
	if (stack_err >= 0)
		stack_id = stack_err;
	return 0;
}
]]

describe("map types", function()
  local b = bpf.new(SRC, { rodata = { target = me } })

  it("LPM trie: CIDR strings and tables as keys, longest prefix match both ways", function()
    local routes = b.maps.routes
    routes["10.0.0.0/8"] = 1
    routes["10.1.0.0/16"] = 2
    routes[{ prefixlen = 24, data = { 192, 168, 1, 0 } }] = 3
    assert.are.equal(2, routes["10.1.2.3/32"])
    assert.are.equal(1, routes["10.9.9.9/32"])
    assert.are.equal(3, routes["192.168.1.77/32"])
    assert.is_nil(routes["11.0.0.1/32"])
    local keys = {}
    for k, v in pairs(routes) do keys[v] = k end
    assert.are.same({ prefixlen = 8, data = { 10, 0, 0, 0 } }, keys[1])
    assert.are.same({ prefixlen = 16, data = { 10, 1, 0, 0 } }, keys[2])
    open_files(1)
    assert.are.equal(2, b.globals.lpm_result)
    routes["10.1.0.0/16"] = nil
    open_files(1)
    assert.are.equal(1, b.globals.lpm_result)
    assert.matches("'10.0.0.0/33' is not an address/prefix", h.error_of(function() return routes["10.0.0.0/33"] end), 1, true)
    assert.matches("cannot hold a IPv6 prefix", h.error_of(function() return routes["fd00::/8"] end), 1, true)
  end)

  it("queues: Lua pushes, BPF pops and pushes, Lua pops in order", function()
    b.maps.in_q:push(4)
    b.maps.in_q:push(5)
    assert.are.equal(4, b.maps.in_q:peek())
    open_files(2)
    assert.is_nil(b.maps.in_q:pop())
    assert.are.equal(40, b.maps.out_q:pop())
    assert.are.equal(50, b.maps.out_q:pop())
    assert.is_nil(b.maps.out_q:pop())
    for i = 1, 8 do b.maps.out_q:push(i) end
    assert.matches("map 'out_q' is full (8 entries)", h.error_of(b.maps.out_q.push, b.maps.out_q, 9), 1, true)
    b.maps.out_q:push(9, "exist")
    assert.are.equal(2, b.maps.out_q:peek())
    assert.are.equal(8, b.maps.out_q:clear())
    assert.matches("map 'in_q' is a queue and has no keys: use m:push(v), m:pop(), m:peek()",
      h.error_of(function() return b.maps.in_q[1] end), 1, true)
  end)

  it("stacks: last in, first out", function()
    b.maps.lifo:clear()
    open_files(1)
    b.maps.lifo:push(1)
    b.maps.lifo:push(2)
    assert.are.equal(2, b.maps.lifo:pop())
    assert.are.equal(1, b.maps.lifo:pop())
    assert.are.equal(7, b.maps.lifo:pop())
    assert.is_nil(b.maps.lifo:peek())
  end)

  it("bloom filters: Lua adds, Lua and BPF test membership", function()
    b.maps.seen:push(42)
    assert.is_true(b.maps.seen:contains(42))
    assert.is_false(b.maps.seen:contains(43))
    open_files(1)
    assert.are.equal(1, b.globals.bloom_hit)
    assert.are.equal(0, b.globals.bloom_miss)
    assert.matches("a bloom filter: it only answers m:contains(v)", h.error_of(b.maps.seen.pop, b.maps.seen), 1, true)
  end)

  it("per-CPU arrays: BPF counts on its CPU, Lua sums over CPUs", function()
    local ncpus = b.maps.pcpu:info().ncpus
    local start = {}
    for cpu = 1, ncpus do start[cpu] = { hits = cpu, bytes = 0 } end
    b.maps.pcpu[0] = start
    open_files(3)
    local total = b.maps.pcpu:sum(0)
    assert.are.equal(ncpus * (ncpus + 1) / 2 + 3, total.hits)
    assert.are.equal(300, total.bytes)
    assert.are.equal(ncpus, #b.maps.pcpu[0])
  end)

  it("LRU hashes keep at most max_entries", function()
    for i = 1, 200 do b.maps.lru[i] = i end
    local n = #b.maps.lru
    assert.is_true(n <= 64 and n > 0, "entries: " .. n)
    assert.are.equal(200, b.maps.lru[200])
  end)

  it("stack trace maps give the addresses of a stack", function()
    open_files(1)
    assert.is_true(b.globals.stack_err >= 0, "bpf_get_stackid failed: " .. b.globals.stack_err)
    local addrs = b.maps.stacks[b.globals.stack_id]
    assert.is_true(#addrs >= 2)
    for _, a in ipairs(addrs) do assert.is_true(math.type(a) == "integer" and a ~= 0) end
    assert.matches("a stack_trace cannot be written from Lua", h.error_of(function() b.maps.stacks[1] = {} end), 1, true)
  end)

  it("program arrays dispatch tail calls to the program Lua put there", function()
    local t <close> = bpf.new(h.hash_u32_u64("hits") .. [[
const volatile u32 target = 0;
u32 slot;
struct { __uint(type, BPF_MAP_TYPE_PROG_ARRAY); __uint(max_entries, 4); __type(key, u32); __type(value, u32); } jmp SEC(".maps");

static void hit(u32 k)
{
	u64 one = 1, *v = bpf_map_lookup_elem(&hits, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&hits, &k, &one, BPF_NOEXIST);
}

SEC("tracepoint") int target_a(void *ctx) { hit(1); return 0; }
SEC("tracepoint") int target_b(void *ctx) { hit(2); return 0; }

SEC("tp/syscalls/sys_enter_openat")
int entry(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) != target)
		return 0;
	bpf_tail_call(ctx, &jmp, slot);
	hit(99);
	return 0;
}
]], { rodata = { target = me } })
    t.maps.jmp[1] = t.progs.target_a
    t.maps.jmp[2] = t.progs.target_b
    t.globals.slot = 1
    open_files(3)
    t.globals.slot = 2
    open_files(2)
    t.globals.slot = 3
    open_files(1)
    assert.are.equal(3, t.maps.hits[1])
    assert.are.equal(2, t.maps.hits[2])
    assert.are.equal(1, t.maps.hits[99])
    assert.are.equal(t.progs.target_a.id, t.maps.jmp[1])
    assert.is_true(t.maps.jmp:delete(1))
    assert.is_nil(t.maps.jmp[1])
  end)

  it("arrays of maps and hashes of maps hold inner maps by object", function()
    local t <close> = bpf.new([[
const volatile u32 target = 0;
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); };
struct inner inner_a SEC(".maps"), inner_b SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 2); __type(key, u32); __array(values, struct inner); } outer SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH_OF_MAPS); __uint(max_entries, 2); __type(key, u32); __array(values, struct inner); } by_name SEC(".maps");
u32 pick;

SEC("tp/syscalls/sys_enter_openat")
int count_in_inner(void *ctx)
{
	u32 zero = 0;
	void *inner;
	u64 *v;

	if ((bpf_get_current_pid_tgid() >> 32) != target)
		return 0;
	inner = bpf_map_lookup_elem(&outer, &pick);
	if (inner && (v = bpf_map_lookup_elem(inner, &zero)))
		__sync_fetch_and_add(v, 1);
	inner = bpf_map_lookup_elem(&by_name, &pick);
	if (inner && (v = bpf_map_lookup_elem(inner, &zero)))
		__sync_fetch_and_add(v, 10);
	return 0;
}
]], { rodata = { target = me } })
    t.maps.outer[0] = t.maps.inner_a
    t.maps.outer[1] = t.maps.inner_b
    t.maps.by_name[1] = t.maps.inner_a
    t.globals.pick = 0
    open_files(2)
    t.globals.pick = 1
    open_files(3)
    assert.are.equal(2 + 30, t.maps.inner_a[0])
    assert.are.equal(3, t.maps.inner_b[0])
    local inner = t.maps.outer[1]
    assert.are.equal(t.maps.inner_b:info().id, inner:info().id)
    assert.are.equal(3, inner[0])
    inner:close()
    assert.matches("a array_of_maps holds maps (b.maps.NAME), got boolean",
      h.error_of(function() t.maps.outer[0] = true end), 1, true)
  end)
end)

describe("whole-map reads", function()
  local b = bpf.new(h.hash_u32_u64("big", 5000) .. [[
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 300); __type(key, u32); __type(value, u32); } arr SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
]])
  local big = b.maps.big

  before_each(function()
    big:clear()
    for i = 1, 3000 do big[i] = i * 7 end
  end)

  it("batch and key-by-key iteration see the same entries", function()
    local batch, slow = {}, {}
    for k, v in pairs(big) do batch[k] = v end
    for k, v in big:iter { batch = false } do slow[k] = v end
    assert.are.same(batch, slow)
    local n = 0
    for k, v in pairs(batch) do n = n + 1; assert.are.equal(k * 7, v) end
    assert.are.equal(3000, n)
  end)

  it("items, keys, values and count agree", function()
    local items, keys, values = big:items(), big:keys(), big:values()
    assert.are.equal(3000, #items)
    assert.are.equal(3000, #keys)
    assert.are.equal(3000, #values)
    assert.are.equal(3000, big:count())
    assert.are.equal(3000, #big)
    for i, item in ipairs(items) do
      assert.are.equal(item[1], keys[i])
      assert.are.equal(item[2], values[i])
      assert.are.equal(item[1] * 7, item[2])
    end
  end)

  it("clear empties a hash in batches and zeroes an array", function()
    assert.are.equal(3000, big:clear())
    assert.are.equal(0, #big)
    b.maps.arr[5] = 9
    assert.are.equal(300, b.maps.arr:clear())
    assert.are.equal(0, b.maps.arr[5])
    assert.are.equal(300, #b.maps.arr)
  end)

  it("set honours any, noexist and exist", function()
    assert.is_true(big:set(1, 1, "noexist") == false)
    assert.is_true(big:set(9999, 1, "exist") == false)
    assert.is_true(big:set(9999, 2, "noexist"))
    assert.are.equal(2, big:lookup_and_delete(9999))
    assert.is_nil(big:lookup_and_delete(9999))
    assert.matches("bad argument #3 to 'set' (invalid option 'sometimes')",
      h.error_of(function() return big:set(1, 1, "sometimes") end), 1, true)
  end)

  it("ends iteration over a map that changes underneath", function()
    for _, batch in ipairs { true, false } do
      local seen = 0
      for k in big:iter { batch = batch } do
        big[k] = nil
        big[k + 100000] = 1
        seen = seen + 1
        assert.is_true(seen <= 5001 * 2)
      end
      assert.is_true(seen > 0)
    end
  end)

  it("describes itself", function()
    local info = big:info()
    assert.are.same({ name = "big", type = "hash", key_size = 4, value_size = 8, max_entries = 5000, flags = 0,
      id = info.id, fd = info.fd, key_type = "u32", value_type = "u64" }, info)
    assert.is_true(info.id > 0)
  end)
end)
