-- Attaching many user functions: 100 uprobes, one link each, against one
-- uprobe_multi link on the same 100 functions (a glob). Five rounds; the
-- range is printed, and every probe is checked to fire once per call.
-- Measurements, not tests.
local bpf = require "bpf"

local target = arg[1] .. "/bench/many_funcs"
local b <close> = bpf.new([[
u64 hits = 0;
SEC("uprobe") int one(struct pt_regs *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }
SEC("uprobe.multi") int many(struct pt_regs *ctx) { __sync_fetch_and_add(&hits, 1); return 0; }
]], { autoattach = false })

local function now() return bpf.ktime_ns() / 1e6 end

local function check(expected)
  b.globals.hits = 0
  os.execute(target)
  assert(b.globals.hits == expected, ("expected %d hits, got %d"):format(expected, b.globals.hits))
end

local rows = { one = { attach = {}, detach = {} }, multi = { attach = {}, detach = {} } }
for _ = 1, 5 do
  local t0 = now()
  local links = {}
  for i = 0, 99 do
    links[#links + 1] = b:attach_uprobe { path = target, sym = ("lbpf_f%02d"):format(i), fn = "one" }
  end
  local t1 = now()
  check(100)
  local t2 = now()
  for _, l in ipairs(links) do l:detach() end
  local t3 = now()
  table.insert(rows.one.attach, t1 - t0)
  table.insert(rows.one.detach, t3 - t2)

  t0 = now()
  local l = b:attach_uprobe_multi { path = target, sym = "lbpf_f*", fn = "many" }
  t1 = now()
  check(100)
  t2 = now()
  l:detach()
  t3 = now()
  table.insert(rows.multi.attach, t1 - t0)
  table.insert(rows.multi.detach, t3 - t2)
end

local function range(t)
  table.sort(t)
  return ("%.1f-%.1f ms"):format(t[1], t[#t])
end
print(("100 uprobes, one link each:   attach %s, detach %s"):format(range(rows.one.attach), range(rows.one.detach)))
print(("one uprobe_multi link (glob): attach %s, detach %s"):format(range(rows.multi.attach),
  range(rows.multi.detach)))
print("(5 rounds; every probe checked to fire once per call)")
