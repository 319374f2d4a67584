/* bpf.Map: a BPF map as a Lua table. Keys and values go through the BTF
 * codec; each map type gets the behaviour its kernel side has (per-CPU value
 * arrays, queues, bloom filters, program and map arrays, stack traces, LPM
 * prefixes). Maps of an object, pinned maps and maps by id work alike. */
#include <arpa/inet.h>
#include <stdio.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "binding.h"

#define MAP_ITER_MT "bpf.MapIter"

enum value_style {
	V_CODEC,   /* through the BTF layout */
	V_PROG_FD, /* program arrays: set a program, read its id */
	V_MAP_FD,  /* maps of maps: set a map, read the inner map */
	V_CGROUP_FD, /* cgroup arrays: set a cgroup by path; the kernel lets only programs read */
	V_STACK,   /* stack traces: a list of addresses */
	V_NONE,    /* ring buffers and event arrays: no element access from Lua */
};

struct lua_map {
	int fd;			/* -1 once closed */
	bool owns_fd;		/* opened by pin or id, not part of an object */
	struct lbpf_map_info info;
	struct lbpf_layout *key, *value; /* NULL for keyless maps (queue, stack, bloom) */
	enum value_style style;
	uint32_t ncpus;		/* per-CPU maps: possible CPUs; else 0 */
	size_t vstride;		/* bytes of one CPU's value */
	size_t vbytes;		/* bytes of one whole value in a buffer */
	char *kbuf, *vbuf;	/* scratch for one element */
	char *pin_path;
	struct user_ring_buffer *urb;	   /* user ring buffers, on first submit */
	struct lbpf_layout *submit_layout; /* the type m:submit last encoded */
	char submit_type[64];
};

static struct lua_map *to_map(lua_State *L, int idx)
{
	return luaL_checkudata(L, idx, LBPF_MAP_MT);
}

/* The map at idx, checked to be usable: its object open, or its own fd open. */
static struct lua_map *check_map(lua_State *L, int idx)
{
	struct lua_map *m = to_map(L, idx);
	if (!m->owns_fd)
		lbpf_lua_owner(L, idx, "map");
	if (m->fd < 0)
		luaL_error(L, "map '%s' is closed", m->info.name);
	return m;
}

int lbpf_lua_check_map_fd(lua_State *L, int idx)
{
	return check_map(L, idx)->fd;
}

static bool is_keyless(uint32_t type)
{
	return type == BPF_MAP_TYPE_QUEUE || type == BPF_MAP_TYPE_STACK || type == BPF_MAP_TYPE_BLOOM_FILTER;
}

static enum value_style style_of(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_PROG_ARRAY: return V_PROG_FD;
	case BPF_MAP_TYPE_ARRAY_OF_MAPS:
	case BPF_MAP_TYPE_HASH_OF_MAPS: return V_MAP_FD;
	case BPF_MAP_TYPE_CGROUP_ARRAY: return V_CGROUP_FD;
	case BPF_MAP_TYPE_STACK_TRACE: return V_STACK;
	case BPF_MAP_TYPE_RINGBUF:
	case BPF_MAP_TYPE_USER_RINGBUF:
	case BPF_MAP_TYPE_PERF_EVENT_ARRAY: return V_NONE;
	default: return V_CODEC;
	}
}

/* The layout of a BTF type, or NULL when there is none or it disagrees with
 * the map's size (a type that does not match the bytes is not trusted). */
static struct lbpf_layout *try_layout(const struct btf *btf, uint32_t type_id, uint32_t size)
{
	struct lbpf_err err = {0};
	struct lbpf_layout *l = btf && type_id ? lbpf_layout__new(btf, type_id, &err) : NULL;

	if (l && lbpf_layout__root(l)->size != size) {
		lbpf_layout__free(l);
		l = NULL;
	}
	return l;
}

/* Fills a map userdata whose fd, ownership and (optionally) layouts are set;
 * on error its __gc frees what was made. Without BTF, keys and values are raw bytes. */
static void map_init(lua_State *L, struct lua_map *m, const struct btf *btf, uint32_t key_type,
		     uint32_t value_type)
{
	int ret = lbpf_map__info(m->fd, &m->info);
	if (ret)
		luaL_error(L, "cannot read the map's description: %s", lbpf_strerror(-ret));
	m->style = style_of(m->info.type);
	if (lbpf_map__is_percpu(m->info.type)) {
		int n = libbpf_num_possible_cpus();
		if (n <= 0)
			luaL_error(L, "cannot count this machine's CPUs for per-CPU map '%s'", m->info.name);
		m->ncpus = (uint32_t)n;
		m->vstride = (m->info.value_size + 7) / 8 * 8;
		m->vbytes = m->vstride * m->ncpus;
	} else {
		m->vbytes = m->info.value_size;
	}
	if (m->info.key_size && !m->key && !(m->key = try_layout(btf, key_type, m->info.key_size)))
		m->key = lbpf_layout__bytes(m->info.key_size);
	if (m->info.value_size && !m->value && !(m->value = try_layout(btf, value_type, m->info.value_size)))
		m->value = lbpf_layout__bytes(m->info.value_size);
	m->kbuf = malloc(m->info.key_size + 8);
	m->vbuf = malloc(m->vbytes + 8);
	if ((m->info.key_size && !m->key) || (m->info.value_size && !m->value) || !m->kbuf || !m->vbuf)
		luaL_error(L, "out of memory for map '%s'", m->info.name);
}

