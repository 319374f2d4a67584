/* Attach kind: sk_msg and sk_skb programs on a sockmap or sockhash, which
 * then run for the sockets in that map. As kernel links where the kernel has
 * them (Linux 6.10), else as a program attached to the map, which the slot
 * detaches again. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "object_internal.h"

static const char *const sockmap_types = "\"sk_msg_verdict\", \"sk_skb_stream_verdict\", \"sk_skb_stream_parser\" "
					 "or \"sk_skb_verdict\"";

static bool is_sockmap_type(enum bpf_attach_type t)
{
	return t == BPF_SK_MSG_VERDICT || t == BPF_SK_SKB_STREAM_PARSER || t == BPF_SK_SKB_STREAM_VERDICT ||
	       t == BPF_SK_SKB_VERDICT;
}

/* The hook: the one named, else the one the program's section names. */
static int attach_type(const struct bpf_program *prog, const char *name, enum bpf_attach_type *type,
		       struct lbpf_err *err)
{
	if (name) {
		for (int t = 0; t < __MAX_BPF_ATTACH_TYPE; t++) {
			const char *s = libbpf_bpf_attach_type_str(t);
			if (s && is_sockmap_type(t) && strcmp(s, name) == 0) {
				*type = t;
				return 0;
			}
		}
		return lbpf_err__set(err, EINVAL, "attach_sockmap: '%s' is not a sockmap attach type (%s)", name,
				     sockmap_types);
	}
	*type = bpf_program__type(prog) == BPF_PROG_TYPE_SK_MSG ? BPF_SK_MSG_VERDICT
								: bpf_program__expected_attach_type(prog);
	if (is_sockmap_type(*type))
		return 0;
	return lbpf_err__set(err, EINVAL, "attach_sockmap: section \"%s\" of program '%s' does not say which hook; "
					  "give type = %s, or declare it with SEC(\"sk_skb/stream_verdict\") and the like",
			     bpf_program__section_name(prog), bpf_program__name(prog), sockmap_types);
}

void lbpf_link__detach_prog_attach(const struct lbpf_prog_attach *a)
{
	bpf_prog_detach2(a->prog_fd, a->target_fd, a->type);
	close(a->prog_fd);
	close(a->target_fd);
}

/* The program attached to the map the old way; the slot keeps its own
 * copies of both fds, so that it can detach after the object closed them. */
static int attach_legacy(struct lbpf_object *obj, struct bpf_program *prog, int map_fd, enum bpf_attach_type type,
			 const char *what, struct lbpf_err *err)
{
	if (bpf_prog_attach(bpf_program__fd(prog), map_fd, type, 0) != 0)
		return lbpf_attach__fail(err, -errno, prog, what);
	struct lbpf_prog_attach a = {.prog_fd = fcntl(bpf_program__fd(prog), F_DUPFD_CLOEXEC, 3),
				     .target_fd = fcntl(map_fd, F_DUPFD_CLOEXEC, 3),
				     .type = type};
	if (a.prog_fd < 0 || a.target_fd < 0) {
		int ret = -errno;
		bpf_prog_detach2(bpf_program__fd(prog), map_fd, type);
		if (a.prog_fd >= 0)
			close(a.prog_fd);
		if (a.target_fd >= 0)
			close(a.target_fd);
		return lbpf_err__set(err, ret, "cannot attach program '%s' to %s: %s", bpf_program__name(prog), what,
				     lbpf_strerror(-ret));
	}
	return lbpf_link__add_prog_attach(obj, &a);
}

int lbpf_attach__sockmap(struct lbpf_object *obj, struct bpf_program *prog, int map_fd, const char *type_name,
			 const char *mode, struct lbpf_err *err)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);
	enum bpf_attach_type type = 0;
	char what[160];

	if (bpf_program__type(prog) != BPF_PROG_TYPE_SK_MSG && bpf_program__type(prog) != BPF_PROG_TYPE_SK_SKB)
		return lbpf_err__set(err, EINVAL, "program '%s' is not an sk_msg or sk_skb program (its section is "
						  "\"%s\"); declare it with SEC(\"sk_msg\") or SEC(\"sk_skb/stream_verdict\")",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	if (mode && strcmp(mode, "link") != 0 && strcmp(mode, "prog_attach") != 0)
		return lbpf_err__set(err, EINVAL, "attach_sockmap: mode '%s' is not \"link\" or \"prog_attach\"", mode);
	if (attach_type(prog, type_name, &type, err))
		return err->code;
	if (bpf_map_get_info_by_fd(map_fd, &info, &len) != 0)
		return lbpf_err__set(err, errno, "attach_sockmap: the map is not open: %s", lbpf_strerror(errno));
	if (info.type != BPF_MAP_TYPE_SOCKMAP && info.type != BPF_MAP_TYPE_SOCKHASH)
		return lbpf_err__set(err, EINVAL, "attach_sockmap: map '%s' has type %s; sk_msg and sk_skb programs attach "
						  "to a sockmap or a sockhash",
				     info.name, lbpf_map__type_name(info.type));
	snprintf(what, sizeof(what), "%s of map '%s'", libbpf_bpf_attach_type_str(type), info.name);
	lbpf_log__reset();
	if (mode && strcmp(mode, "prog_attach") == 0)
		return attach_legacy(obj, prog, map_fd, type, what, err);
	int fd = bpf_link_create(bpf_program__fd(prog), map_fd, type, NULL);
	if (fd < 0) {
		int ret = -errno;
		if (ret == -EINVAL && !mode)
			return attach_legacy(obj, prog, map_fd, type, what, err);
		if (ret == -EINVAL)
			return lbpf_err__set(err, ret,
					     "cannot attach program '%s' to %s: this kernel has no sockmap links (Linux "
					     "6.10 and later; mode \"prog_attach\" works everywhere)",
					     bpf_program__name(prog), what);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add_fd(obj, fd);
}
