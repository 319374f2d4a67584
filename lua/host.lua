-- The luabpf host's logic: command-line options as lua5.4 takes them, running
-- a script or -e chunks, and the REPL. host.c embeds this file and passes `host`.
local host, argv = ...

local usage = [=[
usage: luabpf [options] [script [args]]
       luabpf bundle [--exe] [--min-btf dir] script.lua [-o out] [-- args]...
       luabpf bundle.lbpf [args]
Available options are:
  -e stat   execute string 'stat'
  --btf F   relocate against the kernel BTF in file F (LUABPF_BTF), for
            kernels without /sys/kernel/btf/vmlinux
  -p PID    trace only process PID: FILTER_TARGET() in the C skips others
  -c CMD    run CMD (its words: no shell) once the script first waits, trace
            only it, and end bpf.sleep and b:run when it exits
  -i        enter the REPL after running script or -e
  -l [G]    list the probes glob G matches (tracepoint:syscalls:*open*,
            uprobe:/bin/bash:read*, usdt:/path:*, software:*); -lv also
            shows a tracepoint's fields and a USDT probe's arguments
  -v        show version information
  -h        show this help
  --        stop handling options
  -         run standard input as a script
With no script and no -e, luabpf opens the REPL on a terminal and otherwise
runs standard input. luabpf bundle runs the script once per "-- args" (once
with none if none are given), recording the BPF objects it compiles, and
writes them with the script to one file that runs with no compiler; --exe
makes that file an executable that needs no luabpf either; --min-btf adds,
for each kernel BTF file in dir (named RELEASE.btf), the part the objects
need, used where that kernel has no /sys/kernel/btf/vmlinux.]=]

local function report(msg)
  io.stderr:write("luabpf: ", tostring(msg), "\n")
  io.stderr:flush()
end

-- A traceback without the host's own frames, which say nothing about the script.
local function script_traceback(msg)
  msg = tostring(msg)
  local cut = msg:find("\n\t%[C%]: in field 'call'")
  if cut then msg = msg:sub(1, cut - 1) end
  return (msg:gsub("\nstack traceback:$", ""))
end

-- luabpf's own steps (bundle, -l) fail with messages: no traceback.
local function message_only(msg)
  return (tostring(msg):gsub("\nstack traceback:.*$", ""))
end

-- Runs f through host.call (interruptible by Ctrl-C); reports an error as
-- describe(error) puts it.
local function call_reporting(describe, f, ...)
  local results = table.pack(host.call(f, ...))
  if not results[1] then
    report(describe(results[2]))
    return false
  end
  return true, table.unpack(results, 2, results.n)
end

local function run(f, ...) return call_reporting(script_traceback, f, ...) end

local function chunk_or_report(f, err)
  if not f then report(err) end
  return f
end

local function print_results(...)
  local n = select("#", ...)
  if n == 0 then return end
  local show = require("bpf.repl").show
  local out = {}
  for i = 1, n do out[i] = show((select(i, ...))) end
  print(table.concat(out, "\t"))
end

local function incomplete(err)
  return err and err:sub(-5) == "<eof>"
end

-- Reads one statement, asking for more lines while the chunk is incomplete.
-- Returns the function, or nil and an error; nil, nil at end of input.
local function read_statement()
  local line = host.readline("> ")
  while line == false do -- Ctrl-C: the line is dropped, readline has moved to a new one
    line = host.readline("> ")
  end
  if line == nil then return nil, nil end
  local topic = line:match("^%s*:help%s*(%S*)%s*$")
  if topic then
    host.add_history(line)
    print(require("bpf.repl").help(host.readme(), topic ~= "" and topic or "bpf.new"))
    return false, nil
  end
  local text = line
  local f = load("return " .. text, "=stdin")
  local err
  if not f then
    f, err = load(text, "=stdin")
    while not f and incomplete(err) do
      local more = host.readline(">> ")
      if more == nil or more == false then
        err = nil
        break
      end
      text = text .. "\n" .. more
      f, err = load(text, "=stdin")
    end
  end
  if text:find("%S") then host.add_history(text) end
  return f or false, err
