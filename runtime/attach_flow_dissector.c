/* Attach kind: a flow dissector for a network namespace (this process's, or
 * one given by path such as /run/netns/NAME), as a kernel link. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>

#include "luabpf.h"

int lbpf_attach__flow_dissector(struct lbpf_object *obj, struct bpf_program *prog, const char *netns,
				struct lbpf_err *err)
{
	char what[300];
	int ret = lbpf_attach__check_type(prog, BPF_PROG_TYPE_FLOW_DISSECTOR, "a flow dissector", "flow_dissector",
					  err);
	if (ret)
		return ret;
	const char *path = netns ? netns : "/proc/self/ns/net";
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return lbpf_err__set(err, errno, "attach_flow_dissector: cannot open the network namespace %s: %s", path,
				     lbpf_strerror(errno));
	snprintf(what, sizeof(what), "the flow dissector of %s", netns ? netns : "this network namespace");
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_netns(prog, fd);
	ret = link ? 0 : -errno;
	close(fd);
	if (!link) {
		if (ret == -EEXIST || ret == -E2BIG)
			return lbpf_err__set(err, ret, "cannot attach program '%s' to %s: it has a flow dissector "
						       "already (one per namespace)",
					     bpf_program__name(prog), what);
		if (ret == -EINVAL)
			return lbpf_err__set(err, ret, "cannot attach program '%s' to %s: %s is not a network "
						       "namespace",
					     bpf_program__name(prog), what, path);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
