/* bpf.Object: bpf.new, the object's maps and progs views, and close by
 * b:close(), <close> or garbage collection (attach methods: lua/attach.c). */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <linux/perf_event.h>
#include <string.h>
#include <time.h>

#include <bpf/libbpf.h>

#include "binding.h"

#define VIEW_MAPS "bpf.Maps"
#define VIEW_PROGS "bpf.Programs"

struct lbpf_object *lbpf_lua_check_open(lua_State *L, int idx)
{
	struct lua_object *o = luaL_checkudata(L, idx, LBPF_OBJECT_MT);
	if (!o->obj)
		lbpf_lua_error(L, "this bpf object is closed");
	return o->obj;
}

struct lbpf_object *lbpf_lua_check_object(lua_State *L, int idx)
{
	struct lbpf_object *obj = lbpf_lua_check_open(L, idx);
	if (!lbpf_object__loaded(obj))
		lbpf_lua_error(L, "this bpf object is not loaded yet: configure it, then call b:load()");
	return obj;
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
/* opts.autoload = {prog = false}: the program is not loaded. */
static void apply_autoload(lua_State *L, int objidx, const char *name)
{
	struct bpf_program *p = lbpf_object__prog(object_at(L, objidx), name);
	if (!p)
		luaL_error(L, "autoload: no program named '%s'", name);
	if (!lua_isboolean(L, -1))
		luaL_error(L, "autoload: program '%s' must be given true or false", name);
	bpf_program__set_autoload(p, lua_toboolean(L, -1));
}

/* opts.key_size and opts.value_size = {map = bytes}. */
static void apply_size(lua_State *L, int objidx, const char *name, bool value)
{
	struct bpf_map *m = lbpf_object__map(object_at(L, objidx), name);
	const char *what = value ? "value_size" : "key_size";
	if (!m)
		luaL_error(L, "%s: no map named '%s'", what, name);
	if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) <= 0 || lua_tointeger(L, -1) > UINT32_MAX)
		luaL_error(L, "%s: map '%s' must be given a positive 32-bit integer", what, name);
	int ret = value ? bpf_map__set_value_size(m, (uint32_t)lua_tointeger(L, -1))
			: bpf_map__set_key_size(m, (uint32_t)lua_tointeger(L, -1));
	if (ret)
		luaL_error(L, "%s: map '%s': %s", what, name, lbpf_strerror(-ret));
}

static void apply_value_size(lua_State *L, int objidx, const char *name)
{
	apply_size(L, objidx, name, true);
}

static void apply_key_size(lua_State *L, int objidx, const char *name)
{
	apply_size(L, objidx, name, false);
}

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

/* Loads the object, then attaches what its sections name unless told not
 * to; on failure the object is closed and the error raised. */
static void load_and_attach(lua_State *L, struct lua_object *o)
{
	struct lbpf_err err = {0};
	double t0 = now_s();
	int ret = lbpf_object__load(o->obj, &err);
	double t1 = now_s();
	if (!ret && o->autoattach)
		ret = lbpf_object__attach_auto(o->obj, &err);
	if (lbpf_log__debug())
		fprintf(stderr, "luabpf: loaded in %.1f ms, attached in %.1f ms\n", (t1 - t0) * 1e3,
			(now_s() - t1) * 1e3);
	if (ret) {
		lbpf_object__close(o->obj);
		o->obj = NULL;
		lbpf_lua_raise(L, &err);
	}
}

static int open_object(lua_State *L, bool load_now);

static int new_object(lua_State *L)
{
	return open_object(L, true);
}

static int open_only(lua_State *L)
{
	return open_object(L, false);
}

/* bpf.new and bpf.open; opts.debug logs like LUABPF_DEBUG=1 for this call. */
static int with_debug(lua_State *L, lua_CFunction f)
{
	bool debug = lua_istable(L, 2) && lua_getfield(L, 2, "debug") != LUA_TNIL && lua_toboolean(L, -1);
	lua_settop(L, 2);
	if (!debug)
		return f(L);
	bool was = lbpf_log__set_debug(true);
	lua_pushcfunction(L, f);
	lua_insert(L, 1);
	int status = lua_pcall(L, 2, 1, 0);
	lbpf_log__set_debug(was);
	return status == LUA_OK ? 1 : lua_error(L);
}

/* bpf.new(src_or_elf [, opts]): compiled, opened, loaded and attached. */
int lbpf_lua_new(lua_State *L)
{
	return with_debug(L, new_object);
}

