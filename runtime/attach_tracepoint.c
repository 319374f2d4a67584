/* Attach kind: tracepoints (category:event under tracefs's events/); a
 * glob in either part attaches to every match as one link group. The links
 * hold the program's gate (runtime/gate.c), so that detaching stops the
 * program at once and the kernel's teardown, a grace period per tracepoint,
 * happens in the background. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <limits.h>
#include <linux/perf_event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "object_internal.h"

struct tp_links {
	struct lbpf_object *obj;
	struct bpf_program *prog;
	int prog_fd; /* the gate, or the program itself */
	int *fds;
	long *ids;
	int n, cap;
};

static long event_id(const char *category, const char *event)
{
	char path[PATH_MAX];
	long id = -1;

	snprintf(path, sizeof(path), "%s/events/%s/%s/id", lbpf_tracefs__root(), category, event);
	FILE *f = fopen(path, "re");
	if (!f)
		return -errno;
	int got = fscanf(f, "%ld", &id);
	fclose(f);
	return got == 1 && id >= 0 ? id : -EINVAL;
}

/* Whether t's program runs on event id already, by an earlier attach. */
static bool attached_before(const struct tp_links *t, long id)
{
	for (int i = 0; i < t->obj->nlinks; i++) {
		const struct lbpf_link_slot *slot = &t->obj->links[i];
		for (int j = 0; slot->prog == t->prog && slot->tp_ids && j < slot->nfds; j++)
			if (slot->tp_ids[j] == id)
				return true;
	}
	return false;
}

/* One perf event on tracepoint id, running prog_fd: a kernel link holding
 * the event (its fd), or on kernels before 5.15 the event itself. */
static int attach_one(long id, int prog_fd)
{
	struct perf_event_attr attr = {.type = PERF_TYPE_TRACEPOINT, .size = sizeof(attr), .config = (__u64)id,
				       .sample_period = 1, .wakeup_events = 1};
	int pfd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (pfd < 0)
		return -errno;
	/* The event's id as the attach cookie: one program on a glob's many
	 * tracepoints tells them apart with bpf_get_attach_cookie(). */
	LIBBPF_OPTS(bpf_link_create_opts, opts, .perf_event.bpf_cookie = (__u64)id);
	int link = bpf_link_create(prog_fd, pfd, BPF_PERF_EVENT, &opts);
	if (link >= 0) {
		close(pfd); /* the link holds the event */
		return link;
	}
	int ret = -errno;
	if (ret == -EINVAL && ioctl(pfd, PERF_EVENT_IOC_SET_BPF, prog_fd) == 0 &&
	    ioctl(pfd, PERF_EVENT_IOC_ENABLE, 0) == 0)
		return pfd;
	close(pfd);
	return ret;
}

/* An attach that failed, named with the glob it came from (pattern "" for none). */
static int fail(const struct tp_links *t, int code, const char *category, const char *event, const char *pattern,
		struct lbpf_err *err)
{
	char what[640];
	if (strcmp(pattern, "") == 0)
		snprintf(what, sizeof(what), "tracepoint %s:%s", category, event);
	else
		snprintf(what, sizeof(what), "tracepoint %s:%s (matching %s)", category, event, pattern);
	return lbpf_attach__fail(err, code, t->prog, what);
}

static int add(struct tp_links *t, const char *category, const char *event, const char *pattern,
	       struct lbpf_err *err)
{
	if (t->n == t->cap) {
		int cap = t->cap ? t->cap * 2 : 64;
		int *grown = realloc(t->fds, cap * sizeof(*grown));
		long *ids = grown ? realloc(t->ids, cap * sizeof(*ids)) : NULL;
		if (grown)
			t->fds = grown;
		if (!ids)
			return lbpf_err__set(err, ENOMEM, "out of memory attaching to %s:%s", category, event);
		t->ids = ids;
		t->cap = cap;
	}
	long id = event_id(category, event);
	if (id >= 0 && attached_before(t, id))
		return fail(t, -EEXIST, category, event, pattern, err);
	int fd = id < 0 ? (int)id : attach_one(id, t->prog_fd);
	if (fd < 0)
		return fail(t, fd, category, event, pattern, err);
	t->ids[t->n] = id;
	t->fds[t->n++] = fd;
	return 0;
}

/* Every event of every category the globs match, attached one by one. */
static int attach_glob(struct tp_links *t, const char *category, const char *event, struct lbpf_err *err)
{
	char path[PATH_MAX], pattern[300];
	int ret = 0;

	snprintf(pattern, sizeof(pattern), "%s:%s", category, event);
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
		while (!ret && events && (e = readdir(events)))
			if (e->d_name[0] != '.' && fnmatch(event, e->d_name, 0) == 0 &&
			    lbpf_tracefs__event_exists(c->d_name, e->d_name))
				ret = add(t, c->d_name, e->d_name, pattern, err);
		if (events)
			closedir(events);
	}
	closedir(cats);
	if (!ret && !t->n)
		ret = lbpf_err__set(err, ENOENT, "no tracepoint matches '%s:%s' (bpf.tracepoints(\"%s:%s\") lists "
						 "the matches)",
				    category, event, category, event);
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
	bool glob = strpbrk(category, "*?[") || strpbrk(event, "*?[");
	if (!glob && !lbpf_tracefs__event_exists(category, event))
		return lbpf_err__set(err, ENOENT,
				     "unknown tracepoint '%s:%s' (no such event in %s/events); "
				     "list them with: ls %s/events/%s",
				     category, event, lbpf_tracefs__root(), lbpf_tracefs__root(), category);

	int gate_map = -1;
	int gate = lbpf_gate__open(bpf_program__fd(prog), BPF_PROG_TYPE_TRACEPOINT, bpf_program__name(prog),
				   &gate_map);
	struct tp_links t = {.obj = obj, .prog = prog, .prog_fd = gate >= 0 ? gate : bpf_program__fd(prog)};
	lbpf_log__reset();
	ret = glob ? attach_glob(&t, category, event, err) : add(&t, category, event, "", err);
	if (gate >= 0)
		close(gate); /* the links hold it */
	if (!ret)
		ret = lbpf_link__add_fds(obj, t.fds, t.n, gate_map);
	else {
		if (gate_map >= 0)
			lbpf_gate__close(gate_map);
		lbpf_reaper__close(t.fds, t.n);
	}
	if (ret >= 0) {
		obj->links[ret].prog = prog;
		obj->links[ret].tp_ids = t.ids;
	} else {
		free(t.ids);
	}
	free(t.fds);
	return ret;
}

int lbpf_attach__tracepoint_ungate(struct lbpf_object *obj, int id, struct lbpf_err *err)
{
	struct lbpf_link_slot *slot = &obj->links[id];
	/* Attached itself before the gate closes: an event in between may run
	 * it twice, none is missed. */
	int fd = attach_one(slot->tp_ids[0], bpf_program__fd(slot->prog));
	if (fd < 0)
		return lbpf_err__set(err, fd, "cannot pin the tracepoint link of program '%s': attaching it without "
					      "its gate failed: %s",
				     bpf_program__name(slot->prog), lbpf_strerror(-fd));
	lbpf_gate__close(slot->gate_map);
	lbpf_reaper__close(slot->fds, 1);
	slot->fds[0] = fd;
	slot->gate_map = -1;
	return 0;
}
