-- Network attach kinds against real devices: a veth pair whose far end lives
-- in a network namespace the spec creates (and removes), UDP datagrams sent
-- across it by the udp_count fixture, and a cgroup v2 directory of its own.
local h = require "helper"
local bpf = require "bpf"

local pid = h.getpid()
local NS, HOST_DEV, NS_DEV = "lbpf" .. pid, "lbh" .. pid % 100000, "lbn" .. pid % 100000
local HOST_IP, NS_IP, PORT = "10.213.7.1", "10.213.7.2", 9999

-- Counts and drops (or passes) UDP datagrams to PORT, wherever it is attached.
local COUNTER = [[
#include <linux/if_ether.h>
#include <linux/pkt_cls.h>
#include <linux/netfilter.h>
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } seen SEC(".maps");
const volatile u8 drop = 0;

/* Whether the IPv4 header at ip is a UDP datagram to the spec's port. */
static __always_inline int ours(struct iphdr *ip, void *end)
{
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_UDP)
		return 0;
	struct udphdr *udp = (void *)ip + ip->ihl * 4;
	return (void *)(udp + 1) <= end && udp->dest == bpf_htons(9999);
}

static __always_inline void count(void)
{
	u32 k = 0;
	u64 *n = bpf_map_lookup_elem(&seen, &k);
	if (n)
		__sync_fetch_and_add(n, 1);
}

SEC("xdp") int on_xdp(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || !ours((void *)(eth + 1), end))
		return XDP_PASS;
	count();
	return drop ? XDP_DROP : XDP_PASS;
}

SEC("tc") int on_tc(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP) || !ours((void *)(eth + 1), end))
		return TC_ACT_UNSPEC;
	count();
	/* Not TC_ACT_OK, which would end the device's chain of tcx programs here. */
	return drop ? TC_ACT_SHOT : TC_ACT_UNSPEC;
}

/* Keeps the spec's UDP datagrams whole and drops everything else. */
SEC("socket") int on_socket(struct __sk_buff *skb)
{
	struct ethhdr eth;
	struct iphdr ip;
	struct udphdr udp;
	if (bpf_skb_load_bytes(skb, 0, &eth, sizeof(eth)) || eth.h_proto != bpf_htons(ETH_P_IP) ||
	    bpf_skb_load_bytes(skb, sizeof(eth), &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP ||
	    bpf_skb_load_bytes(skb, sizeof(eth) + ip.ihl * 4, &udp, sizeof(udp)) || udp.dest != bpf_htons(9999))
		return 0;
	count();
	return skb->len;
}

SEC("netfilter") int on_netfilter(struct bpf_nf_ctx *ctx)
{
	struct sk_buff *skb = ctx->skb;
	unsigned char *ip = skb->head + skb->network_header;
	struct iphdr iph;
	struct udphdr udp;
	if (bpf_probe_read_kernel(&iph, sizeof(iph), ip) || iph.protocol != IPPROTO_UDP ||
	    bpf_probe_read_kernel(&udp, sizeof(udp), ip + iph.ihl * 4) || udp.dest != bpf_htons(9999))
		return NF_ACCEPT;
	count();
	return drop ? NF_DROP : NF_ACCEPT;
}

/* Every packet dissected the kernel's own way. */
SEC("flow_dissector") int on_dissect(struct __sk_buff *skb) { return BPF_FLOW_DISSECTOR_CONTINUE; }

SEC("cgroup_skb/egress") int on_egress(struct __sk_buff *skb)
{
	struct iphdr ip;
	struct udphdr udp;
	if (bpf_skb_load_bytes(skb, 0, &ip, sizeof(ip)) || ip.protocol != IPPROTO_UDP ||
	    bpf_skb_load_bytes(skb, ip.ihl * 4, &udp, sizeof(udp)) || udp.dest != bpf_htons(9999))
		return 1;
	count();
	return 1;
}
]]

local function counter(drop)
  return bpf.new(COUNTER, { autoattach = false, rodata = { drop = drop and 1 or 0 } })
end

