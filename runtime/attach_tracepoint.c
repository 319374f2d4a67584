/* Attach kind: tracepoints (category:event under tracefs's events/); a
 * glob in either part attaches to every match as one link group. */
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

struct glob_links {
	struct bpf_link **links;
	int n, cap;
};

static int add(struct glob_links *g, struct bpf_link *link)
{
	if (g->n == g->cap) {
		int cap = g->cap ? g->cap * 2 : 64;
		struct bpf_link **grown = realloc(g->links, cap * sizeof(*grown));
		if (!grown)
			return -ENOMEM;
		g->links = grown;
		g->cap = cap;
	}
	g->links[g->n++] = link;
	return 0;
}

/* Every event of every category the globs match, attached one by one. */
static int attach_glob(struct lbpf_object *obj, struct bpf_program *prog, const char *category, const char *event,
		       struct lbpf_err *err)
{
	char path[PATH_MAX];
	struct glob_links g = {0};
	int ret = 0;

	snprintf(path, sizeof(path), "%s/events", lbpf_tracefs__root());
	DIR *cats = opendir(path);
	if (!cats)
		return lbpf_err__set(err, errno, "cannot list %s: %s", path, lbpf_strerror(errno));
	struct dirent *c, *e;
	while (!ret && (c = readdir(cats))) {
		if (c->d_name[0] == '.' || fnmatch(category, c->d_name, 0) != 0)
			continue;
		snprintf(path, sizeof(path), "%s/events/%s", lbpf_tracefs__root(), c->d_name);
		DIR *events = opendir(path);
		while (!ret && events && (e = readdir(events))) {
			if (e->d_name[0] == '.' || fnmatch(event, e->d_name, 0) != 0 ||
			    !lbpf_tracefs__event_exists(c->d_name, e->d_name))
				continue;
			lbpf_log__reset();
			struct bpf_link *link = bpf_program__attach_tracepoint(prog, c->d_name, e->d_name);
			if (!link) {
				char what[640];
				snprintf(what, sizeof(what), "tracepoint %s:%s (matching %s:%s)", c->d_name, e->d_name,
					 category, event);
				ret = lbpf_attach__fail(err, -errno, prog, what);
			} else if (add(&g, link)) {
				bpf_link__destroy(link);
				ret = lbpf_err__set(err, ENOMEM, "out of memory attaching to %s:%s", category, event);
			}
		}
		if (events)
			closedir(events);
	}
	closedir(cats);
	if (!ret && !g.n)
		ret = lbpf_err__set(err, ENOENT, "no tracepoint matches '%s:%s' (bpf.tracepoints(\"%s:%s\") lists "
						 "the matches)",
				    category, event, category, event);
	if (!ret)
		ret = lbpf_link__add_group(obj, g.links, g.n);
	else
		for (int i = 0; i < g.n; i++)
			bpf_link__destroy(g.links[i]);
	free(g.links);
	return ret;
}

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
	if (strpbrk(category, "*?[") || strpbrk(event, "*?["))
		return attach_glob(obj, prog, category, event, err);
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
