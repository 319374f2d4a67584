/* JSON text of Lua values (bpf.json.encode): decoded map entries and events,
 * with a BTF type beside the value when there is one, so that a u64 above
 * 2^63 (a negative Lua integer) is written unsigned. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "binding.h"

#define JSON_BUF_MT "bpf.JsonBuffer"
#define MAX_DEPTH 64

/* The text being built, in a userdata so that an error mid-way frees it. */
struct jbuf {
	char *p;
	size_t n, cap;
};

static int jbuf_gc(lua_State *L)
{
	struct jbuf *b = luaL_checkudata(L, 1, JSON_BUF_MT);
	free(b->p);
	b->p = NULL;
	return 0;
}

static void add(lua_State *L, struct jbuf *b, const char *s, size_t n)
{
	if (b->cap - b->n < n) {
		size_t cap = b->cap ? b->cap : 256;
		while (cap - b->n < n)
			cap *= 2;
		char *p = realloc(b->p, cap);
		if (!p)
			luaL_error(L, "bpf.json.encode: out of memory");
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->n, s, n);
	b->n += n;
}

#define ADD_LITERAL(L, b, s) add(L, b, s, sizeof(s) - 1)

/* Length of the UTF-8 sequence at s (n bytes left), or 0 if it is not one. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len = s[0] >= 0xF0 && s[0] <= 0xF4 ? 4 : s[0] >= 0xE0 ? 3 : s[0] >= 0xC2 && s[0] < 0xE0 ? 2 : 0;
	if (!len || len > n)
		return 0;
	for (size_t i = 1; i < len; i++)
		if ((s[i] & 0xC0) != 0x80)
			return 0;
	return len;
}

/* A string: kernel strings need not be UTF-8, so a byte that starts no valid
 * sequence is written as the code point of the same number. */
static void add_string(lua_State *L, struct jbuf *b, const char *s, size_t n)
{
	const unsigned char *u = (const unsigned char *)s;
	char esc[8];

	ADD_LITERAL(L, b, "\"");
	for (size_t i = 0; i < n;) {
		size_t run = i;
		while (run < n && u[run] >= 0x20 && u[run] < 0x80 && u[run] != '"' && u[run] != '\\')
			run++;
		add(L, b, s + i, run - i);
		i = run;
		if (i == n)
			break;
		size_t len = u[i] >= 0x80 ? utf8_len(u + i, n - i) : 0;
		if (len) {
			add(L, b, s + i, len);
			i += len;
			continue;
		}
		switch (u[i]) {
		case '"': ADD_LITERAL(L, b, "\\\""); break;
		case '\\': ADD_LITERAL(L, b, "\\\\"); break;
		case '\n': ADD_LITERAL(L, b, "\\n"); break;
		case '\t': ADD_LITERAL(L, b, "\\t"); break;
		case '\r': ADD_LITERAL(L, b, "\\r"); break;
		default:
			snprintf(esc, sizeof(esc), "\\u%04x", u[i]);
			add(L, b, esc, 6);
		}
		i++;
	}
	ADD_LITERAL(L, b, "\"");
}

static void add_number(lua_State *L, struct jbuf *b, int idx, bool unsigned64)
{
	char num[32];
	int n;
	if (lua_isinteger(L, idx)) {
		lua_Integer v = lua_tointeger(L, idx);
		n = unsigned64 ? snprintf(num, sizeof(num), "%" PRIu64, (uint64_t)v)
			       : snprintf(num, sizeof(num), "%lld", (long long)v);
	} else {
		double d = lua_tonumber(L, idx);
		n = isfinite(d) ? snprintf(num, sizeof(num), "%.17g", d) : snprintf(num, sizeof(num), "null");
	}
	add(L, b, num, (size_t)n);
}

static void encode(lua_State *L, struct jbuf *b, int idx, const struct lbpf_type *t, int depth);

/* A table whose keys are exactly 1..n is an array (an empty one too). */
static bool is_array(lua_State *L, int idx, lua_Integer *len)
{
	lua_Integer n = (lua_Integer)lua_rawlen(L, idx), count = 0;
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
		if (!lua_isinteger(L, -2) || lua_tointeger(L, -2) < 1 || lua_tointeger(L, -2) > n) {
			lua_pop(L, 2);
			return false;
		}
		count++;
	}
	*len = n;
	return count == n;
}

static int compare_keys(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* An object with its keys sorted, so that equal tables give equal text. */
static void encode_object(lua_State *L, struct jbuf *b, int idx, int depth)
{
	lua_Integer n = 0;
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1))
		n++;
	const char **keys = lua_newuserdatauv(L, (size_t)n * sizeof(*keys) + 1, 0);
	lua_createtable(L, 0, (int)n); /* key text -> key: anchors the texts keys[] points to */
	int names = lua_gettop(L);
	lua_Integer i = 0;
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
		int kt = lua_type(L, -2);
		if (kt != LUA_TSTRING && kt != LUA_TNUMBER)
			luaL_error(L, "bpf.json.encode: a table key of type %s cannot be a JSON name", lua_typename(L, kt));
		lua_pushvalue(L, -2);
		keys[i++] = luaL_tolstring(L, -1, NULL);
		lua_insert(L, -2);
		lua_rawset(L, names);
	}
	qsort(keys, (size_t)n, sizeof(*keys), compare_keys);
	ADD_LITERAL(L, b, "{");
	for (lua_Integer j = 0; j < n; j++) {
		if (j)
			ADD_LITERAL(L, b, ",");
		add_string(L, b, keys[j], strlen(keys[j]));
		ADD_LITERAL(L, b, ":");
		lua_getfield(L, names, keys[j]);
		lua_rawget(L, idx);
		encode(L, b, lua_gettop(L), NULL, depth + 1);
		lua_pop(L, 1);
	}
	ADD_LITERAL(L, b, "}");
	lua_pop(L, 2);
}

