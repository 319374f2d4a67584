/* The process a script targets (luabpf -p PID, -c CMD): the pid every
 * object's FILTER_TARGET() compares with, a command held until the script
 * first waits (so it runs only once probes are attached), and its exit
 * ending that wait. */
#include "binding.h"

#define TARGET_KEY "luabpf.target_pid"
#define BEFORE_WAIT_KEY "luabpf.before_wait"
#define TARGET_GLOBAL "__luabpf_target_pid"

/* bpf.set_target(pid [, release]): release, a function, runs once when the
 * script first waits; with it, pid is a child whose exit ends the wait. */
static int bpf_set_target(lua_State *L)
{
	lua_Integer pid = luaL_checkinteger(L, 1);
	luaL_argcheck(L, pid > 0 && pid <= 0x3fffffff, 1, "a process id");
	bool child = !lua_isnoneornil(L, 2);
	if (child)
		luaL_checktype(L, 2, LUA_TFUNCTION);
	lua_pushinteger(L, pid);
	lua_setfield(L, LUA_REGISTRYINDEX, TARGET_KEY);
	if (child)
		lua_pushvalue(L, 2);
	else
		lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, BEFORE_WAIT_KEY);
	lbpf_stop__watch_child(child ? (pid_t)pid : 0);
	return 0;
}

/* bpf.target(): the pid luabpf -p or -c gave, or nil. */
static int bpf_target(lua_State *L)
{
	lua_getfield(L, LUA_REGISTRYINDEX, TARGET_KEY);
	return 1;
}

void lbpf_lua_before_wait(lua_State *L)
{
	if (lua_getfield(L, LUA_REGISTRYINDEX, BEFORE_WAIT_KEY) != LUA_TFUNCTION) {
		lua_pop(L, 1);
		return;
	}
	lua_pushnil(L);
	lua_setfield(L, LUA_REGISTRYINDEX, BEFORE_WAIT_KEY);
	lua_call(L, 0, 0);
}

void lbpf_lua_apply_target(lua_State *L, int objidx, const struct lbpf_object *obj)
{
	struct lbpf_global g;
	struct lbpf_err err = {0};

	if (lua_getfield(L, LUA_REGISTRYINDEX, TARGET_KEY) == LUA_TNUMBER &&
	    lbpf_object__global(obj, TARGET_GLOBAL, &g, &err) == 0)
		lbpf_lua_global_set(L, objidx, TARGET_GLOBAL, lua_gettop(L), "the target ");
	lua_pop(L, 1);
}

void lbpf_lua_target_functions(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"set_target", bpf_set_target},
		{"target", bpf_target},
		{NULL, NULL},
	};
	luaL_setfuncs(L, funcs, 0);
}
