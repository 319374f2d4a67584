-- bpf.bundle: a script and the BPF objects it compiles, in one file for
-- machines with no compiler. `luabpf bundle` records runs of the script and
-- writes the file; `luabpf FILE.lbpf` checks it and runs the script with
-- every bpf.new served from the recorded objects, never compiling.
local bpf = require "bpf"

local M = {}
local MAGIC, FORMAT = "luabpf-bundle", 1
local RECORD_SECONDS = 10

-- What decides a compiled object's code: the C text, the cflags, the prelude.
local function key(src, opts)
  opts = opts or {}
  local cflags = type(opts.cflags) == "table" and table.concat(opts.cflags, "\0") or ""
  return bpf.hash(table.concat({ src, cflags, tostring(opts.prelude ~= false) }, "\1"))
end

local function is_c(src) return type(src) == "string" and src:sub(1, 4) ~= "\127ELF" end

-- The options that still mean something once the C is compiled.
local function load_opts(opts)
  if type(opts) ~= "table" then return opts end
  local copy = {}
  for k, v in pairs(opts) do
    if k ~= "cflags" and k ~= "prelude" and k ~= "name" and k ~= "line" and k ~= "portable" then copy[k] = v end
  end
  return copy
end

-- The kernel feature (a bpf.features() name) a program's section needs.
local NEEDS = {
  kprobe = "kprobes", kretprobe = "kprobes", ["kprobe.multi"] = "kprobes", ["kretprobe.multi"] = "kprobes",
  ksyscall = "kprobes", uprobe = "uprobes", uretprobe = "uprobes", ["uprobe.multi"] = "uprobes",
  ["uretprobe.multi"] = "uprobes", usdt = "uprobes", fentry = "tracing", fexit = "tracing", fmod_ret = "tracing",
  lsm = "tracing", iter = "tracing", tp_btf = "tracing", tp = "tracepoint", tracepoint = "tracepoint",
  raw_tp = "raw_tracepoint", raw_tracepoint = "raw_tracepoint", perf_event = "perf_event", xdp = "xdp",
  tc = "tc", tcx = "tc", classifier = "tc", socket = "socket_filter", cgroup_skb = "cgroup_skb",
}

-- The feature a map's type needs, beyond the map types every BPF kernel has.
local MAP_NEEDS = { ringbuf = "ringbuf", user_ringbuf = "user_ringbuf", bloom_filter = "bloom_filter",
  lpm_trie = "lpm_trie" }

-- The features an object's programs and maps need, by sections and map types.
local function features_of(bytes, into)
  local b <close> = bpf.open(bytes)
  for _, p in pairs(b.progs) do
    local need = NEEDS[(p.section or ""):match("^([^/]+)")]
    if need then into[need] = true end
  end
  for _, m in pairs(b.maps) do
    local need = MAP_NEEDS[m.type]
    if need then into[need] = true end
  end
end

-- ---- the file: a header line, entries, and an end line with a checksum ----

