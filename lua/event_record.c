/* The reused record an event callback receives for a struct: an empty proxy
 * table whose metatable is a values table (its own __index), into which each
 * record's scalar fields are decoded before the callback runs. Reading
 * ev.field is then a table lookup, no metamethod call; strings, arrays and
 * nested structs are decoded only when read. Outside its callback the proxy
 * gets a metatable whose every access is an error, so a kept event cannot be
 * read. */
#include <string.h>

#include "binding.h"

/* Scalars past this many are decoded when read, like the rest. */
#define MAX_EAGER 16

/* Record userdata user values. */
enum { REC_PROXY = 1, REC_VALUES, REC_DEAD, REC_NAMES, REC_UV_COUNT = REC_NAMES };

struct record {
	const uint8_t *data; /* NULL outside the callback */
	size_t size;
	const struct lbpf_type *type;
	uint32_t neager;
	uint32_t eager[MAX_EAGER]; /* field indexes */
};

static const char *const outside = "this event is only valid inside its callback; keep a copy with ev:table()";

static struct record *live_record(lua_State *L)
{
	struct record *r = lua_touserdata(L, lua_upvalueindex(1));
	if (!r->data)
		luaL_error(L, "%s", outside);
	return r;
}

static int record_table(lua_State *L)
{
	struct record *r = live_record(L);
	lbpf_codec_push(L, r->type, r->data);
	return 1;
}

static int record_len(lua_State *L)
{
	lua_pushinteger(L, (lua_Integer)live_record(L)->size);
	return 1;
}

static int record_pairs(lua_State *L)
{
	struct record *r = live_record(L);
	lua_getglobal(L, "next");
	lbpf_codec_push(L, r->type, r->data);
	lua_pushnil(L);
	return 3;
}

/* bpf.json.encode's hook: the record by its type, u64s unsigned. */
static int record_json(lua_State *L)
{
	struct record *r = live_record(L);
	lbpf_codec_push(L, r->type, r->data);
	lbpf_lua_json_push(L, -1, r->type, false);
	return 1;
}

static int record_newindex(lua_State *L)
{
	return luaL_error(L, "events are read-only; copy one with ev:table()");
}

static int record_dead(lua_State *L)
{
	return luaL_error(L, "%s", outside);
}

/* The values table's __index: what was not decoded ahead (upvalue 2 maps
 * field names to their indexes), ev:table(), or an error naming the fields. */
static int values_index(lua_State *L)
{
	struct record *r = live_record(L);
	lua_pushvalue(L, 2);
	if (lua_rawget(L, lua_upvalueindex(2)) == LUA_TNUMBER) {
		lbpf_codec_push_field(L, &r->type->fields[lua_tointeger(L, -1)], r->data);
		return 1;
	}
	if (lua_type(L, 2) == LUA_TSTRING && strcmp(lua_tostring(L, 2), "table") == 0) {
		lua_pushvalue(L, lua_upvalueindex(1));
		lua_pushcclosure(L, record_table, 1);
		return 1;
	}
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (uint32_t i = 0; i < r->type->nfields; i++) {
		luaL_addstring(&b, i ? ", " : "");
		luaL_addstring(&b, r->type->fields[i].name);
	}
	luaL_pushresult(&b);
	const char *fields = lua_tostring(L, -1);
	const char *key = luaL_tolstring(L, 2, NULL);
	return luaL_error(L, "the event (%s) has no field '%s' (its fields: %s)", r->type->name, key, fields);
}

static bool is_scalar(const struct lbpf_field *f)
{
	enum lbpf_type_kind k = f->type->kind;
	return k == LBPF_T_INT || k == LBPF_T_UINT || k == LBPF_T_BOOL || k == LBPF_T_FLOAT;
}

/* Sets field fn of the table on top to a closure over the record at ridx. */
static void set_closure(lua_State *L, int ridx, const char *field, lua_CFunction fn)
{
	lua_pushvalue(L, ridx);
	lua_pushcclosure(L, fn, 1);
	lua_setfield(L, -2, field);
}

