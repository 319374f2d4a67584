#!/usr/bin/env luabpf
-- bashreadline: prints the commands interactive bash shells read, as they
-- are entered, like BCC's bashreadline: a uretprobe on bash's readline().
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "bashreadline",
  summary = "Print entered bash commands, system-wide.",
  examples = {
    "bashreadline                       # commands of every bash",
    "bashreadline -s /lib/libreadline.so # a bash that links readline",
    "bashreadline -d 60 --json          # for a minute, as JSON lines",
  },
  options = { "pid", "timestamp", "duration", "cgroup" },
}
t.parser:option("-s --shared", "the binary or library with readline()"):default("/bin/bash")
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
struct line_event { u64 ts; u32 pid; char comm[16]; char line[80]; };
LUABPF_RINGBUF(events, 256 * 1024);

SEC("uretprobe") int BPF_URETPROBE(on_readline, const char *ret)
{
	if (!ret || tool_skip())
		return 0;
	struct line_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->line, sizeof(e->line), ret);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
]], { autoattach = false, rodata = t:rodata() })

t:try(b.attach_uprobe, b, { path = args.shared, sym = "readline", fn = "on_readline", ret = true })

t:columns { { "PID", 7, "pid" }, { "COMMAND", 0, "command" } }
t:note("Tracing readline() in " .. args.shared .. "... Hit Ctrl-C to end.")

local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  t:row { time = (e.ts - start) / 1e9, pid = e.pid, command = e.line }
end, { type = "struct line_event" })
t:run(b)
t:close()
