/* The object's attach methods (b:attach_tracepoint, b:attach_xdp, ...):
 * Lua arguments checked and turned into the runtime's attach kinds, each
 * returning a bpf.Link. */
#include <linux/perf_event.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "binding.h"

/* prog, unless bpf.open's autoload = false kept it out of the load. */
static struct bpf_program *loaded(lua_State *L, struct bpf_program *prog)
{
	if (bpf_program__fd(prog) < 0)
		lbpf_lua_error(L, "program '%s' was not loaded (its autoload was false), so it cannot be attached",
			       bpf_program__name(prog));
	return prog;
}

/* The program an attach call names (a name or a bpf.Program), loaded with
 * the attach's types when it is one of a BCC script's plain functions. */
static struct bpf_program *attach_prog(lua_State *L, int arg, enum bpf_prog_type type, enum bpf_attach_type expected)
{
	struct bpf_program *prog = lbpf_lua_check_prog_arg(L, 1, arg);
	struct lbpf_err err = {0};

	prog = lbpf_object__typed_prog(lbpf_lua_check_object(L, 1), prog, type, expected, &err);
	if (!prog)
		lbpf_lua_raise(L, &err);
	return loaded(L, prog);
}

/* The table-form attach calls' opts.fn (or fn_name), which must be given. */
static void check_fn(lua_State *L, int fn, const char *what)
{
	if (lua_isnil(L, fn))
		luaL_error(L, "%s: 'fn' must name the BPF program to run", what);
}

static struct bpf_program *fn_prog(lua_State *L, int fn, enum bpf_prog_type type, enum bpf_attach_type expected,
				   const char *what)
{
	check_fn(L, fn, what);
	return attach_prog(L, fn, type, expected);
}

/* opts.fn for the kinds whose program type varies (cgroup, network hooks):
 * the program as declared, never one of BCC's plain functions. */
static struct bpf_program *fn_declared(lua_State *L, int fn, const char *what)
{
	check_fn(L, fn, what);
	return loaded(L, lbpf_lua_check_prog_arg(L, 1, fn));
}

/* An attach's result: its link, or the error it explains. */
static int push_attached(lua_State *L, int id, struct lbpf_err *err)
{
	if (id < 0)
		return lbpf_lua_raise(L, err);
	lbpf_lua_push_link(L, 1, id);
	return 1;
}

/* "category:event" or "category/event". */
static int object_attach_tracepoint(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	const char *tp = lbpf_lua_checkcstring(L, 2, "the tracepoint name");
	struct bpf_program *prog = attach_prog(L, 3, BPF_PROG_TYPE_TRACEPOINT, 0);
	size_t cut = strcspn(tp, ":/");
	char category[128];
	struct lbpf_err err = {0};

	if (!tp[cut] || cut == 0 || cut >= sizeof(category) || !tp[cut + 1])
		return luaL_argerror(L, 2, "expected \"category:event\", e.g. \"syscalls:sys_enter_openat\"");
	snprintf(category, sizeof(category), "%.*s", (int)cut, tp);
	int id = lbpf_attach__tracepoint(obj, prog, category, tp + cut + 1, &err);
	return push_attached(L, id, &err);
}

static int object_attach_raw_tracepoint(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	const char *event = lbpf_lua_checkcstring(L, 2, "the raw tracepoint name");
	struct bpf_program *prog = attach_prog(L, 3, BPF_PROG_TYPE_RAW_TRACEPOINT, 0);
	struct lbpf_err err = {0};

	int id = lbpf_attach__raw_tracepoint(obj, prog, event, &err);
	return push_attached(L, id, &err);
}

/* Pushes opts[field] and returns its index in the stack; nil stays nil. */
static int opt_field(lua_State *L, const char *field)
{
	lua_getfield(L, 2, field);
	return lua_gettop(L);
}

