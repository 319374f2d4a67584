/* Shared by the files of the Lua binding (module bpf): metatable names and
 * the helpers that tie maps, programs and links to their object. */
#ifndef LBPF_BINDING_H
#define LBPF_BINDING_H

#include <stdint.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "luabpf.h"

#define LBPF_OBJECT_MT "bpf.Object"
#define LBPF_MAP_MT "bpf.Map"
#define LBPF_PROG_MT "bpf.Program"
#define LBPF_LINK_MT "bpf.Link"
#define LBPF_ERROR_MT "bpf.Error"
/* Registry tables of methods, which C files and the embedded .lua modules fill. */
#define LBPF_OBJECT_METHODS "bpf.Object.methods"
#define LBPF_MAP_METHODS "bpf.Map.methods"

/* Object userdata user values: map, program and global userdata by name. */
/* Registry keys: every object made (a weak-keyed set), and the function
 * that prints an object's unfetched aggregations. */
#define LBPF_OBJECTS_KEY "luabpf.objects"
#define LBPF_PRINT_UNREAD_KEY "luabpf.print_unread"

#define LBPF_UV_MAPS 1
#define LBPF_UV_PROGS 2
#define LBPF_UV_GLOBALS 3
#define LBPF_UV_SOURCES 4 /* event sources by loop id */
#define LBPF_UV_ELF 5	  /* bpf.open: the ELF bytes, which libbpf needs until b:load() */
#define LBPF_UV_COUNT 5

struct lua_object {
	struct lbpf_object *obj; /* NULL once closed */
	bool polling;		 /* inside b:poll: its callbacks may not poll again */
	bool close_after_poll;	 /* <close> or __gc inside a callback: closed when the poll ends */
	bool autoattach;	 /* bpf.open: whether b:load() attaches what the sections name */
};

/* luaL_error at the script's own line, past embedded wrappers like bcc.lua. */
int lbpf_lua_error(lua_State *L, const char *fmt, ...);

/* The string at idx for a C API (a path, a name): a Lua error naming `what`
 * if it is not a string or holds a NUL byte, which C would cut it at. */
const char *lbpf_lua_checkcstring(lua_State *L, int idx, const char *what);

/* A view's object (b.maps, b.progs, b.globals keep theirs as user value 1):
 * checks that argument 1 is a view of metatable mt and pushes its object. */
int lbpf_lua_view_object(lua_State *L, const char *mt);

/* A bpf.PacketSocket owning fd (lua/packet_socket.c). */
void lbpf_lua_push_packet_socket(lua_State *L, int fd);

/* JSON (lua/json.c): pushes the text of the value at idx, written by type t
 * when it is not NULL; per_cpu: the value is a list of t, one per CPU. */
void lbpf_lua_json_push(lua_State *L, int idx, const struct lbpf_type *t, bool per_cpu);
void lbpf_lua_json_functions(lua_State *L);
void lbpf_lua_http_functions(lua_State *L);
/* The BTF type of the map at idx's keys or values (NULL when they are not
 * decoded by type) and whether its values are per CPU. */
const struct lbpf_type *lbpf_lua_map_type(lua_State *L, int idx, bool key, bool *per_cpu);

/* Reused event records (lua/event_record.c): a struct record's callback
 * argument, whose fields are read as from a table. */
struct record;
struct lbpf_record_slots {
	struct record *r;
	int proxy, values, dead; /* stack slots, for the deliveries of one poll */
	int keys;		 /* the first of the decoded fields' names */
};
/* Pushes a new record for struct type t (which must outlive it). */
void lbpf_lua_record_new(lua_State *L, const struct lbpf_type *t);
/* Pushes the record at ridx's parts and notes where they are; the proxy,
 * which the callback gets, is at s->proxy. keys: the slot of the first field
 * name of an earlier record of the same type, or 0 to push them too. */
void lbpf_lua_record_slots(lua_State *L, int ridx, int keys, struct lbpf_record_slots *s);
/* Decodes the record at data into the proxy, valid until lbpf_lua_record_end. */
void lbpf_lua_record_begin(lua_State *L, const struct lbpf_record_slots *s, const void *data, size_t size);
void lbpf_lua_record_end(lua_State *L, const struct lbpf_record_slots *s);

/* Batched delivery (lua/event_batch.c): a reused array of records of struct
 * type t, or of byte strings when t is NULL. */
struct batch;
void lbpf_lua_batch_new(lua_State *L, const struct lbpf_type *t);
/* Pushes the batch at bidx's parts for the deliveries of one poll. */
struct batch *lbpf_lua_batch_prepare(lua_State *L, int bidx);
/* Fills the array with n records and pushes it, valid until lbpf_lua_batch_end. */
void lbpf_lua_batch_begin(lua_State *L, struct batch *b, const struct lbpf_event *events, int n);
void lbpf_lua_batch_end(lua_State *L, struct batch *b, int n);

/* Adds the attach methods (lua/attach.c) to the method table on top. */
void lbpf_lua_attach_methods(lua_State *L);

void lbpf_lua_open_error(lua_State *L);
void lbpf_lua_open_object(lua_State *L);
void lbpf_lua_open_map(lua_State *L);
void lbpf_lua_open_prog(lua_State *L);
void lbpf_lua_open_link(lua_State *L);
void lbpf_lua_open_events(lua_State *L);
void lbpf_lua_events_functions(lua_State *L);

