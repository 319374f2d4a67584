/* bpf.Object: bpf.new, the object's attach methods, its maps and progs
 * views, and close by b:close(), <close> or garbage collection. */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <linux/perf_event.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "binding.h"

#define VIEW_MAPS "bpf.Maps"
#define VIEW_PROGS "bpf.Programs"

struct lbpf_object *lbpf_lua_check_object(lua_State *L, int idx)
{
	struct lua_object *o = luaL_checkudata(L, idx, LBPF_OBJECT_MT);
	if (!o->obj)
		luaL_error(L, "this bpf object is closed");
	return o->obj;
}

void *lbpf_lua_push_child(lua_State *L, int objidx, int uv, const char *name, size_t size, const char *mt)
{
	objidx = lua_absindex(L, objidx);
	lua_getiuservalue(L, objidx, uv);
	if (lua_getfield(L, -1, name) == LUA_TUSERDATA) {
		lua_remove(L, -2);
		return NULL;
	}
	lua_pop(L, 1);
	void *ud = lua_newuserdatauv(L, size, 1);
	lua_pushvalue(L, objidx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, mt);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, name);
	lua_remove(L, -2);
	return ud;
}

/* The object name libbpf uses as a prefix for internal map names. */
static void object_name(const char *script, char *out, size_t size)
{
	const char *base = strrchr(script, '/');
	size_t n = 0;

	for (base = base ? base + 1 : script; *base && *base != '.' && n + 1 < size && n < 15; base++)
		out[n++] = isalnum((unsigned char)*base) ? *base : '_';
	out[n] = '\0';
	if (!n)
		snprintf(out, size, "luabpf");
}

/* Calls apply(L, objidx, name) for each entry of the table opts[field], with
 * the entry's value on top of the stack; keys must be names. */
static void each_option(lua_State *L, int objidx, int opts, const char *field, const char *shape,
			void (*apply)(lua_State *L, int objidx, const char *name))
{
	if (lua_getfield(L, opts, field) == LUA_TNIL) {
		lua_pop(L, 1);
		return;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "opts.%s must be a table %s", field, shape);
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			luaL_error(L, "opts.%s: keys must be names, as in %s", field, shape);
		apply(L, objidx, lua_tostring(L, -2));
	}
	lua_pop(L, 1);
}

static struct lbpf_object *object_at(lua_State *L, int objidx)
{
	return ((struct lua_object *)lua_touserdata(L, objidx))->obj;
}

/* opts.max_entries: {map_name = n} sizes maps before load. */
static void apply_max_entries(lua_State *L, int objidx, const char *name)
{
	struct lbpf_err err = {0};
	lua_Integer n = lua_tointeger(L, -1);

	if (!lua_isinteger(L, -1) || n < 1 || n > UINT32_MAX)
		luaL_error(L, "opts.max_entries.%s must be a positive 32-bit integer", name);
	if (lbpf_object__set_max_entries(object_at(L, objidx), name, (uint32_t)n, &err))
		lbpf_lua_raise(L, &err);
}

/* opts.pin: {map_name = "/sys/fs/bpf/path"} shares maps between scripts. */
static void apply_pin(lua_State *L, int objidx, const char *name)
{
	struct lbpf_err err = {0};

	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "opts.pin.%s must be a path such as \"/sys/fs/bpf/%s\"", name, name);
	const char *path = lbpf_lua_checkcstring(L, -1, "opts.pin path");
	if (lbpf_object__set_pin(object_at(L, objidx), name, path, &err))
		lbpf_lua_raise(L, &err);
}

