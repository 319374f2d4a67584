/* Batched delivery (b:ring_buffer with opts.batch): one callback call for up
 * to LBPF_BATCH_MAX records, which it gets as a reused array of reused
 * records (lua/event_record.c), or of byte strings for raw records. The
 * array and its records are valid only during the call, like single ones. */
#include <string.h>

#include "binding.h"

/* Batch userdata user values. */
enum { BATCH_ARRAY = 1, BATCH_POOL, BATCH_UV_COUNT = BATCH_POOL };

struct batch {
	const struct lbpf_type *type; /* NULL: records are raw bytes */
	int npool;		      /* records made so far */
	int last_n;		      /* the array's length after the last call */
	/* Stack slots while a poll runs. */
	int array, pool;
	int nslots;
	struct lbpf_record_slots slots[LBPF_BATCH_MAX];
};

void lbpf_lua_batch_new(lua_State *L, const struct lbpf_type *t)
{
	struct batch *b = lua_newuserdatauv(L, sizeof(*b), BATCH_UV_COUNT);
	memset(b, 0, sizeof(*b));
	b->type = t;
	lua_createtable(L, 64, 0);
	lua_setiuservalue(L, -2, BATCH_ARRAY);
	lua_createtable(L, 64, 0);
	lua_setiuservalue(L, -2, BATCH_POOL);
}

struct batch *lbpf_lua_batch_prepare(lua_State *L, int bidx)
{
	bidx = lua_absindex(L, bidx);
	struct batch *b = lua_touserdata(L, bidx);
	luaL_checkstack(L, 2 + 4 * b->npool, "too many event records");
	lua_getiuservalue(L, bidx, BATCH_ARRAY);
	b->array = lua_gettop(L);
	lua_getiuservalue(L, bidx, BATCH_POOL);
	b->pool = lua_gettop(L);
	b->nslots = 0;
	for (int i = 1; i <= b->npool; i++) {
		lua_rawgeti(L, b->pool, i);
		lbpf_lua_record_slots(L, -1, i > 1 ? b->slots[0].keys : 0, &b->slots[b->nslots++]);
	}
	return b;
}

/* Records up to n, made now: their slots stay on the stack until the poll ends. */
static void grow_pool(lua_State *L, struct batch *b, int n)
{
	while (b->npool < n) {
		luaL_checkstack(L, 4, "too many event records");
		lbpf_lua_record_new(L, b->type);
		lua_pushvalue(L, -1);
		lua_rawseti(L, b->pool, ++b->npool);
		lbpf_lua_record_slots(L, -1, b->nslots ? b->slots[0].keys : 0, &b->slots[b->nslots]);
		b->nslots++;
	}
}

void lbpf_lua_batch_begin(lua_State *L, struct batch *b, const struct lbpf_event *events, int n)
{
	if (b->type)
		grow_pool(L, b, n);
	for (int i = 0; i < n; i++) {
		if (b->type) {
			lbpf_lua_record_begin(L, &b->slots[i], events[i].data, events[i].size);
			lua_pushvalue(L, b->slots[i].proxy);
		} else {
			lua_pushlstring(L, events[i].data, events[i].size);
		}
		lua_rawseti(L, b->array, i + 1);
	}
	for (int i = n + 1; i <= b->last_n; i++) {
		lua_pushnil(L);
		lua_rawseti(L, b->array, i);
	}
	b->last_n = n;
	lua_pushvalue(L, b->array);
}

void lbpf_lua_batch_end(lua_State *L, struct batch *b, int n)
{
	for (int i = 0; b->type && i < n; i++)
		lbpf_lua_record_end(L, &b->slots[i]);
}