/* Raises err as a Lua error (an error object with .log for verifier logs). */
int lbpf_lua_raise(lua_State *L, struct lbpf_err *err);

/* The live, loaded runtime object of the object userdata at idx, or an
 * error saying it is closed or not loaded yet. */
struct lbpf_object *lbpf_lua_check_object(lua_State *L, int idx);
/* The same, loaded or not: for what may be configured before b:load(). */
struct lbpf_object *lbpf_lua_check_open(lua_State *L, int idx);
/* For a map, program or link userdata at idx: its object, or an error saying it is closed. */
struct lbpf_object *lbpf_lua_owner(lua_State *L, int idx, const char *what);

/* Pushes the map or program userdata cached under name in the object's user
 * value uv; when there is none yet, pushes a new one of size bytes with
 * metatable mt, tied to the object, and returns it for the caller to fill
 * (NULL means the cached one was pushed). */
void *lbpf_lua_push_child(lua_State *L, int objidx, int uv, const char *name, size_t size, const char *mt);
void lbpf_lua_push_map(lua_State *L, int objidx, struct bpf_map *map);
/* A map's definition, before its object is loaded (lua/map_spec.c). */
void lbpf_lua_push_map_spec(lua_State *L, int objidx, struct bpf_map *map);
void lbpf_lua_push_prog(lua_State *L, int objidx, struct bpf_program *prog);
void lbpf_lua_push_link(lua_State *L, int objidx, int id);
/* A program argument: its name or a bpf.Program of the same object. */
struct bpf_program *lbpf_lua_check_prog_arg(lua_State *L, int objidx, int arg);

/* An unsigned integer of 1, 2, 4 or 8 bytes at data (any alignment). */
static inline uint64_t lbpf_read_uint(const void *data, uint32_t size)
{
	uint8_t u8;
	uint16_t u16;
	uint32_t u32;
	uint64_t u64;
	switch (size) {
	case 1: memcpy(&u8, data, 1); return u8;
	case 2: memcpy(&u16, data, 2); return u16;
	case 4: memcpy(&u32, data, 4); return u32;
	default: memcpy(&u64, data, 8); return u64;
	}
}

/* The BTF codec (lua/codec.c): bytes of type t to a Lua value, and back.
 * Encoding zeroes the bytes first; errors start with prefix ("map 'm': key"). */
void lbpf_codec_push(lua_State *L, const struct lbpf_type *t, const void *data);
void lbpf_codec_encode(lua_State *L, int idx, const struct lbpf_type *t, void *data, const char *prefix);
/* One field of a struct or union at base (bitfields included). */
void lbpf_codec_push_field(lua_State *L, const struct lbpf_field *f, const void *base);

/* A C pointer kept once per Lua state in the registry under key, freed by
 * the __gc of metatable mt when the state closes; NULL until the caller sets it. */
void **lbpf_lua_registry_slot(lua_State *L, const char *key, const char *mt);

/* Module functions each file adds to the bpf table at the top of the stack. */
void lbpf_lua_map_functions(lua_State *L);
/* The fd of the open map at idx (a bpf.Map), or a Lua error. */
int lbpf_lua_check_map_fd(lua_State *L, int idx);
/* A map userdata that owns fd (bpf.open_pinned, bpf.map_by_id). */
void lbpf_lua_push_map_fd(lua_State *L, int fd);
/* bpf.open_pinned and the pinned link and program types (lua/pinned.c). */
void lbpf_lua_open_pinned(lua_State *L);
void lbpf_lua_sysview_functions(lua_State *L);
void lbpf_lua_symbols_functions(lua_State *L);
void lbpf_lua_discovery_functions(lua_State *L);
void lbpf_lua_btf_functions(lua_State *L);
void lbpf_lua_target_functions(lua_State *L);
/* luabpf -c's command starts the first time a script waits (lua/target.c). */
void lbpf_lua_before_wait(lua_State *L);
/* After a wait cut short by stopped_by (a signal): in the REPL, whose
 * registry says so, Ctrl-C raises "interrupted!" to end the statement. */
void lbpf_lua_check_interrupt(lua_State *L, int stopped_by);
/* Reads a process's symbols now, for naming its stacks once it has exited. */
void lbpf_lua_load_usyms(lua_State *L, int pid);
/* Sets an object's FILTER_TARGET() pid, when it has one, before its load. */
void lbpf_lua_apply_target(lua_State *L, int objidx, const struct lbpf_object *obj);

/* b.globals (lua/globals.c). */
void lbpf_lua_open_globals(lua_State *L);
void lbpf_lua_push_globals(lua_State *L, int objidx);
/* Writes the value at vidx into global name; errors start with what ("opts.rodata."). */
void lbpf_lua_global_set(lua_State *L, int objidx, const char *name, int vidx, const char *what);

/* bpf.new and bpf.compile. */
int lbpf_lua_new(lua_State *L);
int lbpf_lua_open(lua_State *L);
int lbpf_lua_compile(lua_State *L);
/* Compiles the source at src_idx with the options table at opts_idx (or none)
 * and pushes the ELF as a string; warnings go to stderr. */
void lbpf_lua_compile_to_string(lua_State *L, int src_idx, int opts_idx);

#endif