end

local function repl()
  local history = os.getenv("HOME") and (os.getenv("HOME") .. "/.luabpf_history")
  if history then host.read_history(history) end
  host.set_completer(require("bpf.repl").complete)
  -- Ctrl-C stops the statement: bpf.sleep and b:run raise instead of returning.
  debug.getregistry()["luabpf.interrupt_raises"] = true
  print("luabpf " .. bpf.version .. " (" .. _VERSION .. "); Ctrl-D exits, Ctrl-C interrupts, :help NAME, Tab completes")
  while true do
    local f, err = read_statement()
    if f == nil and err == nil then break end
    if f then
      local res = table.pack(run(f))
      if res[1] then print_results(table.unpack(res, 2, res.n)) end
    elseif err then
      report(err)
    end
  end
  io.write("\n")
  if history then host.write_history(history) end
end

-- The static host luabpf bundle --exe puts a bundle behind: LUABPF_STATIC_HOST,
-- beside this luabpf (the build directory), or in the lib directory it installs to.
local function static_host()
  local self = host.self() or ""
  for _, path in ipairs { os.getenv("LUABPF_STATIC_HOST") or "", (self:match("^(.*)/[^/]*$") or ".") .. "/luabpf-static",
    (self:match("^(.*)/bin/[^/]*$") or "/usr/local") .. "/lib/luabpf/luabpf-static" } do
    local f = io.open(path, "rb")
    if f then
      f:close()
      return path
    end
  end
end