void lbpf_lua_push_map(lua_State *L, int objidx, struct bpf_map *map)
{
	objidx = lua_absindex(L, objidx);
	struct lua_map *m = lbpf_lua_push_child(L, objidx, LBPF_UV_MAPS, bpf_map__name(map), sizeof(*m), LBPF_MAP_MT);
	if (!m)
		return;
	memset(m, 0, sizeof(*m));
	m->fd = bpf_map__fd(map);
	struct lua_object *o = lua_touserdata(L, objidx);
	uint32_t key_type, value_type;
	lbpf_object__map_types(o->obj, map, &key_type, &value_type);
	map_init(L, m, bpf_object__btf(lbpf_object__bpf(o->obj)), key_type, value_type);
}

/* A map the userdata owns by fd; its types come from the kernel's copy of its BTF. */
void lbpf_lua_push_map_fd(lua_State *L, int fd)
{
	struct lua_map *m = lua_newuserdatauv(L, sizeof(*m), 1);
	struct lbpf_map_info info;

	memset(m, 0, sizeof(*m));
	m->fd = fd;
	m->owns_fd = true; /* from here __gc closes it */
	luaL_setmetatable(L, LBPF_MAP_MT);
	/* Described before map_init, which may raise, so the BTF is never leaked. */
	if (lbpf_map__info(fd, &info) == 0 && info.btf_id) {
		struct btf *btf = btf__load_from_kernel_by_id(info.btf_id);
		if (btf) {
			m->key = try_layout(btf, info.btf_key_type_id, info.key_size);
			m->value = try_layout(btf, info.btf_value_type_id, info.value_size);
			btf__free(btf);
		}
	}
	map_init(L, m, NULL, 0, 0);
}

/* ---- keys ---- */

/* "10.0.0.0/8" or "fd00::/8" into an LPM trie key: prefixlen, then the address. */
static bool encode_cidr(lua_State *L, struct lua_map *m, int idx, char *key)
{
	char addr[64];
	size_t len;
	const char *s = lua_tolstring(L, idx, &len);
	const char *slash = memchr(s, '/', len);
	unsigned char bytes[16];

	if (!slash || (size_t)(slash - s) >= sizeof(addr))
		return false;
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	int family = strchr(addr, ':') ? AF_INET6 : AF_INET;
	size_t alen = family == AF_INET6 ? 16 : 4;
	char *end;
	long prefix = strtol(slash + 1, &end, 10);
	if (inet_pton(family, addr, bytes) != 1 || end != s + len || end == slash + 1 || prefix < 0 ||
	    prefix > (long)alen * 8)
		luaL_error(L, "map '%s': '%s' is not an address/prefix like \"10.0.0.0/8\"", m->info.name, s);
	if (m->info.key_size < 4 + alen)
		luaL_error(L, "map '%s': its %d-byte keys cannot hold a %s prefix", m->info.name,
			   (int)m->info.key_size, family == AF_INET6 ? "IPv6" : "IPv4");
	memset(key, 0, m->info.key_size);
	uint32_t plen = (uint32_t)prefix;
	memcpy(key, &plen, 4);
	memcpy(key + 4, bytes, alen);
	return true;
}

static void encode_key(lua_State *L, struct lua_map *m, int idx, char *key)
{
	if (!m->key)
		luaL_error(L, "map '%s' is a %s and has no keys: use m:push(v), m:pop(), m:peek()%s", m->info.name,
			   lbpf_map__type_name(m->info.type),
			   m->info.type == BPF_MAP_TYPE_BLOOM_FILTER ? ", m:contains(v)" : "");
	if (lua_isnoneornil(L, idx))
		luaL_error(L, "map '%s': the key is nil", m->info.name);
	if (m->info.type == BPF_MAP_TYPE_LPM_TRIE && lua_type(L, idx) == LUA_TSTRING && encode_cidr(L, m, idx, key))
		return;
	char prefix[64];
	snprintf(prefix, sizeof(prefix), "map '%s': key", m->info.name);
	lbpf_codec_encode(L, idx, lbpf_layout__root(m->key), key, prefix);
}

/* ---- values ---- */

