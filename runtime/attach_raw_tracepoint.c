/* Attach kind: raw tracepoints (the kernel's tracepoint by bare name, raw args). */
#include <bpf/libbpf.h>
#include <errno.h>

#include "luabpf.h"

int lbpf_attach__raw_tracepoint(struct lbpf_object *obj, struct bpf_program *prog, const char *event,
				struct lbpf_err *err)
{
	enum bpf_prog_type t = bpf_program__type(prog);

	if (t != BPF_PROG_TYPE_RAW_TRACEPOINT && t != BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a raw tracepoint program (its section is \"%s\"); "
				     "declare it with SEC(\"raw_tp\") or SEC(\"raw_tp/%s\")",
				     bpf_program__name(prog), bpf_program__section_name(prog), event);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_raw_tracepoint(prog, event);
	if (!link) {
		int ret = -errno;
		if (ret == -ENOENT)
			return lbpf_err__set(err, ret, "unknown raw tracepoint '%s' (the kernel has no tracepoint "
						       "of that name; raw tracepoints take the bare event name, e.g. "
						       "'sched_process_exec')",
					     event);
		return lbpf_attach__fail(err, ret, prog, "a raw tracepoint");
	}
	return lbpf_link__add(obj, link);
}
