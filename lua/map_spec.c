/* b.maps.NAME of an object from bpf.open before b:load(): the map's
 * definition, whose size and flags may still change (a tool sizes a stack
 * map's values, or a table's entries, at run time), as libbpf allows. */
#include <bpf/libbpf.h>
#include <stdint.h>
#include <string.h>

#include "binding.h"

#define MAP_SPEC_MT "bpf.MapSpec"

struct map_spec {
	struct bpf_map *map; /* valid while the object is open and not loaded */
	/* A map of maps' inner template, which libbpf does not let change (its
	 * setters expect an object the template does not have). */
	bool template;
};

static struct map_spec *check_spec(lua_State *L)
{
	struct map_spec *s = luaL_checkudata(L, 1, MAP_SPEC_MT);
	struct lbpf_object *obj = lbpf_lua_owner(L, 1, "map");
	if (lbpf_object__loaded(obj))
		luaL_error(L, "map '%s' is loaded: read b.maps.%s again for the map itself", bpf_map__name(s->map),
			   bpf_map__name(s->map));
	return s;
}

static const char *const fields = "name, type, max_entries, key_size, value_size, flags, inner";

static int spec_index(lua_State *L)
{
	struct map_spec *s = check_spec(L);
	const char *key = luaL_checkstring(L, 2);

	if (strcmp(key, "name") == 0)
		lua_pushstring(L, bpf_map__name(s->map));
	else if (strcmp(key, "type") == 0)
		lua_pushstring(L, lbpf_map__type_name(bpf_map__type(s->map)));
	else if (strcmp(key, "max_entries") == 0)
		lua_pushinteger(L, bpf_map__max_entries(s->map));
	else if (strcmp(key, "key_size") == 0)
		lua_pushinteger(L, bpf_map__key_size(s->map));
	else if (strcmp(key, "value_size") == 0)
		lua_pushinteger(L, bpf_map__value_size(s->map));
	else if (strcmp(key, "flags") == 0)
		lua_pushinteger(L, bpf_map__map_flags(s->map));
	else if (strcmp(key, "inner") == 0) {
		struct bpf_map *inner = bpf_map__inner_map(s->map);
		lua_getiuservalue(L, 1, 1);
		if (inner) {
			lbpf_lua_push_map_spec(L, -1, inner);
			((struct map_spec *)lua_touserdata(L, -1))->template = true;
		} else
			lua_pushnil(L);
	} else
		return luaL_error(L, "map '%s' is not loaded yet, so it has only its definition (%s); call b:load() "
				     "to use it",
				  bpf_map__name(s->map), fields);
	return 1;
}

/* spec.inner = map: the template a map of maps' inner maps must match. */
static int set_inner(lua_State *L, struct map_spec *s)
{
	struct lbpf_err err = {0};
	enum bpf_map_type t = bpf_map__type(s->map);
	if (t != BPF_MAP_TYPE_ARRAY_OF_MAPS && t != BPF_MAP_TYPE_HASH_OF_MAPS)
		return luaL_error(L, "map '%s' has type %s, not a map of maps: it has no inner map template",
				  bpf_map__name(s->map), lbpf_map__type_name(t));
	if (!luaL_testudata(L, 3, LBPF_MAP_MT))
		return luaL_error(L, "map '%s': inner must be a loaded map (a bpf.Map) whose type and sizes the "
				     "inner maps will have, got %s",
				  bpf_map__name(s->map), luaL_typename(L, 3));
	lua_getiuservalue(L, 1, 1);
	if (lbpf_object__set_inner_map(lbpf_lua_check_open(L, -1), s->map, lbpf_lua_check_map_fd(L, 3), &err))
		return lbpf_lua_raise(L, &err);
	return 0;
}

static int spec_newindex(lua_State *L)
{
	struct map_spec *s = check_spec(L);
	const char *key = luaL_checkstring(L, 2);
	if (s->template)
		return luaL_error(L, "map '%s' is an inner map template, which cannot change; give its map of maps "
				     "another map as the template instead (b.maps.OUTER.inner = a_map)",
				  bpf_map__name(s->map));
	if (strcmp(key, "inner") == 0)
		return set_inner(L, s);
	if (!lua_isinteger(L, 3) || lua_tointeger(L, 3) < 0 || lua_tointeger(L, 3) > UINT32_MAX)
		return luaL_error(L, "map '%s': %s must be an integer from 0 to 4294967295", bpf_map__name(s->map), key);
	uint32_t v = (uint32_t)lua_tointeger(L, 3);
	int ret;
	if (strcmp(key, "max_entries") == 0)
		ret = bpf_map__set_max_entries(s->map, v);
	else if (strcmp(key, "key_size") == 0)
		ret = bpf_map__set_key_size(s->map, v);
	else if (strcmp(key, "value_size") == 0)
		ret = bpf_map__set_value_size(s->map, v);
	else if (strcmp(key, "flags") == 0)
		ret = bpf_map__set_map_flags(s->map, v);
	else
		return luaL_error(L, "map '%s': '%s' cannot be set (max_entries, key_size, value_size, flags and inner "
				     "can)",
				  bpf_map__name(s->map), key);
	if (ret)
		return luaL_error(L, "map '%s': cannot set %s to %d: %s", bpf_map__name(s->map), key, (int)v,
				  lbpf_strerror(-ret));
	return 0;
}

void lbpf_lua_push_map_spec(lua_State *L, int objidx, struct bpf_map *map)
{
	objidx = lua_absindex(L, objidx);
	struct map_spec *s = lua_newuserdatauv(L, sizeof(*s), 1);
	s->map = map;
	s->template = false;
	lua_pushvalue(L, objidx);
	lua_setiuservalue(L, -2, 1);
	if (luaL_newmetatable(L, MAP_SPEC_MT)) {
		lua_pushcfunction(L, spec_index);
		lua_setfield(L, -2, "__index");
		lua_pushcfunction(L, spec_newindex);
		lua_setfield(L, -2, "__newindex");
	}
	lua_setmetatable(L, -2);
}