/* opts.rodata: values for globals (const volatile ones above all) before load. */
static void apply_rodata(lua_State *L, int objidx, const char *name)
{
	lbpf_lua_global_set(L, objidx, name, -1, "opts.rodata.");
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int new_object(lua_State *L);

/* bpf.new(src_or_elf [, opts]); opts.debug logs like LUABPF_DEBUG=1 for this call. */
int lbpf_lua_new(lua_State *L)
{
	bool debug = lua_istable(L, 2) && lua_getfield(L, 2, "debug") != LUA_TNIL && lua_toboolean(L, -1);
	lua_settop(L, 2);
	if (!debug)
		return new_object(L);
	bool was = lbpf_log__set_debug(true);
	lua_pushcfunction(L, new_object);
	lua_insert(L, 1);
	int status = lua_pcall(L, 2, 1, 0);
	lbpf_log__set_debug(was);
	return status == LUA_OK ? 1 : lua_error(L);
}

static int new_object(lua_State *L)
{
	struct lbpf_err err = {0};
	size_t size;
	int opts = lua_istable(L, 2) ? 2 : 0;
	char name[32];

	luaL_checkstring(L, 1);
	if (!opts && !lua_isnoneornil(L, 2))
		luaL_typeerror(L, 2, "table of options");
	const char *src = lua_tostring(L, 1);
	if (lua_rawlen(L, 1) >= 4 && memcmp(src, "\177ELF", 4) == 0)
		lua_pushvalue(L, 1);
	else
		lbpf_lua_compile_to_string(L, 1, opts);
	const char *elf = lua_tolstring(L, -1, &size);
	int elf_idx = lua_gettop(L);

	/* Named after opts.name, or else the calling script's file, so that
	 * errors and bpftool say whose object it is. */
	lua_Debug ar;
	const char *script = "luabpf";
	if (opts && lua_getfield(L, opts, "name") == LUA_TSTRING)
		script = lua_tostring(L, -1);
	else
		for (int level = 1; lua_getstack(L, level, &ar) && lua_getinfo(L, "S", &ar); level++)
			if (ar.source[0] == '@') {
				script = ar.source + 1;
				break;
			}
	object_name(script, name, sizeof(name));
	if (opts)
		lua_pop(L, 1);

	/* The userdata exists before the object, so an error anywhere below leaves
	 * the object to __gc instead of leaking it. */
	struct lua_object *o = lua_newuserdatauv(L, sizeof(*o), LBPF_UV_COUNT);
	memset(o, 0, sizeof(*o));
	for (int uv = 1; uv <= LBPF_UV_COUNT; uv++) {
		lua_newtable(L);
		lua_setiuservalue(L, -2, uv);
	}
	luaL_setmetatable(L, LBPF_OBJECT_MT);

	if (lua_rawequal(L, 1, elf_idx) && lbpf_elf__check(elf, size, &err))
		return lbpf_lua_raise(L, &err); /* bytes from outside, not just compiled here */
	o->obj = lbpf_object__open_mem(elf, size, name, &err);
	if (!o->obj)
		return lbpf_lua_raise(L, &err);
	if (opts) {
		each_option(L, elf_idx + 1, opts, "max_entries", "{map_name = n}", apply_max_entries);
		each_option(L, elf_idx + 1, opts, "rodata", "{name = value}", apply_rodata);
		each_option(L, elf_idx + 1, opts, "pin", "{map_name = path}", apply_pin);
	}
	double t0 = now_s();
	int ret = lbpf_object__load(o->obj, &err);
	double t1 = now_s();
	lua_remove(L, elf_idx); /* libbpf is done with the ELF bytes once loaded */
	if (!ret && !(opts && lua_getfield(L, opts, "autoattach") != LUA_TNIL && !lua_toboolean(L, -1)))
		ret = lbpf_object__attach_auto(o->obj, &err);
	if (lbpf_log__debug())
		fprintf(stderr, "luabpf: loaded in %.1f ms, attached in %.1f ms\n", (t1 - t0) * 1e3,
			(now_s() - t1) * 1e3);
	if (ret) {
		lbpf_object__close(o->obj);
		o->obj = NULL;
		return lbpf_lua_raise(L, &err);
	}
	lua_settop(L, elf_idx);
	/* BCC's usdt_contexts: bcc.lua attaches their probes (the object closes
	 * with its links if one fails). */
	if (opts && lua_getfield(L, opts, "usdt_contexts") != LUA_TNIL) {
		lua_getfield(L, elf_idx, "_attach_usdt_contexts");
		lua_pushvalue(L, elf_idx);
		lua_pushvalue(L, -3);
		lua_call(L, 2, 0);
	}
	lua_settop(L, elf_idx);
	return 1;
}

static int object_close(lua_State *L)
{
	struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
	if (!o->obj)
		return luaL_error(L, "this bpf object is already closed");
	if (o->polling)
		return luaL_error(L, "a bpf object cannot be closed from inside its own event callback");
	lbpf_object__close(o->obj);
	o->obj = NULL;
	return 0;
}

/* __gc and __close: closing twice is not an error here. Inside one of the
 * object's own callbacks the poll still uses it: it closes when the poll ends. */
static int object_gc(lua_State *L)
{
	struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
	if (o->polling) {
		o->close_after_poll = true;
		return 0;
	}
	lbpf_object__close(o->obj);
	o->obj = NULL;
	return 0;
}

static int object_tostring(lua_State *L)
{
	struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
	if (o->obj)
		lua_pushfstring(L, "bpf.Object (%s): %p", bpf_object__name(lbpf_object__bpf(o->obj)), (void *)o);
	else
		lua_pushfstring(L, "bpf.Object (closed): %p", (void *)o);
	return 1;
}

/* The program an attach call names (a name or a bpf.Program), loaded with
 * the attach's type when it is one of a BCC script's plain functions. */
static struct bpf_program *attach_prog(lua_State *L, int arg, enum bpf_prog_type type)
{
	struct bpf_program *prog = lbpf_lua_check_prog_arg(L, 1, arg);
	struct lbpf_err err = {0};

	prog = lbpf_object__typed_prog(lbpf_lua_check_object(L, 1), prog, type, &err);
	if (!prog)
		lbpf_lua_raise(L, &err);
	return prog;
}

/* The table-form attach calls' opts.fn (or fn_name), which must be given. */
static struct bpf_program *fn_prog(lua_State *L, int fn, enum bpf_prog_type type, const char *what)
{
	if (lua_isnil(L, fn))
		luaL_error(L, "%s: 'fn' must name the BPF program to run", what);
	return attach_prog(L, fn, type);
}

/* An attach's result: its link, or the error it explains. */
static int push_attached(lua_State *L, int id, struct lbpf_err *err)
{
	if (id < 0)
		return lbpf_lua_raise(L, err);
	lbpf_lua_push_link(L, 1, id);
	return 1;
}

/* "category:event" or "category/event". */
static int object_attach_tracepoint(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	const char *tp = lbpf_lua_checkcstring(L, 2, "the tracepoint name");
	struct bpf_program *prog = attach_prog(L, 3, BPF_PROG_TYPE_TRACEPOINT);
	size_t cut = strcspn(tp, ":/");
	char category[128];
	struct lbpf_err err = {0};

	if (!tp[cut] || cut == 0 || cut >= sizeof(category) || !tp[cut + 1])
		return luaL_argerror(L, 2, "expected \"category:event\", e.g. \"syscalls:sys_enter_openat\"");
	snprintf(category, sizeof(category), "%.*s", (int)cut, tp);
	int id = lbpf_attach__tracepoint(obj, prog, category, tp + cut + 1, &err);
	return push_attached(L, id, &err);
}

static int object_attach_raw_tracepoint(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	const char *event = lbpf_lua_checkcstring(L, 2, "the raw tracepoint name");
	struct bpf_program *prog = attach_prog(L, 3, BPF_PROG_TYPE_RAW_TRACEPOINT);
	struct lbpf_err err = {0};

	int id = lbpf_attach__raw_tracepoint(obj, prog, event, &err);
	return push_attached(L, id, &err);
}

/* Pushes opts[field] and returns its index in the stack; nil stays nil. */
static int opt_field(lua_State *L, const char *field)
{
	lua_getfield(L, 2, field);
	return lua_gettop(L);
}

/* An optional process or CPU number at idx: -1 (every one) when nil. */
static int opt_id(lua_State *L, int idx, const char *what, const char *field, const char *meaning)
{
	if (lua_isnil(L, idx))
		return -1;
	if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < -1 || lua_tointeger(L, idx) > INT32_MAX)
		return luaL_error(L, "%s: '%s' must be %s (or -1 for all)", what, field, meaning);
	return (int)lua_tointeger(L, idx);
}

