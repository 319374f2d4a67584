/* bpf.Map: a BPF map as a Lua table (m[k], m[k] = v, m[k] = nil, pairs, #).
 * Keys and values of 1, 2, 4 or 8 bytes are integers; other sizes are raw byte strings. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "binding.h"

/* The largest key or value handled on the C stack; larger ones are refused. */
#define MAX_ELEM 4096

struct lua_map {
	struct bpf_map *map;
};

static struct bpf_map *check_map(lua_State *L, int idx)
{
	struct lua_map *m = luaL_checkudata(L, idx, LBPF_MAP_MT);
	lbpf_lua_owner(L, idx, "map");
	return m->map;
}

static bool is_int_size(size_t size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

/* Encodes the Lua value at idx into buf of exactly size bytes, or raises. */
static void encode(lua_State *L, struct bpf_map *map, int idx, void *buf, size_t size, const char *what)
{
	if (lua_isinteger(L, idx) && is_int_size(size)) {
		lua_Integer v = lua_tointeger(L, idx);
		if (size < 8 && (v < -((lua_Integer)1 << (size * 8 - 1)) || v >= ((lua_Integer)1 << (size * 8))))
			luaL_error(L, "map '%s': %s %I does not fit in %d bytes", bpf_map__name(map), what, v,
				   (int)size);
		memcpy(buf, &v, size);
		return;
	}
	if (lua_type(L, idx) == LUA_TSTRING) {
		size_t len;
		const char *s = lua_tolstring(L, idx, &len);
		if (len != size)
			luaL_error(L, "map '%s': a %s given as bytes must be exactly %d bytes, got %d",
				   bpf_map__name(map), what, (int)size, (int)len);
		memcpy(buf, s, size);
		return;
	}
	if (is_int_size(size))
		luaL_error(L, "map '%s': %s must be an integer, got %s", bpf_map__name(map), what,
			   luaL_typename(L, idx));
	luaL_error(L, "map '%s': %s must be a string of %d bytes, got %s", bpf_map__name(map), what, (int)size,
		   luaL_typename(L, idx));
}

static void decode(lua_State *L, const void *buf, size_t size)
{
	switch (size) {
	case 1: lua_pushinteger(L, *(const uint8_t *)buf); break;
	case 2: lua_pushinteger(L, *(const uint16_t *)buf); break;
	case 4: lua_pushinteger(L, *(const uint32_t *)buf); break;
	case 8: lua_pushinteger(L, (lua_Integer) * (const uint64_t *)buf); break;
	default: lua_pushlstring(L, buf, size);
	}
}

/* Sizes checked once so every buffer below fits on the stack. */
static void sizes(lua_State *L, struct bpf_map *map, size_t *ksz, size_t *vsz)
{
	*ksz = bpf_map__key_size(map);
	*vsz = bpf_map__value_size(map);
	if (libbpf_num_possible_cpus() > 0 && (bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_HASH ||
					       bpf_map__type(map) == BPF_MAP_TYPE_PERCPU_ARRAY ||
					       bpf_map__type(map) == BPF_MAP_TYPE_LRU_PERCPU_HASH))
		luaL_error(L, "map '%s': per-CPU maps are not readable as plain values yet", bpf_map__name(map));
	if (*ksz == 0 || *ksz > MAX_ELEM || *vsz > MAX_ELEM)
		luaL_error(L, "map '%s': keys or values of this size (%d, %d bytes) are not supported",
			   bpf_map__name(map), (int)*ksz, (int)*vsz);
}

static int map_raise_errno(lua_State *L, struct bpf_map *map, const char *op, int ret)
{
	return luaL_error(L, "map '%s': %s failed: %s", bpf_map__name(map), op, strerror(-ret));
}

/* Checks the map's sizes and encodes the key at idx, which must not be nil. */
static void encode_key(lua_State *L, struct bpf_map *map, int idx, void *key, size_t *ksz, size_t *vsz)
{
	sizes(L, map, ksz, vsz);
	if (lua_isnil(L, idx))
		luaL_error(L, "map '%s': the key is nil", bpf_map__name(map));
	encode(L, map, idx, key, *ksz, "key");
}

/* Pushes m[k] or nil; the key is at idx. */
static int get(lua_State *L, struct bpf_map *map, int idx)
{
	char key[MAX_ELEM], value[MAX_ELEM];
	size_t ksz, vsz;

	encode_key(L, map, idx, key, &ksz, &vsz);
	int ret = lbpf_map__lookup(map, key, ksz, value, vsz);
	if (ret == -ENOENT) {
		lua_pushnil(L);
		return 1;
	}
	if (ret)
		return map_raise_errno(L, map, "lookup", ret);
	decode(L, value, vsz);
	return 1;
}

static int map_get(lua_State *L)
{
	return get(L, check_map(L, 1), 2);
}

static int set(lua_State *L, struct bpf_map *map, int kidx, int vidx)
{
	char key[MAX_ELEM], value[MAX_ELEM];
	size_t ksz, vsz;

	encode_key(L, map, kidx, key, &ksz, &vsz);
	if (lua_isnil(L, vidx)) {
		int ret = lbpf_map__delete(map, key, ksz);
		if (ret && ret != -ENOENT)
			return map_raise_errno(L, map, "delete", ret);
		lua_pushboolean(L, ret == 0);
		return 1;
	}
	encode(L, map, vidx, value, vsz, "value");
	int ret = lbpf_map__update(map, key, ksz, value, vsz, 0);
	if (ret)
		return map_raise_errno(L, map, "update", ret);
	return 0;
}

static int map_set(lua_State *L)
{
	luaL_checkany(L, 3);
	return set(L, check_map(L, 1), 2, 3);
}

static int map_delete(lua_State *L)
{
	struct bpf_map *map = check_map(L, 1);
	luaL_checkany(L, 2);
	lua_settop(L, 2);
	lua_pushnil(L);
	return set(L, map, 2, 3);
}

static int map_newindex(lua_State *L)
{
	set(L, check_map(L, 1), 2, 3);
	return 0;
}

/* One step of pairs(m). The step count is an upvalue: a key deleted meanwhile
 * makes the kernel restart at the first key, and the count stops that looping forever. */
static int map_next(lua_State *L)
{
	struct bpf_map *map = check_map(L, 1);
	char key[MAX_ELEM], next[MAX_ELEM], value[MAX_ELEM];
	size_t ksz, vsz;
	bool have_key = !lua_isnil(L, 2);
	lua_Integer step = lua_tointeger(L, lua_upvalueindex(1));

	sizes(L, map, &ksz, &vsz);
	if (have_key)
		encode(L, map, 2, key, ksz, "key");
	for (;;) {
		if (++step > (lua_Integer)bpf_map__max_entries(map))
			return 0;
		int ret = lbpf_map__next_key(map, have_key ? key : NULL, next, ksz);
		if (ret == -ENOENT)
			return 0;
		if (ret)
			return map_raise_errno(L, map, "iteration", ret);
		ret = lbpf_map__lookup(map, next, ksz, value, vsz);
		if (ret == 0)
			break;
		if (ret != -ENOENT)
			return map_raise_errno(L, map, "lookup", ret);
		memcpy(key, next, ksz); /* deleted between the two calls: move on */
		have_key = true;
	}
	lua_pushinteger(L, step);
	lua_replace(L, lua_upvalueindex(1));
	decode(L, next, ksz);
	decode(L, value, vsz);
	return 2;
}

static int map_pairs(lua_State *L)
{
	check_map(L, 1);
	lua_pushinteger(L, 0);
	lua_pushcclosure(L, map_next, 1);
	lua_pushvalue(L, 1);
	lua_pushnil(L);
	return 3;
}

/* #m: the entries present now, counted by walking the keys. */
static int map_len(lua_State *L)
{
	struct bpf_map *map = check_map(L, 1);
	char key[MAX_ELEM], next[MAX_ELEM];
	size_t ksz, vsz;
	lua_Integer n = 0, max = bpf_map__max_entries(map);

	sizes(L, map, &ksz, &vsz);
	for (bool first = true; n < max; first = false, n++) {
		int ret = lbpf_map__next_key(map, first ? NULL : key, next, ksz);
		if (ret == -ENOENT)
			break;
		if (ret)
			return map_raise_errno(L, map, "iteration", ret);
		memcpy(key, next, ksz);
	}
	lua_pushinteger(L, n);
	return 1;
}

static const luaL_Reg map_methods[] = {
	{"get", map_get},
	{"set", map_set},
	{"delete", map_delete},
	{NULL, NULL},
};

static int map_index(lua_State *L)
{
	struct bpf_map *map = check_map(L, 1);
	if (lua_type(L, 2) == LUA_TSTRING) {
		const char *key = lua_tostring(L, 2);
		for (const luaL_Reg *r = map_methods; r->name; r++)
			if (strcmp(r->name, key) == 0) {
				lua_pushcfunction(L, r->func);
				return 1;
			}
		if (strcmp(key, "name") == 0) {
			lua_pushstring(L, bpf_map__name(map));
			return 1;
		}
	}
	return get(L, map, 2);
}

static int map_tostring(lua_State *L)
{
	struct lua_map *m = luaL_checkudata(L, 1, LBPF_MAP_MT);
	lua_getiuservalue(L, 1, 1);
	struct lua_object *o = lua_touserdata(L, -1);
	if (!o || !o->obj)
		lua_pushfstring(L, "bpf.Map (closed): %p", (void *)m);
	else
		lua_pushfstring(L, "bpf.Map %s (%s, %d entries max): %p", bpf_map__name(m->map),
				libbpf_bpf_map_type_str(bpf_map__type(m->map)), (int)bpf_map__max_entries(m->map),
				(void *)m);
	return 1;
}

void lbpf_lua_push_map(lua_State *L, int objidx, struct bpf_map *map)
{
	struct lua_map *m = lbpf_lua_push_child(L, objidx, LBPF_UV_MAPS, bpf_map__name(map), sizeof(*m), LBPF_MAP_MT);
	if (m)
		m->map = map;
}

void lbpf_lua_open_map(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__index", map_index},	  {"__newindex", map_newindex}, {"__pairs", map_pairs},
		{"__len", map_len},	  {"__tostring", map_tostring}, {NULL, NULL},
	};
	luaL_newmetatable(L, LBPF_MAP_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}