/* The fd a program array or map of maps stores: from an object, or a raw fd. */
static uint32_t fd_value(lua_State *L, struct lua_map *m, int idx)
{
	if (lua_isinteger(L, idx) && lua_tointeger(L, idx) >= 0 && lua_tointeger(L, idx) <= INT32_MAX)
		return (uint32_t)lua_tointeger(L, idx);
	if (m->style == V_PROG_FD && luaL_testudata(L, idx, LBPF_PROG_MT)) {
		lua_getfield(L, idx, "fd");
		uint32_t fd = (uint32_t)lua_tointeger(L, -1);
		lua_pop(L, 1);
		return fd;
	}
	if (m->style == V_MAP_FD && luaL_testudata(L, idx, LBPF_MAP_MT))
		return (uint32_t)check_map(L, idx)->fd;
	return (uint32_t)luaL_error(L, "map '%s': a %s holds %s, got %s", m->info.name,
				    lbpf_map__type_name(m->info.type),
				    m->style == V_PROG_FD  ? "programs (b.progs.NAME)"
				    : m->style == V_MAP_FD ? "maps (b.maps.NAME)"
							   : "cgroups (a cgroup v2 directory's path, or an fd of one)",
				    luaL_typename(L, idx));
}

static void encode_value(lua_State *L, struct lua_map *m, int idx, char *value)
{
	char prefix[64];

	if (m->style == V_NONE || m->style == V_STACK)
		luaL_error(L, "map '%s': a %s cannot be written from Lua", m->info.name,
			   lbpf_map__type_name(m->info.type));
	if (m->style == V_PROG_FD || m->style == V_MAP_FD || m->style == V_CGROUP_FD) {
		uint32_t fd = fd_value(L, m, idx);
		memcpy(value, &fd, 4);
		return;
	}
	if (!m->ncpus) {
		snprintf(prefix, sizeof(prefix), "map '%s': value", m->info.name);
		lbpf_codec_encode(L, idx, lbpf_layout__root(m->value), value, prefix);
		return;
	}
	if (!lua_istable(L, idx) || lua_rawlen(L, idx) > m->ncpus || lua_rawlen(L, idx) == 0)
		luaL_error(L, "map '%s': a per-CPU value is an array of 1 to %d values (one per CPU), got %s",
			   m->info.name, (int)m->ncpus, luaL_typename(L, idx));
	memset(value, 0, m->vbytes);
	for (uint32_t cpu = 0; cpu < m->ncpus; cpu++) {
		if (lua_rawgeti(L, idx, cpu + 1) != LUA_TNIL) {
			snprintf(prefix, sizeof(prefix), "map '%s': value[%u]", m->info.name, cpu + 1);
			lbpf_codec_encode(L, -1, lbpf_layout__root(m->value), value + cpu * m->vstride, prefix);
		}
		lua_pop(L, 1);
	}
}

/* Encodes the value at vidx and updates m[key] with it. A cgroup given by
 * path is opened for the update only. */
static int encode_update(lua_State *L, struct lua_map *m, const void *key, int vidx, uint64_t flags)
{
	if (m->style != V_CGROUP_FD || lua_type(L, vidx) != LUA_TSTRING) {
		encode_value(L, m, vidx, m->vbuf);
		return lbpf_map__update(m->fd, key, m->vbuf, flags);
	}
	const char *path = lbpf_lua_checkcstring(L, vidx, "the cgroup path");
	int cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (cg < 0)
		return luaL_error(L, "map '%s': cannot open the cgroup %s: %s", m->info.name, path, lbpf_strerror(errno));
	uint32_t fd = (uint32_t)cg;
	memcpy(m->vbuf, &fd, 4);
	int ret = lbpf_map__update(m->fd, key, m->vbuf, flags);
	close(cg);
	return ret;
}

static void push_value(lua_State *L, struct lua_map *m, const char *value)
{
	uint32_t id;

	switch (m->style) {
	case V_PROG_FD:
		memcpy(&id, value, 4);
		lua_pushinteger(L, id);
		return;
	case V_MAP_FD: {
		struct lbpf_err err = {0};
		memcpy(&id, value, 4);
		int fd = lbpf_map__open_id(id, &err);
		if (fd < 0) {
			lua_pushinteger(L, id); /* gone meanwhile: the id is all there is */
			return;
		}
		lbpf_lua_push_map_fd(L, fd);
		return;
	}
	case V_STACK: {
		uint64_t addr;
		lua_createtable(L, (int)(m->info.value_size / 8), 0);
		for (uint32_t i = 0; i < m->info.value_size / 8; i++) {
			memcpy(&addr, value + i * 8, 8);
			if (!addr)
				break;
			lua_pushinteger(L, (lua_Integer)addr);
			lua_rawseti(L, -2, i + 1);
		}
		return;
	}
	default:
		break;
	}
	if (!m->ncpus) {
		lbpf_codec_push(L, lbpf_layout__root(m->value), value);
		return;
	}
	lua_createtable(L, (int)m->ncpus, 0);
	for (uint32_t cpu = 0; cpu < m->ncpus; cpu++) {
		lbpf_codec_push(L, lbpf_layout__root(m->value), value + cpu * m->vstride);
		lua_rawseti(L, -2, cpu + 1);
	}
}

const struct lbpf_type *lbpf_lua_map_type(lua_State *L, int idx, bool key, bool *per_cpu)
{
	struct lua_map *m = to_map(L, idx);
	*per_cpu = !key && m->ncpus > 0;
	const struct lbpf_layout *l = key ? m->key : m->style == V_CODEC ? m->value : NULL;
	return l ? lbpf_layout__root(l) : NULL;
}

