/* The event loop: one epoll over an object's ring buffers, perf buffers,
 * trace_pipe and timers, delivering what is ready to their callbacks; and
 * SIGINT/SIGTERM turned into a request to stop a run. */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#include "event_source.h"

#define MAX_READY 64

struct lbpf_loop {
	int epfd;
	struct lbpf_source **sources; /* by id; NULL once removed */
	int nsources;
};

int lbpf_source__check_map(int map_fd, uint32_t type, const char *what, struct lbpf_map_info *info,
			   struct lbpf_err *err)
{
	int ret = lbpf_map__info(map_fd, info);
	if (ret)
		return lbpf_err__set(err, ret, "cannot open %s: %s", what, lbpf_strerror(-ret));
	if (info->type != type)
		return lbpf_err__set(err, EINVAL, "map '%s' is a %s, not %s", info->name,
				     lbpf_map__type_name(info->type), what);
	return 0;
}

/* ---- timers: a timerfd whose expiries are the events ---- */

static int timer_consume(struct lbpf_source *s, int *handled)
{
	uint64_t expiries;
	if (read(s->fd, &expiries, sizeof(expiries)) != sizeof(expiries))
		return 0;
	s->stats.received++;
	(*handled)++;
	int ret = s->fn(s->ctx, &expiries, sizeof(expiries), -1);
	return ret < 0 ? ret : 0;
}

static uint64_t timer_pending(struct lbpf_source *s)
{
	return 0;
}

static void timer_free(struct lbpf_source *s)
{
	close(s->fd);
	free(s);
}

static const struct lbpf_source_ops timer_ops = {"timer", timer_consume, timer_pending, timer_free};

static struct lbpf_source *timer_new(uint64_t interval_ns, struct lbpf_err *err)
{
	struct lbpf_source *s = calloc(1, sizeof(*s));
	struct itimerspec its = {
		.it_interval = {interval_ns / 1000000000, interval_ns % 1000000000},
		.it_value = {interval_ns / 1000000000, interval_ns % 1000000000},
	};

	if (!s || interval_ns == 0) {
		free(s);
		lbpf_err__set(err, EINVAL, "a timer needs a positive interval");
		return NULL;
	}
	s->ops = &timer_ops;
	s->fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->fd < 0 || timerfd_settime(s->fd, 0, &its, NULL) != 0) {
		int e = errno;
		if (s->fd >= 0)
			close(s->fd);
		free(s);
		lbpf_err__set(err, e, "cannot create a timer: %s", lbpf_strerror(e));
		return NULL;
	}
	return s;
}

/* ---- the loop ---- */

struct lbpf_loop *lbpf_loop__new(struct lbpf_err *err)
{
	struct lbpf_loop *l = calloc(1, sizeof(*l));
	if (!l || (l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
		int e = l ? errno : ENOMEM;
		free(l);
		lbpf_err__set(err, e, "cannot create the event loop: %s", lbpf_strerror(e));
		return NULL;
	}
	return l;
}

void lbpf_loop__free(struct lbpf_loop *l)
{
	if (!l)
		return;
	for (int i = 0; i < l->nsources; i++)
		if (l->sources[i])
			l->sources[i]->ops->free(l->sources[i]);
	free(l->sources);
	close(l->epfd);
	free(l);
}

int lbpf_loop__fd(const struct lbpf_loop *l)
{
	return l->epfd;
}

static int add(struct lbpf_loop *l, struct lbpf_source *s, lbpf_event_fn fn, lbpf_lost_fn lost, void *ctx,
	       struct lbpf_err *err)
{
	if (!s)
		return err->code;
	struct lbpf_source **grown = realloc(l->sources, (l->nsources + 1) * sizeof(*grown));
	if (!grown) {
		s->ops->free(s);
		return lbpf_err__set(err, ENOMEM, "out of memory adding an event source");
	}
	l->sources = grown;
	int id = l->nsources;
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)id};
	if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, s->fd, &ev) != 0) {
		int e = errno;
		s->ops->free(s);
		return lbpf_err__set(err, e, "cannot watch the event source: %s", lbpf_strerror(e));
	}
	s->fn = fn;
	s->lost_fn = lost;
	s->ctx = ctx;
	l->sources[l->nsources++] = s;
	return id;
}

int lbpf_loop__add_ringbuf(struct lbpf_loop *l, int map_fd, lbpf_event_fn fn, void *ctx, struct lbpf_err *err)
{
	return add(l, lbpf_ringbuf__new(map_fd, err), fn, NULL, ctx, err);
}

int lbpf_loop__add_ringbuf_batch(struct lbpf_loop *l, int map_fd, lbpf_batch_fn fn, void *ctx,
				 struct lbpf_err *err)
{
	int id = add(l, lbpf_ringbuf__new(map_fd, err), NULL, NULL, ctx, err);
	if (id >= 0)
		l->sources[id]->batch_fn = fn;
	return id;
}

