-- Fleet output: maps as Prometheus metrics (text and OpenMetrics), served
-- over HTTP from the event loop and scraped with curl, the textfile
-- collector's file, JSON lines, and the example exporter against workloads
-- the specs control.
local h = require "helper"
local bpf = require "bpf"

-- Counts, per-CPU values, a BCC log2 histogram and aggregations, all filled
-- by one test run of 3 packets of 64 bytes.
local SOURCE = [[
struct call_key { u32 id; char comm[16]; };
BPF_HASH(calls, struct call_key, u64, 1024);
BPF_PERCPU_ARRAY(percpu, u64, 2);
BPF_HISTOGRAM(lat, int, 64);
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } big SEC(".maps");
SEC("xdp") int fill(struct xdp_md *ctx)
{
	struct call_key k = { .id = 0, .comm = "a\"b" };
	u64 one = 1, *v = calls.lookup(&k);
	if (v) *v += 1; else calls.update(&k, &one);
	k.id = 1;
	calls.update(&k, &one);
	u32 zero = 0;
	u64 *p = percpu.lookup(&zero);
	if (p) *p += 2;
	u64 *b = big.lookup(&zero);
	if (b) *b = 0xfffffffffffffffeULL;
	lat.increment(bpf_log2l(ctx->data_end - ctx->data));
	lat.increment(bpf_log2l(1));
	@sizes = HIST(ctx->data_end - ctx->data);
	@lin[7] = LHIST(ctx->data_end - ctx->data, 0, 100, 10);
	@per_key[ctx->data_end - ctx->data] = COUNT();
	return XDP_PASS;
}
]]

local function filled()
  local b = bpf.new(SOURCE)
  b.progs.fill:test_run { data = ("x"):rep(64), ["repeat"] = 3 }
  return b
end

local function declare(b)
  bpf.metrics.clear()
  bpf.metrics.counter { name = "calls_total", help = "calls by name", map = b.maps.calls,
    labels = { { name = "syscall", field = "id", decode = "syscall" }, "comm" } }
  bpf.metrics.gauge { name = "percpu", map = b.maps.percpu, labels = { "index" } }
  bpf.metrics.histogram { name = "lat", map = b.maps.lat }
  bpf.metrics.histogram { name = "size_bytes", map = b.maps.at_sizes }
  bpf.metrics.histogram { name = "lin_seconds", map = b.maps.at_lin, scale = 0.5,
    labels = { { name = "group", field = "k0", decode = function(v) return "g" .. v end } } }
  bpf.metrics.counter { name = "packets", map = b.maps.at_per_key, labels = { { name = "len", field = "k0" } } }
end

local PROMETHEUS = [[
# HELP calls_total calls by name
# TYPE calls_total counter
calls_total{syscall="read",comm="a\"b"} 3
calls_total{syscall="write",comm="a\"b"} 1
# HELP percpu percpu
# TYPE percpu gauge
percpu{index="0"} 6
percpu{index="1"} 0
# HELP lat lat
# TYPE lat histogram
lat_bucket{le="1"} 3
lat_bucket{le="3"} 3
lat_bucket{le="7"} 3
lat_bucket{le="15"} 3
lat_bucket{le="31"} 3
lat_bucket{le="63"} 3
lat_bucket{le="127"} 6
lat_bucket{le="+Inf"} 6
lat_sum 289.5
lat_count 6
# HELP size_bytes size_bytes
# TYPE size_bytes histogram
size_bytes_bucket{le="127"} 3
size_bytes_bucket{le="+Inf"} 3
size_bytes_sum 192
size_bytes_count 3
# HELP lin_seconds lin_seconds
# TYPE lin_seconds histogram
lin_seconds_bucket{group="g7",le="34.5"} 3
lin_seconds_bucket{group="g7",le="+Inf"} 3
lin_seconds_sum{group="g7"} 96
lin_seconds_count{group="g7"} 3
# HELP packets_total packets
# TYPE packets_total counter
packets_total{len="64"} 3
]]

local function read_file(path)
  local f = io.open(path)
  if not f then return nil end
  local s = f:read("a")
  f:close()
  return s
end

-- Runs cmd with bash (for /dev/tcp) in the background, its output into a
-- file; returns the file.
local function background(cmd, dir, name)
  local out = dir .. "/" .. name
  h.write_file(out .. ".sh", cmd)
  os.execute(("bash %s.sh > %s 2>&1 &"):format(out, out))
  return out
