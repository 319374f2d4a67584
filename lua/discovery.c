/* What the running kernel offers: bpf.features(), bpf.kernel_has_field()
 * from its BTF, bpf.tracepoint_exists() and the tracefs root that
 * lua/discovery.lua lists tracepoints from; and what a binary offers,
 * bpf.usdt_probes(). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <linux/perf_event.h>
#include <sys/syscall.h>

#include "binding.h"

#define KERNEL_BTF_MT "bpf.KernelBTF"
#define KERNEL_BTF_KEY "bpf.kernel_btf" /* the loaded BTF, in the registry */

static int kernel_btf_gc(lua_State *L)
{
	struct btf **b = luaL_checkudata(L, 1, KERNEL_BTF_MT);
	btf__free(*b);
	*b = NULL;
	return 0;
}

/* The kernel's BTF (or the one --btf, LUABPF_BTF or a bundle gives),
 * loaded once and kept in the registry. */
static const struct btf *kernel_btf(lua_State *L)
{
	void **slot = lbpf_lua_registry_slot(L, KERNEL_BTF_KEY, KERNEL_BTF_MT);
	struct lbpf_err err = {0};
	char *data;
	size_t size;

	if (*slot)
		return *slot;
	if (lbpf_btf__read(lbpf_object__btf_path(), &data, &size, &err))
		lbpf_lua_raise(L, &err);
	*slot = btf__new(data, size);
	free(data);
	if (!*slot)
		luaL_error(L, "the kernel BTF is not usable: %s", lbpf_strerror(errno));
	return *slot;
}

/* Whether struct/union t (or one of its anonymous members) has field. */
static bool has_field(const struct btf *btf, const struct btf_type *t, const char *field, int depth)
{
	const struct btf_member *m = btf_members(t);
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		const char *name = btf__name_by_offset(btf, m->name_off);
		if (name && strcmp(name, field) == 0)
			return true;
		if ((!name || !*name) && depth < 8) {
			const struct btf_type *inner = btf__type_by_id(btf, m->type);
			while (inner && (btf_is_mod(inner) || btf_is_typedef(inner)))
				inner = btf__type_by_id(btf, inner->type);
			if (inner && btf_is_composite(inner) && has_field(btf, inner, field, depth + 1))
				return true;
		}
	}
	return false;
}

/* bpf.kernel_has_field("task_struct", "__state") */
static int bpf_kernel_has_field(lua_State *L)
{
	const char *type = luaL_checkstring(L, 1), *field = luaL_checkstring(L, 2);
	const struct btf *btf = kernel_btf(L);
	int kind = BTF_KIND_STRUCT;

	if (strncmp(type, "struct ", 7) == 0)
		type += 7;
	else if (strncmp(type, "union ", 6) == 0)
		type += 6, kind = BTF_KIND_UNION;
	int id = btf__find_by_name_kind(btf, type, kind);
	if (id < 0 && kind == BTF_KIND_STRUCT)
		id = btf__find_by_name_kind(btf, type, BTF_KIND_UNION);
	const struct btf_type *t = id > 0 ? btf__type_by_id(btf, id) : NULL;
	lua_pushboolean(L, t && has_field(btf, t, field, 0));
	return 1;
}

/* bpf.kernel_has_type("task_struct") (also "struct x", "union y", typedefs, enums) */
static int bpf_kernel_has_type(lua_State *L)
{
	const char *type = luaL_checkstring(L, 1);
	const struct btf *btf = kernel_btf(L);
	static const struct {
		const char *prefix;
		int kind;
	} tagged[] = {{"struct ", BTF_KIND_STRUCT}, {"union ", BTF_KIND_UNION}, {"enum ", BTF_KIND_ENUM}};

	for (size_t i = 0; i < sizeof(tagged) / sizeof(tagged[0]); i++)
		if (strncmp(type, tagged[i].prefix, strlen(tagged[i].prefix)) == 0) {
			lua_pushboolean(L, btf__find_by_name_kind(btf, type + strlen(tagged[i].prefix), tagged[i].kind) > 0);
			return 1;
		}
	lua_pushboolean(L, btf__find_by_name(btf, type) > 0);
	return 1;
}