/* An optional process or CPU number at idx: -1 (every one) when nil. */
static int opt_id(lua_State *L, int idx, const char *what, const char *field, const char *meaning)
{
	if (lua_isnil(L, idx))
		return -1;
	if (!lua_isinteger(L, idx) || lua_tointeger(L, idx) < -1 || lua_tointeger(L, idx) > INT32_MAX)
		return luaL_error(L, "%s: '%s' must be %s (or -1 for all)", what, field, meaning);
	return (int)lua_tointeger(L, idx);
}

/* opts.fn, or BCC's spelling opts.fn_name. */
static int fn_field(lua_State *L)
{
	int fn = opt_field(L, "fn");
	if (!lua_isnil(L, fn))
		return fn;
	lua_pop(L, 1);
	return opt_field(L, "fn_name");
}

/* b:attach_uprobe{path=, sym=, off=, pid=, fn=, ret=} */
static int object_attach_uprobe(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_uprobe_opts uo = {.pid = -1};
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int path = opt_field(L, "path"), sym = opt_field(L, "sym"), off = opt_field(L, "off");
	int pid = opt_field(L, "pid"), ret = opt_field(L, "ret"), fn = fn_field(L);
	if (lua_type(L, path) != LUA_TSTRING)
		return luaL_error(L, "attach_uprobe: 'path' must name a binary or library, e.g. \"/bin/bash\"");
	uo.path = lbpf_lua_checkcstring(L, path, "attach_uprobe: 'path'");
	if (!lua_isnil(L, sym) && lua_type(L, sym) != LUA_TSTRING)
		return luaL_error(L, "attach_uprobe: 'sym' must be a function name");
	uo.sym = lua_isnil(L, sym) ? NULL : lbpf_lua_checkcstring(L, sym, "attach_uprobe: 'sym'");
	if (!lua_isnil(L, off) && (!lua_isinteger(L, off) || lua_tointeger(L, off) < 0))
		return luaL_error(L, "attach_uprobe: 'off' must be a non-negative integer");
	uo.offset = (uint64_t)lua_tointeger(L, off);
	if (!uo.sym && lua_isnil(L, off))
		return luaL_error(L, "attach_uprobe: give 'sym' (a function name) or 'off' (a file offset)");
	uo.pid = opt_id(L, pid, "attach_uprobe", "pid", "a process id");
	uo.retprobe = lua_toboolean(L, ret);
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, 0, "attach_uprobe");
	int id = lbpf_attach__uprobe(obj, prog, &uo, &err);
	return push_attached(L, id, &err);
}

/* b:attach_kprobe{event=, fn=, ret=} */
static int object_attach_kprobe(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int event = opt_field(L, "event"), ret = opt_field(L, "ret"), fn = fn_field(L);
	if (lua_type(L, event) != LUA_TSTRING)
		return luaL_error(L, "attach_kprobe: 'event' must name a kernel function, e.g. \"do_sys_openat2\"");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, 0, "attach_kprobe");
	const char *name = lbpf_lua_checkcstring(L, event, "attach_kprobe: 'event'");
	int id = lbpf_attach__kprobe(obj, prog, name, lua_toboolean(L, ret), &err);
	return push_attached(L, id, &err);
}

