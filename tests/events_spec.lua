-- Events to Lua callbacks: ring buffers and perf buffers with exact counts and
-- field values, trace_pipe lines, errors in callbacks, run loops, signals,
-- user ring buffers, and a million events with no growth of fds or memory.
local bpf = require "bpf"
local h = require "helper"

local LOOP = h.fixture("getppid_loop")

-- One record per getppid call of the fixture (matched by its comm).
local SRC = [[
struct call_event { u32 pid; u32 tid; u64 ts; char comm[16]; };
LUABPF_RINGBUF(events, 1 << 20);
struct { __uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY); __uint(key_size, 4); __uint(value_size, 4); } pevents SEC(".maps");

static bool is_fixture(char *comm)
{
	const char want[] = "getppid_loop";
	for (int i = 0; i < sizeof(want); i++)
		if (comm[i] != want[i])
			return false;
	return true;
}

SEC("tp/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct call_event e = {};
	u64 id = bpf_get_current_pid_tgid();

	bpf_get_current_comm(e.comm, sizeof(e.comm));
	if (!is_fixture(e.comm))
		return 0;
	e.pid = id >> 32;
	e.tid = (u32)id;
	e.ts = bpf_ktime_get_ns();
	luabpf_ringbuf_output(events, &e, sizeof(e), 0);
	bpf_perf_event_output(ctx, &pevents, BPF_F_CURRENT_CPU, &e, sizeof(e));
	bpf_printk("getppid_loop call from %d", e.pid);
	return 0;
}
]]

local function run_fixture(n)
  local out, code = h.run(LOOP .. " " .. n)
  assert(code == 0, out)
  return assert(tonumber(out:match("^(%d+)")), out)
end

local function drain(b)
  while b:poll(100) > 0 do end
end

