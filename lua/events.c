/* Events to Lua callbacks: b:ring_buffer, b:perf_buffer, trace_pipe lines and
 * timers on the object's epoll loop, driven by b:poll, b:run and bpf.run. A
 * struct record reaches its callback as one reused record
 * (lua/event_record.c), so no table is built per event. */
#include <errno.h>
#include <math.h>
#include <string.h>
#include <sys/epoll.h>
#include <time.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "binding.h"

#define SOURCE_MT "bpf.EventSource"

/* Source userdata user values. */
enum { SRC_CALLBACK = 1, SRC_RECORD, SRC_LOST, SRC_UV_COUNT = SRC_LOST };

/* What one poll keeps on the Lua stack for the callbacks it runs. */
struct poll_ctx {
	lua_State *L;
	int msgh;	/* traceback handler */
	int err;	/* the first callback error */
	bool failed;
};

struct lua_source {
	int id;				/* in the object's loop */
	char name[32];			/* map name, "trace_pipe", "timer" */
	struct lbpf_layout *layout;	/* record type; NULL: raw bytes or text */
	bool cpu_arg;			/* perf buffers pass the CPU too */
	struct poll_ctx *pc;		/* set while a poll runs */
	int cb, lost;			/* stack slots while a poll runs (0: none) */
	bool has_record;		/* a struct: its record's slots, while a poll runs */
	struct lbpf_record_slots record;
	bool batched;			/* opts.batch: SRC_RECORD holds a batch */
	struct batch *batch;		/* while a poll runs */
};

static int source_gc(lua_State *L)
{
	struct lua_source *s = luaL_checkudata(L, 1, SOURCE_MT);
	lbpf_layout__free(s->layout);
	s->layout = NULL;
	return 0;
}

/* ---- delivering events ---- */

static int fail(struct poll_ctx *pc)
{
	lua_replace(pc->L, pc->err);
	pc->failed = true;
	return -ECANCELED;
}

/* A record shorter than its type stops delivery with an error. */
static int check_size(struct lua_source *s, size_t size)
{
	const struct lbpf_type *t = s->layout ? lbpf_layout__root(s->layout) : NULL;
	if (!t || size >= t->size)
		return 0;
	lua_pushfstring(s->pc->L, "%s: a record of %d bytes is smaller than %s (%d bytes); is opts.type right?", s->name,
			(int)size, t->name, (int)t->size);
	return fail(s->pc);
}

static int deliver(void *ctx, const void *data, size_t size, int cpu)
{
	struct lua_source *s = ctx;
	struct poll_ctx *pc = s->pc;

	if (!pc || pc->failed)
		return -ECANCELED;
	lua_State *L = pc->L;
	if (check_size(s, size))
		return -ECANCELED;
	lua_pushvalue(L, s->cb);
	if (!s->layout) {
		lua_pushlstring(L, data, size);
	} else {
		const struct lbpf_type *t = lbpf_layout__root(s->layout);
		if (s->has_record) {
			lbpf_lua_record_begin(L, &s->record, data, size);
			lua_pushvalue(L, s->record.proxy);
		} else {
			lbpf_codec_push(L, t, data);
		}
	}
	if (s->cpu_arg)
		lua_pushinteger(L, cpu);
	int status = lua_pcall(L, s->cpu_arg ? 2 : 1, 0, pc->msgh);
	if (s->has_record)
		lbpf_lua_record_end(L, &s->record);
	return status == LUA_OK ? 0 : fail(pc);
}

static int deliver_batch(void *ctx, const struct lbpf_event *events, int n)
{
	struct lua_source *s = ctx;
	struct poll_ctx *pc = s->pc;

	if (!pc || pc->failed)
		return -ECANCELED;
	for (int i = 0; i < n; i++)
		if (check_size(s, events[i].size))
			return -ECANCELED;
	lua_State *L = pc->L;
	lbpf_lua_batch_begin(L, s->batch, events, n); /* may leave new records' slots below */
	lua_pushvalue(L, s->cb);
	lua_insert(L, -2);
	int status = lua_pcall(L, 1, 0, pc->msgh);
	lbpf_lua_batch_end(L, s->batch, n);
	return status == LUA_OK ? 0 : fail(pc);
}

