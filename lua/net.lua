-- Network values as tools print them: addresses in the forms a BPF program
-- copies them out (u32, byte string, byte array), TCP states and flags by
-- name. The binding runs this file with the bpf table.
local bpf = ...

local AF_INET, AF_INET6 = 2, 10

-- The address's bytes in network order. A u32 is an IPv4 address read from
-- the kernel on this little-endian machine, so its low byte comes first.
local function address_bytes(addr)
  if math.type(addr) == "integer" then
    return string.pack("<I4", addr & 0xffffffff)
  elseif type(addr) == "table" then
    return string.char(table.unpack(addr))
  elseif type(addr) == "string" then
    return addr
  end
  error("inet_ntop: expected an address (integer, byte string or byte array), got " .. type(addr), 3)
end

local function ipv6_text(b)
  local groups = { string.unpack(">I2I2I2I2I2I2I2I2", b) }
  groups[9] = nil
  -- RFC 5952: the longest run of two or more zero groups becomes "::".
  local best, best_len, run, run_len = nil, 1, nil, 0
  for i = 1, 8 do
    if groups[i] == 0 then
      run, run_len = run or i, run_len + 1
      if run_len > best_len then best, best_len = run, run_len end
    else
      run, run_len = nil, 0
    end
  end
  local function hex(from, to)
    local t = {}
    for i = from, to do t[#t + 1] = ("%x"):format(groups[i]) end
    return table.concat(t, ":")
  end
  if not best then return hex(1, 8) end
  if best == 1 and best_len == 5 and groups[6] == 0xffff then
    return "::ffff:" .. ("%d.%d.%d.%d"):format(b:byte(13, 16))
  end
  return hex(1, best - 1) .. "::" .. hex(best + best_len, 8)
end

-- bpf.inet_ntop(family, addr): "127.0.0.1", "::1"; family is AF_INET (2) or
-- AF_INET6 (10), or 4 and 6 as BCC's tools store it.
function bpf.inet_ntop(family, addr)
  local b = address_bytes(addr)
  if family == AF_INET or family == 4 then
    if #b < 4 then error("inet_ntop: an IPv4 address needs 4 bytes, got " .. #b, 2) end
    return ("%d.%d.%d.%d"):format(b:byte(1, 4))
  elseif family == AF_INET6 or family == 6 then
    if #b < 16 then error("inet_ntop: an IPv6 address needs 16 bytes, got " .. #b, 2) end
    return ipv6_text(b:sub(1, 16))
  end
  error("inet_ntop: unknown address family " .. tostring(family) .. " (expected 2/AF_INET or 10/AF_INET6)", 2)
end

-- The kernel's TCP states (include/net/tcp_states.h, part of the ABI that
-- the sock:inet_sock_set_state tracepoint reports).
local tcp_states = {
  "ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2", "TIME_WAIT", "CLOSE",
  "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV", "BOUND_INACTIVE",
}

function bpf.tcp_state(n)
  return tcp_states[n] or ("UNKNOWN(" .. tostring(n) .. ")")
end

-- The TCP header's flag byte as names joined by "|", lowest bit first.
local tcp_flag_names = { "FIN", "SYN", "RST", "PSH", "ACK", "URG", "ECE", "CWR" }

function bpf.tcp_flags(byte)
  local names = {}
  for bit, name in ipairs(tcp_flag_names) do
    if byte & (1 << (bit - 1)) ~= 0 then names[#names + 1] = name end
  end
  return table.concat(names, "|")
end