/* opts.fn, or BCC's spelling opts.fn_name. */
static int fn_field(lua_State *L)
{
	int fn = opt_field(L, "fn");
	if (!lua_isnil(L, fn))
		return fn;
	lua_pop(L, 1);
	return opt_field(L, "fn_name");
}

/* b:attach_uprobe{path=, sym=, off=, pid=, fn=, ret=} */
static int object_attach_uprobe(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_uprobe_opts uo = {.pid = -1};
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int path = opt_field(L, "path"), sym = opt_field(L, "sym"), off = opt_field(L, "off");
	int pid = opt_field(L, "pid"), ret = opt_field(L, "ret"), fn = fn_field(L);
	if (lua_type(L, path) != LUA_TSTRING)
		return luaL_error(L, "attach_uprobe: 'path' must name a binary or library, e.g. \"/bin/bash\"");
	uo.path = lbpf_lua_checkcstring(L, path, "attach_uprobe: 'path'");
	if (!lua_isnil(L, sym) && lua_type(L, sym) != LUA_TSTRING)
		return luaL_error(L, "attach_uprobe: 'sym' must be a function name");
	uo.sym = lua_isnil(L, sym) ? NULL : lbpf_lua_checkcstring(L, sym, "attach_uprobe: 'sym'");
	if (!lua_isnil(L, off) && (!lua_isinteger(L, off) || lua_tointeger(L, off) < 0))
		return luaL_error(L, "attach_uprobe: 'off' must be a non-negative integer");
	uo.offset = (uint64_t)lua_tointeger(L, off);
	if (!uo.sym && lua_isnil(L, off))
		return luaL_error(L, "attach_uprobe: give 'sym' (a function name) or 'off' (a file offset)");
	uo.pid = opt_id(L, pid, "attach_uprobe", "pid", "a process id");
	uo.retprobe = lua_toboolean(L, ret);
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, "attach_uprobe");
	int id = lbpf_attach__uprobe(obj, prog, &uo, &err);
	return push_attached(L, id, &err);
}

