-- Shared by the specs: where the build and fixtures are, and small process
-- helpers (pid, fd count, running commands) written with plain Lua io.
local M = {}

M.root = os.getenv("LUABPF_ROOT") or "."
M.luabpf = M.root .. "/build/luabpf"

function M.fixture(name)
  return M.root .. "/build/tests/" .. name
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

return M
