/* What this kernel and this process allow, so errors can name a missing
 * kernel feature or capability instead of a bare errno. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/capability.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "luabpf.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

bool lbpf_features__kprobes(void)
{
	/* The kprobe PMU and kprobe_events both exist only with CONFIG_KPROBES. */
	return access("/sys/bus/event_source/devices/kprobe/type", F_OK) == 0 ||
	       access("/sys/kernel/tracing/kprobe_events", F_OK) == 0;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

const char *lbpf_features__missing_caps(void)
{
	struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct data[2] = {};

	if (syscall(SYS_capget, &hdr, data) != 0)
		return NULL;
	if (has_cap(data, CAP_SYS_ADMIN) || (has_cap(data, CAP_BPF) && has_cap(data, CAP_PERFMON)))
		return NULL;
	if (has_cap(data, CAP_BPF))
		return "tracing with BPF needs CAP_PERFMON as well as CAP_BPF (or CAP_SYS_ADMIN); "
		       "this process has CAP_BPF only: run it as root";
	return "loading BPF programs needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN), and this "
	       "process has neither: run it as root (for example with sudo)";
}

/* Whether the kernel loads tracing programs (fentry/fexit): some refuse them
 * outright (lockdown, or a policy), which only a load attempt tells. */
bool lbpf_features__tracing_programs(void)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return false;
	int id = btf__find_by_name_kind(btf, "bpf_fentry_test1", BTF_KIND_FUNC);
	if (id < 0)
		id = btf__find_by_name_kind(btf, "do_nanosleep", BTF_KIND_FUNC);
	btf__free(btf);
	if (id < 0)
		return false;
	/* r0 = 0; exit */
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_FENTRY, .attach_btf_id = id);
	int fd = bpf_prog_load(BPF_PROG_TYPE_TRACING, NULL, "GPL", insns, 2, &opts);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Whether the kernel has uprobe_multi links, tested as libbpf tests it
 * (libbpf's USDT attach uses them when they exist, and the program must
 * then be loaded for them): a link on "/" fails with EBADF only where the
 * kernel knows the attach type. */
bool lbpf_features__uprobe_multi(void)
{
	static int known = -1;
	if (known >= 0)
		return known;
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	LIBBPF_OPTS(bpf_prog_load_opts, opts, .expected_attach_type = BPF_TRACE_UPROBE_MULTI);
	int fd = bpf_prog_load(BPF_PROG_TYPE_KPROBE, NULL, "GPL", insns, 2, &opts);
	if (fd < 0) {
		known = 0;
		return false;
	}
	unsigned long offset = 0;
	LIBBPF_OPTS(bpf_link_create_opts, link_opts, .uprobe_multi.path = "/", .uprobe_multi.offsets = &offset,
		    .uprobe_multi.cnt = 1);
	int link = bpf_link_create(fd, -1, BPF_TRACE_UPROBE_MULTI, &link_opts);
	int e = errno;
	if (link >= 0)
		close(link);
	close(fd);
	known = link < 0 && e == EBADF;
	return known;
}
