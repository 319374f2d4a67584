-- Shared by the specs: where the build and fixtures are, and small process
-- helpers (pid, fd count, running commands) written with plain Lua io.
local M = {}

-- Under `make test SANITIZE=1` busted's lua has the ASan runtime preloaded so
-- that it can load the sanitized bpf.so; the commands specs run (dd, the
-- fixtures) must not inherit it.
if os.getenv("LUABPF_SANITIZE") == "1" then
  local popen, execute = io.popen, os.execute
  io.popen = function(cmd, ...) return popen("unset LD_PRELOAD; " .. cmd, ...) end
  os.execute = function(cmd) return execute(cmd and "unset LD_PRELOAD; " .. cmd) end
end

M.root = os.getenv("LUABPF_ROOT") or "."
-- build/, or build-san/ for `make test SANITIZE=1`.
M.build = M.root .. "/" .. (os.getenv("LUABPF_BUILD") or "build")
M.luabpf = M.build .. "/luabpf"

function M.fixture(name)
  return M.build .. "/tests/" .. name
end

-- This process's pid: /proc/self is whoever opens it, and io.open runs here.
function M.getpid()
  local f = assert(io.open("/proc/self/stat"))
  local pid = tonumber(f:read("l"):match("^(%d+)"))
  f:close()
  return pid
end

function M.fd_count(pid)
  local p = io.popen("ls /proc/" .. pid .. "/fd")
  local n = 0
  for _ in p:lines() do n = n + 1 end
  p:close()
  return n
end

-- Runs a shell command; returns its combined output and exit code.
function M.run(cmd)
  local p = io.popen("(" .. cmd .. ") 2>&1")
  local out = p:read("a")
  local _, _, code = p:close()
  return out, code
end

-- The message of the error f raises (failing the test if it raises none).
function M.error_of(f, ...)
  local ok, err = pcall(f, ...)
  assert(not ok, "expected an error, got success")
  return tostring(err)
end

-- The line of the calling spec file where `marker` appears: errors must name it.
function M.line_of(marker)
  local n = 0
  for line in io.lines(debug.getinfo(2, "S").source:sub(2)) do
    n = n + 1
    if line:find(marker, 1, true) then return n end
  end
  error("no line with " .. marker)
end

function M.write_file(path, text)
  local f = assert(io.open(path, "w"))
  f:write(text)
  f:close()
end

function M.tmpdir()
  local p = io.popen("mktemp -d")
  local dir = p:read("l")
  p:close()
  return dir
end

-- A hash map from u32 to u64, the shape most test programs count into.
function M.hash_u32_u64(name, entries)
  return ("struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, %d); __type(key, u32); "
    .. "__type(value, u64); } %s SEC(\".maps\");\n"):format(entries or 10240, name)
end

-- Loses the first data segment sent to a TCP port on the loopback device:
-- "ingress" loses it on the wire (the sender retransmits), "egress" drops it
-- as the sender's own device sends it. A tc clsact filter runs a luabpf
-- program; close() removes it and returns how many segments it dropped.
function M.lossy_loopback(port, direction)
  local bpf = require "bpf"
  local b = bpf.new([[
#define ETH_P_IP 0x0800
#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
const volatile u16 port = 0;
u64 dropped = 0;
SEC("tc") int lose_first(struct __sk_buff *skb)
{
	void *data = (void *)(long)skb->data, *end = (void *)(long)skb->data_end;
	struct ethhdr *eth = data;
	if ((void *)(eth + 1) > end || eth->h_proto != bpf_htons(ETH_P_IP))
		return TC_ACT_OK;
	struct iphdr *ip = (void *)(eth + 1);
	if ((void *)(ip + 1) > end || ip->protocol != IPPROTO_TCP)
		return TC_ACT_OK;
	struct tcphdr *tcp = (void *)ip + ip->ihl * 4;
	if ((void *)(tcp + 1) > end || tcp->dest != bpf_htons(port))
		return TC_ACT_OK;
	if (bpf_ntohs(ip->tot_len) == ip->ihl * 4 + tcp->doff * 4 || dropped)
		return TC_ACT_OK;
	dropped++;
	return TC_ACT_SHOT;
}
]], { rodata = { port = port } })
  local pin = "/sys/fs/bpf/luabpf_test_lossy_" .. M.getpid()
  b.progs.lose_first:pin(pin)
  M.run("tc qdisc del dev lo clsact")
  local out, code = M.run("tc qdisc add dev lo clsact && tc filter add dev lo " .. direction
    .. " bpf direct-action object-pinned " .. pin)
  os.remove(pin)
  if code ~= 0 then
    b:close()
    error("cannot install the tc filter on lo: " .. out)
  end
  return {
    close = function()
      M.run("tc qdisc del dev lo clsact")
      local n = b.globals.dropped
      b:close()
      return n
    end,
  }
end

return M