end

describe("metrics", function()
  after_each(function() bpf.metrics.clear() end)

  it("renders counters, gauges and histograms from maps, with labels decoded and per-CPU values summed", function()
    local b <close> = filled()
    declare(b)
    assert.are.equal(PROMETHEUS, bpf.metrics.render())
    local om = bpf.metrics.render("openmetrics")
    assert.matches("# HELP calls calls by name\n# TYPE calls counter\ncalls_total{syscall=\"read\"", om, 1, true)
    assert.matches("# TYPE packets counter\npackets_total{len=\"64\"} 3\n# EOF\n$", om)
  end)

  it("decodes cgroup ids, addresses and kernel symbols, and takes values computed in Lua", function()
    local b <close> = bpf.new[[
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, u64); __type(value, u64); } by_cgroup SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, u32); __type(value, u64); } by_v4 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, u8[16]); __type(value, u64); } by_v6 SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, u64); __type(value, u64); } by_addr SEC(".maps");
SEC("xdp") int f(struct xdp_md *ctx) { return XDP_PASS; }
]]
    local root
    for line in io.lines("/proc/self/mounts") do root = root or line:match("^%S+ (%S+) cgroup2 ") end
    assert.is_truthy(root, "no cgroup2 mount")
    local dir = root .. "/luabpf_metrics_spec"
    h.run("rmdir " .. dir .. " 2>/dev/null; mkdir " .. dir)
    b.maps.by_cgroup[bpf.cgroup_id(dir)] = 5
    b.maps.by_v4[0x0100007f] = 6
    b.maps.by_v6[{ 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1 }] = 7
    local addr = bpf.ksymaddr("do_sys_openat2")
    b.maps.by_addr[addr + 4] = 8
    b.maps.by_addr[1] = 9
    bpf.metrics.gauge { name = "cg", map = b.maps.by_cgroup, labels = { { name = "cgroup", decode = "cgroup" } } }
    bpf.metrics.gauge { name = "v4", map = b.maps.by_v4, labels = { { name = "addr", decode = "inet" } } }
    bpf.metrics.gauge { name = "v6", map = b.maps.by_v6, labels = { { name = "addr", decode = "inet" } } }
    bpf.metrics.gauge { name = "fn", map = b.maps.by_addr, labels = { { name = "func", decode = "ksym" } } }
    bpf.metrics.gauge { name = "lua_computed", fn = function()
      return { { labels = { b = "x", a = "y\n" }, value = 1.5 }, { labels = { b = "z" }, value = 2 } }
    end }
    bpf.metrics.gauge { name = "lua_one", fn = function() return 42 end }
    local text = bpf.metrics.render()
    h.run("rmdir " .. dir)
    assert.are.equal([[
# HELP cg cg
# TYPE cg gauge
cg{cgroup="/luabpf_metrics_spec"} 5
# HELP v4 v4
# TYPE v4 gauge
v4{addr="127.0.0.1"} 6
# HELP v6 v6
# TYPE v6 gauge
v6{addr="::1"} 7
# HELP fn fn
# TYPE fn gauge
fn{func="0x1"} 9
fn{func="do_sys_openat2"} 8
# HELP lua_computed lua_computed
# TYPE lua_computed gauge
lua_computed{a="y\n",b="x"} 1.5
lua_computed{b="z"} 2
# HELP lua_one lua_one
# TYPE lua_one gauge
lua_one 42
]], text)
  end)

  it("says what is wrong with a declaration", function()
    local b <close> = filled()
    local line = h.line_of("-- declaration " .. "error here")
    assert.are.equal(("%s:%d: bpf.metrics: map 'calls' has no key field 'pid' (its fields: id, comm)"):format(
      debug.getinfo(1, "S").short_src, line),
      h.error_of(function() bpf.metrics.counter { name = "c", map = b.maps.calls, labels = { "pid" } } end)) -- declaration error here
    local function msg(kind, spec)
      return (h.error_of(bpf.metrics[kind], spec):gsub("^[^:]*:%d+: ", ""))
    end
    assert.are.equal("bpf.metrics: metric name 1x is not a Prometheus name (letters, digits, _ and :, not starting "
      .. "with a digit)", msg("counter", { name = "1x", map = b.maps.calls }))
    assert.are.equal("bpf.metrics: no decoder 'dns' (there are syscall, ksym, cgroup, inet, disk, or a function)",
      msg("gauge", { name = "g", map = b.maps.calls, labels = { { name = "a", field = "id", decode = "dns" } } }))
    assert.are.equal("bpf.metrics: map 'at_sizes' is a histogram: declare it with bpf.metrics.histogram",
      msg("counter", { name = "s", map = b.maps.at_sizes }))
    assert.are.equal("bpf.metrics: metric x needs a map (map = b.maps.NAME) or a function (fn =)",
      msg("gauge", { name = "x" }))
    assert.are.equal("bpf.metrics: a histogram is read from a map (map = b.maps.NAME), not fn",
      msg("histogram", { name = "x", fn = function() return 1 end }))
    bpf.metrics.gauge { name = "dup", map = b.maps.percpu }
    assert.are.equal("bpf.metrics: a metric named dup exists already", msg("gauge", { name = "dup", map = b.maps.percpu }))
    assert.are.equal("bpf.write_textfile: node_exporter's textfile collector reads files named *.prom; got /tmp/x.txt",
      (h.error_of(bpf.write_textfile, "/tmp/x.txt"):gsub("^[^:]*:%d+: ", "")))
  end)

  it("writes the textfile collector's file whole, in a form promtool accepts", function()
    local b <close> = filled()
    declare(b)
    local dir = h.tmpdir()
    bpf.write_textfile(dir .. "/luabpf.prom")
    assert.are.equal(PROMETHEUS, read_file(dir .. "/luabpf.prom"))
    assert.are.equal("luabpf.prom\n", (h.run("ls " .. dir)))
    local out, code = h.run("promtool check metrics < " .. dir .. "/luabpf.prom")
    assert.are.equal(0, code, out)
    h.run("rm -rf " .. dir)
  end)

  it("serves scrapes from the event loop: concurrent, slow and bad clients, without losing an event", function()
    local b <close> = bpf.new(h.hash_u32_u64("counts") .. [[
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 1 << 22); } events SEC(".maps");
const volatile char comm[16] = "getppid_loop";
SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	char c[16];
	bpf_get_current_comm(c, sizeof(c));
	for (int i = 0; i < 12; i++)
		if (c[i] != comm[i])
			return 0;
	u32 k = 1;
	u64 one = 1, *n = bpf_map_lookup_elem(&counts, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
	else
		bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);
	u64 *e = bpf_ringbuf_reserve(&events, 8, 0);
	if (e) {
		*e = 1;
		bpf_ringbuf_submit(e, 0);
	}
	return 0;
}
]])
    local received = 0
    b:ring_buffer("events", function() received = received + 1 end)
    bpf.metrics.counter { name = "getppid_total", help = "getppid calls", map = b.maps.counts, labels = { "key" } }
    local server <close> = bpf.serve_metrics { listen = "127.0.0.1:0" }
    local port = server:port()
    assert.is_true(port > 0)
    local url = ("http://127.0.0.1:%d"):format(port)
    local dir = h.tmpdir()
    -- A client that sends half a request and waits, and one that sends nonsense.
    background(("exec 3<>/dev/tcp/127.0.0.1/%d; printf 'GET /metr' >&3; sleep 4"):format(port), dir, "slow")
    local bad = background(("sleep 0.3; exec 3<>/dev/tcp/127.0.0.1/%d; printf 'GET /metrics HTTP/1.1\\r\\nno colon\\r\\n\\r\\n' >&3; "
      .. "head -1 <&3"):format(port), dir, "bad")
    background(("sleep 0.2; %s 200000"):format(h.fixture("getppid_loop")), dir, "load")
    for i = 1, 20 do
      background(("sleep 0.%d; curl -s -m 5 -w '%%{http_code}\\n' %s/metrics"):format(3 + i % 5, url), dir, "scrape" .. i)
    end
    local om = background(("sleep 0.5; curl -s -m 5 -H 'Accept: application/openmetrics-text; version=1.0.0' -D - "
      .. "%s/metrics"):format(url), dir, "om")
    local missing = background(("sleep 0.5; curl -s -m 5 -w '%%{http_code}\\n' %s/nothing"):format(url), dir, "missing")
    local post = background(("sleep 0.5; curl -s -m 5 -X POST -d x -w '%%{http_code}\\n' %s/metrics"):format(url), dir,
      "post")
    b:run { duration = 3 }
    local final = "# HELP getppid_total getppid calls\n# TYPE getppid_total counter\ngetppid_total{key=\"1\"} 200000\n"
    assert.are.equal(final, bpf.metrics.render())
    assert.are.equal(200000, received)
    assert.are.equal(0, b:stats().events.lost)
    for i = 1, 20 do
      local text = read_file(dir .. "/scrape" .. i)
      assert.matches("^# HELP getppid_total getppid calls\n# TYPE getppid_total counter\n.*200\n$", text)
    end
    local omtext = read_file(om)
    assert.matches("Content-Type: application/openmetrics-text; version=1.0.0; charset=utf-8", omtext, 1, true)
    assert.matches("# TYPE getppid counter\n", omtext, 1, true)
    assert.matches("# EOF\n$", omtext)
    assert.are.equal("not found: the metrics are at /metrics\n404\n", read_file(missing))
    assert.are.equal("only GET and HEAD are served\n405\n", read_file(post))
    assert.matches("^HTTP/1.1 400", read_file(bad))
    server:close()
    assert.are.equal("bpf.HttpServer (closed)", tostring(server))
    local out, code = h.run("curl -s -m 2 " .. url .. "/metrics")
    assert.are_not.equal(0, code, out)
    h.run("sleep 1.2; rm -rf " .. dir)
  end)

  it("binds to loopback unless told otherwise, and explains a bad address", function()
    local b <close> = bpf.new[[SEC("xdp") int f(struct xdp_md *c) { return XDP_PASS; }]]
    local s <close> = bpf.serve_metrics { object = b, listen = "127.0.0.1:0" }
    local listening = h.run("ss -Htln sport = :" .. s:port())
    assert.matches("127.0.0.1:" .. s:port(), listening, 1, true)
    assert.matches("listen address '9435' is not HOST:PORT (e.g. 127.0.0.1:9435, [::1]:9435, or :9435 for every "
      .. "address)", h.error_of(bpf.serve_metrics, { object = b, listen = "9435" }), 1, true)
    assert.matches("bpf.serve_metrics: cannot listen on 127.0.0.1:" .. s:port(),
      h.error_of(bpf.serve_metrics, { object = b, listen = "127.0.0.1:" .. s:port() }), 1, true)
    assert.matches("bpf.serve_metrics: give object = b", h.error_of(bpf.serve_metrics, {}), 1, true)
  end)
