/* libbpf's messages: the last warning is kept per thread so errors can quote
 * it, and everything is echoed to stderr when LUABPF_DEBUG is set. */
#include <bpf/libbpf.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

static __thread char last_warning[1024];
/* The program libbpf said it failed to load: after a failure it closes every
 * program, so this is the only way to tell which one it was. */
static __thread char failed_prog[128];
static bool debug_enabled;

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	char line[1024];
	va_list copy;

	va_copy(copy, ap);
	vsnprintf(line, sizeof(line), fmt, copy);
	va_end(copy);
	if (debug_enabled)
		fprintf(stderr, "luabpf: %s", line);
	if (level == LIBBPF_WARN) {
		const char *text = strncmp(line, "libbpf: ", 8) == 0 ? line + 8 : line;
		size_t n = strcspn(text, "\n");
		/* Keep the most telling line: a later one-liner beats an earlier one,
		 * but libbpf's closing summary names no cause, so it does not. */
		bool summary = strncmp(text, "failed to load object", 21) == 0;
		if (n > 0 && !(summary && last_warning[0]))
			snprintf(last_warning, sizeof(last_warning), "%.*s", (int)n, text);
		char name[128];
		if (sscanf(text, "prog '%127[^']': BPF program load failed", name) == 1 ||
		    sscanf(text, "prog '%127[^']': failed to load", name) == 1)
			snprintf(failed_prog, sizeof(failed_prog), "%s", name);
	}
	return 0;
}

static void init_once(void)
{
	const char *d = getenv("LUABPF_DEBUG");
	debug_enabled = d && *d && strcmp(d, "0") != 0;
	libbpf_set_print(on_libbpf_print);
}

void lbpf_log__init(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, init_once);
}

void lbpf_log__reset(void)
{
	last_warning[0] = '\0';
	failed_prog[0] = '\0';
}

const char *lbpf_log__failed_prog(void)
{
	return failed_prog;
}

const char *lbpf_log__last(void)
{
	return last_warning;
}

bool lbpf_log__debug(void)
{
	lbpf_log__init();
	return debug_enabled;
}

bool lbpf_log__set_debug(bool on)
{
	bool was = lbpf_log__debug();
	debug_enabled = on;
	return was;
}
