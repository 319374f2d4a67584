-- A metrics server for bench/metrics.lua, in a process of its own so that
-- its memory is its own. "series N SECONDS": N counter series to scrape.
-- "load SECONDS PIN": a ring buffer whose producer is pinned at PIN for the
-- bench to run, counted in a map that is scraped. Prints the port, then at
-- the end the events received and lost.
local bpf = require "bpf"

local mode, a, b_arg, c_arg = arg[1], arg[2], arg[3], arg[4]
bpf.print_at_exit(false)
local SERIES = [[
struct series_key { u32 cpu; u32 id; };
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 16384); __type(key, struct series_key); __type(value, u64); } series SEC(".maps");
SEC("xdp") int nothing(struct xdp_md *ctx) { return XDP_PASS; }
]]
local LOAD = [[
struct rec { u64 a; u64 b; u64 c; u64 d; };
LUABPF_RINGBUF(events, 1 << 26);
BPF_PERCPU_ARRAY(produced, u64, 64);

static long emit(u32 i, void *unused)
{
	struct rec r = {1, 2, 3, 4};
	luabpf_ringbuf_output(events, &r, sizeof(r), i == 255 ? BPF_RB_FORCE_WAKEUP : BPF_RB_NO_WAKEUP);
	return 0;
}

SEC("xdp")
int produce(struct xdp_md *ctx)
{
	u32 slot = bpf_get_prandom_u32() & 63;
	u64 *n = produced.lookup(&slot);
	if (n)
		*n += 256;
	bpf_loop(256, emit, 0, 0);
	return XDP_PASS;
}
]]
local b = bpf.new(mode == "series" and SERIES or LOAD)
local seconds
if mode == "series" then
  local n = tonumber(a)
  seconds = tonumber(b_arg)
  local m = b.maps.series
  for i = 0, n - 1 do m[{ cpu = i % 2, id = i // 2 }] = i end
  bpf.metrics.counter { name = "bench_calls_total", help = "calls", map = m,
    labels = { "cpu", { name = "syscall", field = "id", decode = "syscall" } } }
else
  seconds = tonumber(a)
  b.progs.produce:pin(b_arg)
  bpf.metrics.counter { name = "bench_produced_total", help = "records produced, by slot", map = b.maps.produced,
    labels = { "slot" } }
end
local received = 0
if mode ~= "series" then
  b:ring_buffer("events", function(evs) received = received + #evs end, { type = "struct rec", batch = true })
end
local server = bpf.serve_metrics { listen = "127.0.0.1:0" }
io.stdout:write(server:port(), "\n")
io.stdout:flush()
b:run { duration = seconds }
while b:poll(50) > 0 do end
io.stdout:write(received, " ", mode == "series" and 0 or b:stats().events.lost, "\n")
server:close()
b:close()
