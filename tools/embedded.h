/* The table that tools/embed.c generates: one entry per embedded file,
 * ended by an entry whose name is NULL. */
#ifndef LBPF_EMBEDDED_H
#define LBPF_EMBEDDED_H
#include <stddef.h>

struct lbpf_embedded {
	const char *name;
	const char *data; /* NUL-terminated, so text can be used directly */
	size_t size;
};

#endif
