-- Pinned maps shared between processes and objects, maps by id, and the
-- system-wide view of maps and programs.
local bpf = require "bpf"
local h = require "helper"

local SRC = [[
struct point { s32 x; s32 y; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16); __type(key, u32); __type(value, struct point); } shared SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int noop(void *ctx) { return 0; }
]]

describe("pinning", function()
  local path = "/sys/fs/bpf/luabpf_test_" .. h.getpid()
  after_each(function() os.remove(path) end)

  it("a map pinned by one process is read by a second, with its BTF types", function()
    local b <close> = bpf.new(SRC)
    b.maps.shared[7] = { x = -1, y = 2 }
    b.maps.shared:pin(path)
    assert.are.equal(path, b.maps.shared:info().pinned)
    local out, code = h.run(h.luabpf .. " -e 'local m = bpf.open_pinned(\"" .. path .. "\") "
      .. "local p = m[7] print(m:info().value_type, p.x, p.y) m[8] = {x = 80, y = 0}'")
    assert.are.equal(0, code, out)
    assert.are.equal("struct point\t-1\t2\n", out)
    assert.are.same({ x = 80, y = 0 }, b.maps.shared[8])
    b.maps.shared:unpin()
    assert.is_nil(io.open(path))
  end)

  it("opts.pin makes two objects share one map", function()
    local first <close> = bpf.new(SRC, { pin = { shared = path } })
    local second <close> = bpf.new(SRC, { pin = { shared = path } })
    first.maps.shared[1] = { x = 3, y = 4 }
    assert.are.same({ x = 3, y = 4 }, second.maps.shared[1])
    assert.are.equal(first.maps.shared:info().id, second.maps.shared:info().id)
  end)

  it("opens a map by id and closes it on request", function()
    local b <close> = bpf.new(SRC)
    b.maps.shared[2] = { x = 5, y = 6 }
    local m = bpf.map_by_id(b.maps.shared:info().id)
    assert.are.same({ x = 5, y = 6 }, m[2])
    m:close()
    assert.matches("map 'shared' is closed", h.error_of(function() return m[2] end), 1, true)
    assert.matches("belongs to a bpf object and closes with it", h.error_of(b.maps.shared.close, b.maps.shared), 1, true)
  end)

  it("pins a program, opens it from another process, and unpins it", function()
    local b <close> = bpf.new(SRC)
    local path = "/sys/fs/bpf/luabpf_spec_prog_" .. h.getpid()
    b.progs.noop:pin(path)
    local out = h.run(h.luabpf .. " -e 'local p = bpf.open_pinned(\"" .. path .. "\") print(p.name, p.type, p.id > 0)'")
    assert.are.equal("noop\ttracepoint\ttrue\n", out)
    b.progs.noop:unpin(path)
    assert.is_nil(io.open(path))
    assert.matches("cannot unpin " .. path .. ": No such file or directory",
      h.error_of(b.progs.noop.unpin, b.progs.noop, path), 1, true)
  end)

  it("explains what cannot be opened or pinned", function()
    assert.matches("cannot open the pin /sys/fs/bpf/no_such_pin: No such file or directory",
      h.error_of(bpf.open_pinned, "/sys/fs/bpf/no_such_pin"), 1, true)
    assert.matches("cannot open map id 4000000000: no map has that id", h.error_of(bpf.map_by_id, 4000000000), 1, true)
    local b <close> = bpf.new(SRC)
    assert.matches("is not on a BPF file system", h.error_of(b.maps.shared.pin, b.maps.shared, "/tmp/x"), 1, true)
  end)
end)

describe("system view", function()
  it("lists this object's maps and programs among all loaded ones", function()
    local b <close> = bpf.new(SRC)
    local map_id, prog_id = b.maps.shared:info().id, b.progs.noop.id
    local map, prog
    for _, m in ipairs(bpf.maps()) do if m.id == map_id then map = m end end
    for _, p in ipairs(bpf.progs()) do if p.id == prog_id then prog = p end end
    assert.are.same({ id = map_id, type = "hash", name = "shared", key_size = 4, value_size = 8, max_entries = 16,
      flags = 0 }, map)
    assert.are.equal("noop", prog.name)
    assert.are.equal("tracepoint", prog.type)
    assert.are.equal(16, #prog.tag)
    assert.is_true(prog.xlated_size > 0)
  end)

  it("names programs in full, past the kernel's 15 characters, as bpftool does", function()
    local b <close> = bpf.new[[SEC("socket") int a_really_long_program_name(void *c) { return 0; }]]
    local id, name = b.progs.a_really_long_program_name.id, nil
    for _, p in ipairs(bpf.progs()) do if p.id == id then name = p.name end end
    assert.are.equal("a_really_long_program_name", name)
  end)
end)
