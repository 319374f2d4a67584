-- The compiled-object cache: a second run is a hit that loads no LLVM;
-- changed source or cflags miss; corrupt entries are recompiled; unsafe
-- directories are refused; LUABPF_NO_CACHE bypasses it.
local h = require "helper"

local home = os.getenv("HOME") or "/root"

-- A script that compiles a program whose body depends on arg[1] and cflags on arg[2],
-- then says whether LLVM ever entered its address space.
local TOOL = [=[
local b = bpf.new([[
SEC("tp/syscalls/sys_enter_getpid") int p(void *ctx) { return VALUE + ]] .. arg[1] .. [[; }
]], { cflags = { "-DVALUE=" .. (arg[2] or "0") } })
local llvm = false
for line in io.lines("/proc/self/maps") do llvm = llvm or line:find("libLLVM", 1, true) ~= nil end
print("llvm mapped:", llvm, "type:", b.progs.p.type)
]=]

describe("object cache", function()
  local dir, cache

  before_each(function()
    dir = h.tmpdir()
    h.write_file(dir .. "/tool.lua", TOOL)
    cache = home .. "/.cache/luabpf-spec-" .. h.getpid()
    h.run("rm -rf " .. cache)
  end)

  after_each(function() h.run("rm -rf " .. dir .. " " .. cache) end)

  local function run(args, env)
    return h.run("cd " .. dir .. " && LUABPF_DEBUG=1 LUABPF_CACHE_DIR=" .. cache .. " " .. (env or "") .. " "
      .. h.luabpf .. " tool.lua " .. args .. " 2>&1 | grep -v '^luabpf: libbpf'")
  end

  local function entries()
    local out = h.run("ls " .. cache .. " 2>/dev/null")
    local n = 0
    for _ in out:gmatch("%x+%.o") do n = n + 1 end
    return n
  end

  it("hits on the second run, without loading LLVM even in a child", function()
    local first = run("1")
    assert.matches("luabpf: cache miss %x+: compiling", first)
    assert.matches("luabpf: loaded clang driver", first, 1, true)
    assert.matches("llvm mapped:\tfalse\ttype:\ttracepoint", first, 1, true)
    local second = run("1")
    assert.matches("luabpf: cache hit %x+", second)
    assert.is_nil(second:find("clang driver", 1, true))
    assert.is_nil(second:find("compiling", 1, true))
    assert.matches("llvm mapped:\tfalse\ttype:\ttracepoint", second, 1, true)
    assert.are.equal(1, entries())
  end)

  it("misses when the source or the cflags change", function()
    run("1")
    assert.matches("cache miss", run("2"), 1, true)
    assert.matches("cache miss", run("2 5"), 1, true)
    assert.matches("cache hit", run("2 5"), 1, true)
    assert.are.equal(3, entries())
  end)

  it("recompiles a corrupt entry", function()
    run("1")
    local entry = h.run("ls " .. cache .. "/*.o"):match("%S+")
    h.run("printf 'garbage' | dd of=" .. entry .. " bs=1 seek=200 conv=notrunc 2>/dev/null")
    local out = run("1")
    assert.matches("the cache entry " .. entry .. " is corrupt; compiling again", out, 1, true)
    assert.matches("cache miss", out, 1, true)
    assert.matches("type:\ttracepoint", out, 1, true)
    assert.matches("cache hit", run("1"), 1, true)
  end)

  it("refuses a directory others can write to, and compiles in memory", function()
    h.run("mkdir -p " .. cache .. " && chmod 0777 " .. cache)
    local out = run("1")
    assert.matches("luabpf: warning: not using the object cache at " .. cache .. ": " .. cache
      .. " is writable by group or others; compiling in memory instead", out, 1, true)
    assert.matches("type:\ttracepoint", out, 1, true)
    assert.are.equal(0, entries())
  end)

  it("refuses a directory below one others can write to", function()
    local out = run("1", "LUABPF_CACHE_DIR=/tmp/luabpf-cache-" .. h.getpid())
    assert.matches("not using the object cache at /tmp/luabpf%-cache%-%d+: /tmp is writable by group or others", out)
    assert.matches("type:\ttracepoint", out, 1, true)
    h.run("rm -rf /tmp/luabpf-cache-" .. h.getpid())
  end)

  it("refuses an entry owned by another user", function()
    run("1")
    h.run("chown 65534 " .. cache .. "/*.o")
    local out = run("1")
    assert.matches("cache miss", out, 1, true)
    assert.matches("type:\ttracepoint", out, 1, true)
  end)

  it("builds the precompiled header once, then compiles from it", function()
    local first = run("1")
    assert.matches("luabpf: building the precompiled header " .. cache .. "/", first, 1, true)
    assert.matches("compiling with the precompiled header", first, 1, true)
    local second = run("2")
    assert.matches("compiling with the precompiled header", second, 1, true)
    assert.is_nil(second:find("building the precompiled header", 1, true))
    assert.matches("type:\ttracepoint", second, 1, true)
  end)

  it("rebuilds a stale precompiled header when the compiler changes", function()
    -- A private copy of the host and its driver: touching the copy is a new compiler.
    local copy = home .. "/.cache/luabpf-spec-bin-" .. h.getpid()
    h.run("mkdir -p " .. copy .. " && cp " .. h.luabpf .. " " .. h.build .. "/libluabpf-clang.so " .. copy)
    local function run_copy(args)
      return h.run("cd " .. dir .. " && LUABPF_DEBUG=1 LUABPF_CACHE_DIR=" .. cache .. " " .. copy
        .. "/luabpf tool.lua " .. args .. " 2>&1 | grep -v '^luabpf: libbpf'")
    end
    local first = run_copy("1")
    local old = first:match("building the precompiled header (%S+)")
    assert.is_truthy(old)
    h.run("touch -d '2001-01-01' " .. copy .. "/libluabpf-clang.so")
    local second = run_copy("1")
    h.run("rm -rf " .. copy)
    local new = second:match("building the precompiled header (%S+)")
    assert.is_truthy(new, second)
    assert.are_not.equal(old, new)
    assert.matches("cache miss", second, 1, true)
    assert.matches("type:\ttracepoint", second, 1, true)
  end)

  it("drops a corrupt precompiled header and compiles from source", function()
    run("1")
    local pch = h.run("ls " .. cache .. "/*.pch"):match("%S+")
    h.run("dd if=/dev/zero of=" .. pch .. " bs=1 seek=64 count=4096 conv=notrunc 2>/dev/null")
    local out = run("3")
    assert.matches("the precompiled header " .. pch .. " is corrupt; building it again", out, 1, true)
    assert.matches("building the precompiled header", out, 1, true)
    assert.matches("type:\ttracepoint", out, 1, true)
    assert.is_nil(run("4"):find("building the precompiled header", 1, true))
  end)

  it("is bypassed with LUABPF_NO_CACHE=1", function()
    local out = run("1", "LUABPF_NO_CACHE=1")
    assert.matches("cache miss", out, 1, true)
    assert.are.equal(0, entries())
  end)
end)
