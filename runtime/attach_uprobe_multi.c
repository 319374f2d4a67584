/* Attach kind: uprobe_multi, one link on every function of a binary a glob
 * matches (libbpf resolves the glob), or on a list of functions, each with
 * its place in the list as its attach cookie. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "luabpf.h"

/* The file offsets of the named functions, and cookies 1..n. libbpf's own
 * lookup by name wants glibc's versioned names ("malloc@@GLIBC_2.2.5"). */
static int list_offsets(const char *path, const char **syms, size_t nsyms, unsigned long **offsets, __u64 **cookies,
			struct lbpf_err *err)
{
	struct lbpf_elf_functions fns;
	int ret = lbpf_elf_functions__read(path, "*", &fns, err);
	if (ret)
		return ret;
	*offsets = calloc(nsyms ? nsyms : 1, sizeof(**offsets));
	*cookies = calloc(nsyms ? nsyms : 1, sizeof(**cookies));
	if (!*offsets || !*cookies)
		ret = lbpf_err__set(err, ENOMEM, "uprobe_multi: out of memory");
	else if (nsyms == 0)
		ret = lbpf_err__set(err, EINVAL, "uprobe_multi: the list of functions is empty");
	for (size_t i = 0; !ret && i < nsyms; i++) {
		const struct lbpf_elf_function *fn = lbpf_elf_functions__find(&fns, syms[i]);
		if (!fn)
			ret = lbpf_err__set(err, -ENOENT, "uprobe_multi: %s defines no function %s (list them with: "
							  "nm -D %s)", path, syms[i], path);
		else
			(*offsets)[i] = fn->offset, (*cookies)[i] = i + 1;
	}
	lbpf_elf_functions__free(&fns);
	if (ret) {
		free(*offsets);
		free(*cookies);
		*offsets = NULL, *cookies = NULL;
	}
	return ret;
}

int lbpf_attach__uprobe_multi(struct lbpf_object *obj, struct bpf_program *prog, const char *path,
			      const char *pattern, const char **syms, size_t nsyms, int pid, bool retprobe,
			      struct lbpf_err *err)
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
	snprintf(what, sizeof(what), "%s %s:%s", retprobe ? "uretprobe.multi" : "uprobe.multi", path,
		 pattern ? pattern : nsyms == 1 ? syms[0] : "(a list of functions)");
	LIBBPF_OPTS(bpf_uprobe_multi_opts, opts, .retprobe = retprobe);
	__u64 *cookies = NULL;
	unsigned long *offsets = NULL;
	if (!pattern) {
		int ret = list_offsets(path, syms, nsyms, &offsets, &cookies, err);
		if (ret)
			return ret;
		opts.offsets = offsets;
		opts.cookies = cookies;
		opts.cnt = nsyms;
	}
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_uprobe_multi(prog, pid, path, pattern, &opts);
	int saved = errno;
	free(cookies);
	free(offsets);
	if (!link) {
		int ret = -saved;
		if (ret == -ENOENT)
			return lbpf_err__set(err, ret, "uprobe_multi: no function of %s matches '%s' (list them with: "
						       "nm %s)",
					     path, pattern ? pattern : syms[0], path);
		if (ret == -EOPNOTSUPP || ret == -EINVAL)
			return lbpf_err__set(err, ret, "cannot attach program '%s' to %s: %s (uprobe_multi links need "
						       "Linux 6.6)",
					     bpf_program__name(prog), what, lbpf_strerror(-ret));
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
