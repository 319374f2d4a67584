/* bpf.open_pinned(path): whatever is pinned there, as a map, a bpf.PinnedLink
 * (detach it, unpin it) or a bpf.PinnedProgram, each owning its own fd. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "binding.h"

#define PINNED_LINK_MT "bpf.PinnedLink"
#define PINNED_PROG_MT "bpf.PinnedProgram"

struct pinned {
	int fd; /* -1 once closed */
};

static struct pinned *check_pinned(lua_State *L, const char *mt, const char *what)
{
	struct pinned *p = luaL_checkudata(L, 1, mt);
	if (p->fd < 0)
		luaL_error(L, "this pinned %s is closed", what);
	return p;
}

/* Argument 1 as either kind of pin; *mt says which. */
static struct pinned *any_pinned(lua_State *L, const char **mt)
{
	struct pinned *p = luaL_testudata(L, 1, PINNED_LINK_MT);
	*mt = PINNED_LINK_MT;
	if (!p) {
		*mt = PINNED_PROG_MT;
		p = luaL_testudata(L, 1, PINNED_PROG_MT);
	}
	if (!p)
		luaL_typeerror(L, 1, "bpf.PinnedLink or bpf.PinnedProgram");
	return p;
}

static int pinned_close(lua_State *L)
{
	const char *mt;
	struct pinned *p = any_pinned(L, &mt);
	if (p->fd >= 0) {
		close(p->fd);
		p->fd = -1;
	}
	return 0;
}

/* l:unpin(path) and p:unpin(path): the pin goes; what it pinned lives while
 * this handle (or anything else) holds it. */
static int pinned_unpin(lua_State *L)
{
	const char *mt;
	struct lbpf_err err = {0};
	any_pinned(L, &mt);
	if (lbpf_bpffs__unpin(lbpf_lua_checkcstring(L, 2, "the pin path"), &err))
		return lbpf_lua_raise(L, &err);
	return 0;
}

static int pinned_tostring(lua_State *L)
{
	const char *mt;
	struct pinned *p = any_pinned(L, &mt);
	lua_pushfstring(L, "%s%s: %p", mt, p->fd < 0 ? " (closed)" : "", (void *)p);
	return 1;
}

/* l:detach(): ends the attachment itself, for every holder of the link. */
static int link_detach(lua_State *L)
{
	struct pinned *p = check_pinned(L, PINNED_LINK_MT, "link");
	lua_pushboolean(L, bpf_link_detach(p->fd) == 0);
	return 1;
}

static int link_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);
	if (strcmp(key, "detach") == 0) {
		lua_pushcfunction(L, link_detach);
		return 1;
	}
	if (strcmp(key, "unpin") == 0 || strcmp(key, "close") == 0) {
		lua_getmetatable(L, 1);
		lua_getfield(L, -1, key);
		return 1;
	}
	struct pinned *p = check_pinned(L, PINNED_LINK_MT, "link");
	struct bpf_link_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_link_get_info_by_fd(p->fd, &info, &len) != 0)
		return luaL_error(L, "cannot read the pinned link's info: %s", lbpf_strerror(errno));
	if (strcmp(key, "id") == 0)
		lua_pushinteger(L, info.id);
	else if (strcmp(key, "prog_id") == 0)
		lua_pushinteger(L, info.prog_id);
	else if (strcmp(key, "type") == 0)
		lua_pushstring(L, libbpf_bpf_link_type_str(info.type) ? libbpf_bpf_link_type_str(info.type) : "unknown");
	else if (strcmp(key, "attached") == 0)
		/* A detached link keeps its fd but no longer names a program's hook. */
		lua_pushboolean(L, info.type == BPF_LINK_TYPE_XDP ? info.xdp.ifindex != 0 : info.prog_id != 0);
	else
		return luaL_error(L, "bpf.PinnedLink has no field '%s' (it has: id, type, prog_id, attached, detach, "
				     "unpin, close)", key);
	return 1;
}

static int prog_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);
	if (strcmp(key, "unpin") == 0 || strcmp(key, "close") == 0) {
		lua_getmetatable(L, 1);
		lua_getfield(L, -1, key);
		return 1;
	}
	struct pinned *p = check_pinned(L, PINNED_PROG_MT, "program");
	struct bpf_prog_info info;
	__u32 len = sizeof(info);
	memset(&info, 0, sizeof(info));
	if (bpf_prog_get_info_by_fd(p->fd, &info, &len) != 0)
		return luaL_error(L, "cannot read the pinned program's info: %s", lbpf_strerror(errno));
	if (strcmp(key, "id") == 0)
		lua_pushinteger(L, info.id);
	else if (strcmp(key, "name") == 0)
		lua_pushstring(L, info.name);
	else if (strcmp(key, "type") == 0)
		lua_pushstring(L, libbpf_bpf_prog_type_str(info.type) ? libbpf_bpf_prog_type_str(info.type) : "unknown");
	else if (strcmp(key, "fd") == 0)
		lua_pushinteger(L, p->fd);
	else
		return luaL_error(L, "bpf.PinnedProgram has no field '%s' (it has: id, name, type, fd, unpin, close)",
				  key);
	return 1;
}

/* bpf.open_pinned(path) */
static int bpf_open_pinned(lua_State *L)
{
	struct lbpf_err err = {0};
	struct lbpf_map_info info;
	char kind[64];
	const char *path = lbpf_lua_checkcstring(L, 1, "the pin path");
	int fd = lbpf_bpffs__open(path, kind, sizeof(kind), &err);

	if (fd < 0)
		return lbpf_lua_raise(L, &err);
	if (strcmp(kind, "map") == 0 && lbpf_map__info(fd, &info) == 0) {
		lbpf_lua_push_map_fd(L, fd);
		return 1;
	}
	const char *mt = strcmp(kind, "link") == 0 ? PINNED_LINK_MT : strcmp(kind, "prog") == 0 ? PINNED_PROG_MT : NULL;
	if (!mt) {
		close(fd);
		return luaL_error(L, "%s is pinned, but it is a BPF %s, not a map, program or link", path, kind);
	}
	struct pinned *p = lua_newuserdatauv(L, sizeof(*p), 0);
	p->fd = fd;
	luaL_setmetatable(L, mt);
	return 1;
}

void lbpf_lua_open_pinned(lua_State *L)
{
	static const luaL_Reg common[] = {
		{"__gc", pinned_close}, {"__close", pinned_close}, {"__tostring", pinned_tostring},
		{"close", pinned_close}, {"unpin", pinned_unpin}, {NULL, NULL},
	};
	static const luaL_Reg funcs[] = {{"open_pinned", bpf_open_pinned}, {NULL, NULL}};

	luaL_newmetatable(L, PINNED_LINK_MT);
	luaL_setfuncs(L, common, 0);
	lua_pushcfunction(L, link_index);
	lua_setfield(L, -2, "__index");
	luaL_newmetatable(L, PINNED_PROG_MT);
	luaL_setfuncs(L, common, 0);
	lua_pushcfunction(L, prog_index);
	lua_setfield(L, -2, "__index");
	lua_pop(L, 2);
	luaL_setfuncs(L, funcs, 0);
}
