/* Attach kind: uprobes and uretprobes on a function of a binary or library. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

int lbpf_attach__uprobe(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_uprobe_opts *o,
			struct lbpf_err *err)
{
	char what[512];

	if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a uprobe program (its section is \"%s\"); declare it "
				     "with SEC(\"uprobe\") or SEC(\"uretprobe\")",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	if (strchr(o->path, '/') && access(o->path, R_OK) != 0)
		return lbpf_err__set(err, errno, "uprobe: cannot read %s: %s", o->path, lbpf_strerror(errno));
	if (o->sym)
		snprintf(what, sizeof(what), "%s %s:%s", o->retprobe ? "uretprobe" : "uprobe", o->path, o->sym);
	else
		snprintf(what, sizeof(what), "%s %s+0x%llx", o->retprobe ? "uretprobe" : "uprobe", o->path,
			 (unsigned long long)o->offset);

	LIBBPF_OPTS(bpf_uprobe_opts, opts, .retprobe = o->retprobe, .func_name = o->sym);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_uprobe_opts(prog, o->pid, o->path, o->offset, &opts);
	if (!link) {
		int ret = -errno;
		if (ret == -ENOENT && o->sym)
			return lbpf_err__set(err, ret,
					     "uprobe: no function '%s' in %s (check the name with: nm -D %s)",
					     o->sym, o->path, o->path);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