static void push_key(lua_State *L, struct lua_map *m, const char *key)
{
	lbpf_codec_push(L, lbpf_layout__root(m->key), key);
}

static int raise_errno(lua_State *L, struct lua_map *m, const char *op, int ret)
{
	if (ret == -EPERM || ret == -EACCES) {
		const char *caps = lbpf_features__missing_caps();
		if (caps)
			return luaL_error(L, "map '%s': %s failed: permission denied: %s", m->info.name, op, caps);
	}
	if (m->style == V_CGROUP_FD && (ret == -ENOTSUP || ret == -EOPNOTSUPP || ret == -524))
		return luaL_error(L, "map '%s': a cgroup_array cannot be read from user space: the kernel lets "
				     "programs test it (bpf_current_task_under_cgroup, bpf_skb_under_cgroup) and Lua "
				     "set or delete its slots",
				  m->info.name);
	return luaL_error(L, "map '%s': %s failed: %s", m->info.name, op, lbpf_strerror(-ret));
}

static void check_elements(lua_State *L, struct lua_map *m)
{
	if (m->style == V_NONE)
		luaL_error(L, "map '%s' is a %s: its events are read with b:ring_buffer or b:perf_buffer, not by key",
			   m->info.name, lbpf_map__type_name(m->info.type));
}

/* ---- single elements ---- */

/* Pushes m[k] or nil; the key is at kidx. */
static int get(lua_State *L, struct lua_map *m, int kidx)
{
	check_elements(L, m);
	encode_key(L, m, kidx, m->kbuf);
	int ret = lbpf_map__lookup(m->fd, m->kbuf, m->vbuf, 0);
	if (ret == -ENOENT) {
		lua_pushnil(L);
		return 1;
	}
	if (ret)
		return raise_errno(L, m, "lookup", ret);
	push_value(L, m, m->vbuf);
	return 1;
}

static uint64_t check_flags(lua_State *L, int idx)
{
	static const char *const names[] = {"any", "noexist", "exist", NULL};
	static const uint64_t flags[] = {BPF_ANY, BPF_NOEXIST, BPF_EXIST};
	return flags[luaL_checkoption(L, idx, "any", names)];
}

static int map_get(lua_State *L)
{
	return get(L, check_map(L, 1), 2);
}

/* m:set(k, v [, "any"|"noexist"|"exist"]): true, or false when the flag forbade it. */
static int map_set(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	uint64_t flags = check_flags(L, 4);

	check_elements(L, m);
	luaL_checkany(L, 3);
	encode_key(L, m, 2, m->kbuf);
	int ret = encode_update(L, m, m->kbuf, 3, flags);
	if ((ret == -EEXIST && flags == BPF_NOEXIST) || (ret == -ENOENT && flags == BPF_EXIST)) {
		lua_pushboolean(L, 0);
		return 1;
	}
	if (ret)
		return raise_errno(L, m, "update", ret);
	lua_pushboolean(L, 1);
	return 1;
}

static int delete(lua_State *L, struct lua_map *m, int kidx)
{
	check_elements(L, m);
	encode_key(L, m, kidx, m->kbuf);
	int ret = lbpf_map__delete(m->fd, m->kbuf);
	if (ret == -EINVAL && (m->info.type == BPF_MAP_TYPE_ARRAY || m->info.type == BPF_MAP_TYPE_PERCPU_ARRAY))
		return luaL_error(L, "map '%s': entries of an array cannot be deleted; set them to zero instead",
				  m->info.name);
	if (ret && ret != -ENOENT)
		return raise_errno(L, m, "delete", ret);
	lua_pushboolean(L, ret == 0);
	return 1;
}

static int map_delete(lua_State *L)
{
	luaL_checkany(L, 2);
	return delete(L, check_map(L, 1), 2);
}

static int map_newindex(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	if (lua_isnil(L, 3)) {
		delete(L, m, 2);
		return 0;
	}
	check_elements(L, m);
	encode_key(L, m, 2, m->kbuf);
	int ret = encode_update(L, m, m->kbuf, 3, BPF_ANY);
	if (ret)
		return raise_errno(L, m, "update", ret);
	return 0;
}

/* m:lookup_and_delete(k): the value it removed, or nil. */
static int map_lookup_and_delete(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	check_elements(L, m);
	encode_key(L, m, 2, m->kbuf);
	int ret = lbpf_map__lookup_and_delete(m->fd, m->kbuf, m->vbuf);
	if (ret == -ENOENT) {
		lua_pushnil(L);
		return 1;
	}
	if (ret)
		return raise_errno(L, m, "lookup_and_delete", ret);
	push_value(L, m, m->vbuf);
	return 1;
}

/* ---- queues, stacks, bloom filters ---- */

static struct lua_map *check_keyless(lua_State *L, const char *method)
{
	struct lua_map *m = check_map(L, 1);
	if (!is_keyless(m->info.type))
		luaL_error(L, "map '%s': %s is for queue, stack and bloom filter maps, and this is a %s", m->info.name,
			   method, lbpf_map__type_name(m->info.type));
	return m;
}