/* b:attach_usdt{path=, pid=, probe="provider:name" | provider=, name=, fn=} */
static int object_attach_usdt(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_usdt_opts uo = {.pid = -1};
	struct lbpf_err err = {0};
	char provider[256];

	luaL_checktype(L, 2, LUA_TTABLE);
	int path = opt_field(L, "path"), pid = opt_field(L, "pid"), probe = opt_field(L, "probe");
	int prov = opt_field(L, "provider"), name = opt_field(L, "name"), fn = fn_field(L);
	if (!lua_isnil(L, path) && lua_type(L, path) != LUA_TSTRING)
		return luaL_error(L, "attach_usdt: 'path' must name a binary or library");
	uo.path = lua_isnil(L, path) ? NULL : lbpf_lua_checkcstring(L, path, "attach_usdt: 'path'");
	uo.pid = opt_id(L, pid, "attach_usdt", "pid", "a process id");
	/* Lua strings may hold NULs; a probe name must not. */
	int spec = lua_type(L, probe) == LUA_TSTRING ? probe : name;
	if (lua_type(L, spec) != LUA_TSTRING || strlen(lua_tostring(L, spec)) != lua_rawlen(L, spec) ||
	    !lua_rawlen(L, spec))
		return luaL_error(L, "attach_usdt: give probe = \"provider:name\" (or just \"name\"), or provider= and name=");
	uo.name = lua_tostring(L, spec);
	const char *colon = spec == probe ? strchr(uo.name, ':') : NULL;
	if (colon) {
		if ((size_t)(colon - uo.name) >= sizeof(provider) || !colon[1])
			return luaL_error(L, "attach_usdt: '%s' is not \"provider:name\"", uo.name);
		snprintf(provider, sizeof(provider), "%.*s", (int)(colon - uo.name), uo.name);
		uo.provider = provider;
		uo.name = colon + 1;
	} else if (spec == name && !lua_isnil(L, prov)) {
		if (lua_type(L, prov) != LUA_TSTRING || strlen(lua_tostring(L, prov)) != lua_rawlen(L, prov))
			return luaL_error(L, "attach_usdt: 'provider' must be a string");
		uo.provider = lua_tostring(L, prov);
	}
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, lbpf_attach__usdt_attach_type(), "attach_usdt");
	int id = lbpf_attach__usdt(obj, prog, &uo, &err);
	return push_attached(L, id, &err);
}

/* A perf event's type or config: a name from names (value at the same index)
 * or a number. */
static uint64_t perf_choice(lua_State *L, int idx, const char *field, const char *const *names,
			    const uint64_t *values, uint64_t def, uint64_t max)
{
	if (lua_isnil(L, idx))
		return def;
	if (lua_isinteger(L, idx) && lua_tointeger(L, idx) >= 0) {
		if ((uint64_t)lua_tointeger(L, idx) > max)
			lbpf_lua_error(L, "attach_perf_event: '%s' %I is out of range (0 to %I)", field, lua_tointeger(L, idx),
				   (lua_Integer)max);
		return (uint64_t)lua_tointeger(L, idx);
	}
	const char *name = lua_tostring(L, idx);
	for (int i = 0; name && names[i]; i++)
		if (strcmp(name, names[i]) == 0)
			return values[i];
	if (!names[0])
		return (uint64_t)lbpf_lua_error(L, "attach_perf_event: '%s' must be a number for this event type", field);
	luaL_Buffer b;
	luaL_buffinit(L, &b);
	for (int i = 0; names[i]; i++) {
		luaL_addstring(&b, i ? ", " : "");
		luaL_addstring(&b, names[i]);
	}
	luaL_pushresult(&b);
	return (uint64_t)lbpf_lua_error(L, "attach_perf_event: '%s' must be one of %s, or a number", field,
				    lua_tostring(L, -1));
}

