/* What every event source of the loop provides (ring buffer, perf buffer,
 * trace_pipe, timer): shared by runtime/event_loop.c and the source files. */
#ifndef LBPF_EVENT_SOURCE_H
#define LBPF_EVENT_SOURCE_H
#include "luabpf.h"

struct lbpf_source;

struct lbpf_source_ops {
	const char *kind;
	/* Delivers what is ready: events handled, or a callback's negative return. */
	int (*consume)(struct lbpf_source *s, int *handled);
	/* Events left undelivered after a callback stopped delivery. */
	uint64_t (*pending)(struct lbpf_source *s);
	void (*free)(struct lbpf_source *s);
};

struct lbpf_source {
	const struct lbpf_source_ops *ops;
	int fd; /* what the loop's epoll waits on */
	lbpf_event_fn fn;
	lbpf_batch_fn batch_fn; /* ring buffers: records in batches instead of fn */
	lbpf_lost_fn lost_fn;
	void *ctx;
	struct lbpf_source_stats stats;
};

/* Describes the map at map_fd and checks it has the type a source needs
 * ("a ring buffer (BPF_MAP_TYPE_RINGBUF)" names it in the error). */
int lbpf_source__check_map(int map_fd, uint32_t type, const char *what, struct lbpf_map_info *info,
			   struct lbpf_err *err);

struct lbpf_source *lbpf_ringbuf__new(int map_fd, struct lbpf_err *err);
struct lbpf_source *lbpf_perfbuf__new(int map_fd, size_t pages, unsigned int wakeup_events, struct lbpf_err *err);
struct lbpf_source *lbpf_trace_pipe__new(struct lbpf_err *err);
struct lbpf_source *lbpf_http__source(struct lbpf_http *h, struct lbpf_err *err);

#endif
