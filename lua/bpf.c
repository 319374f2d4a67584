/* luaopen_bpf: the module table of `require "bpf"`, its metatables, and where
 * the clang driver is found (beside this module or the host binary). */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <math.h>
#include <signal.h>
#include <time.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"
#include "embedded.h"

extern const struct lbpf_embedded lbpf_lua_modules[];

#define LUABPF_VERSION "0.1.0"

/* The directory of the file this code was loaded from: bpf.so, or the host. */
static void find_own_dir(char *dir, size_t size)
{
	Dl_info info;
	char path[PATH_MAX];

	dir[0] = '\0';
	if (dladdr((void *)find_own_dir, &info) && info.dli_fname && strchr(info.dli_fname, '/') &&
	    realpath(info.dli_fname, path)) {
		/* In the main program dli_fname may be argv[0]; /proc/self/exe is exact. */
		if (info.dli_fbase == dlopen(NULL, RTLD_LAZY | RTLD_NOLOAD) ||
		    strstr(path, ".so") == NULL) {
			ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
			if (n <= 0)
				return;
			path[n] = '\0';
		}
	} else {
		ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
		if (n <= 0)
			return;
		path[n] = '\0';
	}
	char *slash = strrchr(path, '/');
	if (slash) {
		*slash = '\0';
		snprintf(dir, size, "%s", path);
	}
}

void lbpf_lua_check_interrupt(lua_State *L, int stopped_by)
{
	if (stopped_by != SIGINT || lua_getfield(L, LUA_REGISTRYINDEX, "luabpf.interrupt_raises") == LUA_TNIL)
		return;
	luaL_error(L, "interrupted!");
}

#define SYMBOL_REFRESH_NS 100000000L

/* ts less the part of slice that passed (slice less left). */
static struct timespec subtract(struct timespec ts, struct timespec slice, struct timespec left)
{
	long long ns = (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
	ns -= ((long long)slice.tv_sec - left.tv_sec) * 1000000000LL + (slice.tv_nsec - left.tv_nsec);
	if (ns < 0)
		ns = 0;
	return (struct timespec){(time_t)(ns / 1000000000LL), (long)(ns % 1000000000LL)};
}

/* bpf.sleep(seconds): true when the time passed, false when Ctrl-C (or
 * SIGTERM) cut it short. As b:run does, it takes the signal itself, so the
 * script goes on to print what it gathered. */
static int bpf_sleep(lua_State *L)
{
	lua_Number s = luaL_checknumber(L, 1);
	luaL_argcheck(L, s >= 0 && s < 1e9, 1, "seconds must be between 0 and 1e9");
	struct timespec ts = {(time_t)s, (long)((s - floor(s)) * 1e9)};
	lbpf_lua_before_wait(L);
	lbpf_stop__arm();
	/* Other signals only interrupt the sleep, not end it. While -c's command
	 * runs, its symbols are read every tenth of a second, to name its stacks
	 * after it exits. */
	while (!lbpf_stop__requested() && (ts.tv_sec || ts.tv_nsec)) {
		pid_t child = lbpf_stop__watched();
		struct timespec slice = ts;
		if (child && (slice.tv_sec || slice.tv_nsec > SYMBOL_REFRESH_NS))
			slice = (struct timespec){0, SYMBOL_REFRESH_NS};
		struct timespec left = {0, 0};
		int r = nanosleep(&slice, &left);
		if (r != 0 && errno != EINTR)
			break;
		ts = subtract(ts, slice, left);
		if (child && !lbpf_stop__requested())
			lbpf_lua_load_usyms(L, child);
	}
	bool slept = !lbpf_stop__requested();
	int stopped_by = lbpf_stop__signal();
	lbpf_stop__disarm();
	lbpf_lua_check_interrupt(L, stopped_by);
	lua_pushboolean(L, slept);
	return 1;
}

/* bpf.ktime_ns(): CLOCK_MONOTONIC in nanoseconds, the clock of bpf_ktime_get_ns(). */
static int bpf_ktime_ns(lua_State *L)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	lua_pushinteger(L, (lua_Integer)ts.tv_sec * 1000000000 + ts.tv_nsec);
	return 1;
}

/* bpf.hash(s): 32 hex digits (luabpf's 128-bit FNV-1a pair, as the object
 * cache keys entries): a checksum against damage, not against an attacker. */
static int bpf_hash(lua_State *L)
{
	size_t len;
	const char *s = luaL_checklstring(L, 1, &len);
	struct lbpf_hash h;
	char hex[33];

	lbpf_hash__init(&h);
	lbpf_hash__add(&h, s, len);
	lbpf_hash__hex(&h, hex);
	lua_pushstring(L, hex);
	return 1;
}

/* bpf.read_trusted(path) -> the file's bytes, or an error when a less
 * privileged user could have written it (what a bundle is read with). */