-- How many of n datagrams sent from `from` ("host" or "ns") arrive at the other side.
local function send(from, n, prefix)
  local to_ns = from == "host"
  local recv = (to_ns and "ip netns exec " .. NS .. " " or "") .. h.fixture("udp_count")
    .. (" recv %s %d 400"):format(to_ns and NS_IP or HOST_IP, PORT)
  local r = io.popen(recv)
  assert.are.equal("ready", r:read("l"))
  h.run((prefix or "") .. (to_ns and "" or "ip netns exec " .. NS .. " ") .. h.fixture("udp_count")
    .. (" send %s %d %d"):format(to_ns and NS_IP or HOST_IP, PORT, n))
  local got = tonumber(r:read("l"))
  r:close()
  return got
end

-- The cgroup v2 hierarchy: wherever it is mounted, or mounted for the spec.
local function cgroup2_root()
  for line in io.lines("/proc/self/mounts") do
    local dir, fs = line:match("^%S+ (%S+) (%S+)")
    if fs == "cgroup2" then return dir end
  end
  local dir = "/run/luabpf-cgroup2-" .. pid
  h.run("mkdir -p " .. dir .. " && mount -t cgroup2 none " .. dir)
  return dir
end

describe("network attach", function()
  setup(function()
    h.run(("ip netns del %s 2>/dev/null; ip netns add %s && ip link add %s type veth peer name %s netns %s && "
      .. "ip addr add %s/24 dev %s && ip link set %s up && ip -n %s addr add %s/24 dev %s && "
      .. "ip -n %s link set %s up && ip -n %s link set lo up"):format(NS, NS, HOST_DEV, NS_DEV, NS,
      HOST_IP, HOST_DEV, HOST_DEV, NS, NS_IP, NS_DEV, NS, NS_DEV, NS))
    -- Neighbours resolved once, so no test counts on ARP timing.
    assert.are.equal(3, send("host", 3))
    assert.are.equal(3, send("ns", 3))
  end)

  teardown(function()
    h.run("ip link del " .. HOST_DEV .. " 2>/dev/null; ip netns del " .. NS)
  end)

  it("XDP drops a device's packets until the link is detached, in each mode", function()
    for _, mode in ipairs { false, "skb", "drv" } do
      local b <close> = counter(true)
      local link = b:attach_xdp { dev = HOST_DEV, fn = "on_xdp", mode = mode or nil }
      assert.are.equal(0, send("ns", 5), tostring(mode))
      assert.are.equal(5, b.maps.seen[0])
      link:detach()
      assert.are.equal(5, send("ns", 5))
      assert.are.equal(5, b.maps.seen[0])
    end
  end)

  it("XDP names a taken device, a missing one, a mode the device lacks and a program of another type", function()
    local b <close> = counter(false)
    b:attach_xdp { dev = HOST_DEV, fn = "on_xdp" }
    local other <close> = counter(false)
    assert.matches("attach_xdp: " .. HOST_DEV .. " already runs XDP program id %d+; detach it first "
      .. "%(ip link set dev " .. HOST_DEV .. " xdp off, or bpftool link detach%)",
      h.error_of(other.attach_xdp, other, { dev = HOST_DEV, fn = "on_xdp" }))
    assert.matches("no network device named 'nosuchdev0' %(ip link lists them%)",
      h.error_of(other.attach_xdp, other, { dev = "nosuchdev0", fn = "on_xdp" }))
    assert.matches("attach_xdp: " .. HOST_DEV .. " has no hw%-mode XDP %(mode \"skb\" works on every device%)",
      h.error_of(other.attach_xdp, other, { dev = HOST_DEV, fn = "on_xdp", mode = "hw" }))
    assert.matches("attach_xdp: mode 'fast' is not one of \"skb\"",
      h.error_of(other.attach_xdp, other, { dev = HOST_DEV, fn = "on_xdp", mode = "fast" }), 1, true)
    assert.matches("program 'on_tc' is not an XDP program (its section is \"tc\"); declare it with SEC(\"xdp\")",
      h.error_of(other.attach_xdp, other, { dev = HOST_DEV, fn = "on_tc" }), 1, true)
    assert.matches("attach_xdp: 'dev' must name a network device",
      h.error_of(other.attach_xdp, other, { fn = "on_xdp" }), 1, true)
  end)

  it("a program `ip link` installed is taken over with replace = true", function()
    local pinned = "/sys/fs/bpf/luabpf-spec-xdp-" .. pid
    local b <close> = counter(false)
    b.progs.on_xdp:pin(pinned)
    h.run(("ip link set dev %s xdpgeneric pinned %s"):format(HOST_DEV, pinned))
    os.remove(pinned)
    local mine <close> = counter(true)
    assert.matches("already runs XDP program",
      h.error_of(mine.attach_xdp, mine, { dev = HOST_DEV, fn = "on_xdp" }), 1, true)
    local link = mine:attach_xdp { dev = HOST_DEV, fn = "on_xdp", replace = true }
    assert.are.equal(0, send("ns", 4))
    assert.are.equal(4, mine.maps.seen[0])
    link:detach()
    assert.are.equal(4, send("ns", 4))
  end)

  it("a pinned XDP link outlives its script, and the next script opens and detaches it", function()
    local pin = "/sys/fs/bpf/luabpf-spec-link-" .. pid
    local dir = h.tmpdir()
    h.write_file(dir .. "/src.c", COUNTER)
    h.write_file(dir .. "/install.lua", ([[
local src = io.open("%s/src.c"):read("a")
local b = bpf.new(src, {autoattach = false, rodata = {drop = 1}})
b:attach_xdp{dev = "%s", fn = "on_xdp"}:pin("%s")
]]):format(dir, HOST_DEV, pin))
    h.write_file(dir .. "/remove.lua", ([[
local l = bpf.open_pinned("%s")
print(l.type, l.attached, l:detach(), l.attached)
l:unpin("%s")
]]):format(pin, pin))
    assert.are.equal("", h.run(h.luabpf .. " " .. dir .. "/install.lua"))
    assert.are.equal(0, send("ns", 3))
    assert.are.equal("xdp\ttrue\ttrue\tfalse\n", h.run(h.luabpf .. " " .. dir .. "/remove.lua"))
    assert.are.equal(3, send("ns", 3))
    assert.is_nil(io.open(pin))
    h.run("rm -rf " .. dir)
  end)

  it("TC counts exact packets on ingress and egress, and drops with TC_ACT_SHOT", function()
    local b <close> = counter(false)
    local ingress = b:attach_tc { dev = HOST_DEV, fn = "on_tc", direction = "ingress" }
    assert.are.equal(6, send("ns", 6))
    assert.are.equal(6, b.maps.seen[0])
    ingress:detach()
    b:attach_tc { dev = HOST_DEV, fn = "on_tc", direction = "egress" }
    assert.are.equal(4, send("host", 4))
    assert.are.equal(10, b.maps.seen[0])
    local dropper <close> = counter(true)
    dropper:attach_tc { dev = HOST_DEV, fn = "on_tc", direction = "egress" }
    assert.are.equal(0, send("host", 3))
    assert.are.equal(3, dropper.maps.seen[0])
    -- On the clsact qdisc instead, as tc(8) sees it; the qdisc goes with the filter.
    local clsact <close> = counter(false)
    local filter = clsact:attach_tc { dev = HOST_DEV, fn = "on_tc", direction = "ingress", mode = "clsact" }
    assert.matches("qdisc clsact", h.run("tc qdisc show dev " .. HOST_DEV), 1, true)
    assert.matches("on_tc", h.run("tc filter show dev " .. HOST_DEV .. " ingress"), 1, true)
    assert.are.equal(5, send("ns", 5))
    assert.are.equal(5, clsact.maps.seen[0])
    assert.matches("cannot pin a TC filter on the clsact qdisc: it is not a kernel link",
      h.error_of(filter.pin, filter, "/sys/fs/bpf/luabpf-spec-clsact"), 1, true)
    filter:detach()
    assert.is_nil(h.run("tc qdisc show dev " .. HOST_DEV):find("clsact", 1, true))
    assert.matches("attach_tc: mode 'qdisc' is not \"tcx\" or \"clsact\"",
      h.error_of(b.attach_tc, b, { dev = HOST_DEV, fn = "on_tc", direction = "egress", mode = "qdisc" }), 1, true)
    assert.matches("attach_tc: 'direction' must be \"ingress\" or \"egress\"",
      h.error_of(b.attach_tc, b, { dev = HOST_DEV, fn = "on_tc" }), 1, true)
    assert.matches("program 'on_xdp' is not a TC program (its section is \"xdp\"); declare it with SEC(\"tc\")",
      h.error_of(b.attach_tc, b, { dev = HOST_DEV, fn = "on_xdp", direction = "egress" }), 1, true)
  end)

  it("a socket filter delivers exactly the UDP datagrams sent to the port, on a packet socket or one's own", function()
    local b <close> = counter(false)
    local sock <close> = b:attach_socket_filter { dev = HOST_DEV, fn = "on_socket" }
    assert.are.equal(5, send("ns", 5))
    local got = {}
    for _ = 1, 6 do
      local packet = sock:recv(200)
      if not packet then break end
      -- Ethernet, then IPv4 (20 bytes here), then the UDP destination port.
      got[#got + 1] = string.unpack(">I2", packet, 14 + 20 + 3)
    end
    assert.are.same({ 9999, 9999, 9999, 9999, 9999 }, got)
    assert.are.equal(5, b.maps.seen[0])
    -- The same filter put on a socket the caller already has.
    assert.is_true(b:attach_socket_filter { fd = sock.fd, fn = "on_socket" })
    sock:close()
    assert.matches("this packet socket is closed", h.error_of(sock.recv, sock), 1, true)
    assert.matches("cannot attach socket filter 'on_socket' to socket 0: Socket operation on non-socket "
      .. "(fd must be an open socket)", h.error_of(b.attach_socket_filter, b, { fd = 0, fn = "on_socket" }), 1, true)
    assert.matches("program 'on_xdp' is not a socket filter program (its section is \"xdp\"); declare it with "
      .. "SEC(\"socket\")", h.error_of(b.attach_socket_filter, b, { dev = HOST_DEV, fn = "on_xdp" }), 1, true)
    assert.matches("attach_socket_filter: give 'dev'", h.error_of(b.attach_socket_filter, b, { fn = "on_socket" }),
      1, true)
  end)

  it("netfilter counts and drops at a hook; a flow dissector attaches to a namespace, one at a time", function()
    local b <close> = counter(true)
    local l = b:attach_netfilter { family = "ipv4", hook = "input", priority = -128, fn = "on_netfilter" }
    assert.are.equal(0, send("ns", 4))
    assert.are.equal(4, b.maps.seen[0])
    l:detach()
    assert.are.equal(4, send("ns", 4))
    assert.are.equal(4, b.maps.seen[0])
    assert.matches("attach_netfilter: hook 'inbound' is not one of prerouting, input, forward, output, postrouting",
      h.error_of(b.attach_netfilter, b, { family = "ipv4", hook = "inbound", fn = "on_netfilter" }), 1, true)
    assert.matches("attach_netfilter: family 'ip' is not \"ipv4\" or \"ipv6\"",
      h.error_of(b.attach_netfilter, b, { family = "ip", hook = "input", fn = "on_netfilter" }), 1, true)

    local netns = "/run/netns/" .. NS
    local dissector = b:attach_flow_dissector { netns = netns, fn = "on_dissect" }
    assert.is_true(dissector.attached)
    assert.are.equal(3, send("ns", 3))
    local other <close> = counter(false)
    assert.matches("cannot attach program 'on_dissect' to the flow dissector of " .. netns .. ": it has a flow "
      .. "dissector already (one per namespace)",
      h.error_of(other.attach_flow_dissector, other, { netns = netns, fn = "on_dissect" }), 1, true)
    assert.matches("attach_flow_dissector: cannot open the network namespace /run/netns/none: No such file or "
      .. "directory", h.error_of(b.attach_flow_dissector, b, { netns = "/run/netns/none", fn = "on_dissect" }), 1, true)
    dissector:detach()
    other:attach_flow_dissector { netns = netns, fn = "on_dissect" }
  end)

  it("cgroup_skb counts the packets of processes in its cgroup only; a cgroup array takes a cgroup's path", function()
    local dir = cgroup2_root() .. "/luabpf-spec-" .. pid
    assert(h.run("mkdir " .. dir .. " && echo ok") == "ok\n")
    local b <close> = counter(false)
    local link = b:attach_cgroup { path = dir, fn = "on_egress" }
    assert.are.equal(5, send("host", 5, ("sh -c 'echo $$ > %s/cgroup.procs && exec \"$0\" \"$@\"' "):format(dir)))
    assert.are.equal(5, b.maps.seen[0])
    assert.are.equal(3, send("host", 3))
    assert.are.equal(5, b.maps.seen[0])
    link:detach()
    assert.are.equal(2, send("host", 2, ("sh -c 'echo $$ > %s/cgroup.procs && exec \"$0\" \"$@\"' "):format(dir)))
    assert.are.equal(5, b.maps.seen[0])
    assert.matches("attach_cgroup: 'cgroup_nothing' is not a cgroup attach type",
      h.error_of(b.attach_cgroup, b, { path = dir, fn = "on_egress", type = "cgroup_nothing" }), 1, true)
    assert.matches("cannot attach program 'on_egress' (section \"cgroup_skb/egress\") as cgroup_inet4_connect of "
      .. "cgroup " .. dir .. ": the program's type does not take that attach type",
      h.error_of(b.attach_cgroup, b, { path = dir, fn = "on_egress", type = "cgroup_inet4_connect" }), 1, true)
    assert.matches("attach_cgroup: /tmp is not a cgroup v2 directory",
      h.error_of(b.attach_cgroup, b, { path = "/tmp", fn = "on_egress" }), 1, true)
    assert.matches("attach_cgroup: cannot open the cgroup /nonexistent: No such file or directory",
      h.error_of(b.attach_cgroup, b, { path = "/nonexistent", fn = "on_egress" }), 1, true)
    b:close()

    -- A cgroup array takes the cgroup by path; programs test it, Lua cannot read it.
    local cg <close> = bpf.new([[
struct { __uint(type, BPF_MAP_TYPE_CGROUP_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u32); } cgs SEC(".maps");
u64 opens = 0;
SEC("tp/syscalls/sys_enter_openat") int in_cgroup(void *ctx)
{
	if (bpf_current_task_under_cgroup(&cgs, 0) == 1)
		__sync_fetch_and_add(&opens, 1);
	return 0;
}
]])
    cg.maps.cgs[0] = dir
    h.run(("sh -c 'echo $$ > %s/cgroup.procs && exec %s 7 /dev/null'"):format(dir, h.fixture("opener")))
    h.run(h.fixture("opener") .. " 4 /dev/null")
    assert.are.equal(7, cg.globals.opens)
    assert.matches("map 'cgs': a cgroup_array cannot be read from user space: the kernel lets programs test it",
      h.error_of(function() return cg.maps.cgs[0] end), 1, true)
    assert.matches("map 'cgs': cannot open the cgroup /nonexistent: No such file or directory",
      h.error_of(function() cg.maps.cgs[0] = "/nonexistent" end), 1, true)
    assert.matches("map 'cgs': a cgroup_array holds cgroups (a cgroup v2 directory's path, or an fd of one), got "
      .. "table", h.error_of(function() cg.maps.cgs[0] = {} end), 1, true)
    cg.maps.cgs[0] = nil
    cg:close()
    h.run("rmdir " .. dir)
  end)

  it("sk_msg and sk_skb programs run for the sockets of a sockhash, as links or attached to the map", function()
    local dir = cgroup2_root() .. "/luabpf-sockmap-" .. pid
    assert(h.run("mkdir " .. dir .. " && echo ok") == "ok\n")
    local b <close> = bpf.new([[
struct { __uint(type, BPF_MAP_TYPE_SOCKHASH); __uint(max_entries, 64); __type(key, u32); __type(value, u64); } socks SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 64); __type(key, u32); __type(value, u64); } msgs SEC(".maps"), bytes SEC(".maps");
struct { __uint(type, BPF_MAP_TYPE_ARRAY); __uint(max_entries, 1); __type(key, u32); __type(value, u64); } plain SEC(".maps");

static __always_inline void add(void *map, u32 port, u64 n)
{
	u64 *v = bpf_map_lookup_elem(map, &port);
	if (v)
		__sync_fetch_and_add(v, n);
	else
		bpf_map_update_elem(map, &port, &n, BPF_NOEXIST);
}

/* Each TCP connection of the cgroup goes into the sockhash, both ends. */
SEC("sockops") int add_socks(struct bpf_sock_ops *ops)
{
	u32 port = ops->local_port;
	if (ops->op == BPF_SOCK_OPS_ACTIVE_ESTABLISHED_CB || ops->op == BPF_SOCK_OPS_PASSIVE_ESTABLISHED_CB)
		bpf_sock_hash_update(ops, &socks, &port, BPF_ANY);
	return 1;
}

SEC("sk_msg") int count_msgs(struct sk_msg_md *msg)
{
	add(&msgs, msg->local_port, 1);
	return SK_PASS;
}

SEC("sk_skb/stream_verdict") int count_bytes(struct __sk_buff *skb)
{
	add(&bytes, skb->local_port, skb->len);
	return SK_PASS;
}

SEC("sk_skb") int unnamed_hook(struct __sk_buff *skb) { return SK_PASS; }
]], { autoattach = false })
    b:attach_cgroup { path = dir, fn = "add_socks" }
    -- The client writes 10240 bytes in 3 writes, the server answers 2048 in 1.
    local function session()
      local out = h.run(("sh -c 'echo $$ > %s/cgroup.procs && exec %s 10240 2048'"):format(dir, h.fixture("tcp_pair")))
      local client, server = out:match("^%d+ (%d+) (%d+)")
      local counts = { b.maps.msgs[tonumber(client)], b.maps.msgs[tonumber(server)],
        b.maps.bytes[tonumber(server)], b.maps.bytes[tonumber(client)] }
      b.maps.msgs:clear()
      b.maps.bytes:clear()
      return counts
    end
    assert.are.same({}, session())
    for _, mode in ipairs { "link", "prog_attach" } do
      local verdict = b:attach_sockmap { map = "socks", fn = "count_msgs", mode = mode }
      local stream = b:attach_sockmap { map = b.maps.socks, fn = "count_bytes", mode = mode }
      assert.are.same({ 3, 1, 10240, 2048 }, session(), mode)
      verdict:detach()
      assert.are.same({ nil, nil, 10240, 2048 }, session(), mode)
      stream:detach()
      assert.are.same({}, session(), mode)
    end
    assert.matches("cannot pin a program attached without a link (mode \"prog_attach\")",
      h.error_of(function()
        b:attach_sockmap { map = "socks", fn = "count_msgs", mode = "prog_attach" }:pin("/sys/fs/bpf/none")
      end), 1, true)
    assert.matches("attach_sockmap: section \"sk_skb\" of program 'unnamed_hook' does not say which hook; give "
      .. "type = \"sk_msg_verdict\"", h.error_of(b.attach_sockmap, b, { map = "socks", fn = "unnamed_hook" }), 1, true)
    b:attach_sockmap { map = "socks", fn = "unnamed_hook", type = "sk_skb_stream_parser" }
    assert.matches("attach_sockmap: 'cgroup_inet_ingress' is not a sockmap attach type",
      h.error_of(b.attach_sockmap, b, { map = "socks", fn = "unnamed_hook", type = "cgroup_inet_ingress" }), 1, true)
    assert.matches("attach_sockmap: map 'plain' has type array; sk_msg and sk_skb programs attach to a sockmap or a "
      .. "sockhash", h.error_of(b.attach_sockmap, b, { map = "plain", fn = "count_msgs" }), 1, true)
    assert.matches("attach_sockmap: this object has no map named 'nothing'",
      h.error_of(b.attach_sockmap, b, { map = "nothing", fn = "count_msgs" }), 1, true)
    assert.matches("program 'add_socks' is not an sk_msg or sk_skb program (its section is \"sockops\")",
      h.error_of(b.attach_sockmap, b, { map = "socks", fn = "add_socks" }), 1, true)
    assert.matches("attach_sockmap: mode 'fast' is not \"link\" or \"prog_attach\"",
      h.error_of(b.attach_sockmap, b, { map = "socks", fn = "count_msgs", mode = "fast" }), 1, true)
    b:close()
    h.run("rmdir " .. dir)
  end)
end)