end)

describe("JSON", function()
  it("encodes values by the map's types: a u64 above 2^63 unsigned, strings escaped, per-CPU values as lists", function()
    local b <close> = filled()
    assert.are.equal("-2", bpf.json.encode(b.maps.big[0]))
    assert.are.equal("18446744073709551614", bpf.json.encode(b.maps.big[0], b.maps.big))
    assert.are.equal('{"id":1,"comm":"a\\"b"}', bpf.json.encode({ id = 1, comm = 'a"b' }, b.maps.calls, "key"))
    -- The program ran on one CPU, whichever it was.
    local percpu = bpf.json.encode(b.maps.percpu[0], b.maps.percpu)
    assert.is_true(percpu == "[6,0]" or percpu == "[0,6]", percpu)
    assert.are.equal('[1,"\\u00ff\\n",{"a":true},[]]', bpf.json.encode { 1, "\xff\n", { a = true, b = nil }, {} })
    assert.are.equal('{"1.5":0.25,"x":[1,2]}', bpf.json.encode { x = { 1, 2 }, [1.5] = 0.25 })
    assert.matches("bpf.json.encode: a function cannot be written as JSON", h.error_of(bpf.json.encode, { print }), 1, true)
    local loop = {}
    loop.self = loop
    assert.matches("nests deeper than 64 levels", h.error_of(bpf.json.encode, loop), 1, true)
  end)

  it("encodes an event record by its type, and b:dump_json writes every map as JSON lines", function()
    local b <close> = bpf.new[[
struct event { u64 big; s32 neg; char name[8]; };
struct { __uint(type, BPF_MAP_TYPE_RINGBUF); __uint(max_entries, 4096); } events SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 4); __type(key, u32); __type(value, struct event); } last SEC(".maps");
SEC("xdp") int f(struct xdp_md *ctx)
{
	struct event e = { .big = ~0ULL, .neg = -5, .name = "pkt" };
	u32 k = 9;
	bpf_map_update_elem(&last, &k, &e, BPF_ANY);
	bpf_ringbuf_output(&events, &e, sizeof(e), 0);
	return XDP_PASS;
}
]]
    local lines = {}
    b:ring_buffer("events", function(ev) lines[#lines + 1] = bpf.json.encode(ev) end)
    b.progs.f:test_run()
    b:poll(100)
    assert.are.same({ '{"big":18446744073709551615,"neg":-5,"name":"pkt"}' }, lines)
    local path = os.tmpname()
    local f = assert(io.open(path, "w"))
    assert.are.equal(1, b:dump_json(f))
    f:close()
    assert.are.equal('{"map":"last","key":9,"value":{"big":18446744073709551615,"neg":-5,"name":"pkt"}}\n',
      read_file(path))
    os.remove(path)
  end)
end)

