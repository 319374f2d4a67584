/* A small HTTP server on libmicrohttpd for metrics scrapes, run from the
 * event loop (no threads of its own). libmicrohttpd is opened on first use,
 * so scripts that serve nothing, and the static host, do not load it and
 * the TLS libraries it links. */
#include <arpa/inet.h>
#include <dlfcn.h>
#include <errno.h>
#include <microhttpd.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "event_source.h"

#define MHD_LIBRARY "libmicrohttpd.so.12"
/* A client that sends or reads nothing for this long is dropped. */
#define IDLE_TIMEOUT_S 10
#define MAX_CONNECTIONS 64

static struct {
	void *handle;
	__typeof__(MHD_start_daemon) *start_daemon;
	__typeof__(MHD_stop_daemon) *stop_daemon;
	__typeof__(MHD_run) *run;
	__typeof__(MHD_get_daemon_info) *get_daemon_info;
	__typeof__(MHD_lookup_connection_value) *lookup_connection_value;
	__typeof__(MHD_create_response_from_buffer) *create_response_from_buffer;
	__typeof__(MHD_add_response_header) *add_response_header;
	__typeof__(MHD_queue_response) *queue_response;
	__typeof__(MHD_destroy_response) *destroy_response;
} mhd;

struct lbpf_http {
	struct MHD_Daemon *daemon;
	int epfd;    /* the daemon's epoll and the timer, as one fd for the loop */
	int timerfd; /* wakes the daemon to drop idle clients */
	uint16_t port;
	lbpf_http_fn fn;
	void *ctx;
};

static int load_library(struct lbpf_err *err)
{
	if (mhd.handle)
		return 0;
	void *h = dlopen(MHD_LIBRARY, RTLD_NOW | RTLD_LOCAL);
	if (!h)
		return lbpf_err__set(err, ENOENT, "serving metrics over HTTP needs libmicrohttpd (Debian: apt install "
						  "libmicrohttpd12): %s",
				     dlerror());
#define SYM(f)                                                                                          \
	if (!(mhd.f = dlsym(h, "MHD_" #f))) {                                                            \
		dlclose(h);                                                                              \
		return lbpf_err__set(err, ENOENT, "%s has no MHD_%s: too old a libmicrohttpd", MHD_LIBRARY, #f); \
	}
	SYM(start_daemon)
	SYM(stop_daemon)
	SYM(run)
	SYM(get_daemon_info)
	SYM(lookup_connection_value)
	SYM(create_response_from_buffer)
	SYM(add_response_header)
	SYM(queue_response)
	SYM(destroy_response)
#undef SYM
	mhd.handle = h;
	return 0;
}

static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, const char *type, char *body,
			       size_t len)
{
	struct MHD_Response *r = mhd.create_response_from_buffer(len, body, MHD_RESPMEM_MUST_FREE);
	if (!r) {
		free(body);
		return MHD_NO;
	}
	mhd.add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	enum MHD_Result ret = mhd.queue_response(c, status, r);
	mhd.destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
				  const char *version, const char *upload, size_t *upload_size, void **state)
{
	struct lbpf_http *h = cls;

	/* Called once with the headers and again for any body: answer on the
	 * first call, and take no body (a scrape has none). */
	if (*upload_size) {
		*upload_size = 0;
		return MHD_YES;
	}
	if (*state)
		return MHD_YES;
	*state = h;
	struct lbpf_http_request req = {
		.method = method,
		.path = url,
		.accept = mhd.lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_ACCEPT),
	};
	struct lbpf_http_response resp = {0};
	if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0) {
		resp.status = 405;
		resp.body = strdup("only GET and HEAD are served\n");
	} else {
		h->fn(h->ctx, &req, &resp);
	}
	if (!resp.body)
		return MHD_NO;
	return respond(c, resp.status ? (unsigned int)resp.status : 200,
		       resp.content_type ? resp.content_type : "text/plain; charset=utf-8", resp.body, resp.len ? resp.len : strlen(resp.body));
}

/* "HOST:PORT", "[V6]:PORT" or ":PORT" (every address) into addr. */
static int parse_listen(const char *listen, struct sockaddr_storage *addr, socklen_t *len, struct lbpf_err *err)
{
	char host[256];
	const char *colon = strrchr(listen, ':');
	if (!colon || !colon[1] || strlen(listen) >= sizeof(host))
		return lbpf_err__set(err, EINVAL, "listen address '%s' is not HOST:PORT (e.g. 127.0.0.1:9435, "
						  "[::1]:9435, or :9435 for every address)",
				     listen);
	size_t n = (size_t)(colon - listen);
	memcpy(host, listen, n);
	host[n] = '\0';
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']') {
		memmove(host, host + 1, n - 2);
		host[n - 2] = '\0';
	}
	char *end;
	long port = strtol(colon + 1, &end, 10);
	if (*end || port < 0 || port > 65535)
		return lbpf_err__set(err, EINVAL, "listen address '%s': '%s' is not a port (0 to 65535)", listen,
				     colon + 1);
	struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM, .ai_flags = AI_PASSIVE};
	struct addrinfo *ai;
	int ret = getaddrinfo(host[0] ? host : NULL, colon + 1, &hints, &ai);
	if (ret)
		return lbpf_err__set(err, EINVAL, "listen address '%s': %s", listen, gai_strerror(ret));
	memcpy(addr, ai->ai_addr, ai->ai_addrlen);
	*len = ai->ai_addrlen;
	freeaddrinfo(ai);
	return 0;
}

