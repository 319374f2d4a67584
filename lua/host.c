/* The luabpf program: a Lua 5.4 state with bpf preloaded, running the
 * embedded host.lua (options, scripts, REPL). C supplies what Lua cannot:
 * line editing with history and Ctrl-C that interrupts the running statement. */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <sys/wait.h>
#include <termios.h>
#include <limits.h>
#include <unistd.h>

#include <editline/readline.h>
#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

#include "embedded.h"

int luaopen_bpf(lua_State *L);
extern const struct lbpf_embedded lbpf_host_lua[];

/* The state a SIGINT handler interrupts; signal handlers can reach nothing else. */
static lua_State *running_state;
static volatile sig_atomic_t prompt_interrupted;

static void stop_hook(lua_State *L, lua_Debug *ar)
{
	lua_sethook(L, NULL, 0, 0);
	luaL_error(L, "interrupted!");
}

/* As in lua.c: the hook fires at the next Lua instruction, and a blocking
 * system call returns EINTR, so the statement stops either way. */
static void on_sigint_running(int sig)
{
	int mask = LUA_MASKCALL | LUA_MASKRET | LUA_MASKLINE | LUA_MASKCOUNT;
	signal(sig, SIG_DFL); /* a second Ctrl-C kills, if the hook never runs */
	lua_sethook(running_state, stop_hook, mask, 1);
}

static void on_sigint_prompt(int sig)
{
	prompt_interrupted = 1;
}

static void set_sigint(void (*handler)(int))
{
	struct sigaction sa = {0};
	sa.sa_handler = handler;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL); /* no SA_RESTART: blocking calls must see EINTR */
}

static int msghandler(lua_State *L)
{
	const char *msg = lua_tostring(L, 1);
	if (msg == NULL) {
		if (luaL_callmeta(L, 1, "__tostring") && lua_type(L, -1) == LUA_TSTRING)
			return 1;
		msg = lua_pushfstring(L, "(error object is a %s value)", luaL_typename(L, 1));
	}
	luaL_traceback(L, L, msg, 1);
	return 1;
}

/* host.call(f, ...): like pcall with a traceback, interruptible by Ctrl-C. */
static int host_call(lua_State *L)
{
	int n = lua_gettop(L) - 1;
	lua_pushcfunction(L, msghandler);
	lua_insert(L, 1);
	running_state = L;
	set_sigint(on_sigint_running);
	int status = lua_pcall(L, n, LUA_MULTRET, 1);
	set_sigint(SIG_DFL);
	lua_sethook(L, NULL, 0, 0);
	lua_pushboolean(L, status == LUA_OK);
	lua_replace(L, 1);
	return lua_gettop(L);
}

/* The signal mask while readline waits for a key: SIGINT let in. */
static sigset_t prompt_wait_mask;

/* readline's key reader. SIGINT stays blocked while a key is handled and is
 * let in only while waiting for the next (ppoll swaps the mask atomically),
 * so a Ctrl-C that lands between two keys is not lost. After one, it ends the
 * line with a newline (libedit would keep editing after an EOF mid-line) and
 * host_readline drops that line. */
static int getc_interruptible(FILE *in)
{
	struct pollfd p = {fileno(in), POLLIN, 0};
	unsigned char c;

	while (!prompt_interrupted) {
		int r = ppoll(&p, 1, NULL, &prompt_wait_mask);
		if (r < 0 && errno != EINTR)
			return EOF;
		if (r <= 0)
			continue;
		ssize_t n = read(p.fd, &c, 1);
		if (n == 1)
			return c;
		if (n == 0 || errno != EINTR)
			return EOF;
	}
	return '\n';
}

