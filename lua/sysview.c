/* bpf.maps() and bpf.progs(): every map and program loaded on the machine,
 * as arrays of tables, the way bpftool's "map show" and "prog show" list them. */
#include <errno.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "binding.h"

static void set_int(lua_State *L, const char *field, lua_Integer v)
{
	lua_pushinteger(L, v);
	lua_setfield(L, -2, field);
}

static void set_str(lua_State *L, const char *field, const char *v)
{
	lua_pushstring(L, v);
	lua_setfield(L, -2, field);
}

static int bpf_maps(lua_State *L)
{
	struct lbpf_map_info info;
	uint32_t id = 0;
	int ret;

	lua_newtable(L);
	for (lua_Integer n = 1; (ret = lbpf_sys__next_map(&id, &info)) == 0; n++) {
		lua_createtable(L, 0, 8);
		set_int(L, "id", info.id);
		set_str(L, "type", lbpf_map__type_name(info.type));
		set_str(L, "name", info.name);
		set_int(L, "key_size", info.key_size);
		set_int(L, "value_size", info.value_size);
		set_int(L, "max_entries", info.max_entries);
		set_int(L, "flags", info.flags);
		lua_rawseti(L, -2, n);
	}
	if (ret != -ENOENT)
		return luaL_error(L, "bpf.maps: cannot list maps: %s", lbpf_strerror(-ret));
	return 1;
}

/* run_count and run_time_ns stay 0 unless stats are on (sysctl kernel.bpf_stats_enabled=1). */
static int bpf_progs(lua_State *L)
{
	struct lbpf_prog_info info;
	uint32_t id = 0;
	int ret;

	lua_newtable(L);
	for (lua_Integer n = 1; (ret = lbpf_sys__next_prog(&id, &info)) == 0; n++) {
		const char *type = libbpf_bpf_prog_type_str(info.type);
		lua_createtable(L, 0, 10);
		set_int(L, "id", info.id);
		set_str(L, "type", type ? type : "unknown");
		set_str(L, "name", info.name);
		set_str(L, "tag", info.tag);
		set_int(L, "run_count", (lua_Integer)info.run_cnt);
		set_int(L, "run_time_ns", (lua_Integer)info.run_time_ns);
		set_int(L, "xlated_size", info.xlated_size);
		set_int(L, "jited_size", info.jited_size);
		set_int(L, "maps", info.nr_map_ids);
		set_int(L, "uid", info.uid);
		lua_rawseti(L, -2, n);
	}
	if (ret != -ENOENT)
		return luaL_error(L, "bpf.progs: cannot list programs: %s", lbpf_strerror(-ret));
	return 1;
}

void lbpf_lua_sysview_functions(lua_State *L)
{
	static const luaL_Reg funcs[] = {{"maps", bpf_maps}, {"progs", bpf_progs}, {NULL, NULL}};
	luaL_setfuncs(L, funcs, 0);
}
