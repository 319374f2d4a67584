/* bpf.Program: b.progs.NAME, read-only facts about a loaded program
 * (name, fd, id, type, section), valid while its object is open. */
#include <stdint.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "binding.h"

struct lua_prog {
	struct bpf_program *prog;
};

struct bpf_program *lbpf_lua_check_prog_arg(lua_State *L, int objidx, int arg)
{
	struct lbpf_object *obj = lbpf_lua_check_open(L, objidx);

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

/* An integer option in [lo, hi], or dflt when absent. */
static lua_Integer opt_range(lua_State *L, const char *key, lua_Integer dflt, lua_Integer lo, lua_Integer hi)
{
	if (lua_getfield(L, 2, key) == LUA_TNIL) {
		lua_pop(L, 1);
		return dflt;
	}
	if (!lua_isinteger(L, -1) || lua_tointeger(L, -1) < lo || lua_tointeger(L, -1) > hi)
		luaL_error(L, "test_run: '%s' must be an integer from %I to %I", key, lo, hi);
	lua_Integer v = lua_tointeger(L, -1);
	lua_pop(L, 1);
	return v;
}

/* A bytes option: NULL when absent. */
static const char *opt_bytes(lua_State *L, const char *key, size_t *size)
{
	*size = 0;
	if (lua_getfield(L, 2, key) == LUA_TNIL)
		return NULL;
	if (lua_type(L, -1) != LUA_TSTRING)
		luaL_error(L, "test_run: '%s' must be a string of bytes (string.pack makes one), got %s", key,
			   luaL_typename(L, -1));
	return lua_tolstring(L, -1, size); /* stays on the stack, so alive */
}

/* p:test_run{data=, ctx=, repeat=, flags=, cpu=, data_out=}: the program's
 * return value, its average run time in nanoseconds, and the packet and
 * context as the program left them (data_out = true; ctx_out when ctx was
 * given). Without data or ctx the program sees 64 zero bytes. */
static int prog_test_run(lua_State *L)
{
	static const char *const known[] = {"data", "ctx", "repeat", "flags", "cpu", "data_out", NULL};
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	struct lbpf_test_run t = {0};
	struct lbpf_err err = {0};
	static const char zeros[64];
	bool data_out = false;

	if (!lbpf_object__loaded(lbpf_lua_owner(L, 1, "program")))
		return luaL_error(L, "program '%s' is not loaded yet: call b:load() first", bpf_program__name(p->prog));
	if (lua_isnoneornil(L, 2))
		lua_newtable(L);
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_settop(L, 2);
	for (lua_pushnil(L); lua_next(L, 2); lua_pop(L, 1)) {
		int i = 0;
		while (known[i] && !(lua_type(L, -2) == LUA_TSTRING && strcmp(lua_tostring(L, -2), known[i]) == 0))
			i++;
		if (!known[i])
			return luaL_error(L, "test_run: unknown option '%s' (it takes data, ctx, repeat, flags, cpu, "
					     "data_out)", luaL_tolstring(L, -2, NULL));
	}
	t.repeat = (uint32_t)opt_range(L, "repeat", 0, 1, UINT32_MAX);
	t.flags = (uint32_t)opt_range(L, "flags", 0, 0, UINT32_MAX);
	lua_Integer cpu = opt_range(L, "cpu", -1, 0, INT32_MAX);
	if (cpu >= 0) {
		t.cpu = (uint32_t)cpu;
		t.flags |= BPF_F_TEST_RUN_ON_CPU;
	}
	lua_getfield(L, 2, "data_out");
	data_out = lua_toboolean(L, -1);
	t.data = opt_bytes(L, "data", &t.data_size);
	t.ctx = opt_bytes(L, "ctx", &t.ctx_size);
	if (!t.data && !t.ctx) {
		t.data = zeros;
		t.data_size = sizeof(zeros);
	}
	/* Room for a packet the program grew (XDP and TC may add a page). */
	if (data_out) {
		t.data_out_size = t.data_size + 4096;
		t.data_out = lua_newuserdatauv(L, t.data_out_size, 0);
	}
	if (t.ctx) {
		t.ctx_out_size = t.ctx_size;
		t.ctx_out = lua_newuserdatauv(L, t.ctx_out_size ? t.ctx_out_size : 1, 0);
	}
	if (lbpf_prog__test_run(bpf_program__fd(p->prog), bpf_program__type(p->prog), &t, &err))
		return lbpf_lua_raise(L, &err);
	lua_pushinteger(L, t.retval);
	lua_pushinteger(L, t.duration_ns);
	bool ctx_out = t.ctx && t.ctx_out_size;
	if (data_out)
		lua_pushlstring(L, t.data_out, t.data_out_size);
	else if (ctx_out)
		lua_pushnil(L);
	if (ctx_out)
		lua_pushlstring(L, t.ctx_out, t.ctx_out_size);
	return ctx_out ? 4 : data_out ? 3 : 2;
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

/* p:unpin(path): removes the program's pin (only a pin on a BPF file system). */
static int prog_unpin(lua_State *L)
{
	struct lbpf_err err = {0};

	luaL_checkudata(L, 1, LBPF_PROG_MT);
	lbpf_lua_owner(L, 1, "program");
	if (lbpf_bpffs__unpin(lbpf_lua_checkcstring(L, 2, "the pin path"), &err))
		return lbpf_lua_raise(L, &err);
	return 0;
}

/* p:set_attach_target(name): the kernel function an fentry, fexit, fmod_ret
 * or freplace program attaches to, chosen before b:load(). */
static int prog_set_attach_target(lua_State *L)
{
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	const char *name = lbpf_lua_checkcstring(L, 2, "set_attach_target: the function name");
	if (lbpf_object__loaded(lbpf_lua_owner(L, 1, "program")))
		return luaL_error(L, "program '%s' is loaded: set its attach target before b:load()",
				  bpf_program__name(p->prog));
	int ret = bpf_program__set_attach_target(p->prog, 0, name);
	if (ret)
		return luaL_error(L, "program '%s': cannot attach to '%s': %s", bpf_program__name(p->prog), name,
				  lbpf_strerror(-ret));
	return 0;
}

/* The kernel's name of a program type ("xdp", "sched_cls"), or -1. */
static int prog_type_by_name(const char *name)
{
	for (int t = 0; libbpf_bpf_prog_type_str(t); t++)
		if (strcmp(libbpf_bpf_prog_type_str(t), name) == 0)
			return t;
	return -1;
}

/* Before b:load(): p.autoload = false leaves bpf.open's program out of the
 * load (as a tool leaves out the twin this kernel cannot run); p.type =
 * "sched_cls" loads it as another type than its section says. */
static int prog_newindex(lua_State *L)
{
	struct lua_prog *p = luaL_checkudata(L, 1, LBPF_PROG_MT);
	const char *key = luaL_checkstring(L, 2);
	struct lbpf_object *obj = lbpf_lua_owner(L, 1, "program");

	if (strcmp(key, "autoload") != 0 && strcmp(key, "type") != 0)
		return luaL_error(L, "bpf.Program: only 'autoload' and 'type' can be set (before b:load())");
	if (lbpf_object__loaded(obj))
		return luaL_error(L, "program '%s' is loaded: set %s before b:load()", bpf_program__name(p->prog), key);
	if (key[0] == 'a') {
		if (!lua_isboolean(L, 3))
			return luaL_error(L, "program '%s': autoload must be true or false", bpf_program__name(p->prog));
		bpf_program__set_autoload(p->prog, lua_toboolean(L, 3));
		return 0;
	}
	int type = lua_type(L, 3) == LUA_TSTRING ? prog_type_by_name(lua_tostring(L, 3)) : -1;
	if (type < 0)
		return luaL_error(L, "program '%s': type must be a program type's name, such as \"xdp\", "
				     "\"sched_cls\", \"socket_filter\" or \"tracepoint\"",
				  bpf_program__name(p->prog));
	bpf_program__set_type(p->prog, type);
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
	else if (strcmp(key, "unpin") == 0)
		lua_pushcfunction(L, prog_unpin);
	else if (strcmp(key, "name") == 0)
		lua_pushstring(L, bpf_program__name(p->prog));
	else if (strcmp(key, "fd") == 0)
		lua_pushinteger(L, bpf_program__fd(p->prog));
	else if (strcmp(key, "type") == 0)
		lua_pushstring(L, libbpf_bpf_prog_type_str(bpf_program__type(p->prog)));
	else if (strcmp(key, "section") == 0)
		lua_pushstring(L, bpf_program__section_name(p->prog));
	else if (strcmp(key, "autoload") == 0)
		lua_pushboolean(L, bpf_program__autoload(p->prog));
	else if (strcmp(key, "set_attach_target") == 0)
		lua_pushcfunction(L, prog_set_attach_target);
	else if (strcmp(key, "id") == 0) {
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		if (bpf_obj_get_info_by_fd(bpf_program__fd(p->prog), &info, &len) != 0)
			return luaL_error(L, "program '%s': cannot read its id", bpf_program__name(p->prog));
		lua_pushinteger(L, info.id);
	} else
		return luaL_error(L, "bpf.Program has no field '%s' (it has: name, fd, id, type, section, autoload, "
				  "test_run, pin, unpin, set_attach_target)",
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
	static const luaL_Reg meta[] = {
		{"__index", prog_index}, {"__newindex", prog_newindex}, {"__tostring", prog_tostring}, {NULL, NULL},
	};
	luaL_newmetatable(L, LBPF_PROG_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
}