/* A timer's callback gets how many intervals passed since the last call. */
static int deliver_tick(void *ctx, const void *data, size_t size, int cpu)
{
	struct lua_source *s = ctx;
	struct poll_ctx *pc = s->pc;
	uint64_t expiries;

	if (!pc || pc->failed)
		return -ECANCELED;
	memcpy(&expiries, data, sizeof(expiries));
	lua_pushvalue(pc->L, s->cb);
	lua_pushinteger(pc->L, (lua_Integer)expiries);
	return lua_pcall(pc->L, 1, 0, pc->msgh) == LUA_OK ? 0 : fail(pc);
}

static void deliver_lost(void *ctx, int cpu, uint64_t count)
{
	struct lua_source *s = ctx;
	struct poll_ctx *pc = s->pc;

	if (!pc || pc->failed || !s->lost)
		return;
	lua_pushvalue(pc->L, s->lost);
	lua_pushinteger(pc->L, cpu);
	lua_pushinteger(pc->L, (lua_Integer)count);
	if (lua_pcall(pc->L, 2, 0, pc->msgh) != LUA_OK)
		fail(pc);
}

static int traceback(lua_State *L)
{
	if (lua_type(L, 1) == LUA_TSTRING)
		luaL_traceback(L, L, lua_tostring(L, 1), 1);
	return 1;
}

/* Polls one object. Returns 0, or -ECANCELED with the callback's error on
 * top of the stack; other failures raise. Callers clean up, then lua_error. */
static int poll_object(lua_State *L, int objidx, int timeout_ms, lua_Integer *total)
{
	struct lua_object *o = luaL_checkudata(L, objidx, LBPF_OBJECT_MT);
	struct lbpf_err err = {0};
	struct poll_ctx pc = {L, 0, 0, false};
	int handled = 0;

	if (!o->obj)
		luaL_error(L, "this bpf object is closed");
	if (o->polling)
		luaL_error(L, "this bpf object is already being polled: an event callback cannot poll it again");
	struct lbpf_loop *loop = lbpf_object__loop(o->obj, &err);
	if (!loop)
		lbpf_lua_raise(L, &err);
	int base = lua_gettop(L);
	lua_pushcfunction(L, traceback);
	pc.msgh = lua_gettop(L);
	lua_pushnil(L);
	pc.err = lua_gettop(L);
	lua_getiuservalue(L, objidx, LBPF_UV_SOURCES);
	int sources = lua_gettop(L);
	for (lua_pushnil(L); lua_next(L, sources);) {
		struct lua_source *s = lua_touserdata(L, -1);
		int ud = lua_gettop(L);
		luaL_checkstack(L, 4, "too many event sources");
		s->pc = &pc;
		lua_getiuservalue(L, ud, SRC_CALLBACK);
		s->cb = lua_gettop(L);
		s->has_record = lua_getiuservalue(L, ud, SRC_RECORD) != LUA_TNIL && !s->batched;
		if (s->has_record)
			lbpf_lua_record_slots(L, -1, 0, &s->record);
		else if (s->batched)
			s->batch = lbpf_lua_batch_prepare(L, -1);
		s->lost = lua_getiuservalue(L, ud, SRC_LOST) == LUA_TNIL ? 0 : lua_gettop(L);
		lua_pushvalue(L, ud - 1); /* the key, for lua_next */
	}
	o->polling = true;
	int ret = lbpf_loop__poll(loop, timeout_ms, &handled);
	o->polling = false;
	for (lua_pushnil(L); lua_next(L, sources); lua_pop(L, 1))
		((struct lua_source *)lua_touserdata(L, -1))->pc = NULL;
	if (o->close_after_poll) {
		lbpf_object__close(o->obj);
		o->obj = NULL;
		o->close_after_poll = false;
	}
	*total += handled;
	if (pc.failed) {
		lua_pushvalue(L, pc.err);
		lua_replace(L, base + 1);
		lua_settop(L, base + 1);
		return -ECANCELED;
	}
	lua_settop(L, base);
	if (ret < 0 && ret != -EINTR)
		luaL_error(L, "polling events failed: %s", lbpf_strerror(-ret));
	return 0;
}

