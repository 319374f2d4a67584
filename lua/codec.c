/* Map bytes to Lua values and back, walking a layout compiled from BTF:
 * integers, booleans, floats, strings for char arrays, arrays, and tables
 * keyed by field name for structs and unions (bitfields included). */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "binding.h"

/* Errors name where in the value the problem is: "key.comm", "value[3].ts". */
struct path {
	const char *prefix; /* "map 'counts': value" */
	char buf[256];
};

/* Appends ".name" or "[index]" to the path; *mark is where to cut it back. */
static void path_field(struct path *p, size_t *mark, const char *name)
{
	*mark = strlen(p->buf);
	snprintf(p->buf + *mark, sizeof(p->buf) - *mark, ".%s", name);
}

static void path_index(struct path *p, size_t *mark, lua_Integer index)
{
	*mark = strlen(p->buf);
	snprintf(p->buf + *mark, sizeof(p->buf) - *mark, "[%lld]", (long long)index);
}

static int fail(lua_State *L, struct path *p, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int fail(lua_State *L, struct path *p, const char *fmt, ...)
{
	char detail[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(detail, sizeof(detail), fmt, ap);
	va_end(ap);
	return luaL_error(L, "%s%s: %s", p->prefix, p->buf, detail);
}

static int64_t sign_extend(uint64_t v, uint32_t bits)
{
	if (bits >= 64)
		return (int64_t)v;
	uint64_t sign = 1ull << (bits - 1);
	return (int64_t)((v ^ sign) - sign);
}

static uint64_t read_bits(const uint8_t *base, uint32_t off, uint32_t n)
{
	uint64_t v = 0;
	for (uint32_t i = 0; i < n; i++, off++)
		v |= (uint64_t)((base[off / 8] >> (off % 8)) & 1) << i;
	return v;
}

static void write_bits(uint8_t *base, uint32_t off, uint32_t n, uint64_t v)
{
	for (uint32_t i = 0; i < n; i++, off++) {
		uint8_t bit = 1u << (off % 8);
		base[off / 8] = ((v >> i) & 1) ? (base[off / 8] | bit) : (base[off / 8] & ~bit);
	}
}

static void push_bitfield(lua_State *L, const struct lbpf_field *f, const uint8_t *base)
{
	uint64_t v = read_bits(base, f->bit_offset, f->bit_size);
	if (f->type->kind == LBPF_T_BOOL)
		lua_pushboolean(L, v != 0);
	else
		lua_pushinteger(L, f->type->kind == LBPF_T_INT ? sign_extend(v, f->bit_size) : (lua_Integer)v);
}

void lbpf_codec_push_field(lua_State *L, const struct lbpf_field *f, const void *base)
{
	if (f->bit_size)
		push_bitfield(L, f, base);
	else
		lbpf_codec_push(L, f->type, (const uint8_t *)base + f->bit_offset / 8);
}

void lbpf_codec_push(lua_State *L, const struct lbpf_type *t, const void *data)
{
	const uint8_t *p = data;

	switch (t->kind) {
	case LBPF_T_UINT:
		lua_pushinteger(L, (lua_Integer)lbpf_read_uint(p, t->size));
		break;
	case LBPF_T_INT:
		lua_pushinteger(L, sign_extend(lbpf_read_uint(p, t->size), t->size * 8));
		break;
	case LBPF_T_BOOL:
		lua_pushboolean(L, lbpf_read_uint(p, t->size) != 0);
		break;
	case LBPF_T_FLOAT:
		if (t->size == 4) {
			float f;
			memcpy(&f, p, 4);
			lua_pushnumber(L, f);
		} else {
			double d;
			memcpy(&d, p, 8);
			lua_pushnumber(L, d);
		}
		break;
	case LBPF_T_CHARS:
		lua_pushlstring(L, (const char *)p, strnlen((const char *)p, t->size));
		break;
	case LBPF_T_ARRAY: {
		luaL_checkstack(L, 4, "value nested too deeply");
		lua_createtable(L, (int)t->count, 0);
		for (uint32_t i = 0; i < t->count; i++) {
			lbpf_codec_push(L, t->elem, p + (size_t)i * t->elem->size);
			lua_rawseti(L, -2, (lua_Integer)i + 1);
		}
		break;
	}
	case LBPF_T_STRUCT:
	case LBPF_T_UNION:
		luaL_checkstack(L, 4, "value nested too deeply");
		lua_createtable(L, 0, (int)t->nfields);
		for (uint32_t i = 0; i < t->nfields; i++) {
			lbpf_codec_push_field(L, &t->fields[i], p);
			lua_setfield(L, -2, t->fields[i].name);
		}
		break;
	case LBPF_T_BYTES:
		lua_pushlstring(L, (const char *)p, t->size);
		break;
	}
}

/* The integer at idx, range-checked for an integer of bits bits. */
static uint64_t check_int(lua_State *L, int idx, struct path *path, const struct lbpf_type *t, uint32_t bits)
{
	int isint;
	lua_Integer v = lua_tointegerx(L, idx, &isint);

	if (lua_type(L, idx) == LUA_TSTRING)
		isint = 0; /* "10" is not 10 here: a string key is a different key */
	if (t->kind == LBPF_T_BOOL) {
		if (lua_isboolean(L, idx))
			return lua_toboolean(L, idx);
		if (!isint || (v != 0 && v != 1))
			fail(L, path, "expected a boolean, got %s", luaL_typename(L, idx));
		return (uint64_t)v;
	}
	if (!isint)
		fail(L, path, "expected an integer for %s, got %s", t->name,
		     lua_type(L, idx) == LUA_TNUMBER ? "a number with a fraction" : luaL_typename(L, idx));
	if (bits < 64) {
		bool sign = t->kind == LBPF_T_INT;
		lua_Integer lo = sign ? -((lua_Integer)1 << (bits - 1)) : 0;
		lua_Integer hi = sign ? ((lua_Integer)1 << (bits - 1)) - 1 : ((lua_Integer)1 << bits) - 1;
		if (v < lo || v > hi)
			fail(L, path, "%lld is out of range for %s (%lld to %lld)", (long long)v, t->name, (long long)lo,
			     (long long)hi);
	}
	return (uint64_t)v;
}

static void encode(lua_State *L, int idx, const struct lbpf_type *t, uint8_t *p, struct path *path);

static void encode_fields(lua_State *L, int idx, const struct lbpf_type *t, uint8_t *p, struct path *path)
{
	for (lua_pushnil(L); lua_next(L, idx); lua_pop(L, 1)) {
		if (lua_type(L, -2) != LUA_TSTRING)
			fail(L, path, "%s has only named fields, got a %s key", t->name, luaL_typename(L, -2));
		const char *name = lua_tostring(L, -2);
		const struct lbpf_field *f = NULL;
		for (uint32_t i = 0; i < t->nfields && !f; i++)
			if (strcmp(t->fields[i].name, name) == 0)
				f = &t->fields[i];
		if (!f) {
			luaL_Buffer b;
			luaL_buffinit(L, &b);
			for (uint32_t i = 0; i < t->nfields; i++) {
				luaL_addstring(&b, i ? ", " : "");
				luaL_addstring(&b, t->fields[i].name);
			}
			luaL_pushresult(&b);
			luaL_error(L, "%s%s: %s has no field '%s' (its fields: %s)", path->prefix, path->buf, t->name,
				   name, lua_tostring(L, -1));
		}
		size_t mark;
		path_field(path, &mark, f->name);
		if (f->bit_size)
			write_bits(p, f->bit_offset, f->bit_size, check_int(L, lua_gettop(L), path, f->type, f->bit_size));
		else
			encode(L, lua_gettop(L), f->type, p + f->bit_offset / 8, path);
		path->buf[mark] = '\0';
	}
}

static void encode(lua_State *L, int idx, const struct lbpf_type *t, uint8_t *p, struct path *path)
{
	switch (t->kind) {
	case LBPF_T_INT:
	case LBPF_T_UINT:
	case LBPF_T_BOOL: {
		uint64_t v = check_int(L, idx, path, t, t->size * 8);
		memcpy(p, &v, t->size); /* little-endian: the low bytes */
		break;
	}
	case LBPF_T_FLOAT: {
		if (lua_type(L, idx) != LUA_TNUMBER)
			fail(L, path, "expected a number for %s, got %s", t->name, luaL_typename(L, idx));
		double d = lua_tonumber(L, idx);
		float f = (float)d;
		memcpy(p, t->size == 4 ? (void *)&f : (void *)&d, t->size);
		break;
	}
	case LBPF_T_CHARS: {
		size_t len;
		if (lua_type(L, idx) != LUA_TSTRING)
			fail(L, path, "expected a string for %s, got %s", t->name, luaL_typename(L, idx));
		const char *s = lua_tolstring(L, idx, &len);
		if (len > t->size)
			fail(L, path, "a string of %zu bytes does not fit in %s", len, t->name);
		memcpy(p, s, len);
		break;
	}
	case LBPF_T_ARRAY: {
		if (lua_type(L, idx) == LUA_TSTRING && t->elem->size == 1) {
			size_t len;
			const char *s = lua_tolstring(L, idx, &len);
			if (len > t->count)
				fail(L, path, "a string of %zu bytes does not fit in %s", len, t->name);
			memcpy(p, s, len);
			break;
		}
		if (!lua_istable(L, idx))
			fail(L, path, "expected a table (array) for %s, got %s", t->name, luaL_typename(L, idx));
		lua_Unsigned n = lua_rawlen(L, idx);
		if (n > t->count)
			fail(L, path, "an array of %llu elements does not fit in %s", (unsigned long long)n, t->name);
		for (lua_Unsigned i = 1; i <= n; i++) {
			size_t mark;
			path_index(path, &mark, (lua_Integer)i);
			lua_rawgeti(L, idx, (lua_Integer)i);
			if (!lua_isnil(L, -1))
				encode(L, lua_gettop(L), t->elem, p + (i - 1) * t->elem->size, path);
			lua_pop(L, 1);
			path->buf[mark] = '\0';
		}
		break;
	}
	case LBPF_T_STRUCT:
	case LBPF_T_UNION:
		if (!lua_istable(L, idx))
			fail(L, path, "expected a table for %s, got %s", t->name, luaL_typename(L, idx));
		luaL_checkstack(L, 4, "value nested too deeply");
		encode_fields(L, idx, t, p, path);
		break;
	case LBPF_T_BYTES: {
		size_t len;
		if (lua_type(L, idx) == LUA_TNUMBER && (t->size == 1 || t->size == 2 || t->size == 4 || t->size == 8)) {
			struct lbpf_type as_int = {.kind = LBPF_T_UINT, .size = t->size, .name = "integer"};
			uint64_t v = check_int(L, idx, path, &as_int, t->size == 8 ? 64 : t->size * 8);
			memcpy(p, &v, t->size);
			break;
		}
		if (lua_type(L, idx) != LUA_TSTRING)
			fail(L, path, "expected a string of %u bytes, got %s", t->size, luaL_typename(L, idx));
		const char *s = lua_tolstring(L, idx, &len);
		if (len != t->size)
			fail(L, path, "expected exactly %u bytes, got %zu", t->size, len);
		memcpy(p, s, len);
		break;
	}
	}
}

void lbpf_codec_encode(lua_State *L, int idx, const struct lbpf_type *t, void *data, const char *prefix)
{
	struct path path = {.prefix = prefix};
	memset(data, 0, t->size);
	encode(L, lua_absindex(L, idx), t, data, &path);
}
