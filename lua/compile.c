/* bpf.compile, and the compile step of bpf.new: finds where in the calling
 * script the C text stands, so clang's diagnostics name the script's own lines. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "binding.h"

#define MAX_CFLAGS 64
#define MAX_SCRIPT_SIZE (16 << 20)

struct location {
	char name[256];
	int line;
};

static char *read_file(const char *path, size_t *size)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;

	if (!f)
		return NULL;
	if (fseek(f, 0, SEEK_END) == 0) {
		long n = ftell(f);
		if (n > 0 && n <= MAX_SCRIPT_SIZE && fseek(f, 0, SEEK_SET) == 0 && (buf = malloc(n))) {
			*size = fread(buf, 1, n, f);
		}
	}
	fclose(f);
	return buf;
}

/* The line where src starts inside text, choosing the occurrence nearest the
 * calling line; 0 when src does not appear verbatim (built or escaped text). */
static int line_in_text(const char *text, size_t size, const char *src, size_t len, int near)
{
	int best = 0, line = 1;
	const char *scanned = text, *p = text, *end = text + size;

	while (len > 0 && (p = memmem(p, end - p, src, len))) {
		for (; scanned < p; scanned++)
			line += *scanned == '\n';
		if (!best || abs(line - near) < abs(best - near))
			best = line;
		p++;
	}
	return best;
}

/* Where the C text stands: the first Lua caller whose file or chunk holds it
 * verbatim, searching up the stack since helpers and pcall may sit between. */
static void locate_caller(lua_State *L, const char *src, size_t len, struct location *loc)
{
	lua_Debug ar;
	bool guessed = false;

	snprintf(loc->name, sizeof(loc->name), "bpf.c");
	loc->line = 1;
	for (int level = 1; lua_getstack(L, level, &ar); level++) {
		if (!lua_getinfo(L, "Sl", &ar) || ar.currentline <= 0)
			continue;
		int line = 0;
		if (ar.source[0] == '@') {
			size_t size = 0;
			char *text = read_file(ar.source + 1, &size);
			line = text ? line_in_text(text, size, src, len, ar.currentline) : 0;
			free(text);
		} else if (ar.source[0] != '=') {
			line = line_in_text(ar.source, strlen(ar.source), src, len, ar.currentline);
		}
		if (line || (!guessed && ar.source[0] != '=')) {
			/* Most scripts write bpf.new([[ with the C text starting on the
			 * next line; an embedded module (bpf.tool's t:load) is not the
			 * script. */
			snprintf(loc->name, sizeof(loc->name), "%s", ar.source[0] == '@' ? ar.source + 1 : ar.short_src);
			loc->line = line ? line : ar.currentline + 1;
			guessed = true;
		}
		if (line)
			return;
	}
}

static size_t collect_cflags(lua_State *L, int opts_idx, const char **cflags)
{
	size_t n = 0;

	if (opts_idx == 0 || lua_getfield(L, opts_idx, "cflags") == LUA_TNIL) {
		if (opts_idx)
			lua_pop(L, 1);
		return 0;
	}
	if (!lua_istable(L, -1))
		luaL_error(L, "opts.cflags must be a table of strings, e.g. {\"-DDEBUG\"}");
	int t = lua_gettop(L);
	for (lua_Integer i = 1; lua_geti(L, t, i) != LUA_TNIL; i++) {
		if (lua_type(L, -1) != LUA_TSTRING)
			luaL_error(L, "opts.cflags[%d] must be a string, got %s", (int)i, luaL_typename(L, -1));
		if (n == MAX_CFLAGS)
			luaL_error(L, "opts.cflags: at most %d flags", MAX_CFLAGS);
		cflags[n++] = lua_tostring(L, -1); /* kept alive by the cflags table */
		lua_pop(L, 1);
	}
	lua_pop(L, 1);
	/* The table stays referenced from opts, which the caller keeps on the stack. */
	lua_pop(L, 1);
	return n;
}

/* Whether src may use the aggregations of lua/aggregate.lua. */
static bool has_aggregations(const char *src, size_t len)
{
	static const char *const kinds[] = {"COUNT", "SUM", "MIN", "MAX", "AVG", "STATS", "HIST", "LHIST"};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++)
		if (memmem(src, len, kinds[i], strlen(kinds[i])))
			return true;
	return false;
}

/* The source with its aggregations made C (lua/aggregate.lua),
 * replacing the string at src_idx; errors name the C text's place. */
static void translate_aggregations(lua_State *L, int src_idx, const struct location *loc)
{
	lua_getfield(L, LUA_REGISTRYINDEX, "luabpf.translate_aggregations");
	lua_pushvalue(L, src_idx);
	if (lua_pcall(L, 1, 1, 0) != LUA_OK)
		luaL_error(L, "%s:%d: %s", loc->name, loc->line, lua_tostring(L, -1));
	if (lua_type(L, -1) == LUA_TSTRING)
		lua_replace(L, src_idx);
	else
		lua_pop(L, 1);
}

void lbpf_lua_compile_to_string(lua_State *L, int src_idx, int opts_idx)
{
	size_t len;
	const char *src = luaL_checklstring(L, src_idx, &len);
	const char *cflags[MAX_CFLAGS];
	struct lbpf_compile_opts copts = {0};
	struct location loc;
	struct lbpf_elf elf;
	struct lbpf_err err = {0};

	locate_caller(L, src, len, &loc);
	if (opts_idx) {
		if (lua_getfield(L, opts_idx, "name") != LUA_TNIL)
			snprintf(loc.name, sizeof(loc.name), "%s", luaL_checkstring(L, -1));
		if (lua_getfield(L, opts_idx, "line") != LUA_TNIL)
			loc.line = (int)luaL_checkinteger(L, -1);
		copts.no_prelude = lua_getfield(L, opts_idx, "prelude") != LUA_TNIL && !lua_toboolean(L, -1);
		copts.portable = lua_getfield(L, opts_idx, "portable") != LUA_TNIL && lua_toboolean(L, -1);
		lua_pop(L, 4);
	}
	if (!copts.no_prelude && has_aggregations(src, len)) {
		translate_aggregations(L, src_idx, &loc);
		src = lua_tolstring(L, src_idx, &len);
	}
	copts.name = loc.name;
	copts.line = loc.line;
	copts.cflags = cflags;
	copts.ncflags = collect_cflags(L, opts_idx, cflags);
	bool strip = opts_idx && lua_getfield(L, opts_idx, "strip") != LUA_TNIL && lua_toboolean(L, -1);
	if (opts_idx)
		lua_pop(L, 1);
	if (lbpf_compile(src, len, &copts, &elf, &err))
		lbpf_lua_raise(L, &err);
	if (elf.warnings)
		fputs(elf.warnings, stderr);
	if (strip) {
		struct lbpf_elf stripped;
		int ret = lbpf_elf__strip_debug(elf.data, elf.size, &stripped, &err);
		lbpf_elf__free(&elf);
		if (ret)
			lbpf_lua_raise(L, &err);
		elf = stripped;
	}
	lua_pushlstring(L, elf.data, elf.size);
	lbpf_elf__free(&elf);
}

int lbpf_lua_compile(lua_State *L)
{
	luaL_checkstring(L, 1);
	if (!lua_isnoneornil(L, 2))
		luaL_checktype(L, 2, LUA_TTABLE);
	lbpf_lua_compile_to_string(L, 1, lua_istable(L, 2) ? 2 : 0);
	return 1;
}