/* host.self(): the path of this executable (a bundle may ride behind it). */
static int host_self(lua_State *L)
{
	char path[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", path, sizeof(path) - 1);
	if (n <= 0)
		return 0;
	path[n] = '\0';
	lua_pushstring(L, path);
	return 1;
}

/* host.setenv(name, value): for options that the runtime reads from the
 * environment (--btf is LUABPF_BTF). */
static int host_setenv(lua_State *L)
{
	if (setenv(luaL_checkstring(L, 1), luaL_checkstring(L, 2), 1) != 0)
		return luaL_error(L, "setenv: %s", strerror(errno));
	return 0;
}

/* host.readline(prompt): the line, nil at end of input, false on Ctrl-C. */
static int host_readline(lua_State *L)
{
	const char *prompt = luaL_checkstring(L, 1);
	sigset_t sigint, saved;

	sigemptyset(&sigint);
	sigaddset(&sigint, SIGINT);
	prompt_interrupted = 0;
	set_sigint(on_sigint_prompt);
	sigprocmask(SIG_BLOCK, &sigint, &saved);
	prompt_wait_mask = saved;
	sigdelset(&prompt_wait_mask, SIGINT);
	/* libedit prints the prompt and only then leaves canonical mode: a key
	 * typed in between would be handled by the terminal (echoed twice, or a
	 * Ctrl-D lost). Leaving it first closes that window. */
	struct termios cooked, keys;
	bool tty = tcgetattr(STDIN_FILENO, &cooked) == 0;
	if (tty) {
		keys = cooked;
		keys.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
		keys.c_cc[VMIN] = 1;
		keys.c_cc[VTIME] = 0;
		tcsetattr(STDIN_FILENO, TCSADRAIN, &keys);
	}
	char *line = readline(prompt);
	if (tty)
		tcsetattr(STDIN_FILENO, TCSADRAIN, &cooked);
	sigprocmask(SIG_SETMASK, &saved, NULL); /* a Ctrl-C still pending lands in on_sigint_prompt */
	set_sigint(SIG_DFL);
	if (prompt_interrupted) {
		free(line);
		lua_pushboolean(L, 0);
	} else if (line) {
		lua_pushstring(L, line);
		free(line);
	} else {
		lua_pushnil(L);
	}
	return 1;
}

/* host.spawn_held({prog, args...}): runs the program (looked up in PATH) in
 * a child held before its exec until host.release(fd) (luabpf -c: the
 * command starts once probes are attached); returns its pid and that fd. */
static int host_spawn_held(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TTABLE);
	lua_Integer argc = luaL_len(L, 1);
	luaL_argcheck(L, argc >= 1 && argc < 4096, 1, "a program and its arguments");
	const char **argv = lua_newuserdatauv(L, (size_t)(argc + 1) * sizeof(*argv), 0);
	for (lua_Integer i = 1; i <= argc; i++) {
		lua_rawgeti(L, 1, i);
		argv[i - 1] = luaL_checkstring(L, -1); /* kept alive by the table */
		lua_pop(L, 1);
	}
	argv[argc] = NULL;
	const char *cmd = argv[0];
	int gate[2];

	if (pipe2(gate, O_CLOEXEC) != 0)
		return luaL_error(L, "cannot start '%s': %s", cmd, strerror(errno));
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(gate[0]);
		close(gate[1]);
		return luaL_error(L, "cannot start '%s': %s", cmd, strerror(e));
	}
	if (pid == 0) {
		char go;
		close(gate[1]);
		ssize_t n;
		while ((n = read(gate[0], &go, 1)) < 0 && errno == EINTR)
			;
		if (n != 1)
			_exit(127); /* luabpf ended without starting it */
		execvp(cmd, (char *const *)argv);
		fprintf(stderr, "luabpf: -c: cannot run %s: %s\n", cmd, strerror(errno));
		_exit(127);
	}
	close(gate[0]);
	lua_pushinteger(L, pid);
	lua_pushinteger(L, gate[1]);
	return 2;
}

/* host.release(fd): lets a held child run. */
static int host_release(lua_State *L)
{
	int fd = (int)luaL_checkinteger(L, 1);
	ssize_t n;
	while ((n = write(fd, "g", 1)) < 0 && errno == EINTR)
		;
	close(fd);
	return 0;
}

/* host.finish(pid): a child still running when the script ends is stopped
 * (SIGTERM) and reaped. */
static int host_finish(lua_State *L)
{
	pid_t pid = (pid_t)luaL_checkinteger(L, 1);
	int status;

	if (waitpid(pid, &status, WNOHANG) == 0) {
		kill(pid, SIGTERM);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
	}
	return 0;
}

static int host_add_history(lua_State *L)
{
	add_history(luaL_checkstring(L, 1));
	return 0;
}

/* Tab completion: the Lua function host.set_completer gave (in the
 * registry) lists the words that complete the one before the cursor. */
#define COMPLETER_KEY "luabpf.completer"
static lua_State *completing_state;
static char **completions;
static size_t ncompletions;
/* The line before the word being completed: b.maps.m[{ asks for key fields. */
static char *completing_before;

static void free_completions(void)
{
	for (size_t i = 0; i < ncompletions; i++)
		free(completions[i]);
	free(completions);
	completions = NULL;
	ncompletions = 0;
}

