/* Attach kind: TC (sched_cls) programs on a device's ingress or egress. As
 * tcx links where the kernel has them (Linux 6.6): several programs share a
 * hook and each goes with its link. Else, or when asked, as a filter on the
 * clsact qdisc, which iproute2's tc also sees; the qdisc goes again with the
 * filter when this attach created it. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "object_internal.h"

static int attach_clsact(struct lbpf_object *obj, struct bpf_program *prog, int ifindex, bool egress,
			 const char *what, struct lbpf_err *err)
{
	struct lbpf_tc_filter f = {.ifindex = ifindex, .egress = egress};
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = ifindex, .attach_point = egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	int ret = bpf_tc_hook_create(&hook);
	if (ret && ret != -EEXIST)
		return lbpf_attach__fail(err, ret, prog, what);
	f.created_qdisc = ret == 0;
	LIBBPF_OPTS(bpf_tc_opts, opts, .prog_fd = bpf_program__fd(prog));
	ret = bpf_tc_attach(&hook, &opts);
	if (ret) {
		if (f.created_qdisc) {
			hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
			bpf_tc_hook_destroy(&hook);
		}
		return lbpf_attach__fail(err, ret, prog, what);
	}
	f.handle = opts.handle;
	f.priority = opts.priority;
	return lbpf_link__add_tc(obj, &f);
}

void lbpf_link__detach_tc(const struct lbpf_tc_filter *f)
{
	LIBBPF_OPTS(bpf_tc_hook, hook, .ifindex = f->ifindex, .attach_point = f->egress ? BPF_TC_EGRESS : BPF_TC_INGRESS);
	LIBBPF_OPTS(bpf_tc_opts, opts, .handle = f->handle, .priority = f->priority);
	bpf_tc_detach(&hook, &opts);
	if (f->created_qdisc) {
		hook.attach_point = BPF_TC_INGRESS | BPF_TC_EGRESS;
		bpf_tc_hook_destroy(&hook);
	}
}

int lbpf_attach__tc(struct lbpf_object *obj, struct bpf_program *prog, const char *dev, bool egress, const char *mode,
		    struct lbpf_err *err)
{
	char what[64];

	if (lbpf_attach__check_type(prog, BPF_PROG_TYPE_SCHED_CLS, "a TC", "tc", err))
		return err->code;
	if (mode && strcmp(mode, "tcx") != 0 && strcmp(mode, "clsact") != 0)
		return lbpf_err__set(err, EINVAL, "attach_tc: mode '%s' is not \"tcx\" or \"clsact\"", mode);
	int ifindex = lbpf_attach__ifindex(dev, err);
	if (ifindex < 0)
		return ifindex;
	snprintf(what, sizeof(what), "TC %s on %s", egress ? "egress" : "ingress", dev);
	lbpf_log__reset();
	if (mode && strcmp(mode, "clsact") == 0)
		return attach_clsact(obj, prog, ifindex, egress, what, err);
	/* Made directly: libbpf's tcx attach takes the direction from the type
	 * the program was loaded with, which SEC("tc") leaves unset. */
	int fd = bpf_link_create(bpf_program__fd(prog), ifindex, egress ? BPF_TCX_EGRESS : BPF_TCX_INGRESS, NULL);
	if (fd < 0) {
		int ret = -errno;
		if ((ret == -EINVAL || ret == -EOPNOTSUPP) && !mode)
			return attach_clsact(obj, prog, ifindex, egress, what, err);
		if (ret == -EINVAL || ret == -EOPNOTSUPP)
			return lbpf_err__set(err, ret,
					     "cannot attach program '%s' to %s: this kernel has no tcx links (Linux 6.6 "
					     "and later; mode \"clsact\" works everywhere): %s",
					     bpf_program__name(prog), what, lbpf_strerror(-ret));
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add_fd(obj, fd);
}
