/* Reading a whole map: in batches where the kernel has them (a worker thread
 * fetches the next batch while the caller decodes this one), else key by key
 * with a bound on steps so a map changing underneath cannot loop forever. */
#include <bpf/bpf.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

#define BATCH_ENTRIES 4096
#define ENOTSUPP_KERNEL 524

struct batch {
	char *keys, *values;
	uint32_t cap;	/* entries the buffers hold */
	uint32_t count;	/* entries filled */
	int ret;	/* the lookup's result: 0, -ENOENT (last batch) or an error */
	bool full;
};

struct lbpf_map_reader {
	int fd;
	uint32_t key_size, max_entries;
	size_t vbytes;
	bool batch;	 /* false: key by key */
	/* batches */
	struct batch slot[2];
	int cur;	 /* the slot the caller reads */
	bool have_cur, last;
	uint32_t pos;
	char *token_in, *token_out;
	bool started;
	/* prefetching */
	bool threaded, stop;
	pthread_t thread;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	/* key by key */
	uint64_t steps;
	bool have_key;
	char *key, *next, *value;
};

static int slot_alloc(struct lbpf_map_reader *r, struct batch *b, uint32_t cap)
{
	char *k = realloc(b->keys, (size_t)cap * r->key_size);
	if (k)
		b->keys = k;
	char *v = realloc(b->values, (size_t)cap * (r->vbytes ? r->vbytes : 1));
	if (v)
		b->values = v;
	if (!k || !v)
		return -ENOMEM;
	b->cap = cap;
	return 0;
}

/* One batch into slot b; a hash bucket larger than the buffer makes it grow. */
static void fetch(struct lbpf_map_reader *r, struct batch *b)
{
	for (;;) {
		uint32_t n = b->cap;
		int ret = lbpf_map__lookup_batch(r->fd, r->started ? r->token_in : NULL, r->token_out, b->keys,
						 b->values, &n, false);
		if (ret == -ENOSPC && b->cap < r->max_entries && slot_alloc(r, b, b->cap * 2) == 0)
			continue;
		if (ret == 0 || ret == -ENOENT) {
			r->started = true;
			memcpy(r->token_in, r->token_out, r->key_size + 8);
		}
		b->count = n;
		b->ret = ret;
		return;
	}
}

static void *prefetch(void *arg)
{
	struct lbpf_map_reader *r = arg;

	for (int i = 0;; i ^= 1) {
		pthread_mutex_lock(&r->mu);
		while (r->slot[i].full && !r->stop)
			pthread_cond_wait(&r->cv, &r->mu);
		bool stop = r->stop;
		pthread_mutex_unlock(&r->mu);
		if (stop)
			break;
		fetch(r, &r->slot[i]);
		pthread_mutex_lock(&r->mu);
		r->slot[i].full = true;
		pthread_cond_broadcast(&r->cv);
		pthread_mutex_unlock(&r->mu);
		if (r->slot[i].ret != 0)
			break;
	}
	return NULL;
}

struct lbpf_map_reader *lbpf_map_reader__new(int fd, const struct lbpf_map_info *info, size_t vbytes, bool batch)
{
	struct lbpf_map_reader *r = calloc(1, sizeof(*r));
	if (!r)
		return NULL;
	r->fd = fd;
	r->key_size = info->key_size ? info->key_size : 1;
	r->max_entries = info->max_entries ? info->max_entries : 1;
	r->vbytes = vbytes;
	r->batch = batch && lbpf_map__batch_supported(info->type);
	r->token_in = calloc(1, r->key_size + 8);
	r->token_out = calloc(1, r->key_size + 8);
	r->key = malloc(r->key_size);
	r->next = malloc(r->key_size);
	r->value = malloc(vbytes ? vbytes : 1);
	uint32_t cap = r->max_entries < BATCH_ENTRIES ? r->max_entries : BATCH_ENTRIES;
	if (!r->token_in || !r->token_out || !r->key || !r->next || !r->value ||
	    (r->batch && (slot_alloc(r, &r->slot[0], cap) || slot_alloc(r, &r->slot[1], cap)))) {
		lbpf_map_reader__free(r);
		return NULL;
	}
	/* One batch is all a small map needs: no thread for it. */
	if (r->batch && r->max_entries > cap && pthread_mutex_init(&r->mu, NULL) == 0) {
		pthread_cond_init(&r->cv, NULL);
		r->threaded = pthread_create(&r->thread, NULL, prefetch, r) == 0;
		if (!r->threaded) {
			pthread_cond_destroy(&r->cv);
			pthread_mutex_destroy(&r->mu);
		}
	}
	return r;
}

/* Ends the worker thread. Called as soon as it has fetched the last batch, so
 * no thread outlives a finished read: the compiler is forked, and a thread
 * busy in malloc at that moment would leave the child a lock no one releases. */
static void stop_prefetch(struct lbpf_map_reader *r)
{
	if (!r->threaded)
		return;
	pthread_mutex_lock(&r->mu);
	r->stop = true;
	pthread_cond_broadcast(&r->cv);
	pthread_mutex_unlock(&r->mu);
	pthread_join(r->thread, NULL);
	pthread_cond_destroy(&r->cv);
	pthread_mutex_destroy(&r->mu);
	r->threaded = false;
}

