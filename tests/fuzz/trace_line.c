/* libFuzzer harness: the trace_pipe line parser (lua/trace.lua's
 * bpf.parse_trace_line). Any line gives a table whose msg is a string and
 * whose other fields are all present, with numbers where numbers belong, or
 * all absent. */
#include <lauxlib.h>
#include <lualib.h>
#include <stdlib.h>
#include <string.h>

#include "embedded.h"

extern const struct lbpf_embedded lbpf_lua_modules[];

static lua_State *setup(void)
{
	lua_State *L = luaL_newstate();
	luaL_openlibs(L);
	for (const struct lbpf_embedded *m = lbpf_lua_modules; m->name; m++) {
		if (strcmp(m->name, "trace.lua") != 0)
			continue;
		if (luaL_loadbuffer(L, m->data, m->size, "trace.lua") != LUA_OK)
			abort();
		lua_newtable(L); /* bpf */
		lua_pushvalue(L, -1);
		lua_setglobal(L, "bpf");
		lua_newtable(L); /* object methods */
		lua_newtable(L); /* map methods */
		if (lua_pcall(L, 3, 0, 0) != LUA_OK)
			abort();
		return L;
	}
	abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static lua_State *L;
	if (!L)
		L = setup();
	lua_getglobal(L, "bpf");
	lua_getfield(L, -1, "parse_trace_line");
	lua_pushlstring(L, (const char *)data, size);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1))
		abort();
	int t = lua_gettop(L);
	if (lua_getfield(L, t, "msg") != LUA_TSTRING)
		abort();
	static const char *const fields[] = {"task", "flags", "pid", "cpu", "ts"};
	static const int types[] = {LUA_TSTRING, LUA_TSTRING, LUA_TNUMBER, LUA_TNUMBER, LUA_TNUMBER};
	int present = 0;
	for (int i = 0; i < 5; i++) {
		int type = lua_getfield(L, t, fields[i]);
		if (type != LUA_TNIL && type != types[i])
			abort();
		present += type != LUA_TNIL;
	}
	if (present != 0 && present != 5)
		abort();
	lua_settop(L, 0);
	return 0;
}
