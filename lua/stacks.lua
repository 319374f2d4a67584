-- Stack trace maps: m:walk(stackid) gives the addresses bpf_get_stackid
-- stored, innermost first, and m:symbols(stackid) their names. The binding
-- runs this file with the bpf table, the object methods and the map methods.
local bpf, _, methods = ...

function methods.walk(m, stackid)
  if math.type(stackid) ~= "integer" then
    error("walk: expected a stack id (an integer from get_stackid), got " .. type(stackid), 2)
  end
  local out = {}
  if stackid < 0 then return out end -- get_stackid failed: -EFAULT, -EEXIST, ...
  local frames = m:get(stackid)
  if type(frames) ~= "table" then return out end
  for _, addr in ipairs(frames) do
    if addr == 0 then break end
    out[#out + 1] = addr
  end
  return out
end

-- The frames a stack taken inside a BPF program starts with: the program
-- and the tracepoint glue that called it, not what the thread was doing.
local function tracing_frame(name)
  return name:find("^bpf_prog_") or name:find("^bpf_trace_run") or name:find("^__traceiter_")
    or name:find("^__bpf_trace_")
end

-- m:symbols(stackid [, pid]): the frame names of a stack, innermost first,
-- and their addresses: kernel symbols, or with pid the symbols of that
-- process's user stack ("[unknown]" where nothing matches, as when the
-- process has exited). A kernel stack starts below the BPF tracing glue.
function methods.symbols(m, stackid, pid)
  local names, addrs = {}, {}
  for _, addr in ipairs(methods.walk(m, stackid)) do
    local name = pid and bpf.usym(addr, pid) or bpf.ksym(addr)
    if pid or #names > 0 or not tracing_frame(name) then
      names[#names + 1], addrs[#addrs + 1] = name, addr
    end
  end
  return names, addrs
end
