#!/usr/bin/env luabpf
-- capable: each security capability check, with its process and result, as
-- BCC's capable prints it. The kernel has no tracepoint for these, so it
-- needs a kprobe on cap_capable(): on a kernel without kprobes it says so.
local tool = require "bpf.tool"

local t = tool.new {
  name = "capable",
  summary = "Trace security capability checks (cap_capable()).",
  examples = {
    "capable                  # trace capability checks",
    "capable -v               # verbose: include non-audit checks",
    "capable -p 181           # only trace PID 181",
    "capable -x --json        # failed checks only, as JSON lines",
  },
  options = { "pid", "tid", "comm", "duration", "cgroup" },
}
t.parser:flag("-v --verbose", "include non-audit checks")
t.parser:flag("-x --failed", "only show failed checks")
local args = t:parse()

local b = t:load(tool.FILTERS .. [[
const volatile bool targ_verbose = 0;
const volatile bool targ_failed = 0;
struct cap_event { u32 pid; u32 tid; u32 uid; s32 cap; u32 audit; s32 ret; char comm[16]; };
struct cap_args { s32 cap; u32 audit; };
BPF_HASH(checks, u32, struct cap_args, 10240);
LUABPF_RINGBUF(events, 1 << 20);

/* CAP_OPT_NOAUDIT is bit 1 of the options since Linux 5.1. */
SEC("kprobe/cap_capable")
int BPF_KPROBE(on_check, const struct cred *cred, struct user_namespace *ns, int cap, unsigned int opts)
{
	if (tool_skip())
		return 0;
	u32 audit = !(opts & 0x2);
	if (!audit && !targ_verbose)
		return 0;
	u32 tid = (u32)bpf_get_current_pid_tgid();
	struct cap_args a = { cap, audit };
	checks.update(&tid, &a);
	return 0;
}

SEC("kretprobe/cap_capable")
int BPF_KRETPROBE(on_return, int ret)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct cap_args *a = checks.lookup(&tid);
	if (!a)
		return 0;
	if (!targ_failed || ret) {
		struct cap_event *e = luabpf_ringbuf_reserve(events, sizeof(*e), 0);
		if (e) {
			e->pid = id >> 32;
			e->tid = tid;
			e->uid = (u32)bpf_get_current_uid_gid();
			e->cap = a->cap;
			e->audit = a->audit;
			e->ret = ret;
			bpf_get_current_comm(e->comm, sizeof(e->comm));
			bpf_ringbuf_submit(e, 0);
		}
	}
	checks.delete(&tid);
	return 0;
}
]], { rodata = t:rodata { targ_verbose = args.verbose and 1 or 0, targ_failed = args.failed and 1 or 0 } })

-- include/uapi/linux/capability.h: these are #defines, so not in BTF.
local NAMES = { [0] = "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_DAC_READ_SEARCH", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
  "CAP_SETGID", "CAP_SETUID", "CAP_SETPCAP", "CAP_LINUX_IMMUTABLE", "CAP_NET_BIND_SERVICE", "CAP_NET_BROADCAST",
  "CAP_NET_ADMIN", "CAP_NET_RAW", "CAP_IPC_LOCK", "CAP_IPC_OWNER", "CAP_SYS_MODULE", "CAP_SYS_RAWIO", "CAP_SYS_CHROOT",
  "CAP_SYS_PTRACE", "CAP_SYS_PACCT", "CAP_SYS_ADMIN", "CAP_SYS_BOOT", "CAP_SYS_NICE", "CAP_SYS_RESOURCE",
  "CAP_SYS_TIME", "CAP_SYS_TTY_CONFIG", "CAP_MKNOD", "CAP_LEASE", "CAP_AUDIT_WRITE", "CAP_AUDIT_CONTROL",
  "CAP_SETFCAP", "CAP_MAC_OVERRIDE", "CAP_MAC_ADMIN", "CAP_SYSLOG", "CAP_WAKE_ALARM", "CAP_BLOCK_SUSPEND",
  "CAP_AUDIT_READ", "CAP_PERFMON", "CAP_BPF", "CAP_CHECKPOINT_RESTORE" }

t:columns { { "TIME", -9, "time" }, { "UID", -6, "uid" }, { "PID", -7, "pid" }, { "COMM", -16, "comm" },
  { "CAP", 4, "cap" }, { "NAME", -24, "name" }, { "AUDIT", 5, "audit" }, { "VERDICT", 0, "verdict" } }
t:note("Tracing capability checks... Hit Ctrl-C to end.")
b:ring_buffer("events", function(e)
  t:row { time = os.date("%H:%M:%S"), uid = e.uid, pid = e.pid, comm = e.comm, cap = e.cap,
    name = NAMES[e.cap] or "?", audit = e.audit, verdict = e.ret == 0 and "allow" or "deny" }
end, { type = "struct cap_event" })
t:run(b)
t:close()
