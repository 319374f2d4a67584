-- Bundles: launch to attached (the tool's first line) of bundled tools and
-- of a single-file executable, against the same tool as a script warm from
-- the cache; and the sizes of execsnoop's bundle and executable. arg[1] is
-- the build dir. Measurements, not tests.
local launch = require "launch"

local BUILD = arg[1] or "build"
local dir = os.tmpname()
os.remove(dir)
os.execute("mkdir -p " .. dir)

local function size(path)
  local f = io.open(path, "rb")
  local n = f and f:seek("end") or 0
  if f then f:close() end
  return n
end

local function bundle(exe, tool, out)
  assert(os.execute(("%s/luabpf bundle %s scripts/%s.lua -o %s -- -d 1 > /dev/null 2>&1"):format(BUILD,
    exe and "--exe" or "", tool, out)), "luabpf bundle failed")
end

bundle(false, "execsnoop", dir .. "/execsnoop.lbpf")
bundle(true, "execsnoop", dir .. "/execsnoop")
-- With --min-btf, this kernel's BTF (the whole file is some megabytes).
os.execute(("mkdir %s/btf && cp /sys/kernel/btf/vmlinux %s/btf/$(uname -r).btf"):format(dir, dir))
assert(os.execute(("%s/luabpf bundle --min-btf %s/btf scripts/execsnoop.lua -o %s/min.lbpf -- -d 1 > /dev/null 2>&1")
  :format(BUILD, dir, dir)), "luabpf bundle --min-btf failed")
print(("execsnoop: bundle %.1f KB (target < 100 KB), executable %.2f MB (target < 3 MB), bundle with this kernel's "
  .. "minimized BTF %.1f KB (its BTF: %.1f MB)"):format(size(dir .. "/execsnoop.lbpf") / 1024,
  size(dir .. "/execsnoop") / 1048576, size(dir .. "/min.lbpf") / 1024, size("/sys/kernel/btf/vmlinux") / 1048576))

-- opensnoop reads vmlinux types through CO-RE; tcpretrans's BCC-dialect
-- TRACEPOINT_PROBE args relocate against its tracepoint's record.
for _, tool in ipairs({ "opensnoop", "tcpretrans" }) do
  bundle(false, tool, dir .. "/" .. tool .. ".lbpf")
  bundle(true, tool, dir .. "/" .. tool)
  local rows = {
    launch.measure("script", ("%s/luabpf scripts/%s.lua -d 1"):format(BUILD, tool)),
    launch.measure("bundle", ("LUABPF_DRIVER=/nonexistent %s/luabpf %s/%s.lbpf -d 1"):format(BUILD, dir, tool)),
    launch.measure("executable", ("LUABPF_DRIVER=/nonexistent %s/%s -d 1"):format(dir, tool)),
  }
  print(tool .. ", launch to attached (target < 0.03 s for the bundle and the executable):")
  for _, r in ipairs(rows) do print(("  %-11s %s  RSS %.1f MB"):format(r.tool, r.summary, r.rss / 1024)) end
end
os.execute("rm -rf " .. dir)