/* m:push(v [, "exist"]): "exist" makes a full queue or stack drop its oldest value. */
static int map_push(lua_State *L)
{
	struct lua_map *m = check_keyless(L, "push");
	static const char *const names[] = {"any", "exist", NULL};
	uint64_t flags = luaL_checkoption(L, 3, "any", names) ? BPF_EXIST : BPF_ANY;
	luaL_checkany(L, 2);
	encode_value(L, m, 2, m->vbuf);
	int ret = lbpf_map__update(m->fd, NULL, m->vbuf, flags);
	if (ret == -E2BIG)
		return luaL_error(L, "map '%s' is full (%d entries); m:push(v, \"exist\") drops the oldest instead",
				  m->info.name, (int)m->info.max_entries);
	if (ret)
		return raise_errno(L, m, "push", ret);
	return 0;
}

static int take(lua_State *L, bool remove)
{
	struct lua_map *m = check_keyless(L, remove ? "pop" : "peek");
	if (m->info.type == BPF_MAP_TYPE_BLOOM_FILTER)
		return luaL_error(L, "map '%s' is a bloom filter: it only answers m:contains(v)", m->info.name);
	int ret = remove ? lbpf_map__lookup_and_delete(m->fd, NULL, m->vbuf) : lbpf_map__lookup(m->fd, NULL, m->vbuf, 0);
	if (ret == -ENOENT) {
		lua_pushnil(L);
		return 1;
	}
	if (ret)
		return raise_errno(L, m, remove ? "pop" : "peek", ret);
	push_value(L, m, m->vbuf);
	return 1;
}

static int map_pop(lua_State *L)
{
	return take(L, true);
}

static int map_peek(lua_State *L)
{
	return take(L, false);
}

static int map_contains(lua_State *L)
{
	struct lua_map *m = check_keyless(L, "contains");
	if (m->info.type != BPF_MAP_TYPE_BLOOM_FILTER)
		return luaL_error(L, "map '%s': contains is for bloom filters; use m:peek() on a %s", m->info.name,
				  lbpf_map__type_name(m->info.type));
	luaL_checkany(L, 2);
	encode_value(L, m, 2, m->vbuf);
	int ret = lbpf_map__lookup(m->fd, NULL, m->vbuf, 0);
	if (ret && ret != -ENOENT)
		return raise_errno(L, m, "contains", ret);
	lua_pushboolean(L, ret == 0);
	return 1;
}

/* ---- user ring buffers: Lua produces, a BPF program drains ---- */

/* The layout of the type named at idx, from the map's object's BTF (cached). */
static const struct lbpf_type *submit_type(lua_State *L, struct lua_map *m, int idx)
{
	const char *name = luaL_checkstring(L, idx);
	struct lbpf_err err = {0};

	if (m->submit_layout && strcmp(m->submit_type, name) == 0)
		return lbpf_layout__root(m->submit_layout);
	if (m->owns_fd)
		luaL_error(L, "map '%s': typed submits need the map's object; submit a string of bytes", m->info.name);
	struct lbpf_object *obj = lbpf_lua_owner(L, 1, "map");
	int id = lbpf_object__find_type(obj, name);
	if (id < 0)
		luaL_error(L, "map '%s': the program's BTF has no type '%s'", m->info.name, name);
	struct lbpf_layout *l = lbpf_layout__new(bpf_object__btf(lbpf_object__bpf(obj)), (uint32_t)id, &err);
	if (!l)
		lbpf_lua_raise(L, &err);
	lbpf_layout__free(m->submit_layout);
	m->submit_layout = l;
	snprintf(m->submit_type, sizeof(m->submit_type), "%s", name);
	return lbpf_layout__root(l);
}

/* m:submit(bytes) or m:submit(value, "struct req"): one record for the BPF side's bpf_user_ringbuf_drain. */
static int map_submit(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	const struct lbpf_type *t = NULL;
	size_t size;

	if (m->info.type != BPF_MAP_TYPE_USER_RINGBUF)
		return luaL_error(L, "map '%s': submit is for user ring buffers, and this is a %s", m->info.name,
				  lbpf_map__type_name(m->info.type));
	luaL_checkany(L, 2);
	if (lua_type(L, 2) == LUA_TSTRING && lua_isnoneornil(L, 3)) {
		size = lua_rawlen(L, 2);
	} else {
		if (lua_isnoneornil(L, 3))
			return luaL_error(L, "map '%s': name the record's type: m:submit(value, \"struct name\")",
					  m->info.name);
		t = submit_type(L, m, 3);
		size = t->size;
	}
	if (size == 0 || size > m->info.max_entries / 2)
		return luaL_error(L, "map '%s': a record of %d bytes does not fit this user ring buffer", m->info.name,
				  (int)size);
	/* Encoded aside, so a bad value never leaves a reserved record behind. */
	char *rec = lua_newuserdatauv(L, size, 0);
	if (t) {
		char prefix[64];
		snprintf(prefix, sizeof(prefix), "map '%s': record", m->info.name);
		lbpf_codec_encode(L, 2, t, rec, prefix);
	} else {
		memcpy(rec, lua_tostring(L, 2), size);
	}
	if (!m->urb && !(m->urb = user_ring_buffer__new(m->fd, NULL)))
		return luaL_error(L, "map '%s': cannot open the user ring buffer: %s", m->info.name, lbpf_strerror(errno));
	void *slot = user_ring_buffer__reserve(m->urb, (uint32_t)size);
	if (!slot)
		return luaL_error(L, "map '%s': %s", m->info.name,
				  errno == ENOSPC ? "the user ring buffer is full until the BPF side drains it"
						  : lbpf_strerror(errno));
	memcpy(slot, rec, size);
	user_ring_buffer__submit(m->urb, slot);
	return 0;
}

