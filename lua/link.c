/* bpf.Link: one attachment. It lives as long as its object unless detached;
 * dropping the Lua handle does not detach (a script need not keep it). */
#include <stdlib.h>
#include <string.h>

#include "binding.h"

struct lua_link {
	int id;
};

struct lbpf_object *lbpf_lua_owner(lua_State *L, int idx, const char *what)
{
	lua_getiuservalue(L, idx, 1);
	struct lua_object *o = luaL_testudata(L, -1, LBPF_OBJECT_MT);
	lua_pop(L, 1);
	if (!o || !o->obj)
		luaL_error(L, "this %s belongs to a closed bpf object", what);
	return o->obj;
}

/* Detaching a link of a closed object, or twice, returns false. */
static int link_detach(lua_State *L)
{
	struct lua_link *l = luaL_checkudata(L, 1, LBPF_LINK_MT);
	lua_getiuservalue(L, 1, 1);
	struct lua_object *o = luaL_testudata(L, -1, LBPF_OBJECT_MT);
	lua_pushboolean(L, o && o->obj && lbpf_link__detach(o->obj, l->id));
	return 1;
}

/* l:pin(path): the attachment outlives this object and process until the
 * pin is removed; bpf.open_pinned(path) opens it again. */
static int link_pin(lua_State *L)
{
	struct lua_link *l = luaL_checkudata(L, 1, LBPF_LINK_MT);
	struct lbpf_err err = {0};
	const char *path = lbpf_lua_checkcstring(L, 2, "the pin path");
	if (lbpf_link__pin(lbpf_lua_owner(L, 1, "link"), l->id, path, &err))
		return lbpf_lua_raise(L, &err);
	return 0;
}

/* l:read(): an iterator link's whole output, run once more on each call. */
static int link_read(lua_State *L)
{
	struct lua_link *l = luaL_checkudata(L, 1, LBPF_LINK_MT);
	struct lbpf_err err = {0};
	size_t size;
	char *text = lbpf_link__read_iter(lbpf_lua_owner(L, 1, "link"), l->id, &size, &err);
	if (!text)
		return lbpf_lua_raise(L, &err);
	lua_pushlstring(L, text, size);
	free(text);
	return 1;
}

static int link_index(lua_State *L)
{
	struct lua_link *l = luaL_checkudata(L, 1, LBPF_LINK_MT);
	const char *key = luaL_checkstring(L, 2);

	if (strcmp(key, "detach") == 0) {
		lua_pushcfunction(L, link_detach);
		return 1;
	}
	if (strcmp(key, "pin") == 0) {
		lua_pushcfunction(L, link_pin);
		return 1;
	}
	if (strcmp(key, "read") == 0) {
		lua_pushcfunction(L, link_read);
		return 1;
	}
	if (strcmp(key, "attached") == 0) {
		lua_getiuservalue(L, 1, 1);
		struct lua_object *o = luaL_testudata(L, -1, LBPF_OBJECT_MT);
		lua_pushboolean(L, o && o->obj && lbpf_link__attached(o->obj, l->id));
		return 1;
	}
	return luaL_error(L, "bpf.Link has no field '%s' (it has: detach, attached, pin, read)", key);
}

static int link_tostring(lua_State *L)
{
	struct lua_link *l = luaL_checkudata(L, 1, LBPF_LINK_MT);
	lua_pushfstring(L, "bpf.Link #%d: %p", l->id, (void *)l);
	return 1;
}

void lbpf_lua_push_link(lua_State *L, int objidx, int id)
{
	objidx = lua_absindex(L, objidx);
	struct lua_link *l = lua_newuserdatauv(L, sizeof(*l), 1);
	l->id = id;
	lua_pushvalue(L, objidx);
	lua_setiuservalue(L, -2, 1);
	luaL_setmetatable(L, LBPF_LINK_MT);
}

void lbpf_lua_open_link(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__index", link_index},
		{"__close", link_detach},
		{"__tostring", link_tostring},
		{NULL, NULL},
	};
	luaL_newmetatable(L, LBPF_LINK_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}