/* bpf.kernel_enum("skb_drop_reason"): {[value] = "NAME"} of a kernel enum,
 * so tools name values as this kernel numbers them, not as a copied table. */
static int bpf_kernel_enum(lua_State *L)
{
	const char *name = luaL_checkstring(L, 1);
	const struct btf *btf = kernel_btf(L);

	if (strncmp(name, "enum ", 5) == 0)
		name += 5;
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM);
	if (id < 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_ENUM64);
	if (id < 0)
		return luaL_error(L, "kernel_enum: this kernel's BTF has no enum named '%s'", name);
	const struct btf_type *t = btf__type_by_id(btf, id);
	lua_createtable(L, 0, btf_vlen(t));
	for (int i = 0; i < btf_vlen(t); i++) {
		const char *item;
		long long value;
		if (btf_is_enum(t)) {
			const struct btf_enum *e = btf_enum(t) + i;
			item = btf__name_by_offset(btf, e->name_off);
			value = btf_kflag(t) ? (long long)e->val : (long long)(unsigned int)e->val;
		} else {
			const struct btf_enum64 *e = btf_enum64(t) + i;
			item = btf__name_by_offset(btf, e->name_off);
			value = (long long)btf_enum64_value(e);
		}
		lua_pushstring(L, item ? item : "");
		lua_rawseti(L, -2, value);
	}
	return 1;
}

static int bpf_tracefs_root(lua_State *L)
{
	struct lbpf_err err = {0};
	if (lbpf_tracefs__ensure(&err))
		return lbpf_lua_raise(L, &err);
	lua_pushstring(L, lbpf_tracefs__root());
	return 1;
}

/* bpf.tracepoint_exists("syscalls", "sys_enter_openat") */
static int bpf_tracepoint_exists(lua_State *L)
{
	const char *cat = luaL_checkstring(L, 1), *ev = luaL_checkstring(L, 2);
	struct lbpf_err err = {0};
	if (lbpf_tracefs__ensure(&err))
		return lbpf_lua_raise(L, &err);
	lua_pushboolean(L, lbpf_tracefs__event_exists(cat, ev));
	return 1;
}

static bool hardware_counters(void)
{
	struct perf_event_attr attr = {.size = sizeof(attr), .type = PERF_TYPE_HARDWARE,
				       .config = PERF_COUNT_HW_CPU_CYCLES, .disabled = 1};
	int fd = (int)syscall(SYS_perf_event_open, &attr, -1, 0, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd >= 0)
		close(fd);
	return fd >= 0;
}

/* Whether bpf.features was asked for name: all when given no list. */
static bool wanted(lua_State *L, const char *name)
{
	if (lua_type(L, 1) != LUA_TTABLE || lua_gettop(L) < 2) /* the list, then the result */
		return true;
	for (lua_Integer i = 1; lua_rawgeti(L, 1, i) != LUA_TNIL; i++) {
		bool same = lua_type(L, -1) == LUA_TSTRING && strcmp(lua_tostring(L, -1), name) == 0;
		lua_pop(L, 1);
		if (same)
			return true;
	}
	lua_pop(L, 1);
	return false;
}

/* bpf.features([names]): what this kernel allows, each true or false; only
 * the names listed, when given a list (some checks load a program). */
