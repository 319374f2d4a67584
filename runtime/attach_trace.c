/* Attach kind: BTF-typed tracing programs, fentry, fexit, fmod_ret, tp_btf,
 * LSM and iterators: the target comes from the section (or
 * set_attach_target before load), so attaching names nothing more. Kernels
 * that refuse tracing programs refuse them at load, where the error says so. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

static const struct {
	const char *kind;
	enum bpf_prog_type type;
	enum bpf_attach_type expected;
	const char *section;
} kinds[] = {
	{"fentry", BPF_PROG_TYPE_TRACING, BPF_TRACE_FENTRY, "fentry/FUNC"},
	{"fexit", BPF_PROG_TYPE_TRACING, BPF_TRACE_FEXIT, "fexit/FUNC"},
	{"fmod_ret", BPF_PROG_TYPE_TRACING, BPF_MODIFY_RETURN, "fmod_ret/FUNC"},
	{"tp_btf", BPF_PROG_TYPE_TRACING, BPF_TRACE_RAW_TP, "tp_btf/EVENT"},
	{"lsm", BPF_PROG_TYPE_LSM, BPF_LSM_MAC, "lsm/HOOK"},
	{"iter", BPF_PROG_TYPE_TRACING, BPF_TRACE_ITER, "iter/TARGET"},
};

int lbpf_attach__trace(struct lbpf_object *obj, struct bpf_program *prog, const char *kind, struct lbpf_err *err)
{
	size_t i = 0;
	while (i < sizeof(kinds) / sizeof(kinds[0]) && strcmp(kinds[i].kind, kind) != 0)
		i++;
	if (i == sizeof(kinds) / sizeof(kinds[0]))
		return lbpf_err__set(err, EINVAL, "no tracing attach kind '%s'", kind);
	if (bpf_program__type(prog) != kinds[i].type || bpf_program__expected_attach_type(prog) != kinds[i].expected)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a %s program (its section is \"%s\"); declare it with "
				     "SEC(\"%s\")",
				     bpf_program__name(prog), kind, bpf_program__section_name(prog), kinds[i].section);
	lbpf_log__reset();
	struct bpf_link *link = kinds[i].type == BPF_PROG_TYPE_LSM ? bpf_program__attach_lsm(prog)
				: kinds[i].expected == BPF_TRACE_ITER ? bpf_program__attach_iter(prog, NULL)
								      : bpf_program__attach_trace(prog);
	if (!link)
		return lbpf_attach__fail(err, -errno, prog, kind);
	return lbpf_link__add(obj, link);
}

char *lbpf_link__read_iter(struct lbpf_object *obj, int id, size_t *size, struct lbpf_err *err)
{
	if (!lbpf_link__attached(obj, id)) {
		lbpf_err__set(err, ENOENT, "this link is detached");
		return NULL;
	}
	int link_fd = lbpf_link__fd(obj, id);
	int fd = bpf_iter_create(link_fd);
	if (fd < 0) {
		lbpf_err__set(err, errno, "cannot read the iterator: %s%s", lbpf_strerror(errno),
			      errno == EINVAL || errno == EBADF ? " (the link is not an iterator's)" : "");
		return NULL;
	}
	char *text = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (len + 4096 > cap) {
			char *grown = realloc(text, cap = cap ? cap * 2 : 65536);
			if (!grown) {
				free(text);
				close(fd);
				lbpf_err__set(err, ENOMEM, "out of memory reading the iterator");
				return NULL;
			}
			text = grown;
		}
		ssize_t n = read(fd, text + len, cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			int e = n < 0 ? errno : 0;
			close(fd);
			if (e) {
				free(text);
				lbpf_err__set(err, e, "reading the iterator failed: %s", lbpf_strerror(e));
				return NULL;
			}
			*size = len;
			return text;
		}
		len += (size_t)n;
	}
}