/* readline's generator: state 0 asks Lua for the list, then hands it out. */
static char *next_completion(const char *text, int state)
{
	static size_t next;
	lua_State *L = completing_state;

	if (state == 0) {
		free_completions();
		next = 0;
		if (!L)
			return NULL;
		/* One value is left either way: the list, an error, or no function. */
		if (lua_getfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY) == LUA_TFUNCTION) {
			lua_pushstring(L, text);
			lua_pushstring(L, completing_before ? completing_before : "");
			if (lua_pcall(L, 2, 1, 0) == LUA_OK && lua_istable(L, -1)) {
				size_t n = lua_rawlen(L, -1);
				completions = calloc(n ? n : 1, sizeof(*completions));
				for (size_t i = 1; completions && i <= n; i++) {
					lua_rawgeti(L, -1, (lua_Integer)i);
					const char *w = lua_tostring(L, -1);
					if (w && (completions[ncompletions] = strdup(w)))
						ncompletions++;
					lua_pop(L, 1);
				}
			}
		}
		lua_pop(L, 1);
	}
	return next < ncompletions ? strdup(completions[next++]) : NULL;
}

static char **complete(const char *text, int start, int end)
{
	rl_attempted_completion_over = 1; /* no file names */
	free(completing_before);
	completing_before = rl_line_buffer ? strndup(rl_line_buffer, (size_t)start) : NULL;
	return rl_completion_matches(text, next_completion);
}

/* host.set_completer(fn): fn(word, line_before_it) -> {completions} for Tab
 * in the REPL. */
static int host_set_completer(lua_State *L)
{
	luaL_checktype(L, 1, LUA_TFUNCTION);
	lua_settop(L, 1);
	lua_setfield(L, LUA_REGISTRYINDEX, COMPLETER_KEY);
	completing_state = L;
	/* The default word breaks leave out dots and colons, so
	 * b.maps.counts:it completes as one word. */
	rl_attempted_completion_function = complete;
	rl_completion_append_character = '\0';
	return 0;
}

/* host.readme(): the README the host was built with, for :help. */
static int host_readme(lua_State *L)
{
	const struct lbpf_embedded *readme = &lbpf_host_lua[1];
	lua_pushlstring(L, readme->data, readme->size);
	return 1;
}

static int host_read_history(lua_State *L)
{
	stifle_history(1000);
	read_history(luaL_checkstring(L, 1));
	return 0;
}

static int host_write_history(lua_State *L)
{
	lua_pushboolean(L, write_history(luaL_checkstring(L, 1)) == 0);
	return 1;
}

static int host_isatty(lua_State *L)
{
	lua_pushboolean(L, isatty((int)luaL_checkinteger(L, 1)));
	return 1;
}

int main(int argc, char **argv)
{
	static const luaL_Reg host[] = {
		{"call", host_call},
		{"spawn_held", host_spawn_held},
		{"release", host_release},
		{"finish", host_finish},
		{"readline", host_readline},
		{"add_history", host_add_history},
		{"read_history", host_read_history},
		{"write_history", host_write_history},
		{"isatty", host_isatty},
		{"self", host_self},
		{"set_completer", host_set_completer},
		{"readme", host_readme},
		{"setenv", host_setenv},
		{NULL, NULL},
	};
	lua_State *L = luaL_newstate();
	if (!L) {
		fprintf(stderr, "luabpf: cannot create a Lua state: not enough memory\n");
		return 1;
	}
	/* libedit reads these once, when it first initializes. */
	rl_catch_signals = 0;
	rl_getc_function = getc_interruptible;
	luaL_openlibs(L);
	luaL_requiref(L, "bpf", luaopen_bpf, 1); /* also the global `bpf`, handy in the REPL */
	lua_pop(L, 1);

	const struct lbpf_embedded *src = &lbpf_host_lua[0];
	int status = luaL_loadbuffer(L, src->data, src->size, "=luabpf");
	if (status == LUA_OK) {
		luaL_newlib(L, host);
		lua_createtable(L, argc, 0);
		for (int i = 0; i < argc; i++) {
			lua_pushstring(L, argv[i]);
			lua_rawseti(L, -2, i);
		}
		status = lua_pcall(L, 2, 1, 0);
	}
	int code = 1;
	if (status != LUA_OK)
		fprintf(stderr, "luabpf: %s\n", lua_tostring(L, -1));
	else
		code = (int)luaL_optinteger(L, -1, 0);
	/* Closing the state runs every __gc: objects detach and free their maps. */
	lua_close(L);
	return code;
}