int lbpf_loop__add_perfbuf(struct lbpf_loop *l, int map_fd, size_t pages, unsigned int wakeup_events,
			   lbpf_event_fn fn, lbpf_lost_fn lost, void *ctx, struct lbpf_err *err)
{
	return add(l, lbpf_perfbuf__new(map_fd, pages, wakeup_events, err), fn, lost, ctx, err);
}

int lbpf_loop__add_trace_pipe(struct lbpf_loop *l, lbpf_event_fn fn, void *ctx, struct lbpf_err *err)
{
	return add(l, lbpf_trace_pipe__new(err), fn, NULL, ctx, err);
}

int lbpf_loop__add_timer(struct lbpf_loop *l, uint64_t interval_ns, lbpf_event_fn fn, void *ctx,
			 struct lbpf_err *err)
{
	return add(l, timer_new(interval_ns, err), fn, NULL, ctx, err);
}

int lbpf_loop__add_http(struct lbpf_loop *l, struct lbpf_http *h, struct lbpf_err *err)
{
	return add(l, lbpf_http__source(h, err), NULL, NULL, NULL, err);
}

void lbpf_loop__remove(struct lbpf_loop *l, int id)
{
	if (id < 0 || id >= l->nsources || !l->sources[id])
		return;
	epoll_ctl(l->epfd, EPOLL_CTL_DEL, l->sources[id]->fd, NULL);
	l->sources[id]->ops->free(l->sources[id]);
	l->sources[id] = NULL;
}

int lbpf_loop__poll(struct lbpf_loop *l, int timeout_ms, int *handled)
{
	struct epoll_event ready[MAX_READY];

	*handled = 0;
	int n = epoll_wait(l->epfd, ready, MAX_READY, timeout_ms);
	if (n < 0)
		return -errno;
	for (int i = 0; i < n; i++) {
		uint32_t id = ready[i].data.u32;
		struct lbpf_source *s = id < (uint32_t)l->nsources ? l->sources[id] : NULL;
		if (!s)
			continue; /* removed by an earlier callback of this round */
		int ret = s->ops->consume(s, handled);
		if (ret < 0) {
			s = l->sources[id];
			if (s)
				s->stats.pending = s->ops->pending(s);
			return ret;
		}
	}
	return 0;
}

int lbpf_loop__stats(const struct lbpf_loop *l, int id, struct lbpf_source_stats *stats)
{
	if (id < 0 || id >= l->nsources || !l->sources[id])
		return -ENOENT;
	*stats = l->sources[id]->stats;
	return 0;
}

const char *lbpf_loop__kind(const struct lbpf_loop *l, int id)
{
	return id >= 0 && id < l->nsources && l->sources[id] ? l->sources[id]->ops->kind : NULL;
}

/* ---- stopping a run ---- */

static volatile sig_atomic_t stop_requested;
static struct sigaction saved_int, saved_term, saved_chld;
static int armed;
/* luabpf -c's command: its exit ends a run as Ctrl-C does. */
static volatile pid_t watched_child;
static volatile sig_atomic_t child_exited;
/* What ended the run: SIGINT, SIGTERM, or SIGCHLD for the watched child. */
static volatile sig_atomic_t stop_signal;

/* Reaps the watched child if it has exited; async-signal-safe. */
static void check_child(void)
{
	int status;
	if (watched_child > 0 && waitpid(watched_child, &status, WNOHANG) == watched_child) {
		watched_child = 0;
		child_exited = 1;
	}
	if (child_exited) {
		stop_signal = SIGCHLD;
		stop_requested = 1;
	}
}

static void on_stop_signal(int sig)
{
	if (sig == SIGCHLD) {
		int saved = errno;
		check_child();
		errno = saved;
		return;
	}
	stop_signal = sig;
	stop_requested = 1;
}

int lbpf_stop__signal(void)
{
	return stop_requested ? stop_signal : 0;
}

void lbpf_stop__watch_child(pid_t pid)
{
	watched_child = pid;
	child_exited = 0;
}

pid_t lbpf_stop__watched(void)
{
	return watched_child;
}

void lbpf_stop__arm(void)
{
	struct sigaction sa = {0};

	if (armed++)
		return;
	stop_requested = 0;
	stop_signal = 0;
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: the signal must cut epoll_wait short. */
	sigaction(SIGINT, &sa, &saved_int);
	sigaction(SIGTERM, &sa, &saved_term);
	sigaction(SIGCHLD, &sa, &saved_chld);
	/* It may have exited while nothing waited. */
	check_child();
}

void lbpf_stop__disarm(void)
{
	if (armed == 0 || --armed)
		return;
	sigaction(SIGINT, &saved_int, NULL);
	sigaction(SIGTERM, &saved_term, NULL);
	sigaction(SIGCHLD, &saved_chld, NULL);
}

bool lbpf_stop__requested(void)
{
	return stop_requested;
}
