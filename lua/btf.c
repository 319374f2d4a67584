/* bpf.min_core_btf and bpf.kernel_btf: kernel BTF for machines without their
 * own, minimized for a bundle's objects, and put to use from bytes. */
#include <stdlib.h>

#include "binding.h"

/* At most this many objects: a bundle's objects, not an open-ended list. */
#define MAX_OBJECTS 256

/* bpf.min_core_btf(path, {elf_bytes, ...}) -> raw BTF: of the kernel BTF in
 * the file at path, what the objects' CO-RE relocations need. */
static int bpf_min_core_btf(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *objects[MAX_OBJECTS];
	size_t sizes[MAX_OBJECTS];
	luaL_checktype(L, 2, LUA_TTABLE);
	lua_Integer n = luaL_len(L, 2);
	if (n > MAX_OBJECTS)
		return luaL_error(L, "bpf.min_core_btf: at most %d objects, got %d", MAX_OBJECTS, (int)n);
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, 2, i) != LUA_TSTRING)
			return luaL_error(L, "bpf.min_core_btf: object %d must be ELF bytes (a string), got %s", (int)i,
					  luaL_typename(L, -1));
		objects[i - 1] = lua_tolstring(L, -1, &sizes[i - 1]); /* kept alive by the table */
		lua_pop(L, 1);
	}
	char *out;
	size_t size;
	struct lbpf_err err = {0};
	/* Bytes from anywhere: checked as bpf.new checks them. */
	for (lua_Integer i = 0; i < n; i++)
		if (lbpf_elf__check(objects[i], sizes[i], &err))
			return luaL_error(L, "bpf.min_core_btf: object %d: %s", (int)i + 1, err.msg);
	if (lbpf_btf__minimize(path, objects, sizes, (size_t)n, &out, &size, &err))
		return lbpf_lua_raise(L, &err);
	lua_pushlstring(L, out, size);
	free(out);
	return 1;
}

/* bpf.kernel_btf(raw_btf_bytes): objects opened from now on relocate
 * against these bytes, as with --btf FILE. */
static int bpf_kernel_btf(lua_State *L)
{
	size_t size;
	const char *data = luaL_checklstring(L, 1, &size);
	struct lbpf_err err = {0};

	if (lbpf_btf__use(data, size, &err))
		return lbpf_lua_raise(L, &err);
	return 0;
}

void lbpf_lua_btf_functions(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"min_core_btf", bpf_min_core_btf},
		{"kernel_btf", bpf_kernel_btf},
		{NULL, NULL},
	};
	luaL_setfuncs(L, funcs, 0);
}
