/* bpf.min_core_btf and bpf.kernel_btf: kernel BTF for machines without their
 * own, minimized for a bundle's objects, and put to use from bytes. */
#include <stdlib.h>

#include "binding.h"

/* At most this many objects or types: a bundle's, not an open-ended list. */
#define MAX_ENTRIES 256

/* The strings of the table at idx, at most MAX_ENTRIES, each kept alive by
 * the table; what names the list in errors. */
static size_t strings_of(lua_State *L, int idx, const char *what, const char **out, size_t *sizes)
{
	lua_Integer n = luaL_len(L, idx);
	if (n > MAX_ENTRIES)
		luaL_error(L, "bpf.min_core_btf: at most %d %ss, got %d", MAX_ENTRIES, what, (int)n);
	for (lua_Integer i = 1; i <= n; i++) {
		if (lua_rawgeti(L, idx, i) != LUA_TSTRING)
			luaL_error(L, "bpf.min_core_btf: %s %d must be a string, got %s", what, (int)i,
				   luaL_typename(L, -1));
		out[i - 1] = lua_tolstring(L, -1, &sizes[i - 1]);
		lua_pop(L, 1);
	}
	return (size_t)n;
}

/* bpf.min_core_btf(path, {elf_bytes, ...} [, {"enum x", ...}]) -> raw BTF:
 * of the kernel BTF in the file at path, what the objects' CO-RE
 * relocations need, and the types named, whole. */
static int bpf_min_core_btf(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *objects[MAX_ENTRIES], *types[MAX_ENTRIES];
	size_t sizes[MAX_ENTRIES], type_sizes[MAX_ENTRIES];
	luaL_checktype(L, 2, LUA_TTABLE);
	if (!lua_isnoneornil(L, 3))
		luaL_checktype(L, 3, LUA_TTABLE);
	struct lbpf_btf_needs needs = {
		.objects = objects,
		.sizes = sizes,
		.nobjects = strings_of(L, 2, "object", objects, sizes),
		.types = types,
		.ntypes = lua_istable(L, 3) ? strings_of(L, 3, "type", types, type_sizes) : 0,
	};
	char *out;
	size_t size;
	struct lbpf_err err = {0};
	/* Bytes from anywhere: checked as bpf.new checks them. */
	for (size_t i = 0; i < needs.nobjects; i++)
		if (lbpf_elf__check(objects[i], sizes[i], &err))
			return luaL_error(L, "bpf.min_core_btf: object %d: %s", (int)i + 1, err.msg);
	if (lbpf_btf__minimize(path, &needs, &out, &size, &err))
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
