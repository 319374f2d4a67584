/* Attach kind: kprobe_multi, one link on every kernel function a glob
 * matches, instead of one kprobe each. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>

#include "luabpf.h"

int lbpf_attach__kprobe_multi(struct lbpf_object *obj, struct bpf_program *prog, const char *pattern,
			      bool retprobe, struct lbpf_err *err)
{
	char what[512];

	if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE ||
	    bpf_program__expected_attach_type(prog) != BPF_TRACE_KPROBE_MULTI)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a kprobe_multi program (its section is \"%s\"); declare "
				     "it with SEC(\"kprobe.multi\") or SEC(\"kretprobe.multi\")",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	snprintf(what, sizeof(what), "%s %s", retprobe ? "kretprobe.multi" : "kprobe.multi", pattern);
	if (!lbpf_features__kprobes())
		return lbpf_err__set(err, EOPNOTSUPP,
				     "cannot attach program '%s' to %s: this kernel has no kprobes (CONFIG_KPROBES "
				     "is off); trace a tracepoint instead (bpf.tracepoints() lists them)",
				     bpf_program__name(prog), what);
	LIBBPF_OPTS(bpf_kprobe_multi_opts, opts, .retprobe = retprobe);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_kprobe_multi_opts(prog, pattern, &opts);
	if (!link) {
		int ret = -errno;
		if (ret == -ENOENT || ret == -ESRCH)
			return lbpf_err__set(err, ret, "kprobe_multi: no kernel function matches '%s'", pattern);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