/* ---- whole-map reads: runtime/map_reader.c does the kernel side ---- */

struct map_iter {
	struct lbpf_map_reader *reader;
	struct lua_map *map;	   /* kept alive by the iterator's user value */
	struct lua_object *owner;  /* the map's object, or NULL for owned maps */
	bool raw_keys;		   /* keys as their bytes (m:iter{raw_keys = true}) */
};

static int iter_gc(lua_State *L)
{
	struct map_iter *it = luaL_checkudata(L, 1, MAP_ITER_MT);
	lbpf_map_reader__free(it->reader);
	it->reader = NULL;
	return 0;
}

/* Pushes a new iterator over the map at midx; batch false forces key-by-key reads. */
static struct map_iter *push_iter(lua_State *L, int midx, struct lua_map *m, bool batch)
{
	midx = lua_absindex(L, midx);
	struct map_iter *it = lua_newuserdatauv(L, sizeof(*it), 1);
	memset(it, 0, sizeof(*it));
	luaL_setmetatable(L, MAP_ITER_MT);
	lua_pushvalue(L, midx);
	lua_setiuservalue(L, -2, 1);
	it->map = m;
	if (!m->owns_fd) {
		lua_getiuservalue(L, midx, 1);
		it->owner = lua_touserdata(L, -1);
		lua_pop(L, 1);
	}
	it->reader = lbpf_map_reader__new(m->fd, &m->info, m->vbytes, batch);
	if (!it->reader)
		luaL_error(L, "out of memory reading map '%s'", m->info.name);
	return it;
}

/* The next entry's bytes, or false at the end; raises if the map closed meanwhile. */
static bool iter_step(lua_State *L, struct map_iter *it, const char **key, const char **value)
{
	if (it->owner ? !it->owner->obj : it->map->fd < 0)
		luaL_error(L, "map '%s' was closed while being read", it->map->info.name);
	int ret = lbpf_map_reader__next(it->reader, (const void **)key, (const void **)value);
	if (ret < 0)
		raise_errno(L, it->map, "reading", ret);
	return ret > 0;
}

static void check_iterable(lua_State *L, struct lua_map *m)
{
	check_elements(L, m);
	if (!m->key)
		luaL_error(L, "map '%s' is a %s and has no keys to iterate; use m:pop() or m:peek()", m->info.name,
			   lbpf_map__type_name(m->info.type));
}

static int iter_next(lua_State *L)
{
	struct map_iter *it = luaL_checkudata(L, 1, MAP_ITER_MT);
	const char *key, *value;

	if (!iter_step(L, it, &key, &value))
		return 0;
	/* Keys as bytes let a reader that caches what it makes of each key
	 * (bpf.metrics' label text) skip decoding the keys it has seen. */
	if (it->raw_keys)
		lua_pushlstring(L, key, it->map->info.key_size);
	else
		push_key(L, it->map, key);
	push_value(L, it->map, value);
	return 2;
}

/* m:decode_key(bytes): a key m:iter{raw_keys = true} gave, decoded. */
static int map_decode_key(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	size_t n;
	const char *bytes = luaL_checklstring(L, 2, &n);
	check_iterable(L, m);
	if (n != m->info.key_size)
		return luaL_error(L, "map '%s': a key is %u bytes, not %zu", m->info.name, m->info.key_size, n);
	push_key(L, m, bytes);
	return 1;
}

/* m:iter([{batch = false, raw_keys = true}]): the triple pairs(m) uses,
 * optionally key by key, optionally with keys as bytes. */
static int map_iter(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	bool batch = true, raw_keys = false;

	check_iterable(L, m);
	if (lua_istable(L, 2)) {
		lua_getfield(L, 2, "batch");
		batch = lua_isnil(L, -1) || lua_toboolean(L, -1);
		lua_getfield(L, 2, "raw_keys");
		raw_keys = lua_toboolean(L, -1);
		lua_pop(L, 2);
	}
	lua_pushcfunction(L, iter_next);
	push_iter(L, 1, m, batch)->raw_keys = raw_keys;
	lua_pushnil(L);
	return 3;
}

static int map_pairs(lua_State *L)
{
	lua_settop(L, 1);
	return map_iter(L);
}

enum collect { C_ITEMS, C_KEYS, C_VALUES, C_COUNT };

