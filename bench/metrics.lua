-- Metrics benchmark (issue 17's targets): a scrape of 10,000 series, the
-- exporter's memory, and 100 scrapes a second while 1M ring buffer events a
-- second flow. No peer runs here: bpftrace has no metrics endpoint and
-- ebpf_exporter is not packaged. arg[1] is the build dir.
local BUILD = arg[1] or "build"

local function read_file(path)
  local f = io.open(path)
  if not f then return "" end
  local s = f:read("a")
  f:close()
  return s
end

local function sh(cmd)
  local p = io.popen(cmd)
  local s = p:read("a")
  p:close()
  return s
end

-- Starts a luabpf script in the background: its pid and stdout's file.
local function start(script)
  local out = os.tmpname()
  local pid = sh(("%s/luabpf %s > %s 2>&1 & echo $!"):format(BUILD, script, out)):match("%d+")
  return pid, out
end

local function first_line(path)
  for _ = 1, 600 do
    local line = read_file(path):match("^([^\n]*)\n")
    if line then return line end
    os.execute("sleep 0.05")
  end
  error("no output in " .. path .. ": " .. read_file(path))
end

local function memory(pid)
  local status = read_file("/proc/" .. pid .. "/status")
  return tonumber(status:match("VmRSS:%s*(%d+)")) / 1024, tonumber(status:match("VmHWM:%s*(%d+)")) / 1024
end

local function scraper(port, rate, seconds, path)
  local n, failed, p50, p99, max = sh(("%s/bench/scraper %s %s %s %s"):format(BUILD, port, path or "/metrics", rate,
    seconds)):match("(%d+) (%d+) (%S+) (%S+) (%S+)")
  return tonumber(n), tonumber(failed), p50, p99, max
end

local function wait_exit(pid)
  while os.execute("kill -0 " .. pid .. " 2>/dev/null") do os.execute("sleep 0.1") end
end

-- 10,000 series: scrape time and the serving process's memory.
do
  local pid, out = start("bench/metrics_server.lua series 10000 6")
  local port = first_line(out)
  local bytes = #sh(("curl -s http://127.0.0.1:%s/metrics"):format(port))
  local n, failed, p50, p99, max = scraper(port, 5, 4)
  local rss, hwm = memory(pid)
  print(("scrape of 10,000 series (%d KB of text), %d scrapes, %d failed: median %s ms, p99 %s ms, slowest %s ms "
    .. "(target < 50 ms)"):format(bytes // 1024, n, failed, p50, p99, max))
  print(("  its process: RSS %.1f MB, peak %.1f MB"):format(rss, hwm))
  wait_exit(pid)
  os.remove(out)
end

-- The example exporter on this machine's own activity.
do
  local pid, out = start("scripts/exporter.lua -l 127.0.0.1:0 --duration 8")
  local port
  for _ = 1, 600 do
    port = read_file(out):match("127%.0%.0%.1:(%d+)/metrics")
    if port then break end
    os.execute("sleep 0.05")
  end
  local n, failed, p50, _, max = scraper(port, 10, 5)
  local rss, hwm = memory(pid)
  local series = select(2, sh(("curl -s http://127.0.0.1:%s/metrics"):format(port)):gsub("\n[^#]", ""))
  print(("scripts/exporter.lua (%d series): %d scrapes, %d failed, median %s ms, slowest %s ms; RSS %.1f MB, peak "
    .. "%.1f MB (target < 20 MB)"):format(series, n, failed, p50, max, rss, hwm))
  wait_exit(pid)
  os.remove(out)
end

-- 100 scrapes a second for 10 s while a paced producer sends 1M events a second.
do
  local pin = "/sys/fs/bpf/luabpf_bench_metrics"
  os.remove(pin)
  local pid, out = start("bench/metrics_server.lua load 13 " .. pin)
  local port = first_line(out)
  local prod = os.tmpname()
  os.execute(("%s/bench/producer %s 10 %d > %s &"):format(BUILD, pin, 1000000 // 256, prod))
  local n, failed, p50, p99, max = scraper(port, 100, 10)
  wait_exit(pid)
  local runs = tonumber(read_file(prod)) or 0
  local received, lost = read_file(out):match("\n(%d+) (%d+)\n")
  print(("load: %d scrapes in 10 s, %d failed, median %s ms, p99 %s ms, slowest %s ms (target: none over 100 ms)")
    :format(n, failed, p50, p99, max))
  print(("  events: %d produced (%.2f M/s), %s received, %s lost (target: none lost)"):format(runs * 256,
    runs * 256 / 10 / 1e6, received, lost))
  os.remove(pin)
  os.remove(prod)
  os.remove(out)
end