/* b:attach_perf_event{fn=, type="software", config="cpu-clock", freq=99 | period=, pid=, cpu=} */
static int object_attach_perf_event(lua_State *L)
{
	static const char *const types[] = {"hardware", "software", "tracepoint", "hw_cache", "raw", NULL};
	static const uint64_t type_values[] = {PERF_TYPE_HARDWARE, PERF_TYPE_SOFTWARE, PERF_TYPE_TRACEPOINT,
					       PERF_TYPE_HW_CACHE, PERF_TYPE_RAW};
	static const char *const sw[] = {"cpu-clock", "task-clock", "page-faults", "context-switches",
					 "cpu-migrations", "minor-faults", "major-faults", NULL};
	static const uint64_t sw_values[] = {PERF_COUNT_SW_CPU_CLOCK, PERF_COUNT_SW_TASK_CLOCK,
					     PERF_COUNT_SW_PAGE_FAULTS, PERF_COUNT_SW_CONTEXT_SWITCHES,
					     PERF_COUNT_SW_CPU_MIGRATIONS, PERF_COUNT_SW_PAGE_FAULTS_MIN,
					     PERF_COUNT_SW_PAGE_FAULTS_MAJ};
	static const char *const hw[] = {"cpu-cycles", "instructions", "cache-references", "cache-misses",
					 "branch-instructions", "branch-misses", "bus-cycles", "ref-cycles", NULL};
	static const uint64_t hw_values[] = {PERF_COUNT_HW_CPU_CYCLES, PERF_COUNT_HW_INSTRUCTIONS,
					     PERF_COUNT_HW_CACHE_REFERENCES, PERF_COUNT_HW_CACHE_MISSES,
					     PERF_COUNT_HW_BRANCH_INSTRUCTIONS, PERF_COUNT_HW_BRANCH_MISSES,
					     PERF_COUNT_HW_BUS_CYCLES, PERF_COUNT_HW_REF_CPU_CYCLES};
	static const char *const none[] = {NULL};
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_perf_event_opts po = {.pid = -1, .cpu = -1};
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int fn = fn_field(L), type = opt_field(L, "type"), config = opt_field(L, "config");
	int freq = opt_field(L, "freq"), period = opt_field(L, "period"), pid = opt_field(L, "pid");
	int cpu = opt_field(L, "cpu");
	po.type = (uint32_t)perf_choice(L, type, "type", types, type_values, PERF_TYPE_SOFTWARE, UINT32_MAX);
	if (po.type == PERF_TYPE_SOFTWARE)
		po.config = perf_choice(L, config, "config", sw, sw_values, PERF_COUNT_SW_CPU_CLOCK, INT64_MAX);
	else if (po.type == PERF_TYPE_HARDWARE)
		po.config = perf_choice(L, config, "config", hw, hw_values, PERF_COUNT_HW_CPU_CYCLES, INT64_MAX);
	else
		po.config = perf_choice(L, config, "config", none, NULL, 0, INT64_MAX);
	if (!lua_isnil(L, freq) && !lua_isnil(L, period))
		return luaL_error(L, "attach_perf_event: give 'freq' (samples a second) or 'period' (events "
				     "between samples), not both");
	if (!lua_isnil(L, period) && (!lua_isinteger(L, period) || lua_tointeger(L, period) < 1))
		return luaL_error(L, "attach_perf_event: 'period' must be a positive integer");
	if (!lua_isnil(L, freq) && (!lua_isinteger(L, freq) || lua_tointeger(L, freq) < 1))
		return luaL_error(L, "attach_perf_event: 'freq' must be a positive integer (samples a second)");
	po.sample_period = (uint64_t)lua_tointeger(L, period);
	po.sample_freq = lua_isnil(L, freq) ? 99 : (uint64_t)lua_tointeger(L, freq);
	po.pid = opt_id(L, pid, "attach_perf_event", "pid", "a process id");
	po.cpu = opt_id(L, cpu, "attach_perf_event", "cpu", "a CPU number");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_PERF_EVENT, 0, "attach_perf_event");
	int id = lbpf_attach__perf_event(obj, prog, &po, &err);
	return push_attached(L, id, &err);
}


/* An optional string option at idx: NULL when nil. */
static const char *opt_string(lua_State *L, int idx, const char *what, const char *field)
{
	if (lua_isnil(L, idx))
		return NULL;
	if (lua_type(L, idx) != LUA_TSTRING)
		luaL_error(L, "%s: '%s' must be a string, got %s", what, field, luaL_typename(L, idx));
	return lbpf_lua_checkcstring(L, idx, what);
}

/* b:attach_xdp{dev=, fn=, mode="skb"|"drv"|"hw", replace=} */
static int object_attach_xdp(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_xdp_opts xo = {0};
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int dev = opt_field(L, "dev"), mode = opt_field(L, "mode"), replace = opt_field(L, "replace"), fn = fn_field(L);
	xo.dev = opt_string(L, dev, "attach_xdp", "dev");
	if (!xo.dev)
		return luaL_error(L, "attach_xdp: 'dev' must name a network device, e.g. \"eth0\"");
	xo.mode = opt_string(L, mode, "attach_xdp", "mode");
	xo.replace = lua_toboolean(L, replace);
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_XDP, 0, "attach_xdp");
	int id = lbpf_attach__xdp(obj, prog, &xo, &err);
	return push_attached(L, id, &err);
}