static int bpf_read_trusted(lua_State *L)
{
	char *data;
	size_t size;
	struct lbpf_err err = {0};

	if (lbpf_file__read_trusted(luaL_checkstring(L, 1), LBPF_TRUSTED_FILE_MAX, &data, &size, &err) != 0)
		return luaL_error(L, "%s", err.msg);
	lua_pushlstring(L, data, size);
	free(data);
	return 1;
}

/* bpf.ignore_sigpipe(): writes to a closed pipe then fail with EPIPE, which
 * a tool turns into a quiet, detached exit, instead of killing the process
 * (whose links the kernel would then detach the slow way). */
static int bpf_ignore_sigpipe(lua_State *L)
{
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

/* package.preload's loader of an embedded "preload/NAME.lua" (upvalue 1). */
static int load_preloaded(lua_State *L)
{
	const struct lbpf_embedded *m = lua_touserdata(L, lua_upvalueindex(1));
	char chunk[64];
	snprintf(chunk, sizeof(chunk), "=bpf.%.*s", (int)(strlen(m->name) - strlen("preload/.lua")),
		 m->name + strlen("preload/"));
	if (luaL_loadbuffer(L, m->data, m->size, chunk) != LUA_OK)
		return lua_error(L);
	lua_call(L, 0, 1);
	return 1;
}

/* The Lua-side modules embedded at build time; each receives what it may
 * extend: the module table, the object methods and the map methods. Those
 * under preload/ become require "bpf.NAME" instead, loaded when required. */
static void run_lua_modules(lua_State *L)
{
	int module = lua_gettop(L);
	for (const struct lbpf_embedded *m = lbpf_lua_modules; m->name; m++) {
		char chunk[64];
		if (strncmp(m->name, "preload/", 8) == 0) {
			luaL_getsubtable(L, LUA_REGISTRYINDEX, LUA_PRELOAD_TABLE);
			lua_pushlightuserdata(L, (void *)m);
			lua_pushcclosure(L, load_preloaded, 1);
			snprintf(chunk, sizeof(chunk), "bpf.%.*s", (int)(strlen(m->name) - strlen("preload/.lua")),
				 m->name + strlen("preload/"));
			lua_setfield(L, -2, chunk);
			lua_pop(L, 1);
			continue;
		}
		snprintf(chunk, sizeof(chunk), "=%s", m->name);
		if (luaL_loadbuffer(L, m->data, m->size, chunk) != LUA_OK)
			lua_error(L);
		lua_pushvalue(L, module);
		lua_getfield(L, LUA_REGISTRYINDEX, LBPF_OBJECT_METHODS);
		lua_getfield(L, LUA_REGISTRYINDEX, LBPF_MAP_METHODS);
		lua_call(L, 3, 0);
	}
}

void **lbpf_lua_registry_slot(lua_State *L, const char *key, const char *mt)
{
	void **slot;

	if (lua_getfield(L, LUA_REGISTRYINDEX, key) == LUA_TUSERDATA) {
		slot = lua_touserdata(L, -1);
		lua_pop(L, 1);
		return slot;
	}
	lua_pop(L, 1);
	slot = lua_newuserdatauv(L, sizeof(*slot), 0);
	*slot = NULL;
	luaL_setmetatable(L, mt);
	lua_setfield(L, LUA_REGISTRYINDEX, key); /* the registry keeps it alive */
	return slot;
}

int luaopen_bpf(lua_State *L)
{
	static const luaL_Reg funcs[] = {
		{"new", lbpf_lua_new},
		{"open", lbpf_lua_open},
		{"compile", lbpf_lua_compile},
		{"sleep", bpf_sleep},
		{"ktime_ns", bpf_ktime_ns},
		{"ignore_sigpipe", bpf_ignore_sigpipe},
		{"hash", bpf_hash},
		{"read_trusted", bpf_read_trusted},
		{NULL, NULL},
	};
	char dir[PATH_MAX];

	find_own_dir(dir, sizeof(dir));
	lbpf_compile__set_driver_dir(dir);
	lbpf_log__init();
	lbpf_lua_open_error(L);
	lbpf_lua_open_object(L);
	lbpf_lua_open_map(L);
	lbpf_lua_open_prog(L);
	lbpf_lua_open_link(L);
	lbpf_lua_open_globals(L);
	lbpf_lua_open_events(L);
	luaL_newlib(L, funcs);
	lbpf_lua_events_functions(L);
	lbpf_lua_map_functions(L);
	lbpf_lua_open_pinned(L);
	lbpf_lua_sysview_functions(L);
	lbpf_lua_symbols_functions(L);
	lbpf_lua_discovery_functions(L);
	lbpf_lua_btf_functions(L);
	lbpf_lua_target_functions(L);
	lbpf_lua_json_functions(L);
	lbpf_lua_http_functions(L);
	run_lua_modules(L);
	lua_pushliteral(L, LUABPF_VERSION);
	lua_setfield(L, -2, "version");
	return 1;
}