/* A struct in its fields' order, each with its type. */
static void encode_struct(lua_State *L, struct jbuf *b, int idx, const struct lbpf_type *t, int depth)
{
	bool first = true;
	ADD_LITERAL(L, b, "{");
	for (uint32_t i = 0; i < t->nfields; i++) {
		const struct lbpf_field *f = &t->fields[i];
		if (lua_getfield(L, idx, f->name) == LUA_TNIL) {
			lua_pop(L, 1);
			continue;
		}
		if (!first)
			ADD_LITERAL(L, b, ",");
		first = false;
		add_string(L, b, f->name, strlen(f->name));
		ADD_LITERAL(L, b, ":");
		encode(L, b, lua_gettop(L), f->bit_size ? NULL : f->type, depth + 1);
		lua_pop(L, 1);
	}
	ADD_LITERAL(L, b, "}");
}

static void encode_array(lua_State *L, struct jbuf *b, int idx, lua_Integer n, const struct lbpf_type *elem,
			 int depth)
{
	ADD_LITERAL(L, b, "[");
	for (lua_Integer i = 1; i <= n; i++) {
		if (i > 1)
			ADD_LITERAL(L, b, ",");
		lua_rawgeti(L, idx, i);
		encode(L, b, lua_gettop(L), elem, depth + 1);
		lua_pop(L, 1);
	}
	ADD_LITERAL(L, b, "]");
}

static bool has_json_hook(lua_State *L, int idx)
{
	if (!lua_getmetatable(L, idx))
		return false;
	lua_getfield(L, -1, "__json");
	lua_remove(L, -2);
	if (lua_isfunction(L, -1))
		return true;
	lua_pop(L, 1);
	return false;
}

static void encode(lua_State *L, struct jbuf *b, int idx, const struct lbpf_type *t, int depth)
{
	if (depth > MAX_DEPTH)
		luaL_error(L, "bpf.json.encode: the value nests deeper than %d levels (does a table hold itself?)",
			   MAX_DEPTH);
	luaL_checkstack(L, 8, "bpf.json.encode: value nested too deeply");
	switch (lua_type(L, idx)) {
	case LUA_TNIL:
		ADD_LITERAL(L, b, "null");
		return;
	case LUA_TBOOLEAN:
		if (lua_toboolean(L, idx))
			ADD_LITERAL(L, b, "true");
		else
			ADD_LITERAL(L, b, "false");
		return;
	case LUA_TNUMBER:
		add_number(L, b, idx, t && t->kind == LBPF_T_UINT && t->size == 8);
		return;
	case LUA_TSTRING: {
		size_t n;
		const char *s = lua_tolstring(L, idx, &n);
		add_string(L, b, s, n);
		return;
	}
	case LUA_TTABLE:
		break;
	default:
		luaL_error(L, "bpf.json.encode: a %s cannot be written as JSON", luaL_typename(L, idx));
	}
	if (has_json_hook(L, idx)) { /* an event record: typed from its bytes */
		lua_pushvalue(L, idx);
		lua_call(L, 1, 1);
		size_t n;
		const char *s = lua_tolstring(L, -1, &n);
		if (s)
			add(L, b, s, n);
		lua_pop(L, 1);
		return;
	}
	lua_Integer n;
	if (t && (t->kind == LBPF_T_STRUCT || t->kind == LBPF_T_UNION))
		encode_struct(L, b, idx, t, depth);
	else if (is_array(L, idx, &n))
		encode_array(L, b, idx, n, t && t->kind == LBPF_T_ARRAY ? t->elem : NULL, depth);
	else
		encode_object(L, b, idx, depth);
}

void lbpf_lua_json_push(lua_State *L, int idx, const struct lbpf_type *t, bool per_cpu)
{
	idx = lua_absindex(L, idx);
	struct jbuf *b = lua_newuserdatauv(L, sizeof(*b), 0);
	memset(b, 0, sizeof(*b));
	luaL_setmetatable(L, JSON_BUF_MT);
	lua_Integer n;
	/* A per-CPU value is a list of the CPUs' values, each of the map's type. */
	if (per_cpu && lua_istable(L, idx) && !has_json_hook(L, idx) && is_array(L, idx, &n))
		encode_array(L, b, idx, n, t, 1);
	else
		encode(L, b, idx, t, 0);
	lua_pushlstring(L, b->p ? b->p : "", b->n);
	free(b->p);
	b->p = NULL;
	lua_remove(L, -2);
}

/* bpf.json.encode(v [, map [, "key"]]): with a map, v is one of its values
 * (or keys) and is written by the map's types. */
static int json_encode(lua_State *L)
{
	bool per_cpu = false;
	const struct lbpf_type *t = NULL;
	luaL_checkany(L, 1);
	if (!lua_isnoneornil(L, 2)) {
		const char *part = luaL_optstring(L, 3, "value");
		if (strcmp(part, "key") != 0 && strcmp(part, "value") != 0)
			return luaL_argerror(L, 3, "\"key\" or \"value\"");
		t = lbpf_lua_map_type(L, 2, part[0] == 'k', &per_cpu);
	}
	lua_settop(L, 1);
	lbpf_lua_json_push(L, 1, t, per_cpu);
	return 1;
}

void lbpf_lua_json_functions(lua_State *L)
{
	luaL_newmetatable(L, JSON_BUF_MT);
	lua_pushcfunction(L, jbuf_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	lua_createtable(L, 0, 1);
	lua_pushcfunction(L, json_encode);
	lua_setfield(L, -2, "encode");
	lua_setfield(L, -2, "json");
}