/* The next batch into the current slot; false at the end. */
static int next_batch(struct lbpf_map_reader *r)
{
	if (r->have_cur) {
		if (r->threaded) {
			pthread_mutex_lock(&r->mu);
			r->slot[r->cur].full = false;
			pthread_cond_broadcast(&r->cv);
			pthread_mutex_unlock(&r->mu);
			r->cur ^= 1;
		}
		r->have_cur = false;
		if (r->last)
			return 0;
	}
	struct batch *b = &r->slot[r->cur];
	if (r->threaded) {
		pthread_mutex_lock(&r->mu);
		while (!b->full)
			pthread_cond_wait(&r->cv, &r->mu);
		pthread_mutex_unlock(&r->mu);
		if (b->ret)
			stop_prefetch(r);
	} else {
		fetch(r, b);
	}
	if (b->ret && b->ret != -ENOENT)
		return b->ret;
	r->have_cur = true;
	r->last = b->ret == -ENOENT;
	r->pos = 0;
	return 1;
}

static int next_by_key(struct lbpf_map_reader *r, const void **key, const void **value)
{
	for (;;) {
		/* A key deleted meanwhile sends the kernel back to the first key. */
		if (++r->steps > (uint64_t)r->max_entries + 1)
			return 0;
		int ret = lbpf_map__next_key(r->fd, r->have_key ? r->key : NULL, r->next);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return ret;
		memcpy(r->key, r->next, r->key_size);
		r->have_key = true;
		ret = lbpf_map__lookup(r->fd, r->key, r->value, 0);
		if (ret == 0)
			break;
		if (ret != -ENOENT)
			return ret;
	}
	*key = r->key;
	*value = r->value;
	return 1;
}

int lbpf_map_reader__next(struct lbpf_map_reader *r, const void **key, const void **value)
{
	while (r->batch) {
		if (r->have_cur && r->pos < r->slot[r->cur].count) {
			struct batch *b = &r->slot[r->cur];
			*key = b->keys + (size_t)r->pos * r->key_size;
			*value = b->values + (size_t)r->pos * r->vbytes;
			r->pos++;
			return 1;
		}
		int ret = next_batch(r);
		if (ret == -EINVAL || ret == -EOPNOTSUPP || ret == -ENOTSUPP_KERNEL) {
			if (r->started)
				return ret;
			r->batch = false; /* a kernel without batches for this map: key by key */
			break;
		}
		if (ret <= 0)
			return ret;
	}
	return next_by_key(r, key, value);
}

void lbpf_map_reader__free(struct lbpf_map_reader *r)
{
	if (!r)
		return;
	stop_prefetch(r);
	for (int i = 0; i < 2; i++) {
		free(r->slot[i].keys);
		free(r->slot[i].values);
	}
	free(r->token_in);
	free(r->token_out);
	free(r->key);
	free(r->next);
	free(r->value);
	free(r);
}

/* Empties a hash-like map in batches of lookup-and-delete; -EINVAL and the
 * like mean the kernel has no batches for it. */
static int clear_in_batches(int fd, const struct lbpf_map_info *info, size_t vbytes, uint64_t *removed)
{
	struct lbpf_map_reader *r = lbpf_map_reader__new(fd, info, vbytes, false);
	int ret = r && slot_alloc(r, &r->slot[0], BATCH_ENTRIES) == 0 ? 0 : -ENOMEM;

	while (!ret) {
		struct batch *b = &r->slot[0];
		uint32_t n = b->cap;
		ret = lbpf_map__lookup_batch(fd, r->started ? r->token_in : NULL, r->token_out, b->keys, b->values, &n,
					     true);
		if (ret == -ENOSPC && b->cap < r->max_entries && slot_alloc(r, b, b->cap * 2) == 0) {
			ret = 0;
			continue;
		}
		*removed += n;
		r->started = true;
		memcpy(r->token_in, r->token_out, r->key_size + 8);
	}
	lbpf_map_reader__free(r);
	return ret;
}

int lbpf_map__clear(int fd, const struct lbpf_map_info *info, size_t vbytes, uint64_t *removed)
{
	uint32_t ksz = info->key_size;
	char *key = malloc(ksz + 8), *value = calloc(1, vbytes + 8);
	int ret = 0;

	*removed = 0;
	if (!key || !value) {
		ret = -ENOMEM;
	} else if (info->type == BPF_MAP_TYPE_QUEUE || info->type == BPF_MAP_TYPE_STACK) {
		while ((ret = lbpf_map__lookup_and_delete(fd, NULL, value)) == 0)
			(*removed)++;
	} else if (info->type == BPF_MAP_TYPE_ARRAY || info->type == BPF_MAP_TYPE_PERCPU_ARRAY) {
		for (uint32_t i = 0; i < info->max_entries && !ret; i++, (*removed)++)
			ret = lbpf_map__update(fd, &i, value, BPF_ANY);
	} else if (lbpf_map__batch_supported(info->type) &&
		   (ret = clear_in_batches(fd, info, vbytes, removed)) != -EINVAL && ret != -EOPNOTSUPP &&
		   ret != -ENOTSUPP_KERNEL) {
		/* done in batches (or failed for a reason worth reporting) */
	} else {
		/* Always the first key: deleting it is what moves on. */
		for (uint64_t i = 0; i <= info->max_entries; i++) {
			if ((ret = lbpf_map__next_key(fd, NULL, key)) != 0)
				break;
			if ((ret = lbpf_map__delete(fd, key)) != 0 && ret != -ENOENT)
				break;
			*removed += ret == 0;
		}
	}
	free(key);
	free(value);
	return ret == -ENOENT ? 0 : ret;
}
