-- Misuse from Lua, each case in its own luabpf process, so a crash shows as
-- a signal rather than a lost test: closed objects and maps used late,
-- closing from inside a callback, metamethods called with the wrong self,
-- strings with NUL bytes where C would cut them, numbers out of range.
local h = require "helper"

-- Runs a script; returns what it printed (stdout and stderr) and its exit code.
local function run_case(script)
  local dir = h.tmpdir()
  h.write_file(dir .. "/case.lua", script)
  local out, code = h.run("cd " .. dir .. " && " .. h.luabpf .. " case.lua")
  h.run("rm -rf " .. dir)
  return out, code
end

-- The object most cases start from: a queue, a hash, a global and a ring
-- buffer that getpid fills.
local prologue = [[
local f = io.open("/proc/self/stat") local me = tonumber(f:read("l"):match("^%d+")) f:close()
local src = [=[
BPF_QUEUE(q, u32, 16);
BPF_HASH(counts, u32);
u64 g = 0;
const volatile u32 me = 0;
LUABPF_RINGBUF(ev, 4096);
SEC("tp/syscalls/sys_enter_openat") int p(void *c)
{
	if (bpf_get_current_pid_tgid() >> 32 != me) return 0;
	u32 *r = luabpf_ringbuf_reserve(ev, sizeof(*r), 0);
	if (r) { *r = 7; bpf_ringbuf_submit(r, 0); }
	return 0;
}
]=]
local b = bpf.new(src, {rodata = {me = me}})
-- One ring buffer record each.
local function open_one() io.open("/dev/null"):close() end
local function try(f, ...) local ok, err = pcall(f, ...) print(ok, err) end
]]

local function case(script)
  local out, code = run_case(prologue .. script)
  return out, code
end

-- The case ended normally (no signal) and printed exactly these lines.
local function expect_lines(out, code, lines)
  assert.are.equal(0, code, out)
  assert.are.equal(table.concat(lines, "\n") .. "\n", out)
end

-- "case.lua:N:" for line k of a case's own script (after the prologue).
local prologue_lines = select(2, prologue:gsub("\n", ""))
local function at(k)
  return ("case.lua:%d:"):format(prologue_lines + k)
end

-- "case.lua:N:" for the line of script that holds marker.
local function line_in(script, marker)
  local n = 0
  for line in (script .. "\n"):gmatch("(.-)\n") do
    n = n + 1
    if line:find(marker, 1, true) then return ("case.lua:%d:"):format(n) end
  end
  error("no line with " .. marker)
end

-- Objects of their own for the callback cases: a struct record on each
-- unlink this process makes, which nothing else in luabpf calls.
local reentry_prologue = [[
local f = io.open("/proc/self/stat") local me = tonumber(f:read("l"):match("^%d+")) f:close()
local src = [=[
struct rec { u32 v; u32 w; };
LUABPF_RINGBUF(ev, 4096);
const volatile u32 me = 0;
SEC("tp/syscalls/sys_enter_unlink") int p(void *c)
{
	if (bpf_get_current_pid_tgid() >> 32 != me) return 0;
	struct rec *r = luabpf_ringbuf_reserve(ev, sizeof(*r), 0);
	if (r) { r->v = 7; r->w = 8; bpf_ringbuf_submit(r, 0); }
	return 0;
}
]=]
local function one_event() os.remove("/nonexistent/luabpf-case") end
local function try(f, ...) local ok, err = pcall(f, ...) print(ok, (tostring(err):gsub("\n.*", ""))) end
local function new() return bpf.new(src, {rodata = {me = me}}) end
]]

