/* Links owned by their object: each attach returns a small id, so a Lua
 * handle can outlive the object without pointing at freed memory. A pinned
 * link outlives both. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "object_internal.h"

static bool grow(struct lbpf_object *obj)
{
	if (obj->nlinks < obj->links_cap)
		return true;
	int cap = obj->links_cap ? obj->links_cap * 2 : 8;
	struct lbpf_link_slot *grown = realloc(obj->links, cap * sizeof(*grown));
	if (!grown)
		return false;
	obj->links = grown;
	obj->links_cap = cap;
	return true;
}

/* The next free slot, or NULL when out of memory. */
static struct lbpf_link_slot *new_slot(struct lbpf_object *obj)
{
	if (!grow(obj))
		return NULL;
	struct lbpf_link_slot *slot = &obj->links[obj->nlinks];
	*slot = (struct lbpf_link_slot){.gate_map = -1};
	return slot;
}

int lbpf_link__add_group(struct lbpf_object *obj, struct bpf_link **links, int n)
{
	struct bpf_link **own = malloc(n * sizeof(*own));
	struct lbpf_link_slot *slot = own ? new_slot(obj) : NULL;

	if (!slot) {
		free(own);
		for (int i = 0; i < n; i++)
			bpf_link__destroy(links[i]);
		return -ENOMEM;
	}
	memcpy(own, links, n * sizeof(*own));
	slot->links = own;
	slot->n = n;
	return obj->nlinks++;
}

static void close_all(int *fds, int n)
{
	for (int i = 0; i < n; i++)
		close(fds[i]);
}

int lbpf_link__add_fds(struct lbpf_object *obj, int *fds, int n, int gate_map)
{
	int *own = malloc(n * sizeof(*own));
	struct lbpf_link_slot *slot = own ? new_slot(obj) : NULL;

	if (!slot) {
		free(own);
		if (gate_map >= 0)
			lbpf_gate__close(gate_map);
		close_all(fds, n);
		return -ENOMEM;
	}
	memcpy(own, fds, n * sizeof(*own));
	slot->fds = own;
	slot->nfds = n;
	slot->gate_map = gate_map;
	return obj->nlinks++;
}

int lbpf_link__add_fd(struct lbpf_object *obj, int fd)
{
	return lbpf_link__add_fds(obj, &fd, 1, -1);
}

int lbpf_link__add_tc(struct lbpf_object *obj, const struct lbpf_tc_filter *filter)
{
	struct lbpf_tc_filter *own = malloc(sizeof(*own));
	struct lbpf_link_slot *slot = own ? new_slot(obj) : NULL;
	if (!slot) {
		free(own);
		lbpf_link__detach_tc(filter);
		return -ENOMEM;
	}
	*own = *filter;
	slot->tc = own;
	return obj->nlinks++;
}

int lbpf_link__add_prog_attach(struct lbpf_object *obj, const struct lbpf_prog_attach *a)
{
	struct lbpf_prog_attach *own = malloc(sizeof(*own));
	struct lbpf_link_slot *slot = own ? new_slot(obj) : NULL;
	if (!slot) {
		free(own);
		lbpf_link__detach_prog_attach(a);
		return -ENOMEM;
	}
	*own = *a;
	slot->prog_attach = own;
	return obj->nlinks++;
}

int lbpf_link__fd(const struct lbpf_object *obj, int id)
{
	if (!lbpf_link__attached(obj, id))
		return -1;
	const struct lbpf_link_slot *slot = &obj->links[id];
	if (slot->links)
		return bpf_link__fd(slot->links[0]);
	return slot->nfds ? slot->fds[0] : -1; /* -1 for a clsact filter or prog_attach */
}

int lbpf_link__pin(struct lbpf_object *obj, int id, const char *path, struct lbpf_err *err)
{
	if (!lbpf_link__attached(obj, id))
		return lbpf_err__set(err, ENOENT, "cannot pin a detached link");
	struct lbpf_link_slot *slot = &obj->links[id];
	if (slot->n > 1)
		return lbpf_err__set(err, EINVAL, "cannot pin a link of %d per-CPU perf events; pin each program "
						  "instead", slot->n);
	if (slot->nfds > 1)
		return lbpf_err__set(err, EINVAL, "cannot pin a link of %d tracepoints (a glob); attach each to pin "
						  "it", slot->nfds);
	if (slot->tc)
		return lbpf_err__set(err, EINVAL, "cannot pin a TC filter on the clsact qdisc: it is not a kernel "
						  "link (attach with mode \"tcx\" to pin)");
	if (slot->prog_attach)
		return lbpf_err__set(err, EINVAL, "cannot pin a program attached without a link (mode "
						  "\"prog_attach\"): it is not a kernel link");
	int ret = lbpf_bpffs__ensure(path, err);
	if (ret)
		return ret;
	if (slot->gate_map >= 0 && (ret = lbpf_attach__tracepoint_ungate(obj, id, err)))
		return ret;
	if (bpf_obj_pin(lbpf_link__fd(obj, id), path) != 0)
		return lbpf_err__set(err, errno, "cannot pin the link at %s: %s%s", path, lbpf_strerror(errno),
				     errno == EINVAL ? " (this kind of attachment is not a kernel link)" : "");
	slot->pinned = true;
	return 0;
}