/* b:attach_kprobe{event=, fn=, ret=} */
static int object_attach_kprobe(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int event = opt_field(L, "event"), ret = opt_field(L, "ret"), fn = fn_field(L);
	if (lua_type(L, event) != LUA_TSTRING)
		return luaL_error(L, "attach_kprobe: 'event' must name a kernel function, e.g. \"do_sys_openat2\"");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, "attach_kprobe");
	const char *name = lbpf_lua_checkcstring(L, event, "attach_kprobe: 'event'");
	int id = lbpf_attach__kprobe(obj, prog, name, lua_toboolean(L, ret), &err);
	return push_attached(L, id, &err);
}

/* b:attach_usdt{path=, pid=, probe="provider:name" | provider=, name=, fn=} */
static int object_attach_usdt(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_usdt_opts uo = {.pid = -1};
	struct lbpf_err err = {0};
	char provider[256];

	luaL_checktype(L, 2, LUA_TTABLE);
	int path = opt_field(L, "path"), pid = opt_field(L, "pid"), probe = opt_field(L, "probe");
	int prov = opt_field(L, "provider"), name = opt_field(L, "name"), fn = fn_field(L);
	if (!lua_isnil(L, path) && lua_type(L, path) != LUA_TSTRING)
		return luaL_error(L, "attach_usdt: 'path' must name a binary or library");
	uo.path = lua_isnil(L, path) ? NULL : lbpf_lua_checkcstring(L, path, "attach_usdt: 'path'");
	uo.pid = opt_id(L, pid, "attach_usdt", "pid", "a process id");
	/* Lua strings may hold NULs; a probe name must not. */
	int spec = lua_type(L, probe) == LUA_TSTRING ? probe : name;
	if (lua_type(L, spec) != LUA_TSTRING || strlen(lua_tostring(L, spec)) != lua_rawlen(L, spec) ||
	    !lua_rawlen(L, spec))
		return luaL_error(L, "attach_usdt: give probe = \"provider:name\" (or just \"name\"), or provider= and name=");
	uo.name = lua_tostring(L, spec);
	const char *colon = spec == probe ? strchr(uo.name, ':') : NULL;
	if (colon) {
		if ((size_t)(colon - uo.name) >= sizeof(provider) || !colon[1])
			return luaL_error(L, "attach_usdt: '%s' is not \"provider:name\"", uo.name);
		snprintf(provider, sizeof(provider), "%.*s", (int)(colon - uo.name), uo.name);
		uo.provider = provider;
		uo.name = colon + 1;
	} else if (spec == name && !lua_isnil(L, prov)) {
		if (lua_type(L, prov) != LUA_TSTRING || strlen(lua_tostring(L, prov)) != lua_rawlen(L, prov))
			return luaL_error(L, "attach_usdt: 'provider' must be a string");
		uo.provider = lua_tostring(L, prov);
	}
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, "attach_usdt");
	int id = lbpf_attach__usdt(obj, prog, &uo, &err);
	return push_attached(L, id, &err);
}

