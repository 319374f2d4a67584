/* Attach kind: cgroup programs (skb, sock, sock_addr, sockopt, sysctl,
 * device) on a cgroup v2 directory, as kernel links. The attach type is the
 * one the program's section names unless the caller gives another. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

/* The kernel's own names, as libbpf spells them: "cgroup_inet_egress". */
static int attach_type(const char *name, enum bpf_attach_type *type, struct lbpf_err *err)
{
	for (int t = 0; t < __MAX_BPF_ATTACH_TYPE; t++) {
		const char *s = libbpf_bpf_attach_type_str(t);
		if (s && strncmp(s, "cgroup_", 7) == 0 && strcmp(s, name) == 0) {
			*type = t;
			return 0;
		}
	}
	return lbpf_err__set(err, EINVAL,
			     "attach_cgroup: '%s' is not a cgroup attach type; the kernel's names are like "
			     "\"cgroup_inet_ingress\", \"cgroup_inet_egress\", \"cgroup_inet4_connect\", \"cgroup_device\"",
			     name);
}

int lbpf_attach__cgroup(struct lbpf_object *obj, struct bpf_program *prog, const char *path, const char *type_name,
			struct lbpf_err *err)
{
	enum bpf_attach_type type = bpf_program__expected_attach_type(prog);
	char what[64];

	if (type_name && attach_type(type_name, &type, err))
		return err->code;
	int cg = lbpf_cgroup__open(path, "attach_cgroup", err);
	if (cg < 0)
		return cg;
	snprintf(what, sizeof(what), "%s", libbpf_bpf_attach_type_str(type) ? libbpf_bpf_attach_type_str(type) : "?");
	lbpf_log__reset();
	int fd = bpf_link_create(bpf_program__fd(prog), cg, type, NULL);
	int ret = fd < 0 ? -errno : 0;
	close(cg);
	if (fd < 0) {
		char where[512];
		snprintf(where, sizeof(where), "%s of cgroup %s", what, path);
		if (ret == -EINVAL)
			return lbpf_err__set(err, ret,
					     "cannot attach program '%s' (section \"%s\") as %s: the program's type does "
					     "not take that attach type",
					     bpf_program__name(prog), bpf_program__section_name(prog), where);
		return lbpf_attach__fail(err, ret, prog, where);
	}
	return lbpf_link__add_fd(obj, fd);
}