local function entry(kind, name, data)
  return ("%s %d %s %s\n"):format(kind, #data, bpf.hash(data), name) .. data .. "\n"
end

local function manifest_text(m)
  local lines = {}
  for _, k in ipairs { "luabpf", "format", "kernel", "features", "objects", "btf" } do
    lines[#lines + 1] = k .. "=" .. tostring(m[k])
  end
  return table.concat(lines, "\n") .. "\n"
end

-- The entries of a bundle's bytes, each checked, or an error naming the damage.
local function parse(data, path)
  local header, pos = data:match("^(" .. MAGIC:gsub("%p", "%%%0") .. " %d+)\n()")
  if not header then error(path .. " is not a luabpf bundle", 0) end
  local format = tonumber(header:match("%d+$"))
  if format > FORMAT then
    error(("%s is a bundle of format %d, made by a newer luabpf; this luabpf %s reads format %d: "
      .. "upgrade luabpf, or bundle the script again with this one"):format(path, format, bpf.version, FORMAT), 0)
  end
  local entries, sums = {}, {}
  while true do
    local kind, size, sum, name, start = data:match("^(%a+) (%d+) (%x+) ([^\n]*)\n()", pos)
    if not kind then error(path .. " is damaged: an entry's header is unreadable at byte " .. pos, 0) end
    if kind == "end" then
      if bpf.hash(table.concat(sums)) ~= sum then error(path .. " is damaged: the entries do not add up", 0) end
      return entries
    end
    size = tonumber(size)
    local body = data:sub(start, start + size - 1)
    if #body ~= size or data:sub(start + size, start + size) ~= "\n" then
      error(("%s is damaged: entry %s '%s' is cut short"):format(path, kind, name), 0)
    end
    if bpf.hash(body) ~= sum then
      error(("%s is damaged: entry %s '%s' fails its checksum"):format(path, kind, name), 0)
    end
    entries[#entries + 1] = { kind = kind, name = name, data = body }
    sums[#sums + 1] = sum
    pos = start + size + 1
  end
end

local function parse_manifest(text)
  local m = {}
  for k, v in text:gmatch("([%w_]+)=([^\n]*)") do m[k] = v end
  return m
end

-- "0.1.0" < "0.2.0", numerically part by part.
local function newer(a, b)
  local x, y = {}, {}
  for n in a:gmatch("%d+") do x[#x + 1] = tonumber(n) end
  for n in b:gmatch("%d+") do y[#y + 1] = tonumber(n) end
  for i = 1, math.max(#x, #y) do
    if (x[i] or 0) ~= (y[i] or 0) then return (x[i] or 0) > (y[i] or 0) end
  end
  return false
end

-- ---- recording ----

local Stop = {}

-- Runs the script once with args, compiling and loading for real, but with
-- b:run, bpf.run and bpf.sleep returning at once and os.exit ending only
-- the run; objects and modules collect what it compiled and required.
-- The kernel types a script looks up by name, which --min-btf keeps whole.
local LOOKUPS = { kernel_enum = "enum ", kernel_has_type = "", kernel_has_field = "" }

local function record_run(script, args, objects, modules, all_modules)
  local methods = debug.getregistry()["bpf.Object.methods"]
  local saved = { new = bpf.new, open = bpf.open, compile = bpf.compile, sleep = bpf.sleep, brun = bpf.run,
    run = methods.run, exit = os.exit, require = require, arg = arg }
  for fn, prefix in pairs(LOOKUPS) do
    saved[fn] = bpf[fn]
    bpf[fn] = function(name, ...)
      if type(name) == "string" then objects.types[(name:find("^%a+ ") and "" or prefix) .. name] = true end
      return saved[fn](name, ...)
    end
  end
  local function compiled(src, opts)
    local k = key(src, opts)
    if not objects.by_key[k] then
      local o = type(opts) == "table" and opts or {}
      objects.by_key[k] = saved.compile(src, { cflags = o.cflags, prelude = o.prelude, name = o.name, line = o.line,
        strip = true, portable = true })
      objects[#objects + 1] = k
    end
    return objects.by_key[k]
  end
  bpf.new = function(src, opts)
    if is_c(src) then return saved.new(compiled(src, opts), load_opts(opts)) end
    return saved.new(src, opts)
  end
  bpf.open = function(src, opts)
    if is_c(src) then return saved.open(compiled(src, opts), load_opts(opts)) end
    return saved.open(src, opts)
  end
  bpf.compile = function(src, opts) return compiled(src, opts) end
  bpf.sleep = function() return true end
  bpf.run = function() return 0, "duration" end
  methods.run = function() return 0, "duration" end
  local status = 0
  os.exit = function(code)
    status = code == nil and 0 or code == true and 0 or code == false and 1 or code
    error(Stop, 0)
  end
  -- The project's modules; those under /usr are the target's packages
  -- (lua-argparse), except in an executable, which must stand alone.
  require = function(name)
    if not package.loaded[name] and not package.preload[name] then
      local path = package.searchpath(name, package.path)
      local f = path and (all_modules or not path:find("^/usr/")) and io.open(path)
      if f then
        modules[name] = modules[name] or f:read("a")
        f:close()
      end
    end
    return saved.require(name)
  end
  local deadline = bpf.ktime_ns() + RECORD_SECONDS * 1e9
  debug.sethook(function()
    if bpf.ktime_ns() > deadline then error(Stop, 0) end
  end, "", 100000)
  arg = { [0] = script, table.unpack(args) }
  local chunk, why = loadfile(script)
  local ok, err = true, nil
  if chunk then ok, err = pcall(chunk, table.unpack(args)) end
  debug.sethook()
  bpf.new, bpf.open, bpf.compile, bpf.sleep, bpf.run = saved.new, saved.open, saved.compile, saved.sleep, saved.brun
  for fn in pairs(LOOKUPS) do bpf[fn] = saved[fn] end
  methods.run, os.exit, require, arg = saved.run, saved.exit, saved.require, saved.arg
  collectgarbage()
  if not chunk then error(why, 0) end
  if not ok and err ~= Stop then error(err, 0) end
  if status ~= 0 then
    error(("the run of %s%s exited with status %s: a bundle records runs that work, so fix its arguments"):format(
      script, #args > 0 and " " .. table.concat(args, " ") or "", tostring(status)), 0)
  end
end

local function shell_quote(s) return "'" .. s:gsub("'", "'\\''") .. "'" end

-- The kernel BTF files in dir (RELEASE.btf, as BTFHub names them): a list
-- of {release, path}, or nil and why not.
function M.btf_files(dir)
  local list = {}
  local ls = io.popen("ls -1 -- " .. shell_quote(dir) .. " 2>/dev/null")
  for name in ls:lines() do
    local path = dir .. "/" .. name
    local f = io.open(path, "rb")
    -- Directories open but cannot be read.
    if f and f:read(0) then list[#list + 1] = { (name:gsub("%.btf$", "")), path } end
    if f then f:close() end
  end
  ls:close()
  if #list == 0 then return nil, dir .. " holds no kernel BTF files (RELEASE.btf)" end
  return list
end

-- For each kernel BTF file in dir, the part of it the objects' CO-RE
-- relocations need: { {release, bytes}... }.
local function min_btfs(dir, objects)
  local files, why = M.btf_files(dir)
  if not files then error("bundle --min-btf: " .. why, 0) end
  local elves, types = {}, {}
  for i, k in ipairs(objects) do elves[i] = objects.by_key[k] end
  for name in pairs(objects.types) do types[#types + 1] = name end
  table.sort(types)
  for _, f in ipairs(files) do f[2] = bpf.min_core_btf(f[2], elves, types) end
  return files
end

-- Records the script once per list of arguments; returns the bundle's
-- bytes, its number of objects and of kernels' BTF. opts.all_modules takes
-- the Lua modules of /usr too; opts.min_btf is --min-btf's directory.
local function build(script, runs, opts)
  local objects, modules = { by_key = {}, types = {} }, {}
  for _, args in ipairs(runs) do record_run(script, args, objects, modules, opts.all_modules) end
  local f = io.open(script, "rb")
  if not f then error("cannot read " .. script, 0) end
  local text = f:read("a"):gsub("^#![^\n]*", "")
  f:close()
  local features = {}
  for _, k in ipairs(objects) do features_of(objects.by_key[k], features) end
  local names = {}
  for n in pairs(features) do names[#names + 1] = n end
  table.sort(names)
  local uname = io.popen("uname -r")
  local kernel = uname:read("l") or "?"
  uname:close()
  local btfs, releases = opts.min_btf and min_btfs(opts.min_btf, objects) or {}, {}
  for i, b in ipairs(btfs) do releases[i] = b[1] end
  local parts = { entry("manifest", "manifest", manifest_text {
    luabpf = bpf.version, format = FORMAT, kernel = kernel, features = table.concat(names, ","), objects = #objects,
    btf = table.concat(releases, ","),
  }), entry("script", script:match("[^/]*$"), text) }
  local mods = {}
  for name in pairs(modules) do mods[#mods + 1] = name end
  table.sort(mods)
  for _, name in ipairs(mods) do parts[#parts + 1] = entry("module", name, modules[name]) end
  for _, k in ipairs(objects) do parts[#parts + 1] = entry("object", k, objects.by_key[k]) end
  for _, b in ipairs(btfs) do parts[#parts + 1] = entry("btf", b[1], b[2]) end
  local sums = {}
  for i, p in ipairs(parts) do sums[i] = p:match("^%a+ %d+ (%x+)") end
  return MAGIC .. " " .. FORMAT .. "\n" .. table.concat(parts) .. ("end 0 %s end\n"):format(bpf.hash(table.concat(sums))),
    #objects, #btfs
end

-- Writes data to path atomically, executable.
local function write_file(path, data)
  local tmp = path .. ".tmp"
  local w, werr = io.open(tmp, "wb")
  if not w then error(werr, 0) end
  w:write(data)
  w:close()
  os.execute("chmod 0755 " .. shell_quote(tmp))
  local ok, rerr = os.rename(tmp, path)
  if not ok then error(rerr, 0) end
end

-- What ends an executable that carries a bundle: a magic word and the
-- bundle's size in 16 hex digits.
local EXE_MAGIC = "LBPFEXE1"
local TRAILER = #EXE_MAGIC + 16

-- Records the script once per list of arguments and writes the bundle to
-- out; with opts.exe, an executable: the static host (opts.host) with the
-- bundle behind it; with opts.min_btf, minimized BTF of the kernels there.
-- Returns the number of objects, the file's size and the number of kernels.
function M.create(script, runs, out, opts)
  opts = opts or {}
  local data, n, kernels = build(script, runs, { all_modules = opts.exe, min_btf = opts.min_btf })
  if opts.exe then
    local host = opts.host and io.open(opts.host, "rb")
    if not host then
      error("bundle --exe: no static host (luabpf-static) beside luabpf or in its lib directory; build it with make", 0)
    end
    data = host:read("a") .. data .. EXE_MAGIC .. ("%016x"):format(#data)
    host:close()
  end
  write_file(out, data)
  return n, #data, kernels
end

-- ---- running ----

-- Whether the file at path starts like a bundle.
function M.is_bundle(path)
  local f = io.open(path, "rb")
  if not f then return false end
  local head = f:read(#MAGIC)
  f:close()
  return head == MAGIC
end

-- The bundle an executable at path carries, or nil: its trailer is checked
-- first, so a plain luabpf reads 24 bytes at startup and no more.
function M.embedded(path)
  local f = path and io.open(path, "rb")
  if not f then return nil end
  local size = f:seek("end")
  local trailer = size and size > TRAILER and f:seek("end", -TRAILER) and f:read(TRAILER)
  f:close()
  local n = trailer and trailer:sub(1, #EXE_MAGIC) == EXE_MAGIC and tonumber(trailer:sub(#EXE_MAGIC + 1), 16)
  if not n then return nil end
  local data = bpf.read_trusted(path)
  return data:sub(#data - TRAILER - n + 1, #data - TRAILER)
end

-- On a kernel without BTF of its own (and no --btf), the bundle's BTF of
-- this kernel's release, from --min-btf.
local function use_btf(btfs, path)
  if not next(btfs) or os.getenv("LUABPF_BTF") or bpf.features({ "btf" }).btf then return end
  local f = io.open("/proc/sys/kernel/osrelease")
  local release = f and f:read("l") or "?"
  if f then f:close() end
  if not btfs[release] then
    local have = {}
    for r in pairs(btfs) do have[#have + 1] = r end
    table.sort(have)
    error(("%s: this kernel (%s) has no BTF of its own (/sys/kernel/btf/vmlinux) and the bundle carries the BTF of "
      .. "other kernels only (%s): bundle it again with this kernel's BTF in --min-btf DIR, or give that BTF with "
      .. "--btf FILE"):format(path, release, table.concat(have, ", ")), 0)
  end
  bpf.kernel_btf(btfs[release])
end

-- Checks a bundle's bytes (whole, for this luabpf and this kernel); returns
-- the script's chunk with bpf.new served from it. name is for messages.
local function load_bytes(data, path)
  local entries = parse(data, path)
  local manifest, script, objects, modules, btfs = nil, nil, {}, {}, {}
  for _, e in ipairs(entries) do
    if e.kind == "manifest" then manifest = parse_manifest(e.data)
    elseif e.kind == "script" then script = e
    elseif e.kind == "object" then objects[e.name] = e.data
    elseif e.kind == "module" then modules[e.name] = e.data
    elseif e.kind == "btf" then btfs[e.name] = e.data end
  end
  if not manifest or not script then error(path .. " is damaged: it has no manifest or no script", 0) end
  if newer(manifest.luabpf or "0", bpf.version) then
    error(("%s was made by luabpf %s, newer than this luabpf %s: upgrade luabpf, or bundle the script again "
      .. "with this one"):format(path, manifest.luabpf, bpf.version), 0)
  end
  local needs = {}
  for need in (manifest.features or ""):gmatch("[^,%s]+") do needs[#needs + 1] = need end
  local have = bpf.features(needs)
  for _, need in ipairs(needs) do
    if have[need] == false then
      error(("%s needs %s, which this kernel does not offer (bpf.features().%s is false)"):format(path, need, need), 0)
    end
  end
  use_btf(btfs, path)
  for name, text in pairs(modules) do
    package.preload[name] = function(...) return assert(load(text, "@" .. name))(...) end
  end
  local function served(src, opts, what)
    if not is_c(src) then return src, opts end
    local obj = objects[key(src, opts)]
    if obj then return obj, load_opts(opts) end
    -- The script's line: past C frames and the embedded modules (bpf.tool's t:load).
    local info, level = {}, 3
    repeat
      info = debug.getinfo(level, "Sl") or {}
      level = level + 1
    until not info.source or (info.what ~= "C" and info.source:sub(1, 1) ~= "=")
    error(("%s: this bundle has no object for the %s at %s:%s: its C text (or cflags) differs from every run "
      .. "recorded by luabpf bundle; record a run with these arguments (luabpf bundle ... -- ARGS), or keep the C "
      .. "fixed and pass what varies as const volatile values (opts.rodata)"):format(path, what,
      info.short_src or "?", info.currentline or "?"), 0)
  end
  local function serving(real, what)
    return function(src, opts)
      local s2, o = served(src, opts, what)
      return real(s2, o)
    end
  end
  bpf.new, bpf.open = serving(bpf.new, "bpf.new"), serving(bpf.open, "bpf.open")
  bpf.compile = function(src, opts) return (served(src, opts, "bpf.compile")) end
  return assert(load(script.data, "@" .. script.name))
end
M.load_bytes = load_bytes

-- The same for the bundle file at path, read only if it is trusted.
function M.load(path)
  return load_bytes(bpf.read_trusted(path), path)
end

return M