int lbpf_link__add(struct lbpf_object *obj, struct bpf_link *link)
{
	return lbpf_link__add_group(obj, &link, 1);
}

bool lbpf_link__attached(const struct lbpf_object *obj, int id)
{
	return id >= 0 && id < obj->nlinks &&
	       (obj->links[id].links || obj->links[id].nfds || obj->links[id].tc || obj->links[id].prog_attach);
}

/* Detaching waits in the kernel for RCU grace periods (a perf-event
 * tracepoint some 70 ms, a uprobe 0.1 s), one after another. Many links are
 * let go from a few threads at once, so that their waits partly overlap: 360
 * tracepoints close in 10.5 s instead of 26 (more threads gain nothing; the
 * kernel serializes the rest, and uprobes almost wholly). */
#define DETACH_THREADS 8
#define LINKS_PER_THREAD 4

struct destroy_share {
	struct bpf_link **links;
	int n, first, step;
};

static void *destroy_share(void *arg)
{
	struct destroy_share *d = arg;
	for (int i = d->first; i < d->n; i += d->step)
		if (d->links[i]) {
			bpf_link__destroy(d->links[i]);
			d->links[i] = NULL;
		}
	return NULL;
}

static void destroy_links(struct bpf_link **links, int n)
{
	pthread_t threads[DETACH_THREADS];
	struct destroy_share shares[DETACH_THREADS];
	int k = n / LINKS_PER_THREAD, started = 0;

	if (k > DETACH_THREADS)
		k = DETACH_THREADS;
	if (k < 1)
		k = 1;
	for (int t = 1; t < k && started == t - 1; t++) {
		shares[t] = (struct destroy_share){links, n, t, k};
		if (pthread_create(&threads[t], NULL, destroy_share, &shares[t]) == 0)
			started = t;
	}
	shares[0] = (struct destroy_share){links, n, 0, k};
	destroy_share(&shares[0]);
	for (int t = 1; t <= started; t++)
		pthread_join(threads[t], NULL);
	/* What a thread that could not start would have taken. */
	shares[0].step = 1;
	destroy_share(&shares[0]);
}

/* A slot's fds: a gated program stops now, and its fds go into gated[] for
 * the reaper (unless gated is NULL: no memory). Other fds are closed here. */
static int stop_fds(struct lbpf_link_slot *slot, int *gated)
{
	int n = 0;
	if (slot->gate_map >= 0 && !slot->pinned)
		lbpf_gate__close(slot->gate_map);
	else if (slot->gate_map >= 0)
		close(slot->gate_map);
	if (slot->gate_map >= 0 && !slot->pinned && gated) {
		memcpy(gated, slot->fds, slot->nfds * sizeof(*gated));
		n = slot->nfds;
	} else {
		close_all(slot->fds, slot->nfds);
	}
	free(slot->fds);
	free(slot->tp_ids);
	slot->fds = NULL;
	slot->tp_ids = NULL;
	slot->nfds = 0;
	slot->gate_map = -1;
	return n;
}

static void detach_rest(struct lbpf_link_slot *slot)
{
	destroy_links(slot->links, slot->n);
	free(slot->links);
	if (slot->tc) {
		lbpf_link__detach_tc(slot->tc);
		free(slot->tc);
	}
	if (slot->prog_attach) {
		lbpf_link__detach_prog_attach(slot->prog_attach);
		free(slot->prog_attach);
	}
	*slot = (struct lbpf_link_slot){.gate_map = -1};
}

bool lbpf_link__detach(struct lbpf_object *obj, int id)
{
	if (!lbpf_link__attached(obj, id))
		return false;
	struct lbpf_link_slot *slot = &obj->links[id];
	int *gated = slot->nfds ? malloc(slot->nfds * sizeof(*gated)) : NULL;
	lbpf_reaper__close(gated, stop_fds(slot, gated));
	free(gated);
	detach_rest(slot);
	return true;
}

void lbpf_link__detach_all(struct lbpf_object *obj)
{
	int total = 0, nfds = 0;
	for (int i = 0; i < obj->nlinks; i++) {
		total += obj->links[i].n;
		nfds += obj->links[i].nfds;
	}
	/* Every gated fd of every attach to one reaper, every libbpf link of
	 * every attach in one list, let go together. */
	int *gated = nfds ? malloc(nfds * sizeof(*gated)) : NULL;
	int ngated = 0;
	for (int i = 0; i < obj->nlinks; i++)
		ngated += stop_fds(&obj->links[i], gated ? gated + ngated : NULL);
	lbpf_reaper__close(gated, ngated);
	free(gated);
	struct bpf_link **all = total ? malloc(total * sizeof(*all)) : NULL;
	for (int i = 0, k = 0; all && i < obj->nlinks; i++) {
		for (int j = 0; j < obj->links[i].n; j++)
			all[k++] = obj->links[i].links[j];
		free(obj->links[i].links);
		obj->links[i].links = NULL;
		obj->links[i].n = 0;
	}
	if (all) {
		destroy_links(all, total);
		free(all);
	}
	for (int i = 0; i < obj->nlinks; i++)
		lbpf_link__detach(obj, i);
	free(obj->links);
	obj->links = NULL;
	obj->nlinks = obj->links_cap = 0;
}
