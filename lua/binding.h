/* Shared by the files of the Lua binding (module bpf): metatable names and
 * the helpers that tie maps, programs and links to their object. */
#ifndef LBPF_BINDING_H
#define LBPF_BINDING_H

#include <lauxlib.h>
#include <lua.h>

#include "luabpf.h"

#define LBPF_OBJECT_MT "bpf.Object"
#define LBPF_MAP_MT "bpf.Map"
#define LBPF_PROG_MT "bpf.Program"
#define LBPF_LINK_MT "bpf.Link"
#define LBPF_ERROR_MT "bpf.Error"

/* Object userdata user values: 1 = map userdata by name, 2 = program userdata by name. */
#define LBPF_UV_MAPS 1
#define LBPF_UV_PROGS 2

struct lua_object {
	struct lbpf_object *obj; /* NULL once closed */
};

void lbpf_lua_open_error(lua_State *L);
void lbpf_lua_open_object(lua_State *L);
void lbpf_lua_open_map(lua_State *L);
void lbpf_lua_open_prog(lua_State *L);
void lbpf_lua_open_link(lua_State *L);

/* Raises err as a Lua error (an error object with .log for verifier logs). */
int lbpf_lua_raise(lua_State *L, struct lbpf_err *err);

/* The live runtime object of the object userdata at idx, or a "closed" error. */
struct lbpf_object *lbpf_lua_check_object(lua_State *L, int idx);
/* For a map, program or link userdata at idx: its object, or an error saying it is closed. */
struct lbpf_object *lbpf_lua_owner(lua_State *L, int idx, const char *what);

/* Pushes the map or program userdata cached under name in the object's user
 * value uv; when there is none yet, pushes a new one of size bytes with
 * metatable mt, tied to the object, and returns it for the caller to fill
 * (NULL means the cached one was pushed). */
void *lbpf_lua_push_child(lua_State *L, int objidx, int uv, const char *name, size_t size, const char *mt);
void lbpf_lua_push_map(lua_State *L, int objidx, struct bpf_map *map);
void lbpf_lua_push_prog(lua_State *L, int objidx, struct bpf_program *prog);
void lbpf_lua_push_link(lua_State *L, int objidx, int id);
/* A program argument: its name or a bpf.Program of the same object. */
struct bpf_program *lbpf_lua_check_prog_arg(lua_State *L, int objidx, int arg);

/* bpf.new and bpf.compile. */
int lbpf_lua_new(lua_State *L);
int lbpf_lua_compile(lua_State *L);
/* Compiles the source at src_idx with the options table at opts_idx (or none)
 * and pushes the ELF as a string; warnings go to stderr. */
void lbpf_lua_compile_to_string(lua_State *L, int src_idx, int opts_idx);

#endif