/* A perf event's type or config: a name from names (value at the same index)
 * or a number. */
static uint64_t perf_choice(lua_State *L, int idx, const char *field, const char *const *names,
			    const uint64_t *values, uint64_t def, uint64_t max)
{
	if (lua_isnil(L, idx))
		return def;
	if (lua_isinteger(L, idx) && lua_tointeger(L, idx) >= 0) {
		if ((uint64_t)lua_tointeger(L, idx) > max)
			lbpf_lua_error(L, "attach_perf_event: '%s' %I is out of range (0 to %I)", field, lua_tointeger(L, idx),
				   (lua_Integer)max);
		return (uint64_t)lua_tointeger(L, idx);
	}
	const char *name = lua_tostring(L, idx);
	for (int i = 0; name && names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return values[i];
	if (!names[0])
		return (uint64_t)lbpf_lua_error(L, "attach_perf_event: '%s' must be a number for this event type", field);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; names[i]; i++) {
		luaL_addstring(&b, i ? ", " : "");
		luaL_addstring(&b, names[i]);
	}
	luaL_pushresult(&b);
	return (uint64_t)lbpf_lua_error(L, "attach_perf_event: '%s' must be one of %s, or a number", field,
				    lua_tostring(L, -1));
}

/* b:attach_perf_event{fn=, type="software", config="cpu-clock", freq=99 | period=, pid=, cpu=} */
static int object_attach_perf_event(lua_State *L)
{
	static const char *const types[] = {"hardware", "software", "tracepoint", "hw_cache", "raw", NULL};
	static const uint64_t type_values[] = {PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT,
					       PERF_TYPE_HW_CACHE, PERF_TYPE_RAW};
	static const char *const sw[] = {"cpu-clock", "task-clock", "page-faults", "context-switches",
					 "cpu-migrations", "minor-faults", "major-faults", NULL};
	static const uint64_t sw_values[] = {PERF_COUNT_SW_CPU_CLOCK, PERF_COUNT_SW_TASK_CLOCK,
					     PERF_COUNT_SW_PAGE_FAULTS, PERF_COUNT_SW_CONTEXT_SWITCHES,
					     PERF_COUNT_SW_CPU_MIGRATIONS, PERF_COUNT_SW_PAGE_FAULTS_MIN,
					     PERF_COUNT_SW_PAGE_FAULTS_MAJ};
	static const char *const hw[] = {"cpu-cycles", "instructions", "cache-references", "cache-misses",
					 "branch-instructions", "branch-misses", "bus-cycles", "ref-cycles", NULL};
	static const uint64_t hw_values[] = {PERF_COUNT_HW_CPU_CYCLES, PERF_COUNT_HW_INSTRUCTIONS,
					     PERF_COUNT_HW_CACHE_REFERENCES, PERF_COUNT_HW_CACHE_MISSES,
					     PERF_COUNT_HW_BRANCH_INSTRUCTIONS, PERF_COUNT_HW_BRANCH_MISSES,
					     PERF_COUNT_HW_BUS_CYCLES, PERF_COUNT_HW_REF_CPU_CYCLES};
	static const char *const none[] = {NULL};
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_perf_event_opts po = {.pid = -1, .cpu = -1};
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int fn = fn_field(L), type = opt_field(L, "type"), config = opt_field(L, "config");
	int freq = opt_field(L, "freq"), period = opt_field(L, "period"), pid = opt_field(L, "pid");
	int cpu = opt_field(L, "cpu");
	po.type = (uint32_t)perf_choice(L, type, "type", types, type_values, PERF_TYPE_SOFTWARE, UINT32_MAX);
	if (po.type == PERF_TYPE_SOFTWARE)
		po.config = perf_choice(L, config, "config", sw, sw_values, PERF_COUNT_SW_CPU_CLOCK, INT64_MAX);
	else if (po.type == PERF_TYPE_HARDWARE)
		po.config = perf_choice(L, config, "config", hw, hw_values, PERF_COUNT_HW_CPU_CYCLES, INT64_MAX);
	else
		po.config = perf_choice(L, config, "config", none, NULL, 0, INT64_MAX);
	if (!lua_isnil(L, freq) && !lua_isnil(L, period))
		return luaL_error(L, "attach_perf_event: give 'freq' (samples a second) or 'period' (events "
				     "between samples), not both");
	if (!lua_isnil(L, period) && (!lua_isinteger(L, period) || lua_tointeger(L, period) < 1))
		return luaL_error(L, "attach_perf_event: 'period' must be a positive integer");
	if (!lua_isnil(L, freq) && (!lua_isinteger(L, freq) || lua_tointeger(L, freq) < 1))
		return luaL_error(L, "attach_perf_event: 'freq' must be a positive integer (samples a second)");
	po.sample_period = (uint64_t)lua_tointeger(L, period);
	po.sample_freq = lua_isnil(L, freq) ? 99 : (uint64_t)lua_tointeger(L, freq);
	po.pid = opt_id(L, pid, "attach_perf_event", "pid", "a process id");
	po.cpu = opt_id(L, cpu, "attach_perf_event", "cpu", "a CPU number");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_PERF_EVENT, "attach_perf_event");
	int id = lbpf_attach__perf_event(obj, prog, &po, &err);
	return push_attached(L, id, &err);
}

