-- trace_pipe for scripts: lines parsed into fields, and BCC's trace_print and
-- trace_fields. The binding runs this file with the bpf table, the object
-- methods and the map methods. The kernel's trace_pipe is one pipe shared by
-- every tracer on the machine: whoever reads a line takes it from the others.
local bpf, object = ...

local FIELDS = { "task", "pid", "cpu", "flags", "ts", "msg" }

-- "  bash-1234   [001] d..3.  2448.58: bpf_trace_printk: hello" into
-- {task, pid, cpu, flags, ts, msg}; a line of another shape keeps its text in msg.
local function parse(line)
  local task, pid, rest = line:match("^%s*(.+)%-(%d+)%s+(%[.*)$")
  if not task then
    task, pid, rest = line:match("^%s*(.+)%-(%d+)%s+%(%s*[%d-]+%)%s+(%[.*)$")
  end
  local cpu, flags, ts, msg
  if rest then
    cpu, flags, ts, msg = rest:match("^%[(%d+)%]%s+(%S+)%s+(%d+%.?%d*):%s+(.*)$")
  end
  if not cpu then
    return { msg = line }
  end
  return {
    task = task,
    pid = tonumber(pid),
    cpu = tonumber(cpu),
    flags = flags,
    ts = tonumber(ts),
    msg = msg:gsub("^[%w_]+: ", "", 1),
  }
end
bpf.parse_trace_line = parse

-- b:trace_pipe(cb): cb({task, pid, cpu, flags, ts, msg}) for each line.
function object.trace_pipe(b, cb)
  if type(cb) ~= "function" then
    error("trace_pipe: expected a function(fields), got " .. type(cb), 2)
  end
  b:_trace_lines(function(line) cb(parse(line)) end)
end

-- Lines waiting for trace_fields, per object (weak: they go with the object).
local queues = setmetatable({}, { __mode = "k" })

local function queue_of(b)
  local q = queues[b]
  if not q then
    q = { first = 1, last = 0 }
    b:_trace_lines(function(line)
      q.last = q.last + 1
      q[q.last] = line
    end)
    queues[b] = q
  end
  return q
end

local function next_line(b, wait)
  local q = queue_of(b)
  if q.first > q.last then b:poll(0) end
  while q.first > q.last do
    if not wait then return nil end
    b:poll(-1)
  end
  local line = q[q.first]
  q[q.first] = nil
  q.first = q.first + 1
  return line
end

-- b:trace_fields([nonblocking]): the next line as task, pid, cpu, flags, ts,
-- msg, waiting for one unless nonblocking (then nil when there is none).
function object.trace_fields(b, nonblocking)
  local line = next_line(b, not nonblocking)
  if not line then return nil end
  local f = parse(line)
  return f.task, f.pid, f.cpu, f.flags, f.ts, f.msg
end

-- b:trace_print([fmt]): prints every line until Ctrl-C (SIGINT) or SIGTERM.
-- fmt picks fields as BCC's does, by position from 0: "{1} {5}" is pid and msg.
function object.trace_print(b, fmt)
  local function show(line)
    if not fmt then
      print(line)
      return
    end
    local f = parse(line)
    print((fmt:gsub("{(%d)}", function(i)
      local v = f[FIELDS[tonumber(i) + 1]]
      return v == nil and "" or tostring(v)
    end)))
  end
  local function drain()
    for line in function() return next_line(b, false) end do show(line) end
  end
  queue_of(b)
  repeat
    drain()
    local _, why = b:run { duration = 0.2 }
  until why == "signal"
  drain()
end
