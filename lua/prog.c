/* bpf.Program: b.progs.NAME, read-only facts about a loaded program
 * (name, fd, id, type, section), valid while its object is open. */
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "binding.h"

struct lua_prog {
	struct bpf_program *prog;
};

struct bpf_program *lbpf_lua_check_prog_arg(lua_State *L, int objidx, int arg)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, objidx);

	if (lua_type(L, arg) == LUA_TSTRING) {
		const char *name = lua_tostring(L, arg);
		struct bpf_program *p = lbpf_object__prog(obj, name);
		char names[512];
		if (!p) {
			lbpf_object__prog_names(obj, names, sizeof(names));
			luaL_error(L, "no program named '%s' in this bpf object (its programs: %s)", name, names);
		}
		return p;
	}
	struct lua_prog *p = luaL_testudata(L, arg, LBPF_PROG_MT);
	if (!p)
		luaL_typeerror(L, arg, "program name or bpf.Program");
	lua_getiuservalue(L, arg, 1);
	bool same = lua_rawequal(L, -1, objidx);
	lua_pop(L, 1);
	if (!same)
		luaL_argerror(L, arg, "the program belongs to another bpf object");
	return p->prog;
}

/* p:test_run{data = bytes, repeat = n}: the program's return value and its
 * average run time in nanoseconds. */
static int prog_test_run(lua_State *L)
{
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	struct lbpf_err err = {0};
	static const char zeros[64];
	const char *data = zeros;
	size_t size = sizeof(zeros);
	lua_Integer repeat = 1;
	uint32_t retval, duration;

	lbpf_lua_owner(L, 1, "program");
	if (!lua_isnoneornil(L, 2)) {
		luaL_checktype(L, 2, LUA_TTABLE);
		if (lua_getfield(L, 2, "data") != LUA_TNIL)
			data = luaL_checklstring(L, -1, &size);
		lua_getfield(L, 2, "repeat");
		repeat = luaL_optinteger(L, -1, 1);
		luaL_argcheck(L, repeat >= 1 && repeat <= UINT32_MAX, 2, "repeat must be a positive 32-bit integer");
	}
	if (lbpf_prog__test_run(bpf_program__fd(p->prog), data, size, (uint32_t)repeat, &retval, &duration, &err))
		return lbpf_lua_raise(L, &err);
	lua_pushinteger(L, retval);
	lua_pushinteger(L, duration);
	return 2;
}

/* p:pin(path): so another process can open the program from bpffs. */
static int prog_pin(lua_State *L)
{
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	struct lbpf_err err = {0};

	lbpf_lua_owner(L, 1, "program");
	if (lbpf_prog__pin(bpf_program__fd(p->prog), lbpf_lua_checkcstring(L, 2, "the pin path"), &err))
		return lbpf_lua_raise(L, &err);
	return 0;
}

static int prog_index(lua_State *L)
{
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	const char *key = luaL_checkstring(L, 2);

	lbpf_lua_owner(L, 1, "program");
	if (strcmp(key, "test_run") == 0)
		lua_pushcfunction(L, prog_test_run);
	else if (strcmp(key, "pin") == 0)
		lua_pushcfunction(L, prog_pin);
	else if (strcmp(key, "name") == 0)
		lua_pushstring(L, bpf_program__name(p->prog));
	else if (strcmp(key, "fd") == 0)
		lua_pushinteger(L, bpf_program__fd(p->prog));
	else if (strcmp(key, "type") == 0)
		lua_pushstring(L, libbpf_bpf_prog_type_str(bpf_program__type(p->prog)));
	else if (strcmp(key, "section") == 0)
		lua_pushstring(L, bpf_program__section_name(p->prog));
	else if (strcmp(key, "id") == 0) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(p->prog), &info, &len) != 0)
			return luaL_error(L, "program '%s': cannot read its id", bpf_program__name(p->prog));
		lua_pushinteger(L, info.id);
	} else
		return luaL_error(L, "bpf.Program has no field '%s' (it has: name, fd, id, type, section, test_run, pin)",
				  key);
	return 1;
}

static int prog_tostring(lua_State *L)
{
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	lua_getiuservalue(L, 1, 1);
	struct lua_object *o = lua_touserdata(L, -1);
	if (!o || !o->obj)
		lua_pushfstring(L, "bpf.Program (closed): %p", (void *)p);
	else
		lua_pushfstring(L, "bpf.Program %s (%s, SEC(\"%s\")): %p", bpf_program__name(p->prog),
				libbpf_bpf_prog_type_str(bpf_program__type(p->prog)),
				bpf_program__section_name(p->prog), (void *)p);
	return 1;
}

void lbpf_lua_push_prog(lua_State *L, int objidx, struct bpf_program *prog)
{
	struct lua_prog *p = lbpf_lua_push_child(L, objidx, LBPF_UV_PROGS, bpf_program__name(prog), sizeof(*p),
						 LBPF_PROG_MT);
	if (p)
		p->prog = prog;
}

void lbpf_lua_open_prog(lua_State *L)
{
	static const luaL_Reg meta[] = {{"__index", prog_index}, {"__tostring", prog_tostring}, {NULL, NULL}};
	luaL_newmetatable(L, LBPF_PROG_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}