/* b:attach_tc{dev=, fn=, direction="ingress"|"egress", mode="tcx"|"clsact"} */
static int object_attach_tc(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int dev = opt_field(L, "dev"), direction = opt_field(L, "direction"), mode = opt_field(L, "mode"),
	    fn = fn_field(L);
	const char *name = opt_string(L, dev, "attach_tc", "dev");
	if (!name)
		return luaL_error(L, "attach_tc: 'dev' must name a network device, e.g. \"eth0\"");
	const char *dir = opt_string(L, direction, "attach_tc", "direction");
	if (!dir || (strcmp(dir, "ingress") != 0 && strcmp(dir, "egress") != 0))
		return luaL_error(L, "attach_tc: 'direction' must be \"ingress\" or \"egress\"");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_SCHED_CLS, 0, "attach_tc");
	const char *how = opt_string(L, mode, "attach_tc", "mode");
	int id = lbpf_attach__tc(obj, prog, name, strcmp(dir, "egress") == 0, how, &err);
	return push_attached(L, id, &err);
}

/* b:attach_cgroup{path=, fn=, type=} */
static int object_attach_cgroup(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int path = opt_field(L, "path"), type = opt_field(L, "type"), fn = fn_field(L);
	const char *dir = opt_string(L, path, "attach_cgroup", "path");
	if (!dir)
		return luaL_error(L, "attach_cgroup: 'path' must name a cgroup v2 directory, e.g. "
				     "\"/sys/fs/cgroup/my.slice\"");
	const char *type_name = opt_string(L, type, "attach_cgroup", "type");
	struct bpf_program *prog = fn_declared(L, fn, "attach_cgroup");
	int id = lbpf_attach__cgroup(obj, prog, dir, type_name, &err);
	return push_attached(L, id, &err);
}

/* b:attach_socket_filter{dev=, fn=} opens a packet socket on dev whose
 * packets the filter picks, and returns it; {fd=, fn=} puts the filter on a
 * socket the caller has (it stays until that socket closes) and returns true. */
static int object_attach_socket_filter(lua_State *L)
{
	lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int dev = opt_field(L, "dev"), fd = opt_field(L, "fd"), fn = fn_field(L);
	struct bpf_program *prog = fn_declared(L, fn, "attach_socket_filter");
	if (!lua_isnil(L, fd)) {
		if (!lua_isinteger(L, fd) || lua_tointeger(L, fd) < 0 || lua_tointeger(L, fd) > INT32_MAX)
			return luaL_error(L, "attach_socket_filter: 'fd' must be a socket's file descriptor");
		if (lbpf_attach__socket_filter(prog, (int)lua_tointeger(L, fd), &err))
			return lbpf_lua_raise(L, &err);
		lua_pushboolean(L, 1);
		return 1;
	}
	const char *name = opt_string(L, dev, "attach_socket_filter", "dev");
	if (!name)
		return luaL_error(L, "attach_socket_filter: give 'dev' (a network device to open a packet socket on) "
				     "or 'fd' (a socket of yours)");
	int sock = lbpf_socket__open_packet(name, prog, &err);
	if (sock < 0)
		return lbpf_lua_raise(L, &err);
	lbpf_lua_push_packet_socket(L, sock);
	return 1;
}