-- luabpf bundle [--exe] [--min-btf dir] script.lua [-o out] [-- args]...
local function bundle(rest)
  local exe, min_btf = false, nil
  while rest[1] == "--exe" or rest[1] == "--min-btf" do
    if table.remove(rest, 1) == "--exe" then
      exe = true
    else
      min_btf = table.remove(rest, 1)
      if not min_btf then report("bundle: --min-btf needs a directory of kernel BTF files\n" .. usage); return 1 end
    end
  end
  local script, out, runs, k = rest[1], nil, {}, 2
  if not script then report("bundle: which script?\n" .. usage); return 1 end
  if rest[k] == "-o" then out, k = rest[k + 1], k + 2 end
  while rest[k] do
    if rest[k] ~= "--" then report("bundle: expected -- before a run's arguments, not '" .. rest[k] .. "'"); return 1 end
    local args = {}
    k = k + 1
    while rest[k] and rest[k] ~= "--" do args[#args + 1], k = rest[k], k + 1 end
    runs[#runs + 1] = args
  end
  if #runs == 0 then runs[1] = {} end
  if min_btf then
    local files, why = require("bpf.bundle").btf_files(min_btf)
    if not files then report("bundle: --min-btf: " .. why); return 1 end
  end
  out = out or (script:gsub("%.lua$", "") .. (exe and "" or ".lbpf"))
  -- A script's own failure comes back through the recording's pcall, where
  -- no traceback of it is left: a message too.
  local ok, n, size, kernels = call_reporting(message_only, require("bpf.bundle").create, script, runs, out,
    { exe = exe, host = static_host(), min_btf = min_btf })
  if not ok then return 1 end
  io.stderr:write(("luabpf: %s: %d object%s, %s%d bytes\n"):format(out, n, n == 1 and "" or "s",
    min_btf and ("BTF for %d kernel%s, "):format(kernels, kernels == 1 and "" or "s") or "", size))
  return 0
end

-- An executable made by luabpf bundle --exe runs its bundle, with every
-- argument the script's.
do
  local bundles = require "bpf.bundle"
  local ok, data = pcall(bundles.embedded, host.self())
  if not ok then report(data); return 1 end
  if data then
    local f
    ok, f = pcall(bundles.load_bytes, data, argv[0])
    if not ok then report(f); return 1 end
    local args = { [0] = argv[0] }
    for k = 1, #argv do args[k] = argv[k] end
    arg = args
    return run(f, table.unpack(args, 1, #args)) and 0 or 1
  end
end

if argv[1] == "bundle" then
  local rest = {}
  for k = 2, #argv do rest[#rest + 1] = argv[k] end
  return bundle(rest)
end

-- Options, then the script and its arguments, as lua5.4 reads them.
-- finish: what -c leaves to do when the script is over.
local i, chunks, interactive, script, finish = 1, {}, false, nil, function() end
while argv[i] do
  local a = argv[i]
  if a == "--" then i = i + 1; break
  elseif a == "-" then break
  elseif a == "-e" then
    if not argv[i + 1] then report("'-e' needs an argument\n" .. usage); return 1 end
    chunks[#chunks + 1] = argv[i + 1]
    i = i + 2
  elseif a:sub(1, 2) == "-e" then chunks[#chunks + 1] = a:sub(3); i = i + 1
  elseif a == "-i" then interactive = true; i = i + 1
  elseif a == "-l" or a == "-lv" then
    return call_reporting(message_only, require("bpf.list").print, argv[i + 1], a == "-lv") and 0 or 1
  elseif a == "-p" then
    local pid = math.tointeger(tonumber(argv[i + 1] or ""))
    if not pid or pid <= 0 then report("'-p' needs a process id\n" .. usage); return 1 end
    local f = io.open("/proc/" .. pid .. "/stat")
    if not f then report(("-p %d: no such process"):format(pid)); return 1 end
    f:close()
    bpf.set_target(pid)
    i = i + 2
  elseif a == "-c" then
    if not argv[i + 1] then report("'-c' needs a command\n" .. usage); return 1 end
    local words = {}
    for w in argv[i + 1]:gmatch("%S+") do words[#words + 1] = w end
    if #words == 0 then report("'-c' needs a command\n" .. usage); return 1 end
    local pid, gate = host.spawn_held(words)
    local released = false
    local function release()
      if not released then host.release(gate) end
      released = true
    end
    bpf.set_target(pid, release)
    finish = function()
      release()
      host.finish(pid)
    end
    i = i + 2
  elseif a == "--btf" then
    if not argv[i + 1] then report("'--btf' needs a file\n" .. usage); return 1 end
    host.setenv("LUABPF_BTF", argv[i + 1])
    i = i + 2
  elseif a == "-v" then print("luabpf " .. bpf.version .. " (" .. _VERSION .. ")"); i = i + 1
    if not argv[i] and #chunks == 0 then return 0 end
  elseif a == "-h" or a == "--help" then print(usage); return 0
  elseif a:sub(1, 1) == "-" then report("unrecognized option '" .. a .. "'\n" .. usage); return 1
  else break end
end
script = argv[i]

local args = {}
for k = 0, #argv do args[k - i] = argv[k] end
arg = args

for _, c in ipairs(chunks) do
  local oneliner = require "bpf.oneliner"
  local f
  if oneliner.is_program(c) then
    local ok, chunk = pcall(oneliner.compile, c)
    if ok then f = chunk else report("-e: " .. chunk) end
  else
    f = chunk_or_report(load(c, "=(command line)"))
  end
  if not f or not run(f) then finish(); return 1 end
end

-- A bundle's script, with bpf.new served from its objects; or the script.
local function load_script(path)
  local bundles = require "bpf.bundle"
  if path and bundles.is_bundle(path) then
    local ok, f = pcall(bundles.load, path)
    if ok then return f end
    return nil, f
  end
  return loadfile(path)
end

if script then
  local f = chunk_or_report(load_script(script ~= "-" and script or nil))
  if not f or not run(f, table.unpack(args, 1, #args)) then finish(); return 1 end
elseif #chunks == 0 and not interactive then
  if host.isatty(0) then
    interactive = true
  else
    local f = chunk_or_report(loadfile(nil))
    if not f or not run(f) then finish(); return 1 end
  end
end

if interactive then repl() end
bpf._print_live_aggregations()
finish()
return 0