/* b:poll([timeout_ms]): waits for events (default: forever) and returns how many it handled. */
static int object_poll(lua_State *L)
{
	lua_Integer total = 0;
	lua_Integer timeout = luaL_optinteger(L, 2, -1);
	luaL_argcheck(L, timeout >= -1 && timeout <= INT32_MAX, 2, "timeout is in milliseconds, -1 for none");
	lbpf_lua_before_wait(L);
	if (poll_object(L, 1, (int)timeout, &total))
		return lua_error(L);
	lua_pushinteger(L, total);
	return 1;
}

/* ---- registering sources ---- */

static struct lbpf_object *check_idle(lua_State *L, int objidx)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, objidx);
	if (((struct lua_object *)lua_touserdata(L, objidx))->polling)
		luaL_error(L, "event sources cannot be added from inside an event callback");
	return obj;
}

/* The record type opts.type names, or else the one the program writes to
 * the map (see lbpf_object__record_type), as a layout; NULL for raw bytes. */
static struct lbpf_layout *record_layout(lua_State *L, struct lbpf_object *obj, const char *map, int opts)
{
	struct lbpf_err err = {0};
	const char *name = NULL;
	int id;

	if (opts) {
		lua_getfield(L, opts, "raw");
		bool raw = lua_toboolean(L, -1);
		lua_getfield(L, opts, "type");
		name = lua_tostring(L, -1);
		lua_pop(L, 2);
		if (raw)
			return NULL;
	}
	if (name) {
		id = lbpf_object__find_type(obj, name);
		if (id < 0)
			luaL_error(L, "opts.type: the program's BTF has no type '%s' (name it as in C, e.g. \"struct event\")",
				   name);
	} else {
		id = lbpf_object__record_type(obj, map);
		if (id < 0)
			return NULL;
	}
	struct lbpf_layout *l = lbpf_layout__new(bpf_object__btf(lbpf_object__bpf(obj)), (uint32_t)id, &err);
	if (!l)
		lbpf_lua_raise(L, &err);
	return l;
}

/* Pushes a new source userdata holding the callback at cbidx; its layout may be NULL. */
static struct lua_source *push_source(lua_State *L, int cbidx, const char *name, struct lbpf_layout *layout)
{
	cbidx = lua_absindex(L, cbidx);
	struct lua_source *s = lua_newuserdatauv(L, sizeof(*s), SRC_UV_COUNT);
	memset(s, 0, sizeof(*s));
	s->id = -1;
	s->layout = layout; /* owned from here: __gc frees it */
	snprintf(s->name, sizeof(s->name), "%s", name);
	luaL_setmetatable(L, SOURCE_MT);
	lua_pushvalue(L, cbidx);
	lua_setiuservalue(L, -2, SRC_CALLBACK);
	if (layout) {
		const struct lbpf_type *t = lbpf_layout__root(layout);
		if (t->kind == LBPF_T_STRUCT || t->kind == LBPF_T_UNION) {
			lbpf_lua_record_new(L, t);
			lua_setiuservalue(L, -2, SRC_RECORD);
		}
	}
	return s;
}

