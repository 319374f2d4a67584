/* Event source: a BPF ring buffer, consumed straight from its memory map.
 * Doing it here rather than through libbpf lets a failing callback stop at
 * any record and lets the loop count the records still waiting. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdbool.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "event_source.h"

struct ringbuf {
	struct lbpf_source base;
	unsigned long *consumer_pos;
	unsigned long *producer_pos;
	char *data;
	unsigned long mask;
	size_t page, data_size;
};

static size_t record_size(uint32_t len)
{
	len &= ~(BPF_RINGBUF_BUSY_BIT | BPF_RINGBUF_DISCARD_BIT);
	return (len + BPF_RINGBUF_HDR_SZ + 7) & ~7u;
}

/* Records consumed between releases of their space: releasing after every
 * record would bounce the consumer position's cache line to the producer. */
#define RELEASE_EVERY 64

/* Consumes at most one buffer's worth of records, so a callback whose own
 * work produces records (a tracer of write() that writes) cannot keep the
 * event loop from checking its deadline and signals; the rest waits for the
 * next poll, which finds the buffer still readable. With a batch function,
 * records are handed over LBPF_BATCH_MAX at a time, their space released
 * only after each batch. */
static int consume(struct lbpf_source *s, int *handled)
{
	struct ringbuf *r = (struct ringbuf *)s;
	unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long limit = cons + r->data_size;
	int ret = 0, unreleased = 0, n = 0;
	struct lbpf_event batch[s->batch_fn ? LBPF_BATCH_MAX : 1];

	for (;;) {
		unsigned long prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
		if (cons >= prod || cons >= limit)
			break;
		while (cons < prod && cons < limit && ret >= 0) {
			uint32_t *hdr = (uint32_t *)(r->data + (cons & r->mask));
			uint32_t len = __atomic_load_n(hdr, __ATOMIC_ACQUIRE);
			if (len & BPF_RINGBUF_BUSY_BIT)
				goto out; /* still being written: the next wakeup brings it */
			cons += record_size(len);
			bool discarded = len & BPF_RINGBUF_DISCARD_BIT;
			if (!discarded) {
				s->stats.received++;
				(*handled)++;
			}
			if (!s->batch_fn) {
				if (!discarded)
					ret = s->fn(s->ctx, hdr + 2, len, -1);
				if (++unreleased == RELEASE_EVERY) {
					__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
					unreleased = 0;
				}
			} else if (!discarded) {
				batch[n++] = (struct lbpf_event){hdr + 2, len};
				if (n == LBPF_BATCH_MAX) {
					ret = s->batch_fn(s->ctx, batch, n);
					n = 0;
					__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
				}
			}
		}
		if (ret < 0)
			break;
	}
out:
	if (n && ret >= 0)
		ret = s->batch_fn(s->ctx, batch, n);
	__atomic_store_n(r->consumer_pos, cons, __ATOMIC_RELEASE);
	return ret < 0 ? ret : 0;
}

static uint64_t pending(struct lbpf_source *s)
{
	struct ringbuf *r = (struct ringbuf *)s;
	unsigned long cons = __atomic_load_n(r->consumer_pos, __ATOMIC_ACQUIRE);
	unsigned long prod = __atomic_load_n(r->producer_pos, __ATOMIC_ACQUIRE);
	uint64_t n = 0;

	while (cons < prod) {
		uint32_t len = __atomic_load_n((uint32_t *)(r->data + (cons & r->mask)), __ATOMIC_ACQUIRE);
		if (len & BPF_RINGBUF_BUSY_BIT)
			break;
		n += !(len & BPF_RINGBUF_DISCARD_BIT);
		cons += record_size(len);
	}
	return n;
}

static void ringbuf_free(struct lbpf_source *s)
{
	struct ringbuf *r = (struct ringbuf *)s;
	if (r->consumer_pos)
		munmap(r->consumer_pos, r->page);
	if (r->producer_pos)
		munmap(r->producer_pos, r->page + 2 * r->data_size);
	free(r);
}

static const struct lbpf_source_ops ops = {"ringbuf", consume, pending, ringbuf_free};

struct lbpf_source *lbpf_ringbuf__new(int map_fd, struct lbpf_err *err)
{
	struct lbpf_map_info info;

	if (lbpf_source__check_map(map_fd, BPF_MAP_TYPE_RINGBUF, "a ring buffer (BPF_MAP_TYPE_RINGBUF)", &info, err))
		return NULL;
	struct ringbuf *r = calloc(1, sizeof(*r));
	if (!r) {
		lbpf_err__set(err, ENOMEM, "out of memory opening ring buffer '%s'", info.name);
		return NULL;
	}
	r->base.ops = &ops;
	r->base.fd = map_fd;
	r->page = (size_t)sysconf(_SC_PAGESIZE);
	r->data_size = info.max_entries;
	r->mask = info.max_entries - 1;
	void *c = mmap(NULL, r->page, PROT_READ | PROT_WRITE, MAP_SHARED, map_fd, 0);
	/* The data is mapped twice in a row, so a record that wraps reads straight. */
	void *p = c == MAP_FAILED ? MAP_FAILED
				  : mmap(NULL, r->page + 2 * r->data_size, PROT_READ, MAP_SHARED, map_fd, r->page);
	if (c == MAP_FAILED || p == MAP_FAILED) {
		int e = errno;
		if (c != MAP_FAILED)
			r->consumer_pos = c;
		ringbuf_free(&r->base);
		lbpf_err__set(err, e, "cannot map ring buffer '%s': %s", info.name, lbpf_strerror(e));
		return NULL;
	}
	r->consumer_pos = c;
	r->producer_pos = p;
	r->data = (char *)p + r->page;
	return &r->base;
}
