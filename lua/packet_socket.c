/* bpf.PacketSocket: the packet socket b:attach_socket_filter{dev=} opens,
 * whose filter picks the device's packets; Lua reads them with s:recv(). */
#include <errno.h>
#include <poll.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "binding.h"

#define PACKET_SOCKET_MT "bpf.PacketSocket"

struct packet_socket {
	int fd; /* -1 once closed */
};

static struct packet_socket *check_socket(lua_State *L)
{
	struct packet_socket *s = luaL_checkudata(L, 1, PACKET_SOCKET_MT);
	if (s->fd < 0)
		luaL_error(L, "this packet socket is closed");
	return s;
}

/* s:recv([timeout_ms]): the next packet the filter kept (from its Ethernet
 * header), or nil when none came in time; without a timeout it waits. */
static int socket_recv(lua_State *L)
{
	struct packet_socket *s = check_socket(L);
	lua_Integer timeout = luaL_optinteger(L, 2, -1);
	luaL_argcheck(L, timeout >= -1 && timeout <= INT32_MAX, 2, "a timeout in milliseconds, or -1 to wait");
	struct pollfd p = {s->fd, POLLIN, 0};
	int n = poll(&p, 1, (int)timeout);
	if (n < 0 && errno != EINTR)
		return luaL_error(L, "recv: %s", lbpf_strerror(errno));
	if (n <= 0)
		return 0;
	luaL_Buffer b;
	char *buf = luaL_buffinitsize(L, &b, 65536);
	ssize_t got = recv(s->fd, buf, 65536, 0);
	if (got < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return 0;
		return luaL_error(L, "recv: %s", lbpf_strerror(errno));
	}
	luaL_pushresultsize(&b, (size_t)got);
	return 1;
}

static int socket_close(lua_State *L)
{
	struct packet_socket *s = luaL_checkudata(L, 1, PACKET_SOCKET_MT);
	if (s->fd >= 0)
		close(s->fd);
	s->fd = -1;
	return 0;
}

static int socket_index(lua_State *L)
{
	const char *key = luaL_checkstring(L, 2);
	if (strcmp(key, "fd") == 0) {
		lua_pushinteger(L, check_socket(L)->fd);
		return 1;
	}
	lua_getmetatable(L, 1);
	if (lua_getfield(L, -1, key) == LUA_TFUNCTION && (strcmp(key, "recv") == 0 || strcmp(key, "close") == 0))
		return 1;
	return luaL_error(L, "bpf.PacketSocket has no field '%s' (it has: recv, close, fd)", key);
}

static int socket_tostring(lua_State *L)
{
	struct packet_socket *s = luaL_checkudata(L, 1, PACKET_SOCKET_MT);
	lua_pushfstring(L, "bpf.PacketSocket%s: %p", s->fd < 0 ? " (closed)" : "", (void *)s);
	return 1;
}

void lbpf_lua_push_packet_socket(lua_State *L, int fd)
{
	static const luaL_Reg meta[] = {
		{"__index", socket_index}, {"__gc", socket_close}, {"__close", socket_close},
		{"__tostring", socket_tostring}, {"recv", socket_recv}, {"close", socket_close}, {NULL, NULL},
	};
	struct packet_socket *s = lua_newuserdatauv(L, sizeof(*s), 0);
	s->fd = fd;
	if (luaL_newmetatable(L, PACKET_SOCKET_MT))
		luaL_setfuncs(L, meta, 0);
	lua_setmetatable(L, -2);
}
