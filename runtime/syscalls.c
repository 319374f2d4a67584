/* System call names and numbers of the architecture luabpf was built for,
 * from the C library's <sys/syscall.h> at build time (see the Makefile). */
#include <string.h>

#include "luabpf.h"

extern const struct lbpf_syscall lbpf_syscalls[];

const char *lbpf_syscall__name(long nr)
{
	for (const struct lbpf_syscall *s = lbpf_syscalls; s->name; s++)
		if (s->nr == nr)
			return s->name;
	return NULL;
}

long lbpf_syscall__nr(const char *name)
{
	for (const struct lbpf_syscall *s = lbpf_syscalls; s->name; s++)
		if (strcmp(s->name, name) == 0)
			return s->nr;
	return -1;
}
