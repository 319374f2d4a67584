-- Startup figures: compile, load and attach times of a small tracepoint
-- program and the host's memory, measured in this process (not a test).
local bpf = require "bpf"

local SRC = require "count_openat"

local function rss_mb()
  for line in io.lines("/proc/self/status") do
    local kb = line:match("^VmRSS:%s+(%d+)")
    if kb then return tonumber(kb) / 1024 end
  end
end

local wall = require "best_of"

local elf
local compile_s = wall(function() elf = bpf.compile(SRC) end, 3)
local load_s = wall(function() bpf.new(elf, { autoattach = false }):close() end, 10)
local attach_s = wall(function()
  local b = bpf.new(elf)
  local t0 = bpf.ktime_ns()
  b:close()
  detach_s = math.min(detach_s or math.huge, (bpf.ktime_ns() - t0) / 1e9)
end, 10)
local b <close> = bpf.new(elf)
collectgarbage()

print(("%-44s %10s"):format("startup (best of several runs)", "value"))
print(("%-44s %9.3f s"):format("compile, no cache (fork + clang + vmlinux.h)", compile_s))
print(("%-44s %9.4f s"):format("load from ELF bytes", load_s))
print(("%-44s %9.4f s"):format("load + auto-attach + close", attach_s))
print(("%-44s %9.4f s"):format("  of which close (detach waits for RCU)", detach_s))
print(("%-44s %8.1f MB"):format("RSS while tracing (after compiling)", rss_mb()))