/* bpf.open(src_or_elf [, opts]): compiled and opened; b:load() does the rest
 * after the programs and maps are configured. */
int lbpf_lua_open(lua_State *L)
{
	return with_debug(L, open_only);
}

/* b:load(): loads (and attaches, unless opts.autoattach was false) what
 * bpf.open opened. */
static int object_load(lua_State *L)
{
	struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
	if (lbpf_object__loaded(lbpf_lua_check_open(L, 1)))
		return luaL_error(L, "this bpf object is already loaded");
	lua_settop(L, 1);
	lua_getiuservalue(L, 1, LBPF_UV_ELF); /* keeps the ELF alive through the load */
	load_and_attach(L, o);
	lua_pushnil(L);
	lua_setiuservalue(L, 1, LBPF_UV_ELF);
	lua_settop(L, 1);
	return 1;
}

static int open_object(lua_State *L, bool load_now)
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
	/* Every object, weakly, for what runs when the script ends. */
	if (lua_getfield(L, LUA_REGISTRYINDEX, LBPF_OBJECTS_KEY) != LUA_TTABLE) {
		lua_pop(L, 1);
		lua_newtable(L);
		lua_createtable(L, 0, 1);
		lua_pushliteral(L, "k");
		lua_setfield(L, -2, "__mode");
		lua_setmetatable(L, -2);
		lua_pushvalue(L, -1);
		lua_setfield(L, LUA_REGISTRYINDEX, LBPF_OBJECTS_KEY);
	}
	lua_pushvalue(L, -2);
	lua_pushboolean(L, 1);
	lua_settable(L, -3);
	lua_pop(L, 1);

	if (lua_rawequal(L, 1, elf_idx) && lbpf_elf__check(elf, size, &err))
		return lbpf_lua_raise(L, &err); /* bytes from outside, not just compiled here */
	o->obj = lbpf_object__open_mem(elf, size, name, &err);
	if (!o->obj)
		return lbpf_lua_raise(L, &err);
	lbpf_lua_apply_target(L, elf_idx + 1, o->obj);
	if (opts) {
		each_option(L, elf_idx + 1, opts, "max_entries", "{map_name = n}", apply_max_entries);
		each_option(L, elf_idx + 1, opts, "rodata", "{name = value}", apply_rodata);
		each_option(L, elf_idx + 1, opts, "pin", "{map_name = path}", apply_pin);
		each_option(L, elf_idx + 1, opts, "autoload", "{prog_name = false}", apply_autoload);
		each_option(L, elf_idx + 1, opts, "value_size", "{map_name = bytes}", apply_value_size);
		each_option(L, elf_idx + 1, opts, "key_size", "{map_name = bytes}", apply_key_size);
	}
	o->autoattach = !(opts && lua_getfield(L, opts, "autoattach") != LUA_TNIL && !lua_toboolean(L, -1));
	lua_settop(L, elf_idx + 1);
	if (!load_now) {
		/* bpf.open: libbpf reads the ELF again at b:load(). */
		lua_pushvalue(L, elf_idx);
		lua_setiuservalue(L, elf_idx + 1, LBPF_UV_ELF);
		return 1;
	}
	load_and_attach(L, o);
	lua_remove(L, elf_idx); /* libbpf is done with the ELF bytes once loaded */
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

/* __close: a script's object going out of scope first prints what it
 * aggregated that the script never fetched (lua/aggregate.lua puts
 * that printer in the registry); then it closes as __gc does. */
static int object_close_scope(lua_State *L)
{
	struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
	if (o->obj && !o->polling && lua_getfield(L, LUA_REGISTRYINDEX, LBPF_PRINT_UNREAD_KEY) == LUA_TFUNCTION) {
		lua_pushvalue(L, 1);
		if (lua_pcall(L, 1, 0, 0) != LUA_OK)
			fprintf(stderr, "luabpf: printing the object's aggregations failed: %s\n", lua_tostring(L, -1));
	}
	return object_gc(L);
}

/* b:_fetched_maps(): {name = true} for each map the script has fetched. */
static int object_fetched_maps(lua_State *L)
{
	luaL_checkudata(L, 1, LBPF_OBJECT_MT);
	lua_newtable(L);
	lua_getiuservalue(L, 1, LBPF_UV_MAPS);
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1)) {
		lua_pushvalue(L, -2);
		lua_pushboolean(L, 1);
		lua_settable(L, -6);
	}
	lua_pop(L, 1);
	return 1;
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