/* b:attach_netfilter{family=, hook=, priority=, fn=} */
static int object_attach_netfilter(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_netfilter_opts no = {0};
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int family = opt_field(L, "family"), hook = opt_field(L, "hook"), priority = opt_field(L, "priority"),
	    fn = fn_field(L);
	no.family = opt_string(L, family, "attach_netfilter", "family");
	no.hook = opt_string(L, hook, "attach_netfilter", "hook");
	if (!no.family || !no.hook)
		return luaL_error(L, "attach_netfilter: give family (\"ipv4\" or \"ipv6\") and hook (\"prerouting\", "
				     "\"input\", \"forward\", \"output\" or \"postrouting\")");
	if (!lua_isnil(L, priority) &&
	    (!lua_isinteger(L, priority) || lua_tointeger(L, priority) <= INT32_MIN || lua_tointeger(L, priority) >= INT32_MAX))
		return luaL_error(L, "attach_netfilter: 'priority' must be a 32-bit integer (the order among the hook's "
				     "functions)");
	no.priority = lua_isnil(L, priority) ? 0 : (int)lua_tointeger(L, priority);
	int id = lbpf_attach__netfilter(obj, fn_declared(L, fn, "attach_netfilter"), &no, &err);
	return push_attached(L, id, &err);
}

/* b:attach_flow_dissector{netns=, fn=} */
static int object_attach_flow_dissector(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int netns = opt_field(L, "netns"), fn = fn_field(L);
	const char *path = opt_string(L, netns, "attach_flow_dissector", "netns");
	int id = lbpf_attach__flow_dissector(obj, fn_declared(L, fn, "attach_flow_dissector"), path, &err);
	return push_attached(L, id, &err);
}

/* b:attach_sockmap{map=, fn=, type=, mode=}: map is a sockmap or sockhash,
 * by name in this object or as a bpf.Map (one pinned by another tool). */
static int object_attach_sockmap(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};
	int map_fd;

	luaL_checktype(L, 2, LUA_TTABLE);
	int map = opt_field(L, "map"), type = opt_field(L, "type"), mode = opt_field(L, "mode"), fn = fn_field(L);
	if (lua_type(L, map) == LUA_TSTRING) {
		const char *name = lbpf_lua_checkcstring(L, map, "attach_sockmap: 'map'");
		struct bpf_map *m = lbpf_object__map(obj, name);
		if (!m)
			return luaL_error(L, "attach_sockmap: this object has no map named '%s'", name);
		map_fd = bpf_map__fd(m);
	} else if (luaL_testudata(L, map, LBPF_MAP_MT)) {
		map_fd = lbpf_lua_check_map_fd(L, map);
	} else {
		return luaL_error(L, "attach_sockmap: 'map' must be a sockmap or sockhash (its name, or a bpf.Map)");
	}
	const char *hook = opt_string(L, type, "attach_sockmap", "type");
	const char *how = opt_string(L, mode, "attach_sockmap", "mode");
	int id = lbpf_attach__sockmap(obj, fn_declared(L, fn, "attach_sockmap"), map_fd, hook, how, &err);
	return push_attached(L, id, &err);
}

/* b:attach_uprobe_multi{path=, sym=, pid=, ret=, fn=}: sym is a glob, or a
 * list of names whose positions (from 1) are their attach cookies. */
static int object_attach_uprobe_multi(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int path = opt_field(L, "path"), sym = opt_field(L, "sym"), pid = opt_field(L, "pid"),
	    ret = opt_field(L, "ret"), fn = fn_field(L);
	const char *file = opt_string(L, path, "attach_uprobe_multi", "path");
	const char *glob = lua_type(L, sym) == LUA_TTABLE ? NULL : opt_string(L, sym, "attach_uprobe_multi", "sym");
	if (!file || (!glob && lua_type(L, sym) != LUA_TTABLE))
		return luaL_error(L, "attach_uprobe_multi: give 'path' (a binary or library) and 'sym' (a function "
				     "name or glob, e.g. \"malloc*\", or a list of names)");
	int who = opt_id(L, pid, "attach_uprobe_multi", "pid", "a process id");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, BPF_TRACE_UPROBE_MULTI, "attach_uprobe_multi");
	const char **names = NULL;
	size_t n = 0;
	if (!glob) {
		n = lua_rawlen(L, sym);
		if (n == 0 || n > LBPF_UPROBE_MULTI_MAX)
			return luaL_error(L, "attach_uprobe_multi: 'sym' lists from 1 to %d function names, not %d",
					  LBPF_UPROBE_MULTI_MAX, (int)n);
		names = lua_newuserdatauv(L, n * sizeof(*names), 0);
		for (size_t i = 0; i < n; i++) {
			lua_rawgeti(L, sym, (lua_Integer)i + 1);
			if (lua_type(L, -1) != LUA_TSTRING)
				return luaL_error(L, "attach_uprobe_multi: 'sym' item %d is a %s, not a function name",
						  (int)i + 1, luaL_typename(L, -1));
			names[i] = lua_tostring(L, -1);
			lua_pop(L, 1); /* the list keeps the string alive */
		}
	}
	int id = lbpf_attach__uprobe_multi(obj, prog, file, glob, names, n, who, lua_toboolean(L, ret), &err);
	return push_attached(L, id, &err);
}

