/* Event source: the kernel's trace_pipe, one event per line. The pipe is
 * shared by every tracer on the machine, and reading consumes the lines. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "event_source.h"

#define LINE_MAX_BYTES 8192

struct trace_pipe {
	struct lbpf_source base;
	char buf[LINE_MAX_BYTES * 2];
	size_t len; /* bytes of an unfinished line kept from the last read */
};

static int consume(struct lbpf_source *s, int *handled)
{
	struct trace_pipe *t = (struct trace_pipe *)s;

	for (;;) {
		ssize_t n = read(s->fd, t->buf + t->len, sizeof(t->buf) - t->len);
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		if (n == 0)
			return 0;
		t->len += n;
		char *line = t->buf, *end = t->buf + t->len, *nl;
		while ((nl = memchr(line, '\n', end - line))) {
			s->stats.received++;
			(*handled)++;
			int ret = s->fn(s->ctx, line, nl - line, -1);
			line = nl + 1;
			if (ret < 0) {
				t->len = end - line;
				memmove(t->buf, line, t->len);
				return ret;
			}
		}
		t->len = end - line;
		/* A line longer than the buffer is delivered in pieces rather than stalling. */
		if (t->len == sizeof(t->buf)) {
			s->stats.received++;
			(*handled)++;
			t->len = 0;
			if (s->fn(s->ctx, t->buf, sizeof(t->buf), -1) < 0)
				return -ECANCELED;
		} else {
			memmove(t->buf, line, t->len);
		}
	}
}

static uint64_t pending(struct lbpf_source *s)
{
	struct trace_pipe *t = (struct trace_pipe *)s;
	uint64_t n = 0;
	for (size_t i = 0; i < t->len; i++)
		n += t->buf[i] == '\n';
	return n;
}

static void trace_pipe_free(struct lbpf_source *s)
{
	close(s->fd);
	free(s);
}

static const struct lbpf_source_ops ops = {"trace_pipe", consume, pending, trace_pipe_free};

struct lbpf_source *lbpf_trace_pipe__new(struct lbpf_err *err)
{
	char path[PATH_MAX];

	if (lbpf_tracefs__ensure(err))
		return NULL;
	struct trace_pipe *t = calloc(1, sizeof(*t));
	if (!t) {
		lbpf_err__set(err, ENOMEM, "out of memory opening trace_pipe");
		return NULL;
	}
	snprintf(path, sizeof(path), "%s/trace_pipe", lbpf_tracefs__root());
	t->base.ops = &ops;
	t->base.fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (t->base.fd < 0) {
		int e = errno;
		free(t);
		lbpf_err__set(err, e, "cannot open %s: %s", path, lbpf_strerror(e));
		return NULL;
	}
	return &t->base;
}
