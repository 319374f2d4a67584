/* The layout of struct lbpf_object, shared by the runtime files that own its
 * parts (object.c, link.c); outside the runtime it stays opaque. */
#ifndef LBPF_OBJECT_INTERNAL_H
#define LBPF_OBJECT_INTERNAL_H
#include "luabpf.h"

struct lbpf_object {
	struct bpf_object *obj;
	char *log_buf;		/* the kernel writes verifier logs here on a failed load */
	size_t log_size;
	struct bpf_link **links; /* by link id; NULL once detached */
	int nlinks;
	int links_cap;
	bool loaded;
	struct lbpf_loop *loop;	/* made on first use */
};

#endif