describe("events", function()
  local elf = bpf.compile(SRC)

  it("ring buffer: exactly N records with the right fields", function()
    local b <close> = bpf.new(elf)
    local got, first = {}, nil
    b:ring_buffer("events", function(ev)
      got[#got + 1] = { pid = ev.pid, tid = ev.tid, ts = ev.ts, comm = ev.comm }
      first = first or ev:table()
    end, { type = "struct call_event" })
    local t0 = bpf.ktime_ns()
    local pid = run_fixture(250)
    drain(b)
    assert.are.equal(250, #got)
    for i, e in ipairs(got) do
      assert.are.equal(pid, e.pid)
      assert.are.equal(pid, e.tid)
      assert.are.equal("getppid_loop", e.comm)
      assert.is_true(e.ts > t0 and e.ts < bpf.ktime_ns())
      if i > 1 then assert.is_true(e.ts >= got[i - 1].ts) end
    end
    assert.are.same(got[1], first)
    local stats = b:stats().events
    assert.are.same({ kind = "ringbuf", received = 250, lost = 0, pending = 0 }, stats)
  end)

  it("perf buffer: exactly N records with the right fields and CPUs", function()
    local b <close> = bpf.new(elf)
    local n, pids, cpus = 0, {}, {}
    local ncpus = b.maps.pevents:info().max_entries
    b:perf_buffer("pevents", function(ev, cpu)
      n = n + 1
      pids[ev.pid] = (pids[ev.pid] or 0) + 1
      assert(ev.comm == "getppid_loop")
      cpus[cpu] = true
    end, { type = "struct call_event", pages = 16 })
    local pid = run_fixture(300)
    drain(b)
    assert.are.equal(300, n)
    assert.are.same({ [pid] = 300 }, pids)
    for cpu in pairs(cpus) do assert.is_true(cpu >= 0 and cpu < ncpus) end
    assert.are.equal(300, b:stats().pevents.received)
    assert.are.equal(0, b:stats().pevents.lost)
  end)

  it("raw records arrive as strings of their bytes", function()
    local b <close> = bpf.new(elf)
    local sizes = {}
    b:ring_buffer("events", function(rec) sizes[#sizes + 1] = #rec end, { raw = true })
    run_fixture(3)
    drain(b)
    assert.are.same({ 32, 32, 32 }, sizes)
  end)

  it("trace_pipe: a bpf_printk line with the right pid and message", function()
    local b <close> = bpf.new(elf)
    local lines, seen = {}, {}
    -- The pipe is shared: lines left by earlier tracers arrive too.
    b:trace_pipe(function(f) lines[#lines + 1] = f end)
    local pid = run_fixture(2)
    local deadline = bpf.ktime_ns() + 5e9
    while #seen < 2 and bpf.ktime_ns() < deadline do
      b:poll(100)
      seen = {}
      for _, f in ipairs(lines) do
        if f.pid == pid and f.task == "getppid_loop" then seen[#seen + 1] = f end
      end
    end
    assert.are.equal(2, #seen)
    assert.are.equal(pid, seen[1].pid)
    assert.are.equal("getppid_loop call from " .. pid, seen[1].msg)
    assert.is_true(seen[1].cpu >= 0 and seen[1].ts > 0)
    assert.are.equal("trace_pipe already has an event callback",
      h.error_of(b.trace_pipe, b, function() end):match("trace_pipe already has an event callback"))
  end)

  it("parses trace lines the way BCC's trace_fields does", function()
    local f = bpf.parse_trace_line("     kworker/0:1-events-42    [003] d..3.  123.456789: bpf_trace_printk: hi: there")
    assert.are.same({ task = "kworker/0:1-events", pid = 42, cpu = 3, flags = "d..3.", ts = 123.456789,
      msg = "hi: there" }, f)
    assert.are.same({ msg = "CPU:1 [LOST 7 EVENTS]" }, bpf.parse_trace_line("CPU:1 [LOST 7 EVENTS]"))
  end)

  it("batched delivery: 600 records in calls of at most 256, each valid only inside its call", function()
    local b <close> = bpf.new(elf)
    local sizes, got, kept_batch, kept_ev = {}, {}, nil, nil
    b:ring_buffer("events", function(evs)
      sizes[#sizes + 1] = #evs
      for i = 1, #evs do got[#got + 1] = { evs[i].pid, evs[i].tid, evs[i].comm, evs[i].ts } end
      kept_batch, kept_ev = evs, evs[1]
    end, { type = "struct call_event", batch = true })
    local pid = run_fixture(600)
    drain(b)
    assert.are.equal(600, #got)
    local total = 0
    for _, n in ipairs(sizes) do
      assert.is_true(n >= 1 and n <= 256)
      total = total + n
    end
    assert.are.equal(600, total)
    for i, e in ipairs(got) do
      assert.are.same({ pid, pid, "getppid_loop" }, { e[1], e[2], e[3] })
      if i > 1 then assert.is_true(e[4] >= got[i - 1][4]) end
    end
    assert.matches("only valid inside its callback", h.error_of(function() return kept_ev.pid end), 1, true)
    assert.matches("only valid inside its callback", h.error_of(function() return kept_batch[1].tid end), 1, true)
    assert.are.same({ kind = "ringbuf", received = 600, lost = 0, pending = 0 }, b:stats().events)

    local raw <close> = bpf.new(elf)
    local bytes = {}
    raw:ring_buffer("events", function(evs)
      for i = 1, #evs do bytes[#bytes + 1] = evs[i] end
    end, { raw = true, batch = true })
    run_fixture(3)
    drain(raw)
    assert.are.equal(3, #bytes)
    for _, s in ipairs(bytes) do assert.are.equal(32, #s) end

    local failing <close> = bpf.new(elf)
    local calls = 0
    failing:ring_buffer("events", function(evs)
      calls = calls + 1
      error("batch of " .. #evs .. " failed")
    end, { type = "struct call_event", batch = true })
    run_fixture(5)
    assert.matches("batch of 5 failed", h.error_of(failing.poll, failing, 1000), 1, true)
    assert.are.equal(1, calls)
    local fresh <close> = bpf.new(elf)
    assert.matches("opts.batch must be true or false",
      h.error_of(fresh.ring_buffer, fresh, "events", print, { batch = 1 }), 1, true)
    local other <close> = bpf.new([[
LUABPF_RINGBUF(words, 4096);
SEC("tp/syscalls/sys_enter_getppid") int w(void *ctx) { u64 v = 1; luabpf_ringbuf_output(words, &v, 8, 0); return 0; }
]])
    assert.matches("opts.batch needs records of a struct type, or raw = true (this one is u64)",
      h.error_of(other.ring_buffer, other, "words", print, { type = "u64", batch = true }), 1, true)
  end)

  it("an error in a callback stops delivery, propagates with its traceback, and counts the rest", function()
    local b <close> = bpf.new(elf)
    local n = 0
    b:ring_buffer("events", function(ev)
      n = n + 1
      if n == 3 then error("callback failed on event " .. n) end
    end, { type = "struct call_event" })
    run_fixture(10)
    local ok, err = pcall(b.poll, b, 1000)
    assert.is_false(ok)
    assert.matches("callback failed on event 3", err, 1, true)
    assert.matches("stack traceback:", err, 1, true)
    assert.matches("events_spec.lua:%d+: in function", err)
    assert.are.equal(3, n)
    local stats = b:stats().events
    assert.are.equal(3, stats.received)
    assert.are.equal(7, stats.pending)
    drain(b) -- the pending ones are still there for the next poll
    assert.are.equal(10, n)
  end)

  it("a callback cannot close its own object or poll it again", function()
    local b <close> = bpf.new(elf)
    local errs = {}
    b:ring_buffer("events", function()
      errs[#errs + 1] = select(2, pcall(b.close, b))
      errs[#errs + 1] = select(2, pcall(b.poll, b, 0))
    end, { type = "struct call_event" })
    run_fixture(1)
    drain(b)
    assert.matches("cannot be closed from inside its own event callback", errs[1], 1, true)
    assert.matches("already being polled", errs[2], 1, true)
  end)

  it("a kept event is an error outside its callback, never a crash", function()
    local b <close> = bpf.new(elf)
    local kept, inside
    b:ring_buffer("events", function(ev)
      kept = ev
      local fields = {}
      for k, v in pairs(ev) do fields[k] = v end
      inside = { getmetatable(ev), #ev, fields, h.error_of(function() ev.pid = 1 end),
        h.error_of(setmetatable, ev, {}), h.error_of(function() return ev.nope end) }
    end, { type = "struct call_event" })
    local pid = run_fixture(1)
    drain(b)
    assert.are.equal("bpf.Event", inside[1])
    assert.are.equal(32, inside[2])
    assert.are.same({ "getppid_loop", pid, pid }, { inside[3].comm, inside[3].pid, inside[3].tid })
    assert.matches("events are read-only; copy one with ev:table()", inside[4], 1, true)
    assert.matches("cannot change a protected metatable", inside[5], 1, true)
    assert.matches("the event (struct call_event) has no field 'nope' (its fields: pid, tid, ts, comm)", inside[6],
      1, true)
    for _, read in ipairs { function() return kept.pid end, function() return kept.comm end,
      function() return #kept end, function() return kept:table() end, function() kept.pid = 1 end,
      function() return pairs(kept) end } do
      assert.matches("only valid inside its callback; keep a copy with ev:table()", h.error_of(read), 1, true)
    end
  end)

  it("names what is wrong with a source", function()
    local b <close> = bpf.new(elf)
    assert.matches("map 'pevents' is a perf_event_array, not a ring buffer",
      h.error_of(b.ring_buffer, b, "pevents", print), 1, true)
    assert.matches("the program's BTF has no type 'struct nope'",
      h.error_of(b.ring_buffer, b, "events", print, { type = "struct nope" }), 1, true)
    assert.matches("no map named 'nope'", h.error_of(b.ring_buffer, b, "nope", print), 1, true)
    assert.matches("perf buffer pages must be a power of two",
      h.error_of(b.perf_buffer, b, "pevents", print, { pages = 3 }), 1, true)
    b:ring_buffer("events", print, { type = "struct call_event" })
    assert.matches("events already has an event callback", h.error_of(b.ring_buffer, b, "events", print), 1, true)
  end)

  it("run stops after its duration and calls on_interval", function()
    local b <close> = bpf.new(elf)
    local ticks = 0
    local t0 = bpf.ktime_ns()
    local n, why = b:run { duration = 0.35, interval = 0.1, on_interval = function() ticks = ticks + 1 end }
    local took = (bpf.ktime_ns() - t0) / 1e9
    assert.are.equal("duration", why)
    assert.are.equal(3, ticks)
    assert.are.equal(3, n)
    assert.is_true(took >= 0.35 and took < 1.5, "took " .. took)
    assert.is_nil(b:stats().timer) -- the run's timer is gone with the run
  end)

  it("bpf.run drives several objects", function()
    local b1 <close> = bpf.new(elf)
    local b2 <close> = bpf.new(elf)
    local n1, n2 = 0, 0
    b1:ring_buffer("events", function() n1 = n1 + 1 end, { raw = true })
    b2:ring_buffer("events", function() n2 = n2 + 1 end, { raw = true })
    run_fixture(20)
    local n = bpf.run { b1, b2, duration = 0.3 }
    assert.are.equal(20, n1)
    assert.are.equal(20, n2)
    assert.are.equal(40, n)
  end)

  it("polls inside a coroutine", function()
    local b <close> = bpf.new(elf)
    local n = 0
    b:ring_buffer("events", function() n = n + 1 end, { raw = true })
    run_fixture(5)
    local co = coroutine.wrap(function()
      local got = 0
      while got < 5 do
        got = got + b:poll(100)
        coroutine.yield(got)
      end
      return "done"
    end)
    local last
    repeat last = co() until last == "done" or last == 5
    assert.are.equal(5, n)
  end)

  it("SIGINT makes a script running b:run print its summary and exit 0, detached", function()
    local dir = h.tmpdir()
    h.write_file(dir .. "/tool.lua", [[
local b = bpf.new(bpf.compile(]] .. string.format("%q", SRC) .. [[))
local n = 0
b:ring_buffer("events", function() n = n + 1 end, { raw = true })
print("prog", b.progs.on_getppid.id)
io.open(arg[1], "w"):close()
io.stdout:flush()
local handled, why = b:run { duration = 60 }
print("summary", n, why)
]])
    local out, code = h.run("cd " .. dir .. " && (" .. h.luabpf .. " tool.lua ready > out & pid=$!; "
      .. "for i in $(seq 200); do [ -e ready ] && break; sleep 0.05; done; " .. LOOP .. " 4 >/dev/null; "
      .. "sleep 0.2; kill -INT $pid; wait $pid; echo exit=$?; cat out)")
    h.run("rm -rf " .. dir)
    assert.are.equal(0, code, out)
    assert.matches("exit=0", out, 1, true)
    assert.matches("summary\t4\tsignal", out, 1, true)
    local id = tonumber(out:match("prog\t(%d+)"))
    for _, p in ipairs(bpf.progs()) do assert.are_not.equal(id, p.id) end
  end)

  it("a million events pass with no growth of open fds and bounded RSS", function()
    local b <close> = bpf.new([[
struct rec { u64 seq; u32 a; u32 b; u64 c; u64 d; };
LUABPF_RINGBUF(records, 1 << 22);
u64 seq;

SEC("xdp")
int produce(struct xdp_md *ctx)
{
	struct rec *r = luabpf_ringbuf_reserve(records, sizeof(*r), 0);
	if (!r)
		return XDP_PASS;
	r->seq = seq++;
	r->a = 1;
	r->b = 2;
	r->c = 3;
	r->d = 4;
	bpf_ringbuf_submit(r, 0);
	return XDP_PASS;
}
]])
    local function rss_kb()
      for line in io.lines("/proc/self/status") do
        local kb = line:match("^VmRSS:%s+(%d+)")
        if kb then return tonumber(kb) end
      end
    end
    local n, sum, last = 0, 0, -1
    b:ring_buffer("records", function(ev)
      n = n + 1
      sum = sum + ev.a + ev.b + ev.c
      assert(ev.seq == last + 1)
      last = ev.seq
    end, { type = "struct rec" })
    local pid = h.getpid()
    collectgarbage()
    local fds, rss = h.fd_count(pid), rss_kb()
    for _ = 1, 10 do
      b.progs.produce:test_run { ["repeat"] = 100000 }
      while b:poll(0) > 0 do end
    end
    collectgarbage()
    assert.are.equal(1000000, n)
    assert.are.equal(6000000, sum)
    assert.are.same({ kind = "ringbuf", received = 1000000, lost = 0, pending = 0 }, b:stats().records)
    assert.are.equal(fds, h.fd_count(pid))
    local grown = rss_kb() - rss
    assert.is_true(grown < 8 * 1024, "RSS grew by " .. grown .. " kB")
  end)

  it("scripts/execsnoop.lua prints an exec as it happens", function()
    local out, code = h.run("(" .. h.luabpf .. " " .. h.root .. "/scripts/execsnoop.lua -T -d 2 &) ; sleep 1; "
      .. LOOP .. " 1 > /dev/null; sleep 2")
    assert.are.equal(0, code, out)
    assert.matches("TIME%(s%)%s+COMM%s+PID%s+PPID%s+FILENAME", out)
    assert.matches("getppid_loop%s+%d+%s+%d+%s+" .. LOOP:gsub("%p", "%%%0"), out)
    assert.matches("%d+ execs %(duration%)", out)
  end)

  it("user ring buffer: Lua submits, a BPF program drains", function()
    local b <close> = bpf.new([[
const volatile u32 target = 0;
struct user_cmd { u32 op; u64 arg; };
struct { __uint(type, BPF_MAP_TYPE_USER_RINGBUF); __uint(max_entries, 4096); } commands SEC(".maps");
u64 sum;
u32 count;

static long handle(struct bpf_dynptr *dp, void *ctx)
{
	struct user_cmd c;
	if (bpf_dynptr_read(&c, sizeof(c), dp, 0, 0))
		return 1;
	sum += c.arg * c.op;
	count++;
	return 0;
}

SEC("tp/syscalls/sys_enter_openat")
int drain(void *ctx)
{
	if ((bpf_get_current_pid_tgid() >> 32) == target)
		bpf_user_ringbuf_drain(&commands, handle, NULL, 0);
	return 0;
}
]], { rodata = { target = h.getpid() } })
    for i = 1, 5 do b.maps.commands:submit({ op = 2, arg = i }, "struct user_cmd") end
    b.maps.commands:submit(string.pack("<I4I4I8", 3, 0, 100))
    assert(io.open("/etc/hostname")):close()
    assert.are.equal(6, b.globals.count)
    assert.are.equal(2 * 15 + 300, b.globals.sum)
    assert.matches("name the record's type", h.error_of(b.maps.commands.submit, b.maps.commands, {}), 1, true)
  end)
end)
