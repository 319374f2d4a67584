/* What every attach kind says when the kernel says no: missing privileges
 * first, then the errno and libbpf's own explanation. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>

#include "luabpf.h"

int lbpf_attach__fail(struct lbpf_err *err, int code, const struct bpf_program *prog, const char *what)
{
	const char *caps = lbpf_features__missing_caps();
	const char *why = lbpf_log__last();

	if (caps && (code == -EPERM || code == -EACCES))
		return lbpf_err__set(err, code, "cannot attach program '%s' to %s: permission denied: %s",
				     bpf_program__name(prog), what, caps);
	if (code == -EEXIST)
		return lbpf_err__set(err, code, "program '%s' is already attached to %s", bpf_program__name(prog),
				     what);
	return lbpf_err__set(err, code, "cannot attach program '%s' to %s: %s%s%s%s", bpf_program__name(prog),
			     what, lbpf_strerror(-code), *why ? " (libbpf: " : "", why, *why ? ")" : "");
}
