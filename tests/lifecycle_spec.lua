-- Object lifetime: close, <close> and garbage collection free everything;
-- repeated load/close cycles leave no file descriptor behind.
local bpf = require "bpf"
local h = require "helper"

local SRC = h.hash_u32_u64("counts") .. [[
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
SEC("raw_tp/sched_process_exec") int noop_raw(void *ctx) { return 0; }
]]

describe("lifecycle", function()
  local elf = bpf.compile(SRC)
  local pid = h.getpid()

  it("500 new/close cycles leave the open fd count unchanged", function()
    do local warm <close> = bpf.new(elf) end
    -- Objects earlier specs left to the collector must not close their fds mid-count.
    collectgarbage()
    collectgarbage()
    local before = h.fd_count(pid)
    for _ = 1, 500 do
      local b = bpf.new(elf)
      b.maps.counts[1] = 1
      b:close()
    end
    assert.are.equal(before, h.fd_count(pid))
  end)

  it("frees objects left to the garbage collector", function()
    collectgarbage()
    collectgarbage()
    local before = h.fd_count(pid)
    for _ = 1, 50 do bpf.new(elf) end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, h.fd_count(pid))
  end)

  it("closes a <close> object at the end of its scope", function()
    local outer
    do
      local b <close> = bpf.new(elf)
      outer = b
      assert.is_false(b.closed)
    end
    assert.is_true(outer.closed)
  end)

  it("frees an object whose load failed", function()
    local before = h.fd_count(pid)
    for _ = 1, 20 do
      pcall(bpf.new, elf, { rodata = { nope = 1 } })
      pcall(bpf.new, [[SEC("tp/syscalls/sys_enter_nope") int p(void *ctx) { return 0; }]])
    end
    collectgarbage()
    collectgarbage()
    assert.are.equal(before, h.fd_count(pid))
  end)

  it("closes an object with 64 tracepoint links (detached from several threads) and frees its program", function()
    local b = bpf.new([[SEC("tp") int many(void *ctx) { return 0; }]], { autoattach = false })
    local n = 0
    for _, tp in ipairs(bpf.tracepoints("syscalls:sys_enter_*")) do
      if n < 64 and pcall(b.attach_tracepoint, b, tp, "many") then n = n + 1 end
    end
    assert.are.equal(64, n)
    local id = b.progs.many.id
    local function loaded()
      for _, p in ipairs(bpf.progs()) do
        if p.id == id then return true end
      end
      return false
    end
    assert.is_true(loaded())
    local fds = h.fd_count(h.getpid())
    b:close()
    -- The program goes only when no link holds it any more.
    assert.is_false(loaded())
    assert.is_true(h.fd_count(h.getpid()) < fds - 64)
  end)

  it("stops a glob of tracepoints at once on close, and the kernel's teardown ends in the background", function()
    -- Counters outside the object, so they can be read after the close.
    local store <close> = bpf.new(h.hash_u32_u64("seen", 16))
    local pin = "/sys/fs/bpf/luabpf_test_reaped_" .. h.getpid()
    os.remove(pin)
    store.maps.seen:pin(pin)
    local b = bpf.open(h.hash_u32_u64("seen", 16) .. [[
const volatile u32 me = 0;
static int count(u32 k)
{
	u64 one = 1, *v;
	if (bpf_get_current_pid_tgid() >> 32 != me)
		return 0;
	v = bpf_map_lookup_elem(&seen, &k);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&seen, &k, &one, BPF_ANY);
	return 0;
}
SEC("tp") int reaped_count(void *ctx) { return count(0); }
SEC("tp") int pinned_count(void *ctx) { return count(1); }
]], { autoattach = false, rodata = { me = h.getpid() }, pin = { seen = pin } })
    b:load()
    local link = b:attach_tracepoint("syscalls:sys_enter_*", "reaped_count")
    local pinned_path = pin .. "_link"
    os.remove(pinned_path)
    finally(function() os.remove(pinned_path) os.remove(pin) end)
    b:attach_tracepoint("syscalls:sys_enter_openat", "pinned_count"):pin(pinned_path)
    assert.matches("program 'reaped_count' is already attached to tracepoint syscalls:sys_enter_close (matching "
      .. "syscalls:sys_enter_clos?)", h.error_of(b.attach_tracepoint, b, "syscalls:sys_enter_clos?", "reaped_count"), 1, true)
    local id = b.progs.reaped_count.id
    store.maps.seen[1] = 0 -- the attaches above opened tracefs files
    for _ = 1, 10 do io.open("/dev/null"):close() end
    assert.is_true(store.maps.seen[0] >= 20) -- openat and close, at least
    assert.are.equal(10, store.maps.seen[1])
    b:close()
    assert.is_false(link.attached)
    local function gates(name)
      local n = 0
      for _, p in ipairs(bpf.progs()) do if p.name == name then n = n + 1 end end
      return n
    end
    -- The program is gone at once and counts no more; the pinned link's runs on.
    for _, p in ipairs(bpf.progs()) do assert.are_not.equal(id, p.id) end
    local frozen = store.maps.seen[0]
    for _ = 1, 10 do io.open("/dev/null"):close() end
    assert.are.same({ frozen, 20 }, { store.maps.seen[0], store.maps.seen[1] })
    -- The 360 links' gate goes once the background teardown has waited out
    -- their grace periods; the pinned link's stays until its pin goes.
    local deadline = os.time() + 120
    while gates("reaped_count") > 0 and os.time() < deadline do h.run("sleep 0.5") end
    assert.are.same({ 0, 1 }, { gates("reaped_count"), gates("pinned_count") })
    os.remove(pinned_path)
    deadline = os.time() + 30
    while gates("pinned_count") > 0 and os.time() < deadline do h.run("sleep 0.2") end
    assert.are.equal(0, gates("pinned_count"))
    os.remove(pin)
  end)

  it("keeps links attached while only the object is referenced", function()
    local b <close> = bpf.new(elf, { autoattach = false })
    b:attach_raw_tracepoint("sched_process_exec", "noop_raw")
    collectgarbage()
    collectgarbage()
    local link = b:attach_tracepoint("syscalls:sys_enter_getpid", "noop")
    assert.is_true(link.attached)
  end)
end)