/* b:attach_kprobe_multi{pattern=, ret=, fn=} */
static int object_attach_kprobe_multi(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};

	luaL_checktype(L, 2, LUA_TTABLE);
	int pattern = opt_field(L, "pattern"), ret = opt_field(L, "ret"), fn = fn_field(L);
	const char *glob = opt_string(L, pattern, "attach_kprobe_multi", "pattern");
	if (!glob)
		return luaL_error(L, "attach_kprobe_multi: 'pattern' must be a kernel function name or glob, e.g. "
				     "\"vfs_*\"");
	struct bpf_program *prog = fn_prog(L, fn, BPF_PROG_TYPE_KPROBE, BPF_TRACE_KPROBE_MULTI, "attach_kprobe_multi");
	int id = lbpf_attach__kprobe_multi(obj, prog, glob, lua_toboolean(L, ret), &err);
	return push_attached(L, id, &err);
}

/* b:attach_fentry(prog), attach_fexit, attach_fmod_ret, attach_tp_btf,
 * attach_lsm, attach_iter: the kind is the closure's upvalue. */
static int object_attach_trace(lua_State *L)
{
	struct lbpf_object *obj = lbpf_lua_check_object(L, 1);
	struct lbpf_err err = {0};
	const char *kind = lua_tostring(L, lua_upvalueindex(1));

	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "fn");
		lua_replace(L, 2);
	}
	if (lua_isnoneornil(L, 2))
		return luaL_error(L, "attach_%s: give the program (its name or b.progs.NAME)", kind);
	int id = lbpf_attach__trace(obj, loaded(L, lbpf_lua_check_prog_arg(L, 1, 2)), kind, &err);
	return push_attached(L, id, &err);
}

static const luaL_Reg attach_methods[] = {
	{"attach_tracepoint", object_attach_tracepoint},
	{"attach_raw_tracepoint", object_attach_raw_tracepoint},
	{"attach_usdt", object_attach_usdt},
	{"attach_uprobe", object_attach_uprobe},
	{"attach_kprobe", object_attach_kprobe},
	{"attach_perf_event", object_attach_perf_event},
	{"attach_xdp", object_attach_xdp},
	{"attach_tc", object_attach_tc},
	{"attach_cgroup", object_attach_cgroup},
	{"attach_socket_filter", object_attach_socket_filter},
	{"attach_netfilter", object_attach_netfilter},
	{"attach_flow_dissector", object_attach_flow_dissector},
	{"attach_sockmap", object_attach_sockmap},
	{"attach_uprobe_multi", object_attach_uprobe_multi},
	{"attach_kprobe_multi", object_attach_kprobe_multi},
	{NULL, NULL},
};

void lbpf_lua_attach_methods(lua_State *L)
{
	static const char *const trace_kinds[] = {"fentry", "fexit", "fmod_ret", "tp_btf", "lsm", "iter"};
	char name[32];

	luaL_setfuncs(L, attach_methods, 0);
	for (size_t i = 0; i < sizeof(trace_kinds) / sizeof(trace_kinds[0]); i++) {
		lua_pushstring(L, trace_kinds[i]);
		lua_pushcclosure(L, object_attach_trace, 1);
		snprintf(name, sizeof(name), "attach_%s", trace_kinds[i]);
		lua_setfield(L, -2, name);
	}
}