/* Records the source (at the top of the stack) under its loop id, and pops it. */
static void keep_source(lua_State *L, int objidx, struct lua_source *s, int id, struct lbpf_err *err)
{
	if (id < 0)
		lbpf_lua_raise(L, err);
	s->id = id;
	lua_getiuservalue(L, objidx, LBPF_UV_SOURCES);
	lua_pushvalue(L, -2);
	lua_rawseti(L, -2, id);
	lua_pop(L, 2);
}

/* One callback per source: a second registration is a mistake worth naming. */
static void check_new_source(lua_State *L, int objidx, const char *name)
{
	lua_getiuservalue(L, objidx, LBPF_UV_SOURCES);
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
		if (strcmp(((struct lua_source *)lua_touserdata(L, -1))->name, name) == 0)
			luaL_error(L, "%s already has an event callback", name);
	lua_pop(L, 1);
}

static struct bpf_map *check_event_map(lua_State *L, struct lbpf_object *obj, const char *name, int objidx)
{
	struct bpf_map *m = lbpf_object__map(obj, name);
	if (!m) {
		lua_pushvalue(L, objidx);
		lua_getfield(L, -1, "maps");
		lua_getfield(L, -1, name); /* raises naming the maps there are */
	}
	check_new_source(L, objidx, name);
	return m;
}

/* The arguments ring_buffer and perf_buffer share, (b, name, cb [, opts]):
 * checks them and pushes the new source. */
static struct lua_source *push_map_source(lua_State *L, struct lbpf_object **obj, struct bpf_map **map, int *opts)
{
	*obj = check_idle(L, 1);
	const char *name = luaL_checkstring(L, 2);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	*opts = lua_istable(L, 4) ? 4 : 0;
	*map = check_event_map(L, *obj, name, 1);
	return push_source(L, 3, name, record_layout(L, *obj, name, *opts));
}

/* opts.batch: the source's record becomes a batch of them (raw records
 * come as strings); returns whether it was asked for. */
static bool make_batch(lua_State *L, struct lua_source *s, int opts)
{
	if (!opts || lua_getfield(L, opts, "batch") == LUA_TNIL) {
		if (opts)
			lua_pop(L, 1);
		return false;
	}
	if (!lua_isboolean(L, -1))
		luaL_error(L, "opts.batch must be true or false");
	bool on = lua_toboolean(L, -1);
	lua_pop(L, 1);
	if (!on)
		return false;
	const struct lbpf_type *t = s->layout ? lbpf_layout__root(s->layout) : NULL;
	if (t && t->kind != LBPF_T_STRUCT && t->kind != LBPF_T_UNION)
		luaL_error(L, "opts.batch needs records of a struct type, or raw = true (this one is %s)", t->name);
	lbpf_lua_batch_new(L, t);
	lua_setiuservalue(L, -2, SRC_RECORD);
	s->batched = true;
	return true;
}

/* b:ring_buffer(name, cb [, {type = "struct event" | raw = true, batch = true}]) */
static int object_ring_buffer(lua_State *L)
{
	struct lbpf_object *obj;
	struct bpf_map *m;
	struct lbpf_err err = {0};
	int opts;

	struct lua_source *s = push_map_source(L, &obj, &m, &opts);
	bool batch = make_batch(L, s, opts);
	struct lbpf_loop *loop = lbpf_object__loop(obj, &err);
	int id = !loop	? err.code
		 : batch ? lbpf_loop__add_ringbuf_batch(loop, bpf_map__fd(m), deliver_batch, s, &err)
			 : lbpf_loop__add_ringbuf(loop, bpf_map__fd(m), deliver, s, &err);
	keep_source(L, 1, s, id, &err);
	return 0;
}

static lua_Integer opt_integer(lua_State *L, int opts, const char *field, lua_Integer def, lua_Integer max)
{
	if (!opts)
		return def;
	lua_getfield(L, opts, field);
	lua_Integer v = luaL_optinteger(L, -1, def);
	if (v < 1 || v > max)
		luaL_error(L, "opts.%s must be between 1 and %I", field, max);
	lua_pop(L, 1);
	return v;
}