static int bpf_features(lua_State *L)
{
	static const struct {
		const char *name;
		enum bpf_prog_type type;
	} progs[] = {
		{"tracepoint", BPF_PROG_TYPE_TRACEPOINT}, {"raw_tracepoint", BPF_PROG_TYPE_RAW_TRACEPOINT},
		{"perf_event", BPF_PROG_TYPE_PERF_EVENT}, {"xdp", BPF_PROG_TYPE_XDP},
		{"tc", BPF_PROG_TYPE_SCHED_CLS},	  {"socket_filter", BPF_PROG_TYPE_SOCKET_FILTER},
		{"cgroup_skb", BPF_PROG_TYPE_CGROUP_SKB},
	};
	static const struct {
		const char *name;
		enum bpf_map_type type;
	} maps[] = {
		{"ringbuf", BPF_MAP_TYPE_RINGBUF},
		{"user_ringbuf", BPF_MAP_TYPE_USER_RINGBUF},
		{"lpm_trie", BPF_MAP_TYPE_LPM_TRIE},
		{"bloom_filter", BPF_MAP_TYPE_BLOOM_FILTER},
	};

	if (!lua_isnoneornil(L, 1))
		luaL_checktype(L, 1, LUA_TTABLE);
	lua_newtable(L);
#define SET(name, expr)                                 \
	do {                                            \
		if (wanted(L, name)) {                  \
			lua_pushboolean(L, (expr));     \
			lua_setfield(L, -2, name);      \
		}                                       \
	} while (0)
	SET("btf", access("/sys/kernel/btf/vmlinux", R_OK) == 0);
	SET("kprobes", lbpf_features__kprobes());
	SET("uprobes", access("/sys/bus/event_source/devices/uprobe/type", F_OK) == 0);
	SET("tracing", lbpf_features__tracing_programs());
	SET("hardware_counters", hardware_counters());
	for (size_t i = 0; i < sizeof(progs) / sizeof(progs[0]); i++)
		SET(progs[i].name, libbpf_probe_bpf_prog_type(progs[i].type, NULL) == 1);
	for (size_t i = 0; i < sizeof(maps) / sizeof(maps[0]); i++)
		SET(maps[i].name, libbpf_probe_bpf_map_type(maps[i].type, NULL) == 1);
#undef SET
	return 1;
}

static int push_usdt_probe(void *ctx, const struct lbpf_usdt_probe *p)
{
	lua_State *L = ctx;
	lua_createtable(L, 0, 5);
	lua_pushstring(L, p->provider);
	lua_setfield(L, -2, "provider");
	lua_pushstring(L, p->name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, p->args);
	lua_setfield(L, -2, "args");
	lua_pushinteger(L, (lua_Integer)p->pc);
	lua_setfield(L, -2, "address");
	lua_pushinteger(L, (lua_Integer)p->semaphore);
	lua_setfield(L, -2, "semaphore");
	lua_rawseti(L, -2, (lua_Integer)lua_rawlen(L, -2) + 1);
	return 0;
}

/* bpf.usdt_probes(path): {provider=, name=, args=, address=, semaphore=}
 * for each USDT probe of a binary or library, in the order of its notes. */
static int bpf_usdt_probes(lua_State *L)
{
	const char *path = lbpf_lua_checkcstring(L, 1, "the binary's path");
	lua_newtable(L);
	int ret = lbpf_usdt__each(path, push_usdt_probe, L);
	if (ret < 0)
		return luaL_error(L, "usdt_probes: cannot read %s: %s", path, lbpf_strerror(-ret));
	return 1;
}

void lbpf_lua_discovery_functions(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"kernel_has_field", bpf_kernel_has_field},
		{"kernel_has_type", bpf_kernel_has_type},
		{"kernel_enum", bpf_kernel_enum},
		{"tracepoint_exists", bpf_tracepoint_exists},
		{"_tracefs_root", bpf_tracefs_root},
		{"features", bpf_features},
		{"usdt_probes", bpf_usdt_probes},
		{NULL, NULL},
	};
	luaL_newmetatable(L, KERNEL_BTF_MT);
	lua_pushcfunction(L, kernel_btf_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
	luaL_setfuncs(L, funcs, 0);
}
