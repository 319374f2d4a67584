/* What the attach kinds share: the words for a kernel's no (missing
 * privileges first, then the errno and libbpf's own explanation), the check
 * of a program's type, and network device lookup. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <net/if.h>
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

int lbpf_attach__check_type(const struct bpf_program *prog, enum bpf_prog_type type, const char *kind,
			    const char *section, struct lbpf_err *err)
{
	if (bpf_program__type(prog) == type)
		return 0;
	return lbpf_err__set(err, EINVAL, "program '%s' is not %s program (its section is \"%s\"); declare it with "
					  "SEC(\"%s\")",
			     bpf_program__name(prog), kind, bpf_program__section_name(prog), section);
}

int lbpf_attach__ifindex(const char *dev, struct lbpf_err *err)
{
	unsigned index = if_nametoindex(dev);
	if (!index)
		return lbpf_err__set(err, ENODEV, "no network device named '%s' (ip link lists them)", dev);
	return (int)index;
}