describe("the example exporter", function()
  -- Starts scripts/exporter.lua; returns its port and a function that waits
  -- for it to end and gives its stdout.
  local function exporter(args, dir)
    local err = dir .. "/err"
    local out = background(("%s %s/scripts/exporter.lua -l 127.0.0.1:0 %s 2> %s"):format(h.luabpf, h.root, args, err),
      dir, "out")
    local port
    for _ = 1, 200 do
      port = (read_file(err) or ""):match("127%.0%.0%.1:(%d+)/metrics")
      if port then break end
      h.run("sleep 0.05")
    end
    assert.is_truthy(port, read_file(err))
    return port
  end

  local function scrape(port)
    local out, code = h.run(("curl -s -m 5 http://127.0.0.1:%s/metrics"):format(port))
    assert.are.equal(0, code, out)
    return out
  end

  it("counts a process's system calls by name and a disk's I/O latency, as curl and promtool see them", function()
    local dir = h.tmpdir()
    local img = dir .. "/disk.img"
    h.run("truncate -s 8M " .. img)
    local dev = h.run("losetup -f --show " .. img):match("/dev/(loop%d+)")
    assert.is_truthy(dev, "losetup failed")
    local port = exporter("-n getppid_loop -d " .. dev .. " --duration 4", dir)
    h.run(h.fixture("getppid_loop") .. " 5000")
    local out, code = h.run(("dd if=/dev/zero of=/dev/%s bs=4096 count=12 oflag=direct"):format(dev))
    assert.are.equal(0, code, out)
    local text = scrape(port)
    h.run("losetup -d /dev/" .. dev)
    assert.matches('\nluabpf_syscalls_total{syscall="getppid"} 5000\n', text, 1, true)
    assert.matches('\nluabpf_syscalls_total{syscall="write"} 1\n', text, 1, true)
    assert.matches(('\nluabpf_block_io_latency_seconds_count{disk="%s"} 12\n'):format(dev), text, 1, true)
    assert.matches(('\nluabpf_block_io_latency_seconds_bucket{disk="%s",le="+Inf"} 12\n'):format(dev), text, 1, true)
    local sum = tonumber(text:match('\nluabpf_block_io_latency_seconds_sum{disk="' .. dev .. '"} (%S+)\n'))
    assert.is_true(sum > 0 and sum < 12, text)
    h.write_file(dir .. "/scrape", text)
    out, code = h.run("promtool check metrics < " .. dir .. "/scrape")
    assert.are.equal(0, code, out)
    h.run("sleep 3.5; rm -rf " .. dir)
  end)

  it("times the run queue waits of one process's wakeups, and writes the textfile and JSON lines each interval", function()
    local dir = h.tmpdir()
    local prom = dir .. "/luabpf.prom"
    local fixture = io.popen(h.fixture("pipe_wake") .. " 20 20")
    local pid = fixture:read("l")
    local port = exporter(("-n waiter --textfile %s --json --duration 2.4 1"):format(prom), dir)
    h.run("kill -USR1 " .. pid .. "; sleep 0.6; kill -USR1 " .. pid)
    fixture:close()
    local text = scrape(port)
    local n = tonumber(text:match("\nluabpf_runqueue_latency_seconds_count (%d+)\n"))
    -- 20 reads, each but a late one (see bcc_tools_spec) waking the waiter, then
    -- the end of the waker and the signal.
    assert.is_true(n and n >= 19 and n <= 24, text)
    h.run("sleep 2.5")
    local file = read_file(prom)
    assert.matches("\nluabpf_runqueue_latency_seconds_count " .. n .. "\n", file, 1, true)
    local json = read_file(dir .. "/out")
    assert.matches('{"map":"at_runq","key":{"__slot":%d+},"value":%[{"count":%d+,"sum":%d+}', json)
    h.run("rm -rf " .. dir)
  end)
end)
