/* Attach kind: uprobe_multi, one link on every function of a binary a glob
 * matches (libbpf resolves the glob), instead of one uprobe link each. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <unistd.h>

#include "luabpf.h"

int lbpf_attach__uprobe_multi(struct lbpf_object *obj, struct bpf_program *prog, const char *path,
			      const char *pattern, int pid, bool retprobe, struct lbpf_err *err)
{
	char what[512];

	if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE ||
	    bpf_program__expected_attach_type(prog) != BPF_TRACE_UPROBE_MULTI)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a uprobe_multi program (its section is \"%s\"); declare "
				     "it with SEC(\"uprobe.multi\") or SEC(\"uretprobe.multi\")",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	if (access(path, R_OK) != 0)
		return lbpf_err__set(err, errno, "uprobe_multi: cannot read %s: %s", path, lbpf_strerror(errno));
	snprintf(what, sizeof(what), "%s %s:%s", retprobe ? "uretprobe.multi" : "uprobe.multi", path, pattern);
	LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .retprobe = retprobe);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_uprobe_multi(prog, pid, path, pattern, &opts);
	if (!link) {
		int ret = -errno;
		if (ret == -ENOENT)
			return lbpf_err__set(err, ret, "uprobe_multi: no function of %s matches '%s' (list them with: "
						       "nm %s)",
					     path, pattern, path);
		if (ret == -EOPNOTSUPP || ret == -EINVAL)
			return lbpf_err__set(err, ret, "cannot attach program '%s' to %s: %s (uprobe_multi links need "
						       "Linux 6.6)",
					     bpf_program__name(prog), what, lbpf_strerror(-ret));
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
