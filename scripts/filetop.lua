#!/usr/bin/env luabpf
-- filetop: file reads and writes by process and file, top-like, as BCC's
-- filetop prints them, from the read and write system call tracepoints
-- (the file is found through the calling task's fd table).
local tool = require "bpf.tool"

local t = tool.new {
  name = "filetop",
  summary = "File reads and writes by process.",
  examples = {
    "filetop                  # file I/O top, 1 second refresh",
    "filetop -C               # don't clear the screen",
    "filetop -p 181           # PID 181 only",
    "filetop 5                # 5 second summaries",
    "filetop 5 10             # 5 second summaries, 10 times only",
    "filetop -a -C --json 1 3 # every kind of file, as JSON lines",
  },
  options = { "pid", "tid", "comm", "cgroup" },
}
local p = t.parser
p:argument("interval", "output interval, in seconds"):args("?"):default("1"):convert(tool.integer("the interval", 1, 1 << 30))
p:argument("count", "number of outputs"):args("?"):convert(tool.integer("the count", 1, 1 << 40))
p:flag("-a --all-files", "include non-regular file types (sockets, FIFOs, etc)")
p:flag("-C --noclear", "don't clear the screen")
p:option("-r --maxrows", "maximum rows to print"):default("20"):convert(tool.integer("the row count", 1, 1 << 20))
p:option("-s --sort", "sort column"):choices { "all", "reads", "writes", "rbytes", "wbytes" }:default("all")
local args = t:parse()

local b = t:load(tool.FILTERS .. tool.FD_FILE .. [[
const volatile bool targ_all = 0;
struct io_start { u32 fd; u32 write; };
struct file_key { u64 ino; u32 dev; u32 pid; u32 tid; char type; char comm[16]; char name[32]; };
struct file_counts { u64 reads; u64 writes; u64 rbytes; u64 wbytes; };
BPF_HASH(starts, u32, struct io_start, 10240);
BPF_HASH(files, struct file_key, struct file_counts, 10240);

static int enter(u32 fd, u32 write)
{
	if (tool_skip())
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct io_start s = { fd, write };
	starts.update(&tid, &s);
	return 0;
}

SEC("tracepoint") int on_read(struct trace_event_raw_sys_enter *ctx) { return enter(ctx->args[0], 0); }
SEC("tracepoint") int on_write(struct trace_event_raw_sys_enter *ctx) { return enter(ctx->args[0], 1); }

SEC("tracepoint") int on_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct io_start *s = starts.lookup(&tid);
	if (!s)
		return 0;
	u32 fd = s->fd, write = s->write;
	long ret = ctx->ret;
	starts.delete(&tid);
	if (ret < 0)
		return 0;
	struct file *file = fd_file(fd);
	if (!file)
		return 0;
	u32 mode = BPF_CORE_READ(file, f_inode, i_mode) & 0170000;
	if (!targ_all && mode != 0100000) /* S_IFREG */
		return 0;
	struct file_key k = {};
	k.ino = BPF_CORE_READ(file, f_inode, i_ino);
	k.dev = BPF_CORE_READ(file, f_inode, i_sb, s_dev);
	k.pid = id >> 32;
	k.tid = tid;
	k.type = mode == 0100000 ? 'R' : mode == 0140000 ? 'S' : 'O';
	bpf_get_current_comm(k.comm, sizeof(k.comm));
	bpf_probe_read_kernel_str(k.name, sizeof(k.name), BPF_CORE_READ(file, f_path.dentry, d_name.name));
	struct file_counts zero = {}, *c = files.lookup_or_try_init(&k, &zero);
	if (!c)
		return 0;
	if (write) {
		__sync_fetch_and_add(&c->writes, 1);
		__sync_fetch_and_add(&c->wbytes, ret);
	} else {
		__sync_fetch_and_add(&c->reads, 1);
		__sync_fetch_and_add(&c->rbytes, ret);
	}
	return 0;
}
]], { autoattach = false, rodata = t:rodata { targ_all = args.all_files and 1 or 0 } })

for _, call in ipairs { "read", "write", "pread64", "pwrite64" } do
  t:try(b.attach_tracepoint, b, "syscalls:sys_enter_" .. call, call:find("write") and "on_write" or "on_read")
  t:try(b.attach_tracepoint, b, "syscalls:sys_exit_" .. call, "on_exit")
end

local ORDER = {
  all = function(x, y) return x.rbytes + x.wbytes + x.reads + x.writes > y.rbytes + y.wbytes + y.reads + y.writes end,
  reads = function(x, y) return x.reads > y.reads end, writes = function(x, y) return x.writes > y.writes end,
  rbytes = function(x, y) return x.rbytes > y.rbytes end, wbytes = function(x, y) return x.wbytes > y.wbytes end,
}

local function report()
  local rows = {}
  for k, c in pairs(b.maps.files) do
    rows[#rows + 1] = { tid = k.tid, pid = k.pid, comm = k.comm, reads = c.reads, writes = c.writes, rbytes = c.rbytes,
      wbytes = c.wbytes, r_kb = c.rbytes // 1024, w_kb = c.wbytes // 1024, type = string.char(k.type), file = k.name }
  end
  b.maps.files:clear()
  table.sort(rows, ORDER[args.sort])
  if not t.json then
    if not args.noclear then t:write("\27[H\27[J") end
    t:write(os.date("%H:%M:%S loadavg: ") .. (io.open("/proc/loadavg"):read("l") or "") .. "\n\n")
  end
  t:columns { { "TID", -7, "tid" }, { "COMM", -16, "comm" }, { "READS", -6, "reads" }, { "WRITES", -6, "writes" },
    { "R_Kb", -7, "r_kb", json = false }, { "W_Kb", -7, "w_kb", json = false }, { "", 0, "pid", json = true },
    { "", 0, "rbytes", json = true }, { "", 0, "wbytes", json = true }, { "T", -1, "type" }, { "FILE", 0, "file" } }
  for i = 1, math.min(#rows, args.maxrows) do t:row(rows[i]) end
  if not t.json then t:write("\n") end
end

t:note("Tracing... Output every " .. args.interval .. " secs. Hit Ctrl-C to end")
t:run(b, { on_interval = report })
t:close()
