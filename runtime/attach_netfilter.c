/* Attach kind: netfilter hooks (Linux 6.4), a program on one hook of one
 * protocol family at a priority, as a kernel link; the hook and family go
 * by the names iptables users know. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/netfilter.h>
#include <stdio.h>
#include <string.h>

#include "luabpf.h"

static int lookup(const char *name, const char *const *names, int n)
{
	for (int i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return i;
	return -1;
}

int lbpf_attach__netfilter(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_netfilter_opts *o,
			   struct lbpf_err *err)
{
	static const char *const hooks[] = {
		[NF_INET_PRE_ROUTING] = "prerouting", [NF_INET_LOCAL_IN] = "input", [NF_INET_FORWARD] = "forward",
		[NF_INET_LOCAL_OUT] = "output",	      [NF_INET_POST_ROUTING] = "postrouting",
	};
	char what[64];
	int ret = lbpf_attach__check_type(prog, BPF_PROG_TYPE_NETFILTER, "a netfilter", "netfilter", err);
	if (ret)
		return ret;
	int hook = lookup(o->hook, hooks, NF_INET_NUMHOOKS);
	if (hook < 0)
		return lbpf_err__set(err, EINVAL, "attach_netfilter: hook '%s' is not one of prerouting, input, forward, "
						  "output, postrouting",
				     o->hook);
	int pf = strcmp(o->family, "ipv4") == 0 ? NFPROTO_IPV4 : strcmp(o->family, "ipv6") == 0 ? NFPROTO_IPV6 : -1;
	if (pf < 0)
		return lbpf_err__set(err, EINVAL, "attach_netfilter: family '%s' is not \"ipv4\" or \"ipv6\"", o->family);
	snprintf(what, sizeof(what), "netfilter %s %s", o->family, o->hook);
	LIBBPF_OPTS(bpf_netfilter_opts, opts, .pf = (__u32)pf, .hooknum = (__u32)hook, .priority = o->priority);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_netfilter(prog, &opts);
	if (!link) {
		ret = -errno;
		if (ret == -EBUSY)
			return lbpf_err__set(err, ret, "cannot attach program '%s' to %s: priority %d is taken there",
					     bpf_program__name(prog), what, o->priority);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
