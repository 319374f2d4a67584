/* Attach kind: TC (sched_cls) programs on a device's ingress or egress, as
 * tcx links (Linux 6.6 and later): several programs share a hook, and each
 * goes away with its link, leaving no qdisc behind. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>

#include "luabpf.h"

int lbpf_attach__tc(struct lbpf_object *obj, struct bpf_program *prog, const char *dev, bool egress,
		    struct lbpf_err *err)
{
	char what[64];

	if (lbpf_attach__check_type(prog, BPF_PROG_TYPE_SCHED_CLS, "a TC", "tc", err))
		return err->code;
	int ifindex = lbpf_attach__ifindex(dev, err);
	if (ifindex < 0)
		return ifindex;
	snprintf(what, sizeof(what), "TC %s on %s", egress ? "egress" : "ingress", dev);
	lbpf_log__reset();
	/* Made directly: libbpf's tcx attach takes the direction from the type
	 * the program was loaded with, which SEC("tc") leaves unset. */
	int fd = bpf_link_create(bpf_program__fd(prog), ifindex, egress ? BPF_TCX_EGRESS : BPF_TCX_INGRESS, NULL);
	if (fd < 0) {
		int ret = -errno;
		if (ret == -EINVAL || ret == -EOPNOTSUPP)
			return lbpf_err__set(err, ret,
					     "cannot attach program '%s' to %s: this kernel has no tcx links (Linux 6.6 "
					     "and later): %s",
					     bpf_program__name(prog), what, lbpf_strerror(-ret));
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add_fd(obj, fd);
}