/* b:perf_buffer(name, cb [, {type=, raw=, pages=, wakeup=, lost = function(cpu, n)}]); cb(ev, cpu) */
static int object_perf_buffer(lua_State *L)
{
	struct lbpf_object *obj;
	struct bpf_map *m;
	struct lbpf_err err = {0};
	int opts;

	struct lua_source *s = push_map_source(L, &obj, &m, &opts);
	size_t pages = (size_t)opt_integer(L, opts, "pages", 64, 1 << 16);
	unsigned int wakeup = (unsigned int)opt_integer(L, opts, "wakeup", 1, 1 << 20);
	s->cpu_arg = true;
	if (opts && lua_getfield(L, opts, "lost") != LUA_TNIL) {
		luaL_argexpected(L, lua_isfunction(L, -1), 4, "opts.lost to be a function(cpu, count)");
		lua_setiuservalue(L, -2, SRC_LOST);
	} else if (opts) {
		lua_pop(L, 1);
	}
	struct lbpf_loop *loop = lbpf_object__loop(obj, &err);
	int id = loop ? lbpf_loop__add_perfbuf(loop, bpf_map__fd(m), pages, wakeup, deliver, deliver_lost, s, &err)
		      : err.code;
	keep_source(L, 1, s, id, &err);
	return 0;
}

/* b:_trace_lines(cb): raw trace_pipe lines; lua/trace.lua parses them. */
static int object_trace_lines(lua_State *L)
{
	struct lbpf_object *obj = check_idle(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TFUNCTION);
	check_new_source(L, 1, "trace_pipe");
	struct lua_source *s = push_source(L, 2, "trace_pipe", NULL);
	struct lbpf_loop *loop = lbpf_object__loop(obj, &err);
	int id = loop ? lbpf_loop__add_trace_pipe(loop, deliver, s, &err) : err.code;
	keep_source(L, 1, s, id, &err);
	return 0;
}

/* ---- running ---- */

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* A timer source calling on_interval, for one run; returns its id. */
static int add_interval(lua_State *L, int objidx, int fnidx, double interval)
{
	struct lbpf_err err = {0};
	struct lbpf_object *obj = lbpf_lua_check_object(L, objidx);
	struct lua_source *s = push_source(L, fnidx, "timer", NULL);
	struct lbpf_loop *loop = lbpf_object__loop(obj, &err);
	int id = loop ? lbpf_loop__add_timer(loop, (uint64_t)(interval * 1e9), deliver_tick, s, &err) : err.code;
	keep_source(L, objidx, s, id, &err);
	return id;
}

static void remove_source(lua_State *L, int objidx, int id)
{
	struct lua_object *o = lua_touserdata(L, objidx);
	if (o->obj && id >= 0) {
		struct lbpf_err err = {0};
		struct lbpf_loop *loop = lbpf_object__loop(o->obj, &err);
		if (loop)
			lbpf_loop__remove(loop, id);
	}
	lua_getiuservalue(L, objidx, LBPF_UV_SOURCES);
	lua_pushnil(L);
	lua_rawseti(L, -2, id);
	lua_pop(L, 1);
}

struct run_opts {
	double duration;	/* seconds; 0: until a signal */
	double interval;	/* seconds between on_interval calls; 0: none */
	int on_interval;	/* stack index of the function, or 0 */
};