static int collect(lua_State *L, enum collect what)
{
	struct lua_map *m = check_map(L, 1);
	const char *key, *value;
	lua_Integer n = 0;

	check_iterable(L, m);
	struct map_iter *it = push_iter(L, 1, m, true);
	if (what != C_COUNT)
		lua_newtable(L);
	while (iter_step(L, it, &key, &value)) {
		n++;
		switch (what) {
		case C_ITEMS:
			lua_createtable(L, 2, 0);
			push_key(L, m, key);
			lua_rawseti(L, -2, 1);
			push_value(L, m, value);
			lua_rawseti(L, -2, 2);
			break;
		case C_KEYS: push_key(L, m, key); break;
		case C_VALUES: push_value(L, m, value); break;
		case C_COUNT: continue;
		}
		lua_rawseti(L, -2, n);
	}
	if (what == C_COUNT)
		lua_pushinteger(L, n);
	return 1;
}

static int map_items(lua_State *L)
{
	return collect(L, C_ITEMS);
}

static int map_keys(lua_State *L)
{
	return collect(L, C_KEYS);
}

static int map_values(lua_State *L)
{
	return collect(L, C_VALUES);
}

/* #m and m:count(): the entries present now. */
static int map_count(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	if (is_keyless(m->info.type) || m->style == V_NONE)
		return luaL_error(L, "map '%s': a %s cannot be counted", m->info.name, lbpf_map__type_name(m->info.type));
	return collect(L, C_COUNT);
}

/* m:clear(): removes every entry (arrays are zeroed); returns how many were there. */
static int map_clear(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	uint64_t removed;

	check_elements(L, m);
	if (m->info.type == BPF_MAP_TYPE_BLOOM_FILTER)
		return luaL_error(L, "map '%s': a bloom filter cannot be cleared", m->info.name);
	int ret = lbpf_map__clear(m->fd, &m->info, m->vbytes, &removed);
	if (ret)
		return raise_errno(L, m, "clear", ret);
	lua_pushinteger(L, (lua_Integer)removed);
	return 1;
}

/* ---- description, pinning, closing ---- */

/* A key's or value's type name and, for a struct, its field names in
 * declaration order (which the decoded tables lose), into the table on top. */
static void push_type_info(lua_State *L, const struct lbpf_type *t, const char *type_key, const char *fields_key)
{
	lua_pushstring(L, t->name);
	lua_setfield(L, -2, type_key);
	if (t->kind != LBPF_T_STRUCT)
		return;
	lua_createtable(L, (int)t->nfields, 0);
	for (uint32_t i = 0; i < t->nfields; i++) {
		lua_pushstring(L, t->fields[i].name);
		lua_rawseti(L, -2, (lua_Integer)i + 1);
	}
	lua_setfield(L, -2, fields_key);
}

static int map_info(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	lua_createtable(L, 0, 12);
	lua_pushstring(L, m->info.name);
	lua_setfield(L, -2, "name");
	lua_pushstring(L, lbpf_map__type_name(m->info.type));
	lua_setfield(L, -2, "type");
	lua_pushinteger(L, m->info.key_size);
	lua_setfield(L, -2, "key_size");
	lua_pushinteger(L, m->info.value_size);
	lua_setfield(L, -2, "value_size");
	lua_pushinteger(L, m->info.max_entries);
	lua_setfield(L, -2, "max_entries");
	lua_pushinteger(L, m->info.flags);
	lua_setfield(L, -2, "flags");
	lua_pushinteger(L, m->info.id);
	lua_setfield(L, -2, "id");
	lua_pushinteger(L, m->fd);
	lua_setfield(L, -2, "fd");
	if (m->key)
		push_type_info(L, lbpf_layout__root(m->key), "key_type", "key_fields");
	if (m->value)
		push_type_info(L, lbpf_layout__root(m->value), "value_type", "value_fields");
	if (m->ncpus) {
		lua_pushinteger(L, m->ncpus);
		lua_setfield(L, -2, "ncpus");
	}
	if (m->pin_path) {
		lua_pushstring(L, m->pin_path);
		lua_setfield(L, -2, "pinned");
	}
	return 1;
}

static int map_pin(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	const char *path = lbpf_lua_checkcstring(L, 2, "the pin path");
	struct lbpf_err err = {0};

	if (m->pin_path)
		return luaL_error(L, "map '%s' is already pinned at %s", m->info.name, m->pin_path);
	if (lbpf_map__pin(m->fd, path, &err))
		return lbpf_lua_raise(L, &err);
	m->pin_path = strdup(path);
	return 0;
}

/* m:unpin([path]): removes the pin this map made, or the one at path. */
static int map_unpin(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	const char *path = lua_isnoneornil(L, 2) ? m->pin_path : lbpf_lua_checkcstring(L, 2, "the pin path");
	struct lbpf_err err = {0};
	if (!path)
		return luaL_error(L, "map '%s' was not pinned from here; give the path: m:unpin(path)", m->info.name);
	if (lbpf_bpffs__unpin(path, &err))
		return lbpf_lua_raise(L, &err);
	if (m->pin_path && strcmp(path, m->pin_path) == 0) {
		free(m->pin_path);
		m->pin_path = NULL;
	}
	return 0;
}

