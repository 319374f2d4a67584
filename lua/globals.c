/* b.globals: a program's global variables (.bss, .data, .rodata), read and
 * written through the BTF codec right in the memory-mapped sections, so an
 * access costs no system call. .rodata is read-only once loaded. */
#include <string.h>

#include <bpf/libbpf.h>

#include "binding.h"

#define GLOBALS_MT "bpf.Globals"
#define GLOBAL_MT "bpf.Global"

/* The cached description of one variable; where it lives is looked up per
 * access, since that changes when the object loads. */
struct lua_global {
	struct lbpf_layout *layout;
};

static int global_gc(lua_State *L)
{
	struct lua_global *g = luaL_checkudata(L, 1, GLOBAL_MT);
	lbpf_layout__free(g->layout);
	g->layout = NULL;
	return 0;
}

/* Finds a global by name; fills *where and returns its layout (cached on the object). */
static const struct lbpf_type *find_global(lua_State *L, int objidx, const char *name, struct lbpf_global *where)
{
	struct lbpf_object *obj = lbpf_lua_check_open(L, objidx); /* set before load: their first values */
	struct lbpf_err err = {0};

	if (lbpf_object__global(obj, name, where, &err))
		lbpf_lua_raise(L, &err);
	struct lua_global *g = lbpf_lua_push_child(L, objidx, LBPF_UV_GLOBALS, name, sizeof(*g), GLOBAL_MT);
	if (g) {
		g->layout = NULL;
		g->layout = lbpf_layout__new(bpf_object__btf(lbpf_object__bpf(obj)), where->type_id, &err);
		if (!g->layout)
			lbpf_lua_raise(L, &err);
	} else {
		g = lua_touserdata(L, -1);
	}
	lua_pop(L, 1); /* the object's cache keeps it alive */
	const struct lbpf_type *t = lbpf_layout__root(g->layout);
	if (t->size != where->size)
		luaL_error(L, "global '%s': its BTF type (%s) does not match its %d bytes", name, t->name, (int)where->size);
	return t;
}

void lbpf_lua_global_set(lua_State *L, int objidx, const char *name, int vidx, const char *what)
{
	struct lbpf_global where;
	char prefix[128];

	vidx = lua_absindex(L, vidx);
	const struct lbpf_type *t = find_global(L, objidx, name, &where);
	if (where.readonly)
		luaL_error(L, "global '%s' is in %s and read-only once loaded; set it before load with "
			      "bpf.new(src, {rodata = {%s = ...}})", name, where.section, name);
	/* Encoded aside first, so a bad value never leaves half-written memory. */
	void *tmp = lua_newuserdatauv(L, where.size ? where.size : 1, 0);
	snprintf(prefix, sizeof(prefix), "%s%s", what, name);
	lbpf_codec_encode(L, vidx, t, tmp, prefix);
	memcpy(where.data, tmp, where.size);
	lua_pop(L, 1);
}

static int globals_index(lua_State *L)
{
	struct lbpf_global where;
	int objidx = lbpf_lua_view_object(L, GLOBALS_MT);
	const struct lbpf_type *t = find_global(L, objidx, luaL_checkstring(L, 2), &where);
	lbpf_codec_push(L, t, where.data);
	return 1;
}

static int globals_newindex(lua_State *L)
{
	int objidx = lbpf_lua_view_object(L, GLOBALS_MT);
	lbpf_lua_global_set(L, objidx, luaL_checkstring(L, 2), 3, "global ");
	return 0;
}

static int globals_next(lua_State *L)
{
	int objidx = lbpf_lua_view_object(L, GLOBALS_MT);
	const char *name = lbpf_object__next_global(lbpf_lua_check_open(L, objidx), lua_tostring(L, 2));
	if (!name)
		return 0;
	lua_pushstring(L, name);
	struct lbpf_global where;
	const struct lbpf_type *t = find_global(L, objidx, name, &where);
	lbpf_codec_push(L, t, where.data);
	return 2;
}

static int globals_pairs(lua_State *L)
{
	lua_pushcfunction(L, globals_next);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

void lbpf_lua_push_globals(lua_State *L, int objidx)
{
	objidx = lua_absindex(L, objidx);
	lua_newuserdatauv(L, 0, 1);
	lua_pushvalue(L, objidx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, GLOBALS_MT);
}

void lbpf_lua_open_globals(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__index", globals_index},
		{"__newindex", globals_newindex},
		{"__pairs", globals_pairs},
		{NULL, NULL},
	};
	luaL_newmetatable(L, GLOBALS_MT);
	luaL_setfuncs(L, meta, 0);
	luaL_newmetatable(L, GLOBAL_MT);
	lua_pushcfunction(L, global_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 2);
}