static void read_run_opts(lua_State *L, int idx, struct run_opts *ro)
{
	memset(ro, 0, sizeof(*ro));
	if (lua_isnoneornil(L, idx))
		return;
	luaL_checktype(L, idx, LUA_TTABLE);
	lua_getfield(L, idx, "duration");
	ro->duration = luaL_optnumber(L, -1, 0);
	lua_getfield(L, idx, "interval");
	ro->interval = luaL_optnumber(L, -1, 0);
	lua_pop(L, 2);
	if (ro->duration < 0 || ro->interval < 0 || !isfinite(ro->duration) || !isfinite(ro->interval))
		luaL_error(L, "run: duration and interval are seconds, at least 0");
	if (lua_getfield(L, idx, "on_interval") != LUA_TNIL) {
		luaL_argexpected(L, lua_isfunction(L, -1), idx, "on_interval to be a function");
		if (ro->interval == 0)
			luaL_error(L, "run: on_interval needs an interval (in seconds)");
		ro->on_interval = lua_gettop(L);
	} else {
		lua_pop(L, 1);
		if (ro->interval > 0)
			luaL_error(L, "run: an interval needs on_interval, the function to call");
	}
}

/* Whether the object at idx is still open: a callback may close its own. */
static bool is_open(lua_State *L, int idx)
{
	return ((struct lua_object *)lua_touserdata(L, idx))->obj != NULL;
}

static bool any_open(lua_State *L, const int *objs, int n)
{
	for (int i = 0; i < n; i++)
		if (is_open(L, objs[i]))
			return true;
	return false;
}

/* Polls the objects at objs[0..n) until the duration passes, SIGINT/SIGTERM
 * arrives, a callback fails, or every object has been closed (by one of its
 * callbacks); pushes the events handled and why it stopped. */
static int run_objects(lua_State *L, const int *objs, int n, const struct run_opts *ro)
{
	int timer = -1, epfd = -1;
	lua_Integer total = 0;
	double deadline = ro->duration > 0 ? now() + ro->duration : 0;
	int failed = 0;

	for (int i = 0; i < n; i++) {
		lbpf_lua_check_object(L, objs[i]);
		if (((struct lua_object *)lua_touserdata(L, objs[i]))->polling)
			luaL_error(L, "this bpf object is already being polled: an event callback cannot run it");
	}
	if (ro->on_interval)
		timer = add_interval(L, objs[0], ro->on_interval, ro->interval);
	if (n > 1 && (epfd = epoll_create1(EPOLL_CLOEXEC)) < 0)
		luaL_error(L, "run: cannot create an epoll: %s", lbpf_strerror(errno));
	for (int i = 0; i < n && epfd >= 0; i++) {
		struct lbpf_err err = {0};
		struct lbpf_loop *loop = lbpf_object__loop(lbpf_lua_check_object(L, objs[i]), &err);
		struct epoll_event ev = {.events = EPOLLIN, .data.u32 = (uint32_t)i};
		if (loop)
			epoll_ctl(epfd, EPOLL_CTL_ADD, lbpf_loop__fd(loop), &ev);
	}
	lbpf_lua_before_wait(L);
	lbpf_stop__arm();
	while (!lbpf_stop__requested() && !failed && any_open(L, objs, n)) {
		int timeout = -1;
		if (deadline) {
			double left = deadline - now();
			if (left <= 0)
				break;
			timeout = (int)ceil(left * 1000);
		}
		if (n == 1) {
			failed = poll_object(L, objs[0], timeout, &total);
			continue;
		}
		struct epoll_event ready[16];
		int k = epoll_wait(epfd, ready, 16, timeout);
		for (int i = 0; i < k && !failed; i++)
			if (is_open(L, objs[ready[i].data.u32]))
				failed = poll_object(L, objs[ready[i].data.u32], 0, &total);
	}
	bool signalled = lbpf_stop__requested();
	int stopped_by = lbpf_stop__signal();
	lbpf_stop__disarm();
	if (epfd >= 0)
		close(epfd);
	if (timer >= 0)
		remove_source(L, objs[0], timer);
	if (failed)
		return lua_error(L);
	lbpf_lua_check_interrupt(L, stopped_by);
	lua_pushinteger(L, total);
	lua_pushstring(L, signalled ? "signal" : "duration");
	return 2;
}