void lbpf_lua_record_new(lua_State *L, const struct lbpf_type *t)
{
	struct record *r = lua_newuserdatauv(L, sizeof(*r), REC_UV_COUNT);
	int ridx = lua_gettop(L);
	memset(r, 0, sizeof(*r));
	r->type = t;

	lua_createtable(L, 0, (int)t->nfields);
	for (uint32_t i = 0; i < t->nfields; i++) {
		lua_pushinteger(L, i);
		lua_setfield(L, -2, t->fields[i].name);
		if (is_scalar(&t->fields[i]) && r->neager < MAX_EAGER)
			r->eager[r->neager++] = i;
	}
	int names = lua_gettop(L);

	/* The values, which are the live metatable too, with the lazy rest
	 * behind them. */
	lua_createtable(L, 0, (int)r->neager + 5);
	lua_pushvalue(L, -1);
	lua_setfield(L, -2, "__index");
	set_closure(L, ridx, "__len", record_len);
	set_closure(L, ridx, "__pairs", record_pairs);
	set_closure(L, ridx, "__json", record_json);
	lua_pushcfunction(L, record_newindex);
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, "bpf.Event");
	lua_setfield(L, -2, "__metatable");
	lua_createtable(L, 0, 1);
	lua_pushvalue(L, ridx);
	lua_pushvalue(L, names);
	lua_pushcclosure(L, values_index, 2);
	lua_setfield(L, -2, "__index");
	lua_setmetatable(L, -2);
	lua_setiuservalue(L, ridx, REC_VALUES);

	lua_createtable(L, 0, 5); /* dead */
	lua_pushcfunction(L, record_dead);
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "__index");
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "__len");
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "__pairs");
	lua_pushvalue(L, -1);
	lua_setfield(L, -3, "__json");
	lua_setfield(L, -2, "__newindex");
	lua_pushliteral(L, "bpf.Event");
	lua_setfield(L, -2, "__metatable");
	lua_newtable(L); /* the proxy, dead until a callback */
	lua_pushvalue(L, -2);
	lua_setmetatable(L, -2);
	lua_setiuservalue(L, ridx, REC_PROXY);
	lua_setiuservalue(L, ridx, REC_DEAD);

	lua_setiuservalue(L, ridx, REC_NAMES);
}

void lbpf_lua_record_slots(lua_State *L, int ridx, int keys, struct lbpf_record_slots *s)
{
	ridx = lua_absindex(L, ridx);
	s->r = lua_touserdata(L, ridx);
	luaL_checkstack(L, 3 + (int)s->r->neager, "too many event records");
	lua_getiuservalue(L, ridx, REC_PROXY);
	s->proxy = lua_gettop(L);
	lua_getiuservalue(L, ridx, REC_VALUES);
	s->values = lua_gettop(L);
	lua_getiuservalue(L, ridx, REC_DEAD);
	s->dead = lua_gettop(L);
	/* The decoded fields' names, so that setting them needs no lookup of
	 * the strings (lua_setfield's cache compares them with strcmp). */
	s->keys = keys;
	if (!keys) {
		s->keys = lua_gettop(L) + 1;
		for (uint32_t i = 0; i < s->r->neager; i++)
			lua_pushstring(L, s->r->type->fields[s->r->eager[i]].name);
	}
}

void lbpf_lua_record_begin(lua_State *L, const struct lbpf_record_slots *s, const void *data, size_t size)
{
	struct record *r = s->r;
	r->data = data;
	r->size = size;
	for (uint32_t i = 0; i < r->neager; i++) {
		const struct lbpf_field *f = &r->type->fields[r->eager[i]];
		lua_pushvalue(L, s->keys + (int)i);
		/* Whole unsigned integers, the common case, without the codec's switch. */
		if (f->type->kind == LBPF_T_UINT && !f->bit_size && f->type->size <= 8)
			lua_pushinteger(L, (lua_Integer)lbpf_read_uint(r->data + f->bit_offset / 8, f->type->size));
		else
			lbpf_codec_push_field(L, f, r->data);
		lua_rawset(L, s->values);
	}
	lua_pushvalue(L, s->values);
	lua_setmetatable(L, s->proxy);
}

void lbpf_lua_record_end(lua_State *L, const struct lbpf_record_slots *s)
{
	lua_pushvalue(L, s->dead);
	lua_setmetatable(L, s->proxy);
	s->r->data = NULL;
}