static void watch(int epfd, int fd)
{
	struct epoll_event ev = {.events = EPOLLIN, .data.fd = fd};
	epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &ev);
}

struct lbpf_http *lbpf_http__new(const char *listen, lbpf_http_fn fn, void *ctx, struct lbpf_err *err)
{
	struct sockaddr_storage addr;
	socklen_t alen;

	if (load_library(err) || parse_listen(listen, &addr, &alen, err))
		return NULL;
	struct lbpf_http *h = calloc(1, sizeof(*h));
	if (!h) {
		lbpf_err__set(err, ENOMEM, "out of memory");
		return NULL;
	}
	h->fn = fn;
	h->ctx = ctx;
	h->epfd = h->timerfd = -1;
	errno = 0;
	unsigned int flags = MHD_USE_EPOLL | (addr.ss_family == AF_INET6 ? MHD_USE_IPv6 : 0);
	h->daemon = mhd.start_daemon(flags, 0, NULL, NULL, on_request, h, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&addr,
				     MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)IDLE_TIMEOUT_S,
				     MHD_OPTION_CONNECTION_LIMIT, (unsigned int)MAX_CONNECTIONS, MHD_OPTION_END);
	if (!h->daemon) {
		int e = errno ? errno : EADDRINUSE;
		lbpf_err__set(err, e, "cannot listen on %s: %s", listen, lbpf_strerror(e));
		free(h);
		return NULL;
	}
	const union MHD_DaemonInfo *ep = mhd.get_daemon_info(h->daemon, MHD_DAEMON_INFO_EPOLL_FD);
	const union MHD_DaemonInfo *lfd = mhd.get_daemon_info(h->daemon, MHD_DAEMON_INFO_LISTEN_FD);
	struct sockaddr_storage bound;
	socklen_t blen = sizeof(bound);
	if (lfd && getsockname(lfd->listen_fd, (struct sockaddr *)&bound, &blen) == 0)
		h->port = ntohs(bound.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&bound)->sin6_port
							    : ((struct sockaddr_in *)&bound)->sin_port);
	struct itimerspec every = {{1, 0}, {1, 0}};
	h->epfd = epoll_create1(EPOLL_CLOEXEC);
	h->timerfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (!ep || h->epfd < 0 || h->timerfd < 0 || timerfd_settime(h->timerfd, 0, &every, NULL) != 0) {
		int e = errno;
		lbpf_http__free(h);
		lbpf_err__set(err, e, "cannot watch the HTTP server: %s", lbpf_strerror(e));
		return NULL;
	}
	watch(h->epfd, ep->epoll_fd);
	watch(h->epfd, h->timerfd);
	return h;
}

uint16_t lbpf_http__port(const struct lbpf_http *h)
{
	return h->port;
}

int lbpf_http__run(struct lbpf_http *h)
{
	uint64_t expiries;
	/* Both watched fds are level-triggered: the outer epoll stops being
	 * ready once the timer is read and the daemon has polled its own. */
	if (read(h->timerfd, &expiries, sizeof(expiries)) < 0 && errno != EAGAIN)
		return -errno;
	return mhd.run(h->daemon) == MHD_YES ? 0 : -EIO;
}

void lbpf_http__free(struct lbpf_http *h)
{
	if (!h)
		return;
	if (h->daemon)
		mhd.stop_daemon(h->daemon);
	if (h->epfd >= 0)
		close(h->epfd);
	if (h->timerfd >= 0)
		close(h->timerfd);
	free(h);
}

/* ---- the server as an event source of a loop ---- */

struct http_source {
	struct lbpf_source base;
	struct lbpf_http *h;
};

static int http_consume(struct lbpf_source *s, int *handled)
{
	lbpf_http__run(((struct http_source *)s)->h);
	return 0;
}

static uint64_t http_pending(struct lbpf_source *s)
{
	return 0;
}

static void http_free(struct lbpf_source *s)
{
	free(s);
}

static const struct lbpf_source_ops http_ops = {"http", http_consume, http_pending, http_free};

struct lbpf_source *lbpf_http__source(struct lbpf_http *h, struct lbpf_err *err)
{
	struct http_source *s = calloc(1, sizeof(*s));
	if (!s) {
		lbpf_err__set(err, ENOMEM, "out of memory");
		return NULL;
	}
	s->base.ops = &http_ops;
	s->base.fd = h->epfd;
	s->h = h;
	return &s->base;
}
