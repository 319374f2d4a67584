/* Attach kind: USDT probes (a binary's .note.stapsdt entries) through
 * libbpf's USDT support; a probe named without its provider is looked up. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

struct find {
	const char *name;
	char *out;
	size_t size;
};

static int match(void *ctx, const struct lbpf_usdt_probe *p)
{
	struct find *f = ctx;
	if (strcmp(p->name, f->name) != 0 || strlen(p->provider) >= f->size)
		return 0;
	strcpy(f->out, p->provider);
	return 1;
}

/* The provider of the first probe called `name` in the binary, copied to
 * out; -ENOENT if there is none. */
static int find_provider(const char *path, const char *name, char *out, size_t size)
{
	struct find f = {name, out, size};
	int ret = lbpf_usdt__each(path, match, &f);
	return ret == 1 ? 0 : ret < 0 ? ret : -ENOENT;
}

enum bpf_attach_type lbpf_attach__usdt_attach_type(void)
{
	/* libbpf attaches USDT probes with one uprobe_multi link where it can. */
	return lbpf_features__uprobe_multi() ? BPF_TRACE_UPROBE_MULTI : 0;
}

int lbpf_attach__usdt(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_usdt_opts *o,
		      struct lbpf_err *err)
{
	char path[64], provider[256], what[768];
	const char *binary = o->path;

	if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a USDT program (its section is \"%s\"); declare it with "
				     "SEC(\"usdt\") or as a plain function",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	if (!binary) {
		if (o->pid < 0)
			return lbpf_err__set(err, EINVAL, "usdt: give the binary's path, a pid, or both");
		snprintf(path, sizeof(path), "/proc/%d/exe", o->pid);
		binary = path;
	}
	if (access(binary, R_OK) != 0)
		return lbpf_err__set(err, errno, "usdt: cannot read %s: %s", binary, lbpf_strerror(errno));
	const char *prov = o->provider;
	if (!prov) {
		int ret = find_provider(binary, o->name, provider, sizeof(provider));
		if (ret)
			return lbpf_err__set(err, ret, "usdt: %s has no USDT probe named '%s'%s", binary, o->name,
					     ret == -ENOENT ? " (list them with: readelf -n BINARY)" : "");
		prov = provider;
	}
	if (!lbpf_object__map(obj, "__bpf_usdt_specs"))
		return lbpf_err__set(err, ENOTSUP,
				     "usdt: program '%s' was compiled without USDT support; read arguments with "
				     "bpf_usdt_readarg() (or #include <bpf/usdt.bpf.h>) so the compile includes it",
				     bpf_program__name(prog));
	snprintf(what, sizeof(what), "USDT probe %s:%s in %s", prov, o->name, binary);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_usdt(prog, o->pid, binary, prov, o->name, NULL);
	if (!link) {
		int ret = -errno;
		if (ret == -ENOENT)
			return lbpf_err__set(err, ret, "usdt: %s has no USDT probe %s:%s (list them with: readelf -n %s)",
					     binary, prov, o->name, binary);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