static const luaL_Reg object_methods[] = {
	{"close", object_close},
	{"attach_tracepoint", object_attach_tracepoint},
	{"attach_raw_tracepoint", object_attach_raw_tracepoint},
	{"attach_usdt", object_attach_usdt},
	{"attach_uprobe", object_attach_uprobe},
	{"attach_kprobe", object_attach_kprobe},
	{"attach_perf_event", object_attach_perf_event},
	{NULL, NULL},
};

/* b.maps and b.progs: views whose user value is the object. */
static void push_view(lua_State *L, int objidx, const char *mt)
{
	lua_newuserdatauv(L, 0, 1);
	lua_pushvalue(L, objidx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, mt);
}


/* Pushes the map named by the string at idx, or raises naming the ones there are. */
static void push_map_by_name(lua_State *L, int objidx, int idx)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, objidx);
	const char *name = luaL_checkstring(L, idx);
	struct bpf_map *m = lbpf_object__map(obj, name);
	char names[512];
	if (!m) {
		lbpf_object__map_names(obj, names, sizeof(names));
		luaL_error(L, "no map named '%s' in this bpf object (its maps: %s)", name, names);
	}
	lbpf_lua_push_map(L, objidx, m);
}

int lbpf_lua_view_object(lua_State *L, const char *mt)
{
	luaL_checkudata(L, 1, mt);
	lua_getiuservalue(L, 1, 1);
	return lua_gettop(L);
}

