-- bpf.blockdev: what the block IO tools share: a disk's kernel dev_t and
-- name (through /sys/block), and a request's operation and flags by the
-- names the kernel's own BTF enums give them.
local bpf = require "bpf"

local M = {}

-- BPF C: rq_dev(rq), the dev_t of a request's disk (0 if it has none).
M.RQ_DEV = [[
static u32 rq_dev(struct request *rq)
{
	struct gendisk *disk = BPF_CORE_READ(rq, q, disk);
	if (!disk)
		return 0;
	return BPF_CORE_READ(disk, major) << 20 | BPF_CORE_READ(disk, first_minor);
}

]]

-- The kernel's dev_t (major << 20 | minor), as block tracepoints carry it.
function M.dev(major, minor) return major << 20 | minor end

local names
-- dev_t -> disk name, for every disk and partition /sys/block lists.
local function scan()
  names = {}
  local p = io.popen("cd /sys/class/block 2>/dev/null && for d in *; do echo \"$d $(cat $d/dev)\"; done")
  for line in p:lines() do
    local name, major, minor = line:match("^(%S+) (%d+):(%d+)$")
    if name then names[M.dev(tonumber(major), tonumber(minor))] = name end
  end
  p:close()
end

-- The name of the disk whose kernel dev_t is dev ("8,16" if it is gone).
function M.name(dev)
  if not names or not names[dev] then scan() end
  return names[dev] or ("%d,%d"):format(dev >> 20, dev & 0xfffff)
end

-- The dev_t of a disk named like "sda" or "loop0", or nil and why.
function M.lookup(name)
  if not names then scan() end
  for dev, n in pairs(names) do
    if n == name then return dev end
  end
  return nil, ("no disk named %s (see /sys/class/block)"):format(name)
end

-- An argparse converter for -d DISK.
function M.arg(s)
  local dev, why = M.lookup(s)
  if not dev then return nil, why end
  return dev
end

local ops, flag_bits
local function enums()
  ops, flag_bits = {}, {}
  for v, n in pairs(bpf.kernel_enum("req_op")) do ops[v] = n:gsub("^REQ_OP_", "") end
  for v, n in pairs(bpf.kernel_enum("req_flag_bits")) do
    if not n:find("^__REQ_NR") then flag_bits[v] = n:gsub("^__REQ_", "") end
  end
end

local function title(s) return s:sub(1, 1) .. s:sub(2):lower():gsub("_(%l)", function(c) return c:upper() end) end

-- A request's cmd_flags as BCC's biolatency -F names them: its flags then
-- its operation, "Sync-Write", "Read", "ForceUnitAccess-Write".
function M.flags(cmd_flags)
  if not ops then enums() end
  local op = cmd_flags & 0xff
  local parts = {}
  local bits = {}
  for bit in pairs(flag_bits) do bits[#bits + 1] = bit end
  table.sort(bits)
  for _, bit in ipairs(bits) do
    if cmd_flags & (1 << bit) ~= 0 then parts[#parts + 1] = title(flag_bits[bit]) end
  end
  parts[#parts + 1] = ops[op] and title(ops[op]) or ("Op" .. op)
  return table.concat(parts, "-")
end

-- R, W, F, D ...: the letter of a request's operation, as biosnoop's T column.
function M.op_letter(cmd_flags)
  if not ops then enums() end
  local op = ops[cmd_flags & 0xff]
  return op and op:sub(1, 1) or "?"
end

return M
