/* Lua errors from runtime errors. A verifier rejection becomes a bpf.Error
 * object carrying the whole log; it prints and matches like a string. */
#include <stdarg.h>
#include <string.h>

#include "binding.h"

static int error_tostring(lua_State *L)
{
	lua_getfield(L, 1, "message");
	return 1;
}

/* err:match(...), err:find(...): string methods apply to the message. */
static int call_on_message(lua_State *L)
{
	int n = lua_gettop(L);
	lua_pushvalue(L, lua_upvalueindex(1));
	lua_getfield(L, 1, "message");
	for (int i = 2; i <= n; i++)
		lua_pushvalue(L, i);
	lua_call(L, n, LUA_MULTRET);
	return lua_gettop(L) - n;
}

static int error_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);
	lua_getglobal(L, "string");
	if (!lua_istable(L, -1) || lua_getfield(L, -1, key) != LUA_TFUNCTION)
		return 0;
	lua_pushcclosure(L, call_on_message, 1);
	return 1;
}

static int error_concat(lua_State *L)
{
	luaL_tolstring(L, 1, NULL);
	luaL_tolstring(L, 2, NULL);
	lua_concat(L, 2);
	return 1;
}

void lbpf_lua_open_error(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__tostring", error_tostring},
		{"__index", error_index},
		{"__concat", error_concat},
		{NULL, NULL},
	};
	luaL_newmetatable(L, LBPF_ERROR_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}

/* luaL_where for the script's own call: the embedded modules ("=bcc.lua")
 * that wrap a method are not where the user's mistake is. */
static void where(lua_State *L)
{
	lua_Debug ar;
	for (int level = 1; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "S", &ar))
			break;
		size_t n = strlen(ar.source);
		if (ar.source[0] == '=' && n > 4 && strcmp(ar.source + n - 4, ".lua") == 0)
			continue;
		luaL_where(L, level);
		return;
	}
	luaL_where(L, 1);
}

int lbpf_lua_error(lua_State *L, const char *fmt, ...)
{
	va_list ap;
	where(L);
	va_start(ap, fmt);
	lua_pushvfstring(L, fmt, ap);
	va_end(ap);
	lua_concat(L, 2);
	return lua_error(L);
}

const char *lbpf_lua_checkcstring(lua_State *L, int idx, const char *what)
{
	size_t len;
	if (lua_type(L, idx) != LUA_TSTRING)
		lbpf_lua_error(L, "%s must be a string, got %s", what, luaL_typename(L, idx));
	const char *s = lua_tolstring(L, idx, &len);
	if (strlen(s) != len)
		lbpf_lua_error(L, "%s must not contain a NUL byte (\\0): \"%s\\0...\"", what, s);
	return s;
}

int lbpf_lua_raise(lua_State *L, struct lbpf_err *err)
{
	if (!err->log) {
		where(L);
		lua_pushstring(L, err->msg);
		lua_concat(L, 2);
		return lua_error(L);
	}
	lua_createtable(L, 0, 3);
	where(L);
	lua_pushstring(L, err->msg);
	lua_concat(L, 2);
	lua_setfield(L, -2, "message");
	lua_pushstring(L, err->log);
	lua_setfield(L, -2, "log");
	lua_pushstring(L, err->prog);
	lua_setfield(L, -2, "program");
	luaL_setmetatable(L, LBPF_ERROR_MT);
	lbpf_err__free(err);
	return lua_error(L);
}