describe("bad input", function()
  it("a map handle's <close> leaves the object's map usable; an explicit __gc closes that handle only", function()
    local out, code = case [[
do local m <close> = b.maps.q end
try(function() b.maps.q:push(1) end)
local m = b.maps.q
getmetatable(m).__gc(m)
try(function() m:push(2) end)
try(function() b.maps.q:push(3) end)
]]
    assert.are.equal(0, code, out)
    assert.are.equal("true\tnil\nfalse\t" .. at(5) .. " map 'q' is closed\nfalse\t" .. at(6) .. " map 'q' is closed\n", out)
  end)

  it("closing the object inside its own ring buffer callback closes it when the poll ends", function()
    local out, code = case [[
local seen = 0
b:ring_buffer("ev", function(e) seen = seen + 1 do local x <close> = b end end)
open_one() open_one()
print(b:poll(100), seen, b.closed)
try(function() return b:poll(0) end)
local b2 = bpf.new(src, {rodata = {me = me}})
b2:ring_buffer("ev", function() getmetatable(b2).__gc(b2) end)
open_one()
print(b2:run { duration = 5 })
print(b2.closed)
]]
    assert.are.equal(0, code, out)
    -- Both records of the batch are delivered; the run ends when its only
    -- object is closed, well before its 5 s.
    assert.are.equal("2\t2\ttrue\nfalse\t" .. at(5) .. " this bpf object is closed\n1\tduration\ntrue\n", out)
  end)

  it("bpf.run takes up to 64 objects and says so past that", function()
    local out, code = run_case [[
local objs = {}
for i = 1, 65 do objs[i] = bpf.new([=[SEC("tp/syscalls/sys_enter_getpid") int p(void *c) { return 0; }]=], {autoattach = false}) end
objs.duration = 0.1
print(pcall(bpf.run, objs))
objs[65] = nil
print(bpf.run(objs))
print(pcall(bpf.run, objs, {duration = 1}))
]]
    assert.are.equal(0, code, out)
    assert.are.equal("false\tbpf.run: at most 64 objects\n0\tduration\nfalse\tbpf.run takes one table, the objects "
      .. "and the options together: bpf.run{b1, b2, duration = 5}\n", out)
  end)

  it("the views' metamethods refuse a self that is not their view", function()
    local out, code = case [[
try(getmetatable(b.maps).__index, 1, "counts")
try(getmetatable(b.progs).__index, "x", "p")
try(getmetatable(b.globals).__newindex, 7, "g", 1)
try(getmetatable(b.globals).__index, {}, "g")
local next_map = getmetatable(b.maps).__pairs(b.maps)
try(next_map, false)
]]
    expect_lines(out, code, {
      "false\tbad argument #1 to '?' (bpf.Maps expected, got number)",
      "false\tbad argument #1 to '?' (bpf.Programs expected, got string)",
      "false\tbad argument #1 to '?' (bpf.Globals expected, got number)",
      "false\tbad argument #1 to '?' (bpf.Globals expected, got table)",
      "false\tbad argument #1 to '?' (bpf.Maps expected, got boolean)",
    })
  end)

  it("refuses NUL bytes in paths and names, where C would cut the string", function()
    local out, code = case [[
try(function() b.maps.counts:pin("/sys/fs/bpf/luabpf_nul\0junk") end)
print(io.open("/sys/fs/bpf/luabpf_nul") == nil)
try(function() b.progs.p:pin("/sys/fs/bpf/luabpf_nul\0junk") end)
try(function() b:attach_tracepoint("raw_syscalls:sys_enter\0junk", "p") end)
try(function() b:attach_raw_tracepoint("sys_enter\0junk", "p") end)
try(function() b:attach_uprobe{path = "/bin/sh\0junk", sym = "main", fn = "p"} end)
try(function() bpf.open_pinned("/sys/fs/bpf/x\0y") end)
]]
    expect_lines(out, code, {
      "false\t" .. at(1) .. " the pin path must not contain a NUL byte (\\0): \"/sys/fs/bpf/luabpf_nul\\0...\"",
      "true",
      "false\t" .. at(3) .. " the pin path must not contain a NUL byte (\\0): \"/sys/fs/bpf/luabpf_nul\\0...\"",
      "false\t" .. at(4) .. " the tracepoint name must not contain a NUL byte (\\0): \"raw_syscalls:sys_enter\\0...\"",
      "false\t" .. at(5) .. " the raw tracepoint name must not contain a NUL byte (\\0): \"sys_enter\\0...\"",
      "false\t" .. at(6) .. " attach_uprobe: 'path' must not contain a NUL byte (\\0): \"/bin/sh\\0...\"",
      "false\t" .. at(7) .. " the pin path must not contain a NUL byte (\\0): \"/sys/fs/bpf/x\\0...\"",
    })
  end)

  it("m:unpin removes pins only: a file outside a BPF file system stays", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/victim", "keep me")
    local out, code = case(([[
try(function() b.maps.counts:unpin("%s/victim") end)
b.maps.counts:pin("/sys/fs/bpf/luabpf_unpin_test")
b.maps.counts:unpin()
print(io.open("/sys/fs/bpf/luabpf_unpin_test") == nil)
try(function() b.maps.counts:pin("/sys/fs/bpf/no_such_dir/x") end)
]]):format(dir))
    local f = io.open(dir .. "/victim")
    local kept = f and f:read("a")
    if f then f:close() end
    h.run("rm -rf " .. dir)
    assert.are.equal(0, code, out)
    assert.are.equal("keep me", kept)
    assert.are.equal(table.concat({
      ("false\t%s refusing to unpin %s/victim: it is not on a BPF file system, so it is not a pin"):format(at(1), dir),
      "true",
      "false\t" .. at(5) .. " cannot pin at /sys/fs/bpf/no_such_dir/x: directory /sys/fs/bpf/no_such_dir: No such file "
        .. "or directory (create it first, e.g. mkdir -p /sys/fs/bpf/no_such_dir)",
    }, "\n") .. "\n", out)
  end)

  it("refuses an LPM key with bytes after its prefix, and a perf event type past 32 bits", function()
    local out, code = run_case [[
local b = bpf.new[=[
struct { __uint(type, BPF_MAP_TYPE_LPM_TRIE); __uint(max_entries, 16); __uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct { u32 prefixlen; u32 addr; }); __type(value, u32); } nets SEC(".maps");
SEC("perf_event") int s(void *c) { return 0; }
]=]
print(pcall(function() b.maps.nets["10.0.0.0/8\0junk"] = 1 end))
b.maps.nets["10.0.0.0/8"] = 1
print(b.maps.nets["10.1.2.3/32"])
print(pcall(function() b:attach_perf_event{fn = "s", type = (1 << 32) + 1} end))
]]
    expect_lines(out, code, {
      "false\tcase.lua:6: map 'nets': '10.0.0.0/8' is not an address/prefix like \"10.0.0.0/8\"",
      "1",
      "false\tcase.lua:9: attach_perf_event: 'type' 4294967297 is out of range (0 to 4294967295)",
    })
  end)

  it("compiles u32 atomics (BPF ISA v3 by default) and inline asm, and names ENOTSUPP", function()
    local out, code = run_case [[
local b = bpf.new([=[
u32 x = 5;
u64 out = 0;
SEC("socket") int atomics(struct __sk_buff *skb)
{
	u32 old = __sync_val_compare_and_swap(&x, 5, 9);
	u32 prev = __sync_lock_test_and_set(&x, 11);
	u64 v;
	asm volatile("%0 = 41; %0 += 1" : "=r"(v));
	out = v * 1000000 + old * 1000 + prev;
	return 0;
}
SEC("tp/syscalls/sys_enter_getpid") int tp(void *c) { return 0; }
]=], {autoattach = false})
print(b.progs.atomics:test_run{data = ("\0"):rep(64)})
print(b.globals.out, b.globals.x)
print(pcall(b.progs.tp.test_run, b.progs.tp, {}))
]]
    assert.are.equal(0, code, out)
    local ret, rest = out:match("^(%d+)\t%d+\n(.*)$")
    assert.are.equal("0", ret, out)
    assert.are.equal("42005009\t11\nfalse\ttest_run failed: not supported by this kernel for this kind of "
      .. "program or map (ENOTSUPP)\n", rest)
  end)

  it("names the compiler's own last words when it exits on a fatal error", function()
    -- LLVM exits from its backend on inline asm it cannot encode; its message
    -- (not "Broken pipe") is the error.
    local out, code = run_case [[
print(pcall(bpf.compile, "SEC(\"socket\") int p(void *c) { asm volatile(\"call %0\" :: \"r\"(c)); return 0; }"))
]]
    assert.are.equal(0, code, out)
    assert.are.equal("false\tthe compiler exited with status 1: error: <inline asm>:1:7: invalid operand for "
      .. "instruction\n", out)
  end)

  it("returns from a 1 MB word of source at once, naming it, instead of typo-correcting it for hours", function()
    local out, code = run_case [[
local t0 = bpf.ktime_ns()
print(pcall(bpf.new, ("a"):rep(1 << 20), {name = "big.c", line = 1}))
print(pcall(bpf.compile, "int x;\n" .. ("b"):rep(5000), {name = "big.c", line = 10}))
print((bpf.ktime_ns() - t0) < 1e9)
]]
    expect_lines(out, code, {
      "false\tbig.c:1: a word over 4096 characters long; that is not C (is the source what you meant?)",
      "false\tbig.c:11: a word over 4096 characters long; that is not C (is the source what you meant?)",
      "true",
    })
  end)

  it("b:run returns on time when its callback's own writes feed the tracer it consumes", function()
    local out, code = run_case [[
local f = io.open("/proc/self/stat") local me = tonumber(f:read("l"):match("^%d+")) f:close()
local b = bpf.new([=[
LUABPF_RINGBUF(ev, 4096);
const volatile u32 me = 0;
SEC("tp/syscalls/sys_enter_write") int w(void *c)
{
	if (bpf_get_current_pid_tgid() >> 32 != me) return 0;
	u32 *r = luabpf_ringbuf_reserve(ev, 4, 0);
	if (r) { *r = 1; bpf_ringbuf_submit(r, 0); }
	return 0;
}
]=], {rodata = {me = me}})
local n = 0
local null = io.open("/dev/null", "w")
b:ring_buffer("ev", function() n = n + 1 null:write("x") null:flush() end)
null:write("x") null:flush()
local t0 = bpf.ktime_ns()
local _, why = b:run{duration = 1}
print(why, n > 1000, (bpf.ktime_ns() - t0) < 1.5e9)
]]
    assert.are.equal(0, code, out)
    assert.are.equal("duration\ttrue\ttrue\n", out)
  end)

  it("bpf.open_pinned opens a pinned program as a program, and bpf.ksymaddr returns nil for a missing name", function()
    local out, code = run_case [[
local b = bpf.new[=[SEC("socket") int s(void *c) { return 0; }]=]
local path = "/sys/fs/bpf/luabpf_test_prog_pin"
os.remove(path)
b.progs.s:pin(path)
local p = bpf.open_pinned(path)
print(p.name, p.type, p.id == b.progs.s.id)
p:unpin(path)
p:close()
print(pcall(function() return p.name end))
print(pcall(p.unpin, p, path))
print(select("#", bpf.ksymaddr("no_such_kernel_symbol")), bpf.ksymaddr("no_such_kernel_symbol"))
]]
    assert.are.equal(0, code, out)
    assert.are.equal("s\tsocket_filter\ttrue\n"
      .. "false\tcase.lua:9: this pinned program is closed\n"
      .. "false\tcannot unpin /sys/fs/bpf/luabpf_test_prog_pin: No such file or directory\n"
      .. "1\tnil\n", out)
  end)

  it("survives 300 randomly damaged ELF objects, and says what is wrong with a truncated or foreign one", function()
    local out, code = run_case [[
local elf = bpf.compile[=[
BPF_HASH(counts, u32, u64, 64);
u64 g = 1;
SEC("tp/syscalls/sys_enter_getpid") int p(void *c) { u32 k = 1; counts.increment(k, g); return 0; }
]=]
math.randomseed(7)
local loaded, refused = 0, 0
for i = 1, 300 do
  local b = { elf:byte(1, -1) }
  for _ = 1, math.random(1, 8) do b[math.random(1, #b)] = math.random(0, 255) end
  local ok, obj = pcall(bpf.new, string.char(table.unpack(b)), { autoattach = false })
  if ok then loaded = loaded + 1 obj:close() else refused = refused + 1 end
end
print(loaded + refused)
print(pcall(bpf.new, elf:sub(1, 40)))
print(pcall(bpf.new, elf:sub(1, 18) .. "\62\0" .. elf:sub(21)))
print(pcall(bpf.new, elf:sub(1, 200)))
]]
    expect_lines(out, code, {
      "300",
      "false\tnot a usable BPF object: 40 bytes is too short for an ELF header",
      "false\tnot a usable BPF object: its ELF machine is 62, not BPF (247)",
      "false\tnot a usable BPF object: its section header table is damaged",
    })
  end)

  it("names the cause libbpf gives: a missing kernel symbol, a legacy map section, a map it cannot create; and the script in the object's name", function()
    local out, code = run_case [[
print(pcall(bpf.new, [=[extern int nope(void) __ksym; SEC("tp/syscalls/sys_enter_getpid") int p(void *c) { return nope(); }]=]))
print(pcall(bpf.new, [=[struct bpf_map_def { unsigned int type, key_size, value_size, max_entries; };
struct bpf_map_def SEC("maps") m = { BPF_MAP_TYPE_ARRAY, 4, 4, 1 };
SEC("tp/syscalls/sys_enter_getpid") int p(void *c) { return 0; }]=]))
print(tostring(bpf.new[=[SEC("socket") int s(void *c) { return 0; }]=]):match("^bpf.Object %((.-)%)"))
print(pcall(bpf.new, [=[struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 0); __type(key, u32);
	__type(value, u64); } h SEC(".maps"); SEC("socket") int s(void *c) { return 0; }]=]))
]]
    expect_lines(out, code, {
      "false\tloading the BPF object failed: Invalid argument: extern (func ksym) 'nope': not found in kernel or "
        .. "module BTFs",
      "false\tnot a usable BPF object: Operation not supported: elf: legacy map definitions in 'maps' section are not "
        .. "supported by libbpf v1.0+ (declare maps in SEC(\".maps\") with __uint/__type, or with BCC's BPF_ARRAY, "
        .. "BPF_HASH, ...)",
      "case",
      "false\tloading the BPF object failed: Invalid argument: map 'h': failed to create: Invalid argument(-22)",
    })
  end)

  -- Every public function and method, called with each kind of bad value in
  -- each argument position: each must return or raise a Lua error with a
  -- message, never crash. One process per function (a crash is a signal).
  local bad_values = [[
local nan = 0/0
local bad = { n = 9, nil, nan, math.maxinteger, math.mininteger, -2, ("x"):rep(100000), "a\0b", {}, function() end }
local function calls(name, f, self)
  local n = 0
  for pos = 1, 3 do
    for i = 1, bad.n do
      local args = { self, self and "counts" or nil, 1 }
      args[(self and 1 or 0) + pos] = bad[i]
      local ok, err = pcall(f, table.unpack(args, 1, 4))
      if not ok and type(err) ~= "string" and type(err) ~= "table" and type(err) ~= "userdata" then
        print(name .. ": error value of type " .. type(err))
      end
      n = n + 1
    end
  end
  return n
end
]]

  local function object_with_everything()
    return [[
local b = bpf.new([=[
BPF_HASH(counts, u32);
BPF_QUEUE(q, u32, 4);
BPF_STACK_TRACE(stacks, 16);
LUABPF_RINGBUF(ev, 4096);
BPF_PERF_OUTPUT(pev);
u64 g = 1;
SEC("socket") int s(void *c) { return 0; }
SEC("tp/syscalls/sys_enter_getpid") int tp(void *c) { return 0; }
SEC("perf_event") int pe(void *c) { return 0; }
]=], { autoattach = false })
]]
  end

  it("refuses event views, programs and links used after their callback or object", function()
    local script = reentry_prologue .. [[
local b = new()
local kept
b:ring_buffer("ev", function(e) kept = e end, {type = "struct rec"})
one_event()
print(b:poll(100))
try(function() return kept.v end) -- field
try(function() return #kept end) -- length
try(function() return kept:table() end) -- copy
local p, l = b.progs.p, b:attach_tracepoint("syscalls:sys_enter_getpid", "p")
b:close()
try(function() return kept.v end) -- closed
try(function() return p.name end) -- prog name
try(function() return p:test_run() end) -- prog run
print(l.attached, l:detach())
do local x <close> = l end
print((tostring(l):gsub("0x%x+", "ADDR")))
]]
    local out, code = run_case(script)
    local closed = " this event is only valid inside its callback; keep a copy with ev:table()"
    expect_lines(out, code, {
      "1",
      "false\t" .. line_in(script, "-- field") .. closed,
      "false\t" .. line_in(script, "-- length") .. closed,
      "false\t" .. line_in(script, "-- copy") .. closed,
      "false\t" .. line_in(script, "-- closed") .. closed,
      "false\t" .. line_in(script, "-- prog name") .. " this program belongs to a closed bpf object",
      "false\t" .. line_in(script, "-- prog run") .. " this program belongs to a closed bpf object",
      "false\tfalse",
      "bpf.Link #1: ADDR",
    })
  end)

  it("survives re-entry from callbacks: errors, polls and runs from inside, yields, closing others", function()
    local script = reentry_prologue .. [[
-- An error raised in a callback ends that poll with it; the next poll goes on.
local b = new()
local n = 0
b:ring_buffer("ev", function(e) n = n + 1 if n == 1 then error("boom") end end, {type = "struct rec"})
one_event() one_event()
try(function() return b:poll(100) end)
print(b:poll(100), n)
-- Error values that are no string, one with a __tostring that fails.
local b1 = new()
b1:ring_buffer("ev", function() error({code = 3}) end)
one_event()
local ok, e = pcall(b1.poll, b1, 100)
print(ok, type(e) == "table" and e.code)
local b2 = new()
b2:ring_buffer("ev", function() error(setmetatable({}, {__tostring = function() error("no") end})) end)
one_event()
print((pcall(b2.poll, b2, 100)))
-- Polling or running again from inside a callback: the same object refuses, another works.
local b3, b4 = new(), new()
b4:ring_buffer("ev", function() end)
b3:ring_buffer("ev", function()
  try(function() return b3:poll(0) end) -- poll self
  try(function() return b3:run{duration = 0.1} end) -- run self
  try(function() return bpf.run{b4, b3, duration = 0.1} end) -- run both
  print("inner", b4:poll(0))
end)
one_event()
print("outer", b3:poll(100))
-- Yielding from a callback is refused; the object stays usable.
local b5 = new()
b5:ring_buffer("ev", function() coroutine.yield(1) end)
one_event()
local resumed, why = coroutine.resume(coroutine.create(function() return b5:poll(100) end))
print(resumed, (why:gsub("\n.*", "")))
print(b5:poll(0))
-- Closing the other object and itself from one callback while bpf.run runs both.
local b6, b7 = new(), new()
b6:ring_buffer("ev", function() b7:close() do local x <close> = b6 end end)
one_event()
print(bpf.run{b6, b7, duration = 5})
print(b6.closed, b7.closed)
]]
    local out, code = run_case(script)
    local again = " this bpf object is already being polled: an event callback cannot "
    expect_lines(out, code, {
      "false\t" .. line_in(script, '"boom"') .. " boom",
      "1\t2",
      "false\t3",
      "false",
      "false\t" .. line_in(script, "-- poll self") .. again .. "poll it again",
      "false\t" .. line_in(script, "-- run self") .. again .. "run it",
      "false\t" .. line_in(script, "-- run both") .. again .. "run it",
      "inner\t1",
      "outer\t1",
      "false\tattempt to yield across a C-call boundary",
      "0",
      "1\tduration",
      "true\ttrue",
    })
  end)

  it("survives every bpf.* function called with bad values in every position", function()
    local names = {}
    for k, v in pairs(require("bpf")) do
      -- Not the ones that wait (sleep, run) or list the whole machine slowly.
      if type(v) == "function" and k ~= "sleep" and k ~= "run" then names[#names + 1] = k end
    end
    table.sort(names)
    local total = 0
    for _, name in ipairs(names) do
      local out, code = run_case(bad_values .. ("print(calls(%q, bpf[%q]))"):format(name, name))
      assert.are.equal(0, code, name .. ": " .. out)
      local n = tonumber(out:match("(%d+)\n$"))
      assert.are.equal(27, n, name .. ": " .. out)
      assert.is_nil(out:find("error value of type", 1, true), out)
      total = total + n
    end
    assert.is_true(total >= 27 * 30, "only " .. total .. " calls")
  end)

  it("survives every object and map method called with bad values, and after close", function()
    -- Not the polls: given nil (no timeout) they wait for events, as documented.
    local methods = { "attach_tracepoint", "attach_raw_tracepoint", "attach_uprobe", "attach_kprobe", "attach_usdt",
      "attach_perf_event", "attach_kretprobe", "attach_uretprobe", "ring_buffer", "perf_buffer", "stats",
      "trace_pipe", "get_syscall_fnname", "ring_buffer_consume", "attach_xdp", "attach_tc", "attach_cgroup",
      "attach_socket_filter", "attach_netfilter", "attach_flow_dissector", "attach_sockmap", "attach_uprobe_multi",
      "attach_kprobe_multi", "attach_fentry", "attach_fexit", "attach_fmod_ret", "attach_tp_btf", "attach_lsm",
      "attach_iter", "load" }
    local map_methods = { "get", "set", "delete", "push", "pop", "peek", "items", "keys", "values", "clear", "info",
      "pin", "unpin", "walk", "symbols", "print_log2_hist", "print_linear_hist", "log2_hist", "linear_hist", "sum",
      "open_perf_buffer", "open_ring_buffer", "submit", "object", "close", "count" }
    for _, m in ipairs(methods) do
      local out, code = run_case(bad_values .. object_with_everything() .. ([[
local f = b[%q]
print(type(f) == "function" and calls(%q, f, b) or "no method")
b:close()
print(type(f) == "function" and calls(%q, f, b) or "no method")
]]):format(m, m, m))
      assert.are.equal(0, code, m .. ": " .. out)
      assert.matches("^27\n27\n$", out, nil, false)
    end
    for _, m in ipairs(map_methods) do
      local out, code = run_case(bad_values .. object_with_everything() .. ([[
for _, name in ipairs { "counts", "q", "stacks", "ev", "pev" } do
  local map = b.maps[name]
  local _, f = pcall(function() return map[%q] end) -- a name that is no method reads as a key
  if type(f) == "function" then calls(%q, f, map) end
end
b:close()
print(pcall(function() return b.maps.counts end))
]]):format(m, m))
      assert.are.equal(0, code, m .. ": " .. out)
      assert.matches("false\tcase.lua:%d+: this bpf object is closed\n$", out)
    end
  end)

  it("survives every program, link, pin and definition method called with bad values, and after close", function()
    local out, code = run_case(bad_values .. object_with_everything() .. [[
local open = bpf.open([=[
BPF_HASH(h, u32);
struct inner { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); };
struct { __uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS); __uint(max_entries, 1); __type(key, u32); __array(values, struct inner); } mm SEC(".maps");
SEC("tp/syscalls/sys_enter_getpid") int t(void *c) { return 0; }
]=])
local l = b:attach_tracepoint("syscalls:sys_enter_getpid", "tp")
os.remove("/sys/fs/bpf/luabpf_bad_input_pin")
b.progs.s:pin("/sys/fs/bpf/luabpf_bad_input_pin")
local pinned = bpf.open_pinned("/sys/fs/bpf/luabpf_bad_input_pin")
local n = 0
for _, m in ipairs { "test_run", "pin", "unpin", "set_attach_target" } do n = n + calls(m, b.progs.s[m], b.progs.s) end
for _, m in ipairs { "detach", "pin", "read" } do n = n + calls(m, l[m], l) end
for _, m in ipairs { "unpin", "close" } do n = n + calls(m, pinned[m], pinned) end
local t, h, prog = open.progs.t, open.maps.h, b.progs.s
n = n + calls("__newindex", getmetatable(t).__newindex, t)
n = n + calls("__newindex", getmetatable(h).__newindex, h)
n = n + calls("__index", getmetatable(h).__index, h)
local mm, template = open.maps.mm, open.maps.mm.inner
n = n + calls("inner", function(_, _, v) mm.inner = v end, mm)
n = n + calls("__newindex", getmetatable(template).__newindex, template)
n = n + calls("__index", getmetatable(template).__index, template)
os.remove("/sys/fs/bpf/luabpf_bad_input_pin")
b:close()
open:close()
for _, m in ipairs { "test_run", "pin", "unpin", "set_attach_target" } do
  n = n + calls(m, function(...) return prog[m](...) end, prog)
end
n = n + calls("__newindex", getmetatable(t).__newindex, t)
n = n + calls("__index", getmetatable(h).__index, h)
n = n + calls("inner", function(_, _, v) mm.inner = v end, mm)
n = n + calls("__index", getmetatable(template).__index, template)
print(n)
]])
    assert.are.equal(0, code, out)
    assert.is_true(tonumber(out:match("(%d+)\n$")) >= 27 * 15, out)
    assert.is_nil(out:find("error value of type", 1, true), out)
  end)
end)
