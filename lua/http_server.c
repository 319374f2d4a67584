/* bpf._http_serve(listen, b, handler): an HTTP server served by object b's
 * event loop (b:run), whose Lua handler answers each request. The metrics
 * endpoint (lua/metrics.lua) is built on it. */
#include <stdio.h>
#include <stdlib.h>

#include "binding.h"

#define HTTP_MT "bpf.HttpServer"

/* User values: the object whose loop serves, and the handler's own thread. */
enum { UV_OBJECT = 1, UV_THREAD, UV_COUNT = UV_THREAD };

struct http_server {
	struct lbpf_http *h;	  /* NULL once closed */
	struct lua_object *owner; /* the object whose loop holds the source */
	int source;		  /* its id in that loop */
	lua_State *thread;	  /* runs the handler (first value on its stack) */
	char content_type[128];
};

static void answer(void *ctx, const struct lbpf_http_request *req, struct lbpf_http_response *resp)
{
	struct http_server *s = ctx;
	lua_State *T = s->thread;

	lua_settop(T, 1);
	lua_pushvalue(T, 1);
	lua_pushstring(T, req->method);
	lua_pushstring(T, req->path);
	lua_pushstring(T, req->accept ? req->accept : "");
	if (lua_pcall(T, 3, 3, 0) != LUA_OK) {
		const char *msg = lua_tostring(T, -1);
		size_t n = strlen(msg ? msg : "") + 32;
		resp->status = 500;
		resp->body = malloc(n);
		if (resp->body)
			snprintf(resp->body, n, "the handler failed: %s\n", msg ? msg : "(no message)");
		lua_settop(T, 1);
		return;
	}
	size_t len;
	const char *body = lua_tolstring(T, -1, &len);
	resp->status = (int)lua_tointeger(T, -3);
	snprintf(s->content_type, sizeof(s->content_type), "%s", lua_isstring(T, -2) ? lua_tostring(T, -2) : "text/plain");
	resp->content_type = s->content_type;
	resp->body = malloc(len + 1);
	if (resp->body) {
		memcpy(resp->body, body ? body : "", body ? len : 0);
		resp->body[body ? len : 0] = '\0';
		resp->len = body ? len : 0;
	}
	lua_settop(T, 1);
}

static struct http_server *check_server(lua_State *L)
{
	return luaL_checkudata(L, 1, HTTP_MT);
}

static int server_close(lua_State *L)
{
	struct http_server *s = check_server(L);
	if (!s->h)
		return 0;
	if (s->owner->obj) {
		struct lbpf_err err = {0};
		struct lbpf_loop *loop = lbpf_object__loop(s->owner->obj, &err);
		if (loop)
			lbpf_loop__remove(loop, s->source);
	}
	lbpf_http__free(s->h);
	s->h = NULL;
	return 0;
}

static int server_port(lua_State *L)
{
	struct http_server *s = check_server(L);
	if (!s->h)
		return luaL_error(L, "the HTTP server is closed");
	lua_pushinteger(L, lbpf_http__port(s->h));
	return 1;
}

static int server_tostring(lua_State *L)
{
	struct http_server *s = check_server(L);
	if (s->h)
		lua_pushfstring(L, "bpf.HttpServer (port %d)", (int)lbpf_http__port(s->h));
	else
		lua_pushliteral(L, "bpf.HttpServer (closed)");
	return 1;
}

static int http_serve(lua_State *L)
{
	const char *listen = lbpf_lua_checkcstring(L, 1, "the listen address");
	struct lbpf_object *obj = lbpf_lua_check_object(L, 2);
	luaL_checktype(L, 3, LUA_TFUNCTION);
	struct http_server *s = lua_newuserdatauv(L, sizeof(*s), UV_COUNT);
	memset(s, 0, sizeof(*s));
	luaL_setmetatable(L, HTTP_MT);
	lua_pushvalue(L, 2);
	lua_setiuservalue(L, -2, UV_OBJECT);
	s->owner = lua_touserdata(L, 2);
	s->thread = lua_newthread(L);
	lua_pushvalue(L, 3);
	lua_xmove(L, s->thread, 1);
	lua_setiuservalue(L, -2, UV_THREAD);

	struct lbpf_err err = {0};
	s->h = lbpf_http__new(listen, answer, s, &err);
	if (!s->h)
		return lbpf_lua_raise(L, &err);
	struct lbpf_loop *loop = lbpf_object__loop(obj, &err);
	s->source = loop ? lbpf_loop__add_http(loop, s->h, &err) : -1;
	if (s->source < 0) {
		lbpf_http__free(s->h);
		s->h = NULL;
		return lbpf_lua_raise(L, &err);
	}
	return 1;
}

void lbpf_lua_http_functions(lua_State *L)
{
	static const luaL_Reg methods[] = {
		{"close", server_close},
		{"port", server_port},
		{NULL, NULL},
	};
	luaL_newmetatable(L, HTTP_MT);
	luaL_newlib(L, methods);
	lua_setfield(L, -2, "__index");
	lua_pushcfunction(L, server_close);
	lua_setfield(L, -2, "__gc");
	lua_pushcfunction(L, server_close);
	lua_setfield(L, -2, "__close");
	lua_pushcfunction(L, server_tostring);
	lua_setfield(L, -2, "__tostring");
	lua_pop(L, 1);
	lua_pushcfunction(L, http_serve);
	lua_setfield(L, -2, "_http_serve");
}
