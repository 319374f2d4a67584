-- luabpf bundle: a script with the objects it compiles in one file, run
-- where no compiler can load; and the errors of a bundle that cannot run.
local h = require "helper"
local bpf = require "bpf"

-- Runs luabpf with args in dir, the clang driver out of reach and no cache.
local function run_without_compiler(dir, args)
  return h.run(("cd %s && LUABPF_DRIVER=/nonexistent/libluabpf-clang.so LUABPF_NO_CACHE=1 %s %s"):format(dir,
    h.luabpf, args))
end

local function bundle(script, out, runs)
  return h.run(("%s bundle %s -o %s %s"):format(h.luabpf, script, out, runs or ""))
end

local function read(path)
  local f = assert(io.open(path, "rb"))
  local s = f:read("a")
  f:close()
  return s
end

local function write(path, s)
  local f = assert(io.open(path, "wb"))
  f:write(s)
  f:close()
end

-- The bundle with its manifest's text changed (same length), checksums redone.
local function with_manifest(data, from, to)
  local head, size, sum, body, rest = data:match("^(luabpf%-bundle %d+\nmanifest )(%d+) (%x+)( manifest\n)(.*)$")
  local text = rest:sub(1, tonumber(size))
  local new = text:gsub(from, to)
  assert(#new == #text)
  local out = head .. size .. " " .. bpf.hash(new) .. body .. new .. rest:sub(tonumber(size) + 1)
  local sums = {}
  for s in out:gmatch("\n%a+ %d+ (%x+) [^\n]*\n") do sums[#sums + 1] = s end
  table.remove(sums) -- the end line's own
  return (out:gsub("end 0 %x+ end\n$", "end 0 " .. bpf.hash(table.concat(sums)) .. " end\n"))
end

describe("bundles", function()
  local dir
  before_each(function() dir = h.tmpdir() end)
  after_each(function() h.run("rm -rf " .. dir) end)

  it("a bundled tool runs with no clang driver, from a directory holding nothing else", function()
    local out, code = bundle(h.root .. "/scripts/opensnoop.lua", dir .. "/opensnoop.lbpf", "-- -n opener -d 1")
    assert.are.equal(0, code, out)
    assert.matches("opensnoop.lbpf: 1 object, %d+ bytes", out)
    local size = #read(dir .. "/opensnoop.lbpf")
    assert.is_true(size < 100 * 1024, "a bundle of " .. size .. " bytes")
    local p = io.popen(("cd %s && LUABPF_DRIVER=/nonexistent/libluabpf-clang.so LUABPF_NO_CACHE=1 %s opensnoop.lbpf "
      .. "-n opener --json -d 2 2>&1"):format(dir, h.luabpf))
    assert.are.equal("Tracing open() calls... Hit Ctrl-C to end.", p:read("l"))
    local pid = h.run(h.fixture("opener") .. " 3 /etc/hostname"):match("%d+")
    local lines = {}
    for line in p:lines() do lines[#lines + 1] = line:match('"path":"([^"]*)"') .. " " .. line:match('"pid":(%d+)') end
    p:close()
    assert.are.same({ "/etc/hostname " .. pid, "/etc/hostname " .. pid, "/etc/hostname " .. pid }, lines)
    -- A BCC-dialect tool (plain functions loaded at attach), bundled the same way.
    out, code = bundle(h.root .. "/scripts/exitsnoop.lua", dir .. "/exitsnoop.lbpf", "-- -d 1")
    assert.are.equal(0, code, out)
    assert.is_true(#read(dir .. "/exitsnoop.lbpf") < 100 * 1024)
    p = io.popen(("cd %s && LUABPF_DRIVER=/nonexistent/libluabpf-clang.so LUABPF_NO_CACHE=1 %s exitsnoop.lbpf "
      .. "-x --json -d 2 2>&1"):format(dir, h.luabpf))
    assert.are.equal("Tracing process exits... Hit Ctrl-C to end.", p:read("l"))
    local sh = h.run("sh -c 'echo $$; exit 4'"):match("%d+")
    local exits = {}
    for line in p:lines() do
      if line:find('"pid":' .. sh .. ",", 1, true) then exits[#exits + 1] = line:match('"code":(%d+)') end
    end
    p:close()
    assert.are.same({ "4" }, exits)
    -- The same script unbundled needs the compiler, and says so.
    out = run_without_compiler(dir, h.root .. "/scripts/opensnoop.lua -d 1")
    assert.matches("cannot compile BPF C: the clang driver (libluabpf-clang.so) is not installed beside luabpf "
      .. "(looked in /nonexistent/libluabpf-clang.so)", out, 1, true)
  end)

  it("bundle --exe makes one executable that runs alone: its own Lua, libbpf and modules, no luabpf", function()
    -- The sanitized suite's build has no static host: the plain build's serves.
    local out, code = h.run(("LUABPF_STATIC_HOST=%s/build/luabpf-static %s bundle --exe %s/scripts/opensnoop.lua -o "
      .. "%s/opensnoop -- -d 1"):format(h.root, h.luabpf, h.root, dir))
    assert.are.equal(0, code, out)
    local size = #read(dir .. "/opensnoop")
    assert.is_true(size < 3 * 1024 * 1024, "an executable of " .. size .. " bytes")
    local libs = h.run("ldd " .. dir .. "/opensnoop")
    assert.is_nil(libs:find("libbpf", 1, true), libs)
    assert.is_nil(libs:find("liblua", 1, true), libs)
    -- No environment (no LUA_PATH), no driver, nothing else in the directory.
    local p = io.popen(("cd %s && env -i LUABPF_DRIVER=/nonexistent ./opensnoop -n opener -d 2 2>&1"):format(dir))
    assert.are.equal("Tracing open() calls... Hit Ctrl-C to end.", p:read("l"))
    local pid = h.run(h.fixture("opener") .. " 2 /etc/hostname"):match("%d+")
    local rest = p:read("a")
    p:close()
    assert.matches("^    PID COMM               FD ERR PATH\n +" .. pid .. " opener +3   0 /etc/hostname\n +" .. pid
      .. " opener +3   0 /etc/hostname\n$", rest)
    out = h.run(("cd %s && ./opensnoop -h"):format(dir))
    assert.matches("^Usage: opensnoop ", out)
  end)

  it("make install-runtime installs what runs bundles, without LLVM; install-compiler adds the driver", function()
    local out, code = bundle(h.root .. "/scripts/opensnoop.lua", dir .. "/opensnoop.lbpf", "-- -d 1")
    assert.are.equal(0, code, out)
    out, code = h.run(("make -s -C %s install-runtime DESTDIR=%s/root PREFIX=/opt/lb"):format(h.root, dir))
    assert.are.equal(0, code, out)
    assert.are.equal("/opt/lb/bin/luabpf\n/opt/lb/lib/lua/5.4/bpf.so\n/opt/lb/lib/luabpf/luabpf-static\n",
      h.run(("cd %s/root && find . -type f | sort | cut -c2-"):format(dir)))
    local luabpf = dir .. "/root/opt/lb/bin/luabpf"
    local p = io.popen(("cd %s && env -u LUABPF_DRIVER %s opensnoop.lbpf -d 1 2>&1"):format(dir, luabpf))
    assert.are.equal("Tracing open() calls... Hit Ctrl-C to end.", p:read("l"))
    p:close()
    local compile = ("cd %s && env -u LUABPF_DRIVER LUABPF_NO_CACHE=1 %s -e 'require(\"bpf\").compile(\"int x;\")'")
      :format(dir, luabpf)
    assert.matches("cannot compile BPF C: the clang driver (libluabpf-clang.so) is not installed beside luabpf (looked "
      .. "in " .. dir .. "/root/opt/lb/bin/libluabpf-clang.so, " .. dir .. "/root/opt/lb/bin/../lib/luabpf/"
      .. "libluabpf-clang.so, ", h.run(compile), 1, true)
    -- Found under the prefix it is installed to, whatever prefix luabpf was built for.
    out, code = h.run(("make -s -C %s install-compiler DESTDIR=%s/root PREFIX=/opt/lb"):format(h.root, dir))
    assert.are.equal(0, code, out)
    assert.are.same({ "", 0 }, { h.run(compile) })
  end)

  it("--btf (LUABPF_BTF) names the kernel BTF a bundle relocates against, for kernels without their own", function()
    local out, code = bundle(h.root .. "/scripts/opensnoop.lua", dir .. "/opensnoop.lbpf", "-- -d 1")
    assert.are.equal(0, code, out)
    h.run(("cp /sys/kernel/btf/vmlinux %s/vmlinux.btf && head -c 100 /etc/services > %s/bad.btf"):format(dir, dir))
    out, code = run_without_compiler(dir, "--btf vmlinux.btf opensnoop.lbpf -d 1")
    assert.are.equal(0, code, out)
    assert.matches("Tracing open() calls... Hit Ctrl-C to end.", out, 1, true)
    out, code = run_without_compiler(dir, "--btf bad.btf opensnoop.lbpf -d 1")
    assert.are.equal(1, code)
    assert.matches("opensnoop: loading the BPF object failed: BPF object format invalid: failed to perform CO-RE "
      .. "relocations", out, 1, true)
    out, code = run_without_compiler(dir, "opensnoop.lbpf -d 1 2>&1 | head -1; LUABPF_BTF=missing.btf " .. h.luabpf
      .. " opensnoop.lbpf -d 1")
    assert.matches("opensnoop: the kernel BTF given (LUABPF_BTF or --btf) cannot be read: missing.btf: No such file "
      .. "or directory", out, 1, true)
  end)

  -- Tracepoint args that relocate: C compiled against a doctored format (its
  -- fields 8 bytes later than this kernel's) reads this kernel's offsets.
  local OPENAT_PROBE = [[
const volatile u32 target_pid;
BPF_ARRAY(seen, u64, 2);
TRACEPOINT_PROBE(syscalls, sys_enter_openat) {
  if (bpf_get_current_pid_tgid() >> 32 != target_pid) return 0;
  u32 k = 0; u64 v = args->flags; seen.update(&k, &v);
  k = 1; v = args->MODE; seen.update(&k, &v);
  return 0;
}
]]

  -- formats/syscalls/sys_enter_openat/format: this kernel's, every field from
  -- dfd on moved 8 bytes later and `mode` renamed to mode_name.
  local function doctored_formats(mode_name)
    local real = read("/sys/kernel/tracing/events/syscalls/sys_enter_openat/format")
    local text = real:gsub("offset:(%d+);", function(o)
      o = tonumber(o)
      return "offset:" .. (o >= 16 and o + 8 or o) .. ";"
    end):gsub("umode_t mode;", "umode_t " .. mode_name .. ";")
    local formats = dir .. "/formats-" .. mode_name
    h.run("mkdir -p " .. formats .. "/syscalls/sys_enter_openat")
    write(formats .. "/syscalls/sys_enter_openat/format", text)
    return formats
  end

  -- The object compiled with LUABPF_TRACEPOINT_FORMATS=formats, in a child.
  local function compile_against(formats, portable, mode_name)
    write(dir .. "/compile.lua", ("local out = assert(io.open(arg[1], 'wb'))\n"
      .. "out:write(require('bpf').compile(%q, { portable = %s }))\nout:close()\n"):format(
        OPENAT_PROBE:gsub("MODE", mode_name), tostring(portable)))
    local out, code = h.run(("LUABPF_TRACEPOINT_FORMATS=%s %s %s/compile.lua %s/probe.o"):format(formats, h.luabpf, dir,
      dir))
    assert.are.equal(0, code, out)
    return read(dir .. "/probe.o")
  end

  -- flags and mode as the object read them from this process's openat.
  local function open_and_read(elf)
    local b <close> = bpf.new(elf, { rodata = { target_pid = h.getpid() } })
    io.open(dir .. "/opened", "w"):close()
    return { b.maps.seen[0], b.maps.seen[1] }
  end

  it("TRACEPOINT_PROBE args compiled against another kernel's layout read this kernel's offsets", function()
    local formats = doctored_formats("mode")
    -- O_WRONLY|O_CREAT|O_TRUNC, and 0666, as io.open(path, "w") opens.
    assert.are.same({ 577, 438 }, open_and_read(compile_against(formats, true, "mode")))
    -- Without CO-RE the same C reads the doctored offsets: flags where mode is.
    assert.are.equal(438, open_and_read(compile_against(formats, false, "mode"))[1])
    -- A field this kernel's record lacks is named, before anything runs.
    local elf = compile_against(doctored_formats("mode2"), true, "mode2")
    assert.are.equal("program 'tracepoint__syscalls__sys_enter_openat' reads args->mode2, which this kernel's "
      .. "tracepoint syscalls:sys_enter_openat does not have (the object was built where its record had that field; "
      .. "its fields here are in /sys/kernel/tracing/events/syscalls/sys_enter_openat/format)",
      h.error_of(bpf.new, elf, { rodata = { target_pid = 1 } }))
    -- Formats a less privileged user could have written are not used.
    h.run("chmod o+w " .. formats .. "/syscalls/sys_enter_openat/format")
    local out = h.run(("LUABPF_TRACEPOINT_FORMATS=%s %s %s/compile.lua %s/probe.o"):format(formats, h.luabpf, dir, dir))
    assert.matches("TRACEPOINT_PROBE(syscalls, sys_enter_openat): " .. formats
      .. "/syscalls/sys_enter_openat/format is writable by", out, 1, true)
  end)

  it("a bundle made against another kernel's tracepoint layout reads this kernel's", function()
    write(dir .. "/openat.lua", ([[
local bpf = require "bpf"
local pid = tonumber(io.open("/proc/self/stat"):read("l"):match("^%%d+"))
local b <close> = bpf.new(%q, { rodata = { target_pid = pid } })
io.open(arg[1], "w"):close()
print(b.maps.seen[0], b.maps.seen[1])
]]):format((OPENAT_PROBE:gsub("MODE", "mode"))))
    local out, code = h.run(("LUABPF_TRACEPOINT_FORMATS=%s %s bundle %s/openat.lua -o %s/openat.lbpf -- %s/x"):format(
      doctored_formats("mode"), h.luabpf, dir, dir, dir))
    assert.are.equal(0, code, out)
    assert.are.same({ "577\t438\n", 0 }, { run_without_compiler(dir, "openat.lbpf " .. dir .. "/y") })
  end)

  it("--min-btf carries what the objects need of each kernel's BTF, for kernels without their own", function()
    h.run(("mkdir %s/btf && cp /sys/kernel/btf/vmlinux %s/btf/$(uname -r).btf && cp /sys/kernel/btf/vmlinux "
      .. "%s/btf/5.4.0-other.btf && mkdir %s/other && cp %s/btf/5.4.0-other.btf %s/other/"):format(dir, dir, dir, dir,
      dir, dir))
    -- TRACEPOINT_PROBE args and a CO-RE read of the task relocate; an enum
    -- looked up by name comes whole.
    write(dir .. "/reads.lua", ([[
local bpf = require "bpf"
local pid, ppid = io.open("/proc/self/stat"):read("l"):match("^(%%d+) %%b() %%a (%%d+)")
local b <close> = bpf.new(%q, { rodata = { target_pid = tonumber(pid) } })
io.open(arg[1], "w"):close()
print(b.maps.seen[0], b.maps.seen[1], b.maps.seen[2] == tonumber(ppid), bpf.kernel_enum("pid_type")[3])
]]):format((OPENAT_PROBE:gsub("MODE", "mode"):gsub("BPF_ARRAY%(seen, u64, 2%)", "BPF_ARRAY(seen, u64, 3)")
      :gsub("return 0;\n}", "k = 2; v = BPF_CORE_READ((struct task_struct *)bpf_get_current_task(), real_parent, "
        .. "tgid); seen.update(&k, &v);\n  return 0;\n}"))))
    local out, code = h.run(("%s bundle --min-btf %s/btf %s/reads.lua -o %s/reads.lbpf -- %s/x"):format(h.luabpf, dir,
      dir, dir, dir))
    assert.are.equal(0, code, out)
    assert.matches("reads.lbpf: 1 object, BTF for 2 kernels, %d+ bytes", out)
    local data = read(dir .. "/reads.lbpf")
    local releases = {}
    for size, release in data:gmatch("\nbtf (%d+) %x+ ([^\n]+)\n") do
      assert.is_true(tonumber(size) < 16 * 1024, release .. ": " .. size .. " bytes of BTF")
      releases[#releases + 1] = release
    end
    assert.are.same({ "5.4.0-other", h.run("uname -r"):match("[^\n]+") }, releases)
    -- Where the kernel has no BTF: /sys/kernel/btf hidden in a mount namespace.
    local function without_btf(bundle_name)
      return h.run(("cd %s && unshare -m sh -c 'mount -t tmpfs none /sys/kernel/btf && "
        .. "LUABPF_DRIVER=/nonexistent LUABPF_NO_CACHE=1 %s %s %s/y'"):format(dir, h.luabpf, bundle_name, dir))
    end
    assert.are.same({ "577\t438\ttrue\tPIDTYPE_SID\n", 0 }, { without_btf("reads.lbpf") })
    out, code = h.run(("%s bundle --min-btf %s/other %s/reads.lua -o %s/other.lbpf -- %s/x"):format(h.luabpf, dir,
      dir, dir, dir))
    assert.are.equal(0, code, out)
    out, code = without_btf("other.lbpf")
    assert.are.equal(1, code)
    assert.are.equal("luabpf: other.lbpf: this kernel (" .. h.run("uname -r"):match("[^\n]+") .. ") has no BTF of "
      .. "its own (/sys/kernel/btf/vmlinux) and the bundle carries the BTF of other kernels only (5.4.0-other): bundle "
      .. "it again with this kernel's BTF in --min-btf DIR, or give that BTF with --btf FILE\n", out)
    out, code = h.run(("%s bundle %s/reads.lua -o %s/plain.lbpf -- %s/x"):format(h.luabpf, dir, dir, dir))
    assert.are.equal(0, code, out)
    out, code = without_btf("plain.lbpf")
    assert.are.equal(1, code)
    assert.matches("this kernel has no BTF (no /sys/kernel/btf/vmlinux: it was built without CONFIG_DEBUG_INFO_BTF), "
      .. "which CO-RE relocation needs: give its BTF with --btf FILE (LUABPF_BTF; BTFHub has it for many distribution "
      .. "kernels), or bundle the tool with --min-btf", out, 1, true)
    -- The functions behind it, given what they cannot use.
    assert.are.equal("bpf.min_core_btf: object 1: not a usable BPF object: 7 bytes is too short for an ELF header",
      h.error_of(bpf.min_core_btf, "/sys/kernel/btf/vmlinux", { "garbage" }))
    assert.are.equal("bpf.min_core_btf: object 1 must be a string, got number",
      h.error_of(bpf.min_core_btf, "/sys/kernel/btf/vmlinux", { 1 }))
    assert.are.equal("/etc/passwd is not usable BTF: Invalid argument", h.error_of(bpf.min_core_btf, "/etc/passwd", {}))
    assert.are.equal("the kernel BTF given is not BTF: Invalid argument", h.error_of(bpf.kernel_btf, "x"))
    out, code = h.run(("%s bundle --min-btf %s/nothing %s/reads.lua"):format(h.luabpf, dir, dir))
    assert.are.same({ "luabpf: bundle: --min-btf: " .. dir .. "/nothing holds no kernel BTF files (RELEASE.btf)\n", 1 },
      { out, code })
  end)

  it("several recorded runs serve C that differs by argument; an unrecorded one names its bpf.new", function()
    write(dir .. "/sized.lua", [[
local bpf = require "bpf"
local n = tonumber(arg[1])
local b <close> = bpf.new("u64 table[" .. n .. "] = {};\nSEC(\"tp/syscalls/sys_enter_getpid\") int f(void *c) { return 0; }")
print(#b.globals.table)
]])
    -- A run that fails (a usage error, say) makes no bundle.
    write(dir .. "/fails.lua", "if arg[2] == 'bad' then os.exit(2) end\n")
    assert.are.same({ "luabpf: the run of " .. dir .. "/fails.lua ok bad exited with status 2: a bundle records runs "
      .. "that work, so fix its arguments\n", 1 }, { bundle(dir .. "/fails.lua", dir .. "/fails.lbpf", "-- ok bad") })
    local out, code = bundle(dir .. "/sized.lua", dir .. "/sized.lbpf", "-- 3 -- 5")
    assert.are.equal(0, code, out)
    assert.matches("sized.lbpf: 2 objects", out)
    h.run("rm " .. dir .. "/sized.lua")
    assert.are.same({ "3\n", 0 }, { run_without_compiler(dir, "sized.lbpf 3") })
    assert.are.same({ "5\n", 0 }, { run_without_compiler(dir, "sized.lbpf 5") })
    out, code = run_without_compiler(dir, "sized.lbpf 4")
    assert.are.equal(1, code)
    assert.matches("luabpf: sized.lbpf: this bundle has no object for the bpf.new at sized.lua:3: its C text (or cflags) "
      .. "differs from every run recorded by luabpf bundle; record a run with these arguments (luabpf bundle ... -- "
      .. "ARGS), or keep the C fixed and pass what varies as const volatile values (opts.rodata)", out, 1, true)
  end)

  it("a damaged, untrusted or newer bundle, or one needing what the kernel lacks, is refused before it loads", function()
    write(dir .. "/one.lua", [[
local bpf = require "bpf"
local b <close> = bpf.new([=[
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int f(void *c) { return 0; }]=])
print("ran")
]])
    local out, code = bundle(dir .. "/one.lua", dir .. "/one.lbpf")
    assert.are.equal(0, code, out)
    -- What the programs' sections and the maps' types need.
    assert.matches("\nfeatures=ringbuf,tracepoint\n", read(dir .. "/one.lbpf"), 1, true)
    assert.are.same({ "ran\n", 0 }, { run_without_compiler(dir, "one.lbpf") })
    local good = read(dir .. "/one.lbpf")
    local function refused(data, msg)
      write(dir .. "/bad.lbpf", data)
      local text, rc = run_without_compiler(dir, "bad.lbpf")
      assert.are.equal(1, rc, text)
      assert.matches("luabpf: " .. msg, text, 1, true)
    end
    local at = good:find("\127ELF", 1, true)
    refused(good:sub(1, at + 40) .. "X" .. good:sub(at + 42), "bad.lbpf is damaged: entry object '")
    refused(good:sub(1, #good - 100), "bad.lbpf is damaged")
    refused(good:gsub("^luabpf%-bundle 1", "luabpf-bundle 2"), "bad.lbpf is a bundle of format 2, made by a newer "
      .. "luabpf; this luabpf " .. bpf.version .. " reads format 1")
    local future = ("9"):rep(#bpf.version)
    refused(with_manifest(good, "luabpf=[%d.]+", "luabpf=" .. future),
      "bad.lbpf was made by luabpf " .. future .. ", newer than this luabpf " .. bpf.version)
    local needs = with_manifest(good, "features=ringbuf,tracepoint", "features=kprobes           ")
    refused(needs, "bad.lbpf needs kprobes, which this kernel does not offer (bpf.features().kprobes is false)")
    write(dir .. "/bad.lbpf", good)
    h.run("chmod o+w " .. dir .. "/bad.lbpf")
    out, code = run_without_compiler(dir, "bad.lbpf")
    assert.are.equal(1, code)
    assert.matches("bad.lbpf is writable by group or others (chmod go-w bad.lbpf)", out, 1, true)
  end)
end)
