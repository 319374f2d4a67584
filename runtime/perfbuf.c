/* Event source: a BPF perf event array, through libbpf's per-CPU perf
 * buffers, with the kernel's lost-record counts and a wakeup setting. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/perf_event.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_source.h"

struct perfbuf {
	struct lbpf_source base;
	struct perf_buffer *pb;
	int stop; /* the callback's negative return, kept across libbpf's own */
	int *handled;
};

struct sample {
	struct perf_event_header header;
	uint32_t size;
	char data[];
};

struct lost {
	struct perf_event_header header;
	uint64_t id;
	uint64_t lost;
};

static enum bpf_perf_event_ret on_event(void *ctx, int cpu, struct perf_event_header *ev)
{
	struct perfbuf *p = ctx;
	struct lbpf_source *s = &p->base;

	if (ev->type == PERF_RECORD_LOST) {
		uint64_t n = ((struct lost *)ev)->lost;
		s->stats.lost += n;
		if (s->lost_fn)
			s->lost_fn(s->ctx, cpu, n);
		return LIBBPF_PERF_EVENT_CONT;
	}
	if (ev->type != PERF_RECORD_SAMPLE)
		return LIBBPF_PERF_EVENT_CONT;
	struct sample *sm = (struct sample *)ev;
	s->stats.received++;
	(*p->handled)++;
	int ret = s->fn(s->ctx, sm->data, sm->size, cpu);
	if (ret < 0) {
		p->stop = ret;
		return LIBBPF_PERF_EVENT_ERROR;
	}
	return LIBBPF_PERF_EVENT_CONT;
}

static int consume(struct lbpf_source *s, int *handled)
{
	struct perfbuf *p = (struct perfbuf *)s;
	p->stop = 0;
	p->handled = handled;
	int ret = perf_buffer__consume(p->pb);
	if (p->stop)
		return p->stop;
	return ret < 0 ? -errno : 0;
}

/* Walks each CPU's buffer from its tail to its head, counting samples. */
static uint64_t pending(struct lbpf_source *s)
{
	struct perfbuf *p = (struct perfbuf *)s;
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t n = 0;

	for (size_t i = 0; i < perf_buffer__buffer_cnt(p->pb); i++) {
		void *base;
		size_t size;
		if (perf_buffer__buffer(p->pb, (int)i, &base, &size) != 0 || !size)
			continue;
		struct perf_event_mmap_page *hdr = base;
		uint64_t head = __atomic_load_n(&hdr->data_head, __ATOMIC_ACQUIRE);
		char *data = (char *)base + page;
		for (uint64_t tail = hdr->data_tail; tail < head;) {
			struct perf_event_header *ev = (struct perf_event_header *)(data + tail % size);
			if (ev->size == 0)
				break;
			n += ev->type == PERF_RECORD_SAMPLE;
			tail += ev->size;
		}
	}
	return n;
}

static void perfbuf_free(struct lbpf_source *s)
{
	struct perfbuf *p = (struct perfbuf *)s;
	perf_buffer__free(p->pb);
	free(p);
}

static const struct lbpf_source_ops ops = {"perfbuf", consume, pending, perfbuf_free};

struct lbpf_source *lbpf_perfbuf__new(int map_fd, size_t pages, unsigned int wakeup_events, struct lbpf_err *err)
{
	struct lbpf_map_info info;

	if (lbpf_source__check_map(map_fd, BPF_MAP_TYPE_PERF_EVENT_ARRAY,
				   "a perf event array (BPF_MAP_TYPE_PERF_EVENT_ARRAY)", &info, err))
		return NULL;
	if (pages == 0 || (pages & (pages - 1))) {
		lbpf_err__set(err, EINVAL, "perf buffer pages must be a power of two, got %zu", pages);
		return NULL;
	}
	struct perfbuf *p = calloc(1, sizeof(*p));
	if (!p) {
		lbpf_err__set(err, ENOMEM, "out of memory opening perf buffer '%s'", info.name);
		return NULL;
	}
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.config = PERF_COUNT_SW_BPF_OUTPUT,
		.sample_type = PERF_SAMPLE_RAW,
		.sample_period = 1,
		.wakeup_events = wakeup_events ? wakeup_events : 1,
	};
	p->base.ops = &ops;
	p->pb = perf_buffer__new_raw(map_fd, pages, &attr, on_event, p, NULL);
	if (!p->pb) {
		int e = errno;
		free(p);
		lbpf_err__set(err, e, "cannot open perf buffers for map '%s': %s", info.name, lbpf_strerror(e));
		return NULL;
	}
	p->base.fd = perf_buffer__epoll_fd(p->pb);
	return &p->base;
}
