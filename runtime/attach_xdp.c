/* Attach kind: XDP on a network device, as a kernel link that goes away with
 * its object (or stays, pinned). A mode other than the default needs the
 * link made directly, since libbpf's XDP link takes no flags. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <stdio.h>
#include <string.h>

#include "luabpf.h"

static int mode_flags(const char *mode, __u32 *flags, struct lbpf_err *err)
{
	static const struct {
		const char *name;
		__u32 flags;
	} modes[] = {{"skb", XDP_FLAGS_SKB_MODE}, {"drv", XDP_FLAGS_DRV_MODE}, {"hw", XDP_FLAGS_HW_MODE}};

	*flags = 0;
	if (!mode)
		return 0;
	for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
		if (strcmp(mode, modes[i].name) == 0) {
			*flags = modes[i].flags;
			return 0;
		}
	return lbpf_err__set(err, EINVAL, "attach_xdp: mode '%s' is not one of \"skb\" (generic, any device), "
					  "\"drv\" (the driver's own) or \"hw\" (offloaded to the NIC)",
			     mode);
}

/* The device is taken: say by whom, and what replace= can do about it. */
static int busy(const struct lbpf_xdp_opts *o, int ifindex, int code, struct lbpf_err *err)
{
	LIBBPF_OPTS(bpf_xdp_query_opts, q);
	if (bpf_xdp_query(ifindex, 0, &q) == 0 && q.attach_mode != XDP_ATTACHED_NONE)
		return lbpf_err__set(err, code,
				     "attach_xdp: %s already runs XDP program id %u%s; detach it first "
				     "(ip link set dev %s xdp off, or bpftool link detach)",
				     o->dev, q.prog_id, o->replace ? ", held by a link that replace= cannot take over" : "",
				     o->dev);
	return lbpf_err__set(err, code, "attach_xdp: %s is busy: %s", o->dev, lbpf_strerror(-code));
}

int lbpf_attach__xdp(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_xdp_opts *o,
		     struct lbpf_err *err)
{
	char what[64];
	__u32 flags;

	if (lbpf_attach__check_type(prog, BPF_PROG_TYPE_XDP, "an XDP", "xdp", err) || mode_flags(o->mode, &flags, err))
		return err->code;
	int ifindex = lbpf_attach__ifindex(o->dev, err);
	if (ifindex < 0)
		return ifindex;
	/* Only a program installed without a link (ip link, older tools) can be
	 * taken over; a link's owner keeps it until it lets go. */
	if (o->replace) {
		LIBBPF_OPTS(bpf_xdp_query_opts, q);
		if (bpf_xdp_query(ifindex, 0, &q) == 0) {
			if (q.skb_prog_id)
				bpf_xdp_detach(ifindex, XDP_FLAGS_SKB_MODE, NULL);
			if (q.drv_prog_id)
				bpf_xdp_detach(ifindex, XDP_FLAGS_DRV_MODE, NULL);
			if (q.hw_prog_id)
				bpf_xdp_detach(ifindex, XDP_FLAGS_HW_MODE, NULL);
		}
	}
	snprintf(what, sizeof(what), "XDP on %s", o->dev);
	lbpf_log__reset();
	LIBBPF_OPTS(bpf_link_create_opts, lo, .flags = flags);
	int fd = bpf_link_create(bpf_program__fd(prog), ifindex, BPF_XDP, &lo);
	if (fd < 0) {
		int ret = -errno;
		if (ret == -EBUSY || ret == -EEXIST)
			return busy(o, ifindex, ret, err);
		if ((ret == -EOPNOTSUPP || ret == -EINVAL) && o->mode && strcmp(o->mode, "skb") != 0)
			return lbpf_err__set(err, ret, "attach_xdp: %s has no %s-mode XDP (mode \"skb\" works on every "
							"device)",
					     o->dev, o->mode);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add_fd(obj, fd);
}
