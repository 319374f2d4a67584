/* Attach kind: kprobes and kretprobes on a kernel function, where the kernel
 * has them (CONFIG_KPROBES). */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>

#include "luabpf.h"

int lbpf_attach__kprobe(struct lbpf_object *obj, struct bpf_program *prog, const char *func, bool retprobe,
			struct lbpf_err *err)
{
	char what[256];

	if (!lbpf_features__kprobes())
		return lbpf_err__set(err, EOPNOTSUPP,
				     "program '%s': kprobes are not available on this kernel (it was built "
				     "without CONFIG_KPROBES), so '%s' cannot be probed; use a tracepoint "
				     "(SEC(\"tp/category/event\"), see %s/events) or a raw tracepoint "
				     "(SEC(\"raw_tp/event\")) instead",
				     bpf_program__name(prog), func, lbpf_tracefs__root());
	if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a kprobe program (its section is \"%s\"); declare it "
				     "with SEC(\"kprobe\") or SEC(\"kretprobe\")",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	snprintf(what, sizeof(what), "%s %s", retprobe ? "kretprobe" : "kprobe", func);
	LIBBPF_OPTS(bpf_kprobe_opts, opts, .retprobe = retprobe);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_kprobe_opts(prog, func, &opts);
	if (!link)
		return lbpf_attach__fail(err, -errno, prog, what);
	return lbpf_link__add(obj, link);
}