static const luaL_Reg object_methods[] = {
	{"close", object_close},
	{"load", object_load},
	{"_fetched_maps", object_fetched_maps},
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
	struct lbpf_object *obj = lbpf_lua_check_open(L, objidx);
	const char *name = luaL_checkstring(L, idx);
	struct bpf_map *m = lbpf_object__map(obj, name);
	char names[512];
	if (!m) {
		lbpf_object__map_names(obj, names, sizeof(names));
		luaL_error(L, "no map named '%s' in this bpf object (its maps: %s)", name, names);
	}
	if (lbpf_object__loaded(obj))
		lbpf_lua_push_map(L, objidx, m);
	else
		lbpf_lua_push_map_spec(L, objidx, m);
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
	struct lbpf_object *obj = lbpf_lua_check_open(L, objidx);
	struct bpf_object *bo = lbpf_object__bpf(obj);
	const char *after = lua_tostring(L, 2);
	bool found = after == NULL;

	if (maps) {
		struct bpf_map *m;
		bpf_object__for_each_map(m, bo) {
			if (bpf_map__is_internal(m))
				continue;
			if (found) {
				lua_pushstring(L, bpf_map__name(m));
				if (lbpf_object__loaded(obj))
					lbpf_lua_push_map(L, objidx, m);
				else
					lbpf_lua_push_map_spec(L, objidx, m);
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
static int compare_names(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* b.x where x is neither: both lists, since either may have been meant. */
static void no_method_or_map(lua_State *L, struct lbpf_object *obj, const char *key)
{
	const char *names[128];
	char maps[512];
	size_t n = 0;

	lbpf_object__map_names(obj, maps, sizeof(maps));
	lua_getfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
	for (lua_pushnil(L); lua_next(L, -2); lua_pop(L, 1))
		if (n < sizeof(names) / sizeof(names[0]) && lua_type(L, -2) == LUA_TSTRING &&
		    lua_tostring(L, -2)[0] != '_')
			names[n++] = lua_tostring(L, -2); /* the table keeps the strings alive */
	qsort(names, n, sizeof(names[0]), compare_names);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (size_t i = 0; i < n; i++) {
		luaL_addstring(&b, i ? ", " : "");
		luaL_addstring(&b, names[i]);
	}
	luaL_pushresult(&b);
	luaL_error(L, "no method or map named '%s' in this bpf object (its maps: %s; its methods: %s)", key, maps,
		   lua_tostring(L, -1));
}

static int object_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);

	lua_getfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
	if (lua_getfield(L, -1, key) != LUA_TNIL)
		return 1;
	lua_pop(L, 2);
	if (strcmp(key, "maps") == 0) {
		lbpf_lua_check_open(L, 1);
		push_view(L, 1, VIEW_MAPS);
		return 1;
	}
	if (strcmp(key, "progs") == 0) {
		lbpf_lua_check_open(L, 1);
		push_view(L, 1, VIEW_PROGS);
		return 1;
	}
	if (strcmp(key, "globals") == 0) {
		lbpf_lua_check_open(L, 1);
		lbpf_lua_push_globals(L, 1);
		return 1;
	}
	if (strcmp(key, "closed") == 0) {
		struct lua_object *o = luaL_checkudata(L, 1, LBPF_OBJECT_MT);
		lua_pushboolean(L, o->obj == NULL);
		return 1;
	}
	struct lbpf_object *obj = lbpf_lua_check_open(L, 1);
	if (!lbpf_object__map(obj, key))
		no_method_or_map(L, obj, key);
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
		{"__close", object_close_scope},
		{"__tostring", object_tostring},
		{NULL, NULL},
	};
	static const luaL_Reg maps_meta[] = {{"__index", maps_index}, {"__pairs", maps_pairs}, {NULL, NULL}};
	static const luaL_Reg progs_meta[] = {{"__index", progs_index}, {"__pairs", progs_pairs}, {NULL, NULL}};

	luaL_newmetatable(L, LBPF_OBJECT_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
	luaL_newlib(L, object_methods);
	lbpf_lua_attach_methods(L);
	lua_setfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
	luaL_newmetatable(L, VIEW_MAPS);
	luaL_setfuncs(L, maps_meta, 0);
	luaL_newmetatable(L, VIEW_PROGS);
	luaL_setfuncs(L, progs_meta, 0);
	lua_pop(L, 2);
}
