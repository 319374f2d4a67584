#!/usr/bin/env luabpf
-- filelife: files created and deleted while it runs, with their age at
-- deletion, like BCC's filelife, from system call tracepoints: an open that
-- created its file (FMODE_CREATED), then the unlink of that name.
local bpf = require "bpf"
local tool = require "bpf.tool"

local t = tool.new {
  name = "filelife",
  summary = "Trace the lifespan of short-lived files.",
  examples = {
    "filelife                 # trace lifecycle of file (create->remove)",
    "filelife -p 181          # only trace PID 181",
    "filelife -d 10 --json    # for 10 seconds, as JSON lines",
  },
  options = { "pid", "tid", "comm", "timestamp", "duration", "cgroup" },
}
t:parse()

local b = t:load(tool.FILTERS .. tool.FD_FILE .. [[
struct life_event {
	u64 ts;
	u32 pid;
	u32 created; /* 1: a create, 0: an unlink */
	char comm[16];
	char name[256];
};
BPF_HASH(unlinks, u32, const char *, 10240);
LUABPF_RINGBUF(events, 1 << 20);

static struct life_event *start(u32 created)
{
	struct life_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->ts = bpf_ktime_get_ns();
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->created = created;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	return e;
}

/* The fd an open returned: did this open create the file? Then its name. */
SEC("tracepoint") int on_open_exit(struct trace_event_raw_sys_exit *ctx)
{
	long fd = ctx->ret;
	if (fd < 0 || tool_skip())
		return 0;
	struct file *file = fd_file(fd);
	if (!file || !(BPF_CORE_READ(file, f_mode) & (1 << 20))) /* FMODE_CREATED */
		return 0;
	struct life_event *e = start(1);
	if (!e)
		return 0;
	bpf_probe_read_kernel_str(e->name, sizeof(e->name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

static int unlink_enter(const char *path)
{
	if (tool_skip())
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	unlinks.update(&tid, &path);
	return 0;
}

SEC("tracepoint") int on_unlink(struct trace_event_raw_sys_enter *ctx)
{
	return unlink_enter((const char *)ctx->args[0]);
}

SEC("tracepoint") int on_unlinkat(struct trace_event_raw_sys_enter *ctx)
{
	return unlink_enter((const char *)ctx->args[1]);
}

/* Only an unlink that succeeded ends a file's life. */
SEC("tracepoint") int on_unlink_exit(struct trace_event_raw_sys_exit *ctx)
{
	u32 tid = (u32)bpf_get_current_pid_tgid();
	const char **path = unlinks.lookup(&tid);
	if (!path)
		return 0;
	if (ctx->ret == 0) {
		struct life_event *e = start(0);
		if (e) {
			bpf_probe_read_user_str(e->name, sizeof(e->name), *path);
			bpf_ringbuf_submit(e, 0);
		}
	}
	unlinks.delete(&tid);
	return 0;
}
]], { autoattach = false, rodata = t:rodata() })

for _, a in ipairs {
  { "open", "on_open_exit", "exit" }, { "openat", "on_open_exit", "exit" }, { "openat2", "on_open_exit", "exit" },
  { "creat", "on_open_exit", "exit" }, { "unlink", "on_unlink", "enter" }, { "unlinkat", "on_unlinkat", "enter" },
  { "unlink", "on_unlink_exit", "exit" }, { "unlinkat", "on_unlink_exit", "exit" },
} do
  if bpf.tracepoint_exists("syscalls", "sys_enter_" .. a[1]) then
    t:try(b.attach_tracepoint, b, ("syscalls:sys_%s_%s"):format(a[3], a[1]), a[2])
  end
end

-- Files are matched by name: the created file's own, the unlinked path's last part.
local born = {}
t:columns { { "TIME", -8, "clock" }, { "PID", -7, "pid" }, { "COMM", -16, "comm" }, { "AGE(s)", 7, "age" },
  { "FILE", 0, "file" } }
t:note("Tracing the lifespan of short-lived files... Hit Ctrl-C to end.")
local start = bpf.ktime_ns()
b:ring_buffer("events", function(e)
  if e.created == 1 then
    born[e.name] = e.ts
    return
  end
  local name = e.name:match("([^/]*)$")
  local since = born[name]
  if not since then return end
  born[name] = nil
  local age = (e.ts - since) / 1e9
  t:row { time = (e.ts - start) / 1e9, clock = os.date("%H:%M:%S"), pid = e.pid, comm = e.comm,
    age = t.json and age or ("%.2f"):format(age), file = name }
end, { type = "struct life_event" })
t:run(b)
t:close()