/* b:run{duration=, interval=, on_interval=}: returns events handled and "duration" or "signal". */
static int object_run(lua_State *L)
{
	struct run_opts ro;
	int obj = 1;
	lbpf_lua_check_object(L, 1);
	read_run_opts(L, 2, &ro);
	return run_objects(L, &obj, 1, &ro);
}

/* bpf.run{b1, b2, ..., duration=, interval=, on_interval=} */
static int bpf_run(lua_State *L)
{
	struct run_opts ro;
	int objs[64], n = 0;

	luaL_checktype(L, 1, LUA_TTABLE);
	if (!lua_isnone(L, 2))
		return luaL_error(L, "bpf.run takes one table, the objects and the options together: "
				     "bpf.run{b1, b2, duration = 5}");
	read_run_opts(L, 1, &ro);
	luaL_checkstack(L, 64 + 8, "bpf.run: too many objects");
	for (lua_Integer i = 1; lua_rawgeti(L, 1, i) != LUA_TNIL; i++) {
		if (n == 64)
			return luaL_error(L, "bpf.run: at most 64 objects");
		lbpf_lua_check_object(L, -1);
		objs[n++] = lua_gettop(L);
	}
	lua_pop(L, 1);
	if (n == 0)
		return luaL_error(L, "bpf.run: give the objects to run, e.g. bpf.run{b1, b2, duration = 5}");
	return run_objects(L, objs, n, &ro);
}

/* b:stats(): {name = {kind=, received=, lost=, pending=}} for every event source. */
static int object_stats(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};
	struct lbpf_loop *loop = lbpf_object__loop(obj, &err);
	if (!loop)
		return lbpf_lua_raise(L, &err);
	lua_newtable(L);
	int result = lua_gettop(L);
	lua_getiuservalue(L, 1, LBPF_UV_SOURCES);
	int sources = lua_gettop(L);
	for (lua_pushnil(L); lua_next(L, sources); lua_pop(L, 1)) {
		struct lua_source *s = lua_touserdata(L, -1);
		struct lbpf_source_stats st;
		if (lbpf_loop__stats(loop, s->id, &st))
			continue;
		const char *kind = lbpf_loop__kind(loop, s->id);
		lua_createtable(L, 0, 4);
		lua_pushstring(L, kind);
		lua_setfield(L, -2, "kind");
		lua_pushinteger(L, (lua_Integer)st.received);
		lua_setfield(L, -2, "received");
		uint64_t lost = st.lost;
		if (strcmp(kind, "ringbuf") == 0) {
			/* Counted by the BPF side: LUABPF_RINGBUF and its output helpers. */
			char counter[64];
			struct lbpf_global g;
			snprintf(counter, sizeof(counter), "__luabpf_lost_%s", s->name);
			if (lbpf_object__global(obj, counter, &g, &err) == 0 && g.size == 8)
				memcpy(&lost, g.data, 8);
		}
		lua_pushinteger(L, (lua_Integer)lost);
		lua_setfield(L, -2, "lost");
		lua_pushinteger(L, (lua_Integer)st.pending);
		lua_setfield(L, -2, "pending");
		lua_setfield(L, result, s->name);
	}
	lua_settop(L, result);
	return 1;
}

void lbpf_lua_open_events(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"ring_buffer", object_ring_buffer},
		{"perf_buffer", object_perf_buffer},
		{"_trace_lines", object_trace_lines},
		{"poll", object_poll},
		{"run", object_run},
		{"stats", object_stats},
		{NULL, NULL},
	};

	lua_getfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
	luaL_setfuncs(L, methods, 0);
	lua_pop(L, 1);
	luaL_newmetatable(L, SOURCE_MT);
	lua_pushcfunction(L, source_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

void lbpf_lua_events_functions(lua_State *L)
{
	lua_pushcfunction(L, bpf_run);
	lua_setfield(L, -2, "run");
}