static void release(struct lua_map *m)
{
	user_ring_buffer__free(m->urb);
	m->urb = NULL;
	lbpf_layout__free(m->submit_layout);
	m->submit_layout = NULL;
	if (m->owns_fd && m->fd >= 0)
		close(m->fd);
	m->fd = -1;
	lbpf_layout__free(m->key);
	lbpf_layout__free(m->value);
	free(m->kbuf);
	free(m->vbuf);
	free(m->pin_path);
	m->key = m->value = NULL;
	m->kbuf = m->vbuf = m->pin_path = NULL;
}

/* m:close(): only for maps opened by pin or id; an object's maps close with it. */
static int map_close(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	if (!m->owns_fd)
		return luaL_error(L, "map '%s' belongs to a bpf object and closes with it", m->info.name);
	release(m);
	return 0;
}

static int map_gc(lua_State *L)
{
	release(to_map(L, 1));
	return 0;
}

/* <close>: a map opened by pin or id closes; an object's map closes with
 * its object, so leaving the scope of one of its handles does nothing. */
static int map_close_scope(lua_State *L)
{
	struct lua_map *m = to_map(L, 1);
	if (m->owns_fd)
		release(m);
	return 0;
}

static int map_index(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	if (lua_type(L, 2) == LUA_TSTRING) {
		lua_getfield(L, LUA_REGISTRYINDEX, LBPF_MAP_METHODS);
		if (lua_getfield(L, -1, lua_tostring(L, 2)) != LUA_TNIL)
			return 1;
		const char *key = lua_tostring(L, 2);
		if (strcmp(key, "name") == 0) {
			lua_pushstring(L, m->info.name);
			return 1;
		}
		if (strcmp(key, "fd") == 0) {
			lua_pushinteger(L, m->fd);
			return 1;
		}
		lua_settop(L, 2);
	}
	return get(L, m, 2);
}

/* m:object(): the bpf.Object the map belongs to, or nil for a map opened alone. */
static int map_object(lua_State *L)
{
	struct lua_map *m = check_map(L, 1);
	if (m->owns_fd)
		lua_pushnil(L);
	else
		lua_getiuservalue(L, 1, 1);
	return 1;
}

static int map_tostring(lua_State *L)
{
	struct lua_map *m = to_map(L, 1);
	bool closed = m->fd < 0;
	if (!m->owns_fd) {
		lua_getiuservalue(L, 1, 1);
		struct lua_object *o = lua_touserdata(L, -1);
		closed = !o || !o->obj;
	}
	if (closed)
		lua_pushfstring(L, "bpf.Map (closed): %p", (void *)m);
	else
		lua_pushfstring(L, "bpf.Map %s (%s, %d entries max): %p", m->info.name, lbpf_map__type_name(m->info.type),
				(int)m->info.max_entries, (void *)m);
	return 1;
}

/* bpf.map_by_id(id) */
static int bpf_map_by_id(lua_State *L)
{
	struct lbpf_err err = {0};
	lua_Integer id = luaL_checkinteger(L, 1);
	luaL_argcheck(L, id > 0 && id <= UINT32_MAX, 1, "map ids are positive 32-bit integers");
	int fd = lbpf_map__open_id((uint32_t)id, &err);
	if (fd < 0)
		return lbpf_lua_raise(L, &err);
	lbpf_lua_push_map_fd(L, fd);
	return 1;
}

void lbpf_lua_open_map(lua_State *L)
{
	static const luaL_Reg meta[] = {
		{"__index", map_index}, {"__newindex", map_newindex}, {"__pairs", map_pairs}, {"__len", map_count},
		{"__tostring", map_tostring}, {"__gc", map_gc}, {"__close", map_close_scope}, {NULL, NULL},
	};
	static const luaL_Reg methods[] = {
		{"get", map_get}, {"set", map_set}, {"delete", map_delete},
		{"lookup_and_delete", map_lookup_and_delete}, {"clear", map_clear}, {"items", map_items},
		{"keys", map_keys}, {"values", map_values}, {"count", map_count}, {"iter", map_iter},
		{"decode_key", map_decode_key},
		{"info", map_info}, {"push", map_push}, {"pop", map_pop}, {"peek", map_peek},
		{"contains", map_contains}, {"submit", map_submit}, {"pin", map_pin}, {"unpin", map_unpin},
		{"close", map_close}, {"object", map_object},
		{NULL, NULL},
	};
	luaL_newmetatable(L, LBPF_MAP_MT);
	luaL_setfuncs(L, meta, 0);
	lua_pop(L, 1);
	luaL_newlib(L, methods);
	lua_setfield(L, LUA_REGISTRYINDEX, LBPF_MAP_METHODS);
	luaL_newmetatable(L, MAP_ITER_MT);
	lua_pushcfunction(L, iter_gc);
	lua_setfield(L, -2, "__gc");
	lua_pop(L, 1);
}

void lbpf_lua_map_functions(lua_State *L)
{
	static const luaL_Reg funcs[] = {{"map_by_id", bpf_map_by_id}, {NULL, NULL}};
	luaL_setfuncs(L, funcs, 0);
}
