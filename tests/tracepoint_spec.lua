-- Tracepoint programs in the real kernel: exact per-pid counts, a rodata pid
-- filter, explicit attach and detach.
local bpf = require "bpf"
local h = require "helper"

-- A program named name in section sec that counts its calls per pid.
local function counter(sec, name)
  return ([[
SEC("%s")
int %s(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32;
	u64 one = 1, *v = bpf_map_lookup_elem(&counts, &pid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &pid, &one, BPF_NOEXIST);
	return 0;
}
]]):format(sec, name)
end

local COUNT_OPENAT = h.hash_u32_u64("counts") .. counter("tracepoint/syscalls/sys_enter_openat", "count_openat")

-- Runs the opener fixture: a child opens a file n times; returns the child's pid.
local function open_in_child(n)
  local out, code = h.run(h.fixture("opener") .. " " .. n .. " /etc/hostname")
  assert(code == 0, out)
  return assert(tonumber(out:match("^(%d+)")), out)
end

describe("tracepoint", function()
  local elf = bpf.compile(COUNT_OPENAT)

  it("counts exactly the 100 openat calls a child makes", function()
    local b <close> = bpf.new(elf)
    local pid = open_in_child(100)
    assert.are.equal(100, b.maps.counts[pid])
  end)

  it("attaches to every tracepoint a glob matches as one link group", function()
    local b <close> = bpf.new(h.hash_u32_u64("counts") .. counter("tp", "by_pid"), { autoattach = false })
    -- openat and open, and their exits: each of the child's opens enters and exits once.
    local link = b:attach_tracepoint("syscalls:sys_*_open*", "by_pid")
    local pid = open_in_child(25)
    assert.are.equal(50, b.maps.counts[pid])
    assert.is_true(link:detach())
    assert.is_false(link.attached)
    local after = open_in_child(5)
    assert.is_nil(b.maps.counts[after])
    assert.matches("no tracepoint matches 'syscalls:nothing_*' (bpf.tracepoints(\"syscalls:nothing_*\") lists the "
      .. "matches)", h.error_of(b.attach_tracepoint, b, "syscalls:nothing_*", "by_pid"), 1, true)
  end)

  it("counts nothing for a pid that made no call", function()
    local b <close> = bpf.new(elf)
    local pid = open_in_child(0)
    assert.is_nil(b.maps.counts[pid])
  end)

  it("honours a const volatile pid filter set through opts.rodata", function()
    local me = h.getpid()
    local b <close> = bpf.new([[
const volatile u32 target_tgid = 0;
]] .. h.hash_u32_u64("counts") .. [[
SEC("tracepoint/syscalls/sys_enter_openat")
int filtered(void *ctx)
{
	u32 pid = bpf_get_current_pid_tgid() >> 32, key = 0;
	u64 one = 1, *v;
	if (pid != target_tgid)
		return 0;
	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_NOEXIST);
	return 0;
}
]], { rodata = { target_tgid = me } })
    for _ = 1, 25 do assert(io.open("/etc/hostname")):close() end
    open_in_child(100) -- another pid: filtered out
    assert.are.equal(25, b.maps.counts[0])
  end)

  it("attaches explicitly when autoattach is false, and stops after detach", function()
    local b <close> = bpf.new(elf, { autoattach = false })
    local before = open_in_child(10)
    assert.is_nil(b.maps.counts[before])

    local link = b:attach_tracepoint("syscalls:sys_enter_openat", "count_openat")
    assert.is_true(link.attached)
    local during = open_in_child(10)
    assert.are.equal(10, b.maps.counts[during])

    assert.is_true(link:detach())
    assert.is_false(link.attached)
    assert.is_false(link:detach())
    local after = open_in_child(10)
    assert.is_nil(b.maps.counts[after])
  end)

  it("accepts category/event as well as category:event and a Program object", function()
    local b <close> = bpf.new(elf, { autoattach = false })
    b:attach_tracepoint("syscalls/sys_enter_openat", b.progs.count_openat)
    local pid = open_in_child(7)
    assert.are.equal(7, b.maps.counts[pid])
  end)

  it("mounts tracefs at /sys/kernel/tracing when it is not mounted", function()
    local _, mounted = h.run("mountpoint -q /sys/kernel/tracing")
    if mounted == 0 then
      local out, code = h.run("umount /sys/kernel/tracing")
      assert.are.equal(0, code, out)
    end
    assert.are_not.equal(0, select(2, h.run("mountpoint -q /sys/kernel/tracing")))
    local out, code = h.run(h.luabpf .. " -e 'local b = bpf.new[[" ..
      "SEC(\"tp/syscalls/sys_enter_getpid\") int p(void *c) { return 0; }]] print(b.progs.p.type)'")
    assert.are.equal(0, code, out)
    assert.are.equal("tracepoint\n", out)
    assert.are.equal(0, select(2, h.run("mountpoint -q /sys/kernel/tracing")))
  end)

  it("describes its programs", function()
    local b <close> = bpf.new(elf)
    local p = b.progs.count_openat
    assert.are.equal("count_openat", p.name)
    assert.are.equal("tracepoint", p.type)
    assert.are.equal("tracepoint/syscalls/sys_enter_openat", p.section)
    assert.is_true(p.fd > 0)
    assert.is_true(p.id > 0)
    local names = {}
    for name in pairs(b.progs) do names[#names + 1] = name end
    assert.are.same({ "count_openat" }, names)
  end)
end)
