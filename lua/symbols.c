/* bpf.ksym, bpf.ksymaddr, bpf.usym and the system call names: the symbol
 * tables live in registry userdata, read on first use and freed by __gc. */
#include <string.h>

#include "binding.h"

#define KSYMS_MT "bpf.KernelSymbols"
#define USYMS_MT "bpf.UserSymbols"
/* Registry keys of the tables themselves (the names above key the metatables). */
#define KSYMS_KEY "bpf.ksyms"
#define USYMS_KEY "bpf.usyms"

static int ksyms_gc(lua_State *L)
{
	struct lbpf_ksyms **k = luaL_checkudata(L, 1, KSYMS_MT);
	lbpf_ksyms__free(*k);
	*k = NULL;
	return 0;
}

static int usyms_gc(lua_State *L)
{
	struct lbpf_usyms **u = luaL_checkudata(L, 1, USYMS_MT);
	lbpf_usyms__free(*u);
	*u = NULL;
	return 0;
}

/* The kernel's symbols, read from /proc/kallsyms the first time. */
static const struct lbpf_ksyms *ksyms(lua_State *L)
{
	void **slot = lbpf_lua_registry_slot(L, KSYMS_KEY, KSYMS_MT);
	struct lbpf_err err = {0};

	if (!*slot && !(*slot = lbpf_ksyms__load(&err)))
		lbpf_lua_raise(L, &err);
	return *slot;
}

static struct lbpf_usyms *usyms(lua_State *L)
{
	void **slot = lbpf_lua_registry_slot(L, USYMS_KEY, USYMS_MT);

	if (!*slot && !(*slot = lbpf_usyms__new()))
		luaL_error(L, "out of memory");
	return *slot;
}

void lbpf_lua_load_usyms(lua_State *L, int pid)
{
	lbpf_usyms__load(usyms(L), pid);
}

/* name, offset, module; "[unknown]" when nothing matches, as BCC says. */
static int push_sym(lua_State *L, bool found, const struct lbpf_sym *s)
{
	lua_pushstring(L, found ? s->name : "[unknown]");
	if (found)
		lua_pushinteger(L, (lua_Integer)s->offset);
	else
		lua_pushnil(L);
	lua_pushstring(L, s->module);
	return 3;
}

/* bpf.ksym(addr) -> name, offset, module */
static int bpf_ksym(lua_State *L)
{
	uint64_t addr = (uint64_t)luaL_checkinteger(L, 1);
	struct lbpf_sym s = {0};
	return push_sym(L, lbpf_ksyms__find(ksyms(L), addr, &s), &s);
}

/* bpf.ksymaddr(name) -> address, or nil */
static int bpf_ksymaddr(lua_State *L)
{
	uint64_t addr = lbpf_ksyms__addr(ksyms(L), luaL_checkstring(L, 1));
	if (!addr) {
		lua_pushnil(L);
		return 1;
	}
	lua_pushinteger(L, (lua_Integer)addr);
	return 1;
}

/* bpf.usym(addr, pid) -> name, offset, module */
static int bpf_usym(lua_State *L)
{
	uint64_t addr = (uint64_t)luaL_checkinteger(L, 1);
	lua_Integer pid = luaL_checkinteger(L, 2);
	struct lbpf_sym s = {0};

	luaL_argcheck(L, pid > 0 && pid <= INT32_MAX, 2, "expected the process id the address belongs to");
	return push_sym(L, lbpf_usyms__find(usyms(L), (int)pid, addr, &s), &s);
}

/* bpf.elf_functions(path [, glob]) -> the sorted names of the functions the
 * ELF file defines (in .symtab or .dynsym) that match the glob, and their
 * file offsets (aliases share one) */
static int bpf_elf_functions(lua_State *L)
{
	const char *path = luaL_checkstring(L, 1);
	const char *glob = luaL_optstring(L, 2, "*");
	struct lbpf_elf_functions f;
	struct lbpf_err err = {0};

	if (lbpf_elf_functions__read(path, glob, &f, &err) != 0)
		return luaL_error(L, "elf_functions: %s", err.msg);
	lua_createtable(L, (int)f.n, 0);
	lua_createtable(L, (int)f.n, 0);
	for (size_t i = 0; i < f.n; i++) {
		lua_pushstring(L, f.fns[i].name);
		lua_rawseti(L, -3, (lua_Integer)i + 1);
		lua_pushinteger(L, (lua_Integer)f.fns[i].offset);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lbpf_elf_functions__free(&f);
	return 2;
}

/* bpf.cgroup_id(path) -> the id bpf_get_current_cgroup_id() gives a task in
 * that cgroup v2 directory */
static int bpf_cgroup_id(lua_State *L)
{
	uint64_t id;
	struct lbpf_err err = {0};

	if (lbpf_cgroup__id(luaL_checkstring(L, 1), &id, &err) != 0)
		return luaL_error(L, "%s", err.msg);
	lua_pushinteger(L, (lua_Integer)id);
	return 1;
}

/* bpf.syscall_name(nr) -> "execve", or nil */
static int bpf_syscall_name(lua_State *L)
{
	lua_pushstring(L, lbpf_syscall__name((long)luaL_checkinteger(L, 1)));
	return 1;
}

/* bpf.syscall_nr("execve") -> 59, or nil */
static int bpf_syscall_nr(lua_State *L)
{
	long nr = lbpf_syscall__nr(luaL_checkstring(L, 1));
	if (nr < 0)
		return 0;
	lua_pushinteger(L, nr);
	return 1;
}

/* bpf.syscall_fnname("execve") -> "__x64_sys_execve": the kernel function a
 * kprobe on the system call attaches to, whichever prefix this kernel uses. */
static int bpf_syscall_fnname(lua_State *L)
{
	static const char *const prefixes[] = {"__x64_sys_", "__arm64_sys_", "__s390x_sys_", "__riscv_sys_",
					       "__powerpc_sys_", "__se_sys_", "sys_", NULL};
	const char *name = luaL_checkstring(L, 1);
	const struct lbpf_ksyms *k = ksyms(L);
	char fn[256];

	if (strncmp(name, "sys_", 4) == 0)
		name += 4;
	for (int i = 0; prefixes[i]; i++) {
		snprintf(fn, sizeof(fn), "%s%s", prefixes[i], name);
		if (lbpf_ksyms__addr(k, fn)) {
			lua_pushstring(L, fn);
			return 1;
		}
	}
	return luaL_error(L, "syscall_fnname: the kernel has no function for system call '%s'", name);
}

void lbpf_lua_symbols_functions(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"ksym", bpf_ksym},
		{"ksymaddr", bpf_ksymaddr},
		{"usym", bpf_usym},
		{"elf_functions", bpf_elf_functions},
		{"cgroup_id", bpf_cgroup_id},
		{"syscall_name", bpf_syscall_name},
		{"syscall_nr", bpf_syscall_nr},
		{"syscall_fnname", bpf_syscall_fnname},
		{NULL, NULL},
	};
	luaL_newmetatable(L, KSYMS_MT);
	lua_pushcfunction(L, ksyms_gc);
	lua_setfield(L, -2, "__gc");
	luaL_newmetatable(L, USYMS_MT);
	lua_pushcfunction(L, usyms_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 2);
	luaL_setfuncs(L, funcs, 0);
}
