/* Attach kind: tracepoints (category:event under tracefs's events/). */
#include <bpf/libbpf.h>
#include <errno.h>

#include "luabpf.h"

int lbpf_attach__tracepoint(struct lbpf_object *obj, struct bpf_program *prog, const char *category,
			    const char *event, struct lbpf_err *err)
{
	if (bpf_program__type(prog) != BPF_PROG_TYPE_TRACEPOINT)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a tracepoint program (its section is \"%s\"); "
				     "declare it with SEC(\"tracepoint\") or SEC(\"tp/%s/%s\")",
				     bpf_program__name(prog), bpf_program__section_name(prog), category, event);
	int ret = lbpf_tracefs__ensure(err);
	if (ret)
		return ret;
	if (!lbpf_tracefs__event_exists(category, event))
		return lbpf_err__set(err, ENOENT,
				     "unknown tracepoint '%s:%s' (no such event in %s/events); "
				     "list them with: ls %s/events/%s",
				     category, event, lbpf_tracefs__root(), lbpf_tracefs__root(), category);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_tracepoint(prog, category, event);
	if (!link)
		return lbpf_attach__fail(err, -errno, prog, "a tracepoint");
	return lbpf_link__add(obj, link);
}
