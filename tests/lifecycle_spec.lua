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

  it("keeps links attached while only the object is referenced", function()
    local b <close> = bpf.new(elf, { autoattach = false })
    b:attach_raw_tracepoint("sched_process_exec", "noop_raw")
    collectgarbage()
    collectgarbage()
    local link = b:attach_tracepoint("syscalls:sys_enter_getpid", "noop")
    assert.is_true(link.attached)
  end)
end)