static int maps_index(lua_State *L)
{
	push_map_by_name(L, lbpf_lua_view_object(L, VIEW_MAPS), 2);
	return 1;
}

static int progs_index(lua_State *L)
{
	int objidx = lbpf_lua_view_object(L, VIEW_PROGS);
	luaL_checkstring(L, 2);
	lbpf_lua_push_prog(L, objidx, lbpf_lua_check_prog_arg(L, objidx, 2));
	return 1;
}

/* Iterates names in the object's own order: the control value is the last name. */
static int view_next(lua_State *L, bool maps)
{
	int objidx = lbpf_lua_view_object(L, maps ? VIEW_MAPS : VIEW_PROGS);
	struct bpf_object *bo = lbpf_object__bpf(lbpf_lua_check_object(L, objidx));
	const char *after = lua_tostring(L, 2);
	bool found = after == NULL;

	if (maps) {
		struct bpf_map *m;
		bpf_object__for_each_map(m, bo) {
			if (bpf_map__is_internal(m))
				continue;
			if (found) {
				lua_pushstring(L, bpf_map__name(m));
				lbpf_lua_push_map(L, objidx, m);
				return 2;
			}
			found = strcmp(bpf_map__name(m), after) == 0;
		}
	} else {
		struct bpf_program *p;
		bpf_object__for_each_program(p, bo) {
			if (found) {
				lua_pushstring(L, bpf_program__name(p));
				lbpf_lua_push_prog(L, objidx, p);
				return 2;
			}
			found = strcmp(bpf_program__name(p), after) == 0;
		}
	}
	return 0;
}

static int maps_next(lua_State *L)
{
	return view_next(L, true);
}

static int progs_next(lua_State *L)
{
	return view_next(L, false);
}

static int maps_pairs(lua_State *L)
{
	lua_pushcfunction(L, maps_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

static int progs_pairs(lua_State *L)
{
	lua_pushcfunction(L, progs_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* b.NAME: a method, b.maps / b.progs / b.globals, or (BCC style) a map by name. */
static int object_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);

	lua_getfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
	if (lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;
	lua_pop(L, 2);
	if (strcmp(key, "maps") == 0) {
		lbpf_lua_check_object(L, 1);
		push_view(L, 1, VIEW_MAPS);
		return 1;
	}
	if (strcmp(key, "progs") == 0) {
		lbpf_lua_check_object(L, 1);
		push_view(L, 1, VIEW_PROGS);
		return 1;
	}
	if (strcmp(key, "globals") == 0) {
		lbpf_lua_check_object(L, 1);
		lbpf_lua_push_globals(L, 1);
		return 1;
	}
	if (strcmp(key, "closed") == 0) {
		struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
		lua_pushboolean(L, o->obj == NULL);
		return 1;
	}
	push_map_by_name(L, 1, 2);
	return 1;
}

static int object_newindex(lua_State *L)
{
	return luaL_error(L, "a bpf object has no field to set ('%s'); write globals with b.globals.NAME = v "
			     "and maps with b.maps.NAME[k] = v", luaL_tolstring(L, 2, NULL));
}

void lbpf_lua_open_object(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__index", object_index},
		{"__newindex", object_newindex},
		{"__gc", object_gc},
		{"__close", object_gc},
		{"__tostring", object_tostring},
		{NULL, NULL},
	};
	static const luaL_Reg maps_meta[] = {{"__index", maps_index}, {"__pairs", maps_pairs}, {NULL, NULL}};
	static const luaL_Reg progs_meta[] = {{"__index", progs_index}, {"__pairs", progs_pairs}, {NULL, NULL}};

	luaL_newmetatable(L, LBPF_OBJECT_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
	luaL_newlib(L, object_methods);
	lua_setfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
	luaL_newmetatable(L, VIEW_MAPS);
	luaL_setfuncs(L, maps_meta, 0);
	luaL_newmetatable(L, VIEW_PROGS);
	luaL_setfuncs(L, progs_meta, 0);
	lua_pop(L, 2);
}
