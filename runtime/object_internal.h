/* The layout of struct lbpf_object, shared by the runtime files that own its
 * parts (object.c, link.c); outside the runtime it stays opaque. */
#ifndef LBPF_OBJECT_INTERNAL_H
#define LBPF_OBJECT_INTERNAL_H
#include "luabpf.h"

/* One attach: usually one libbpf link, one per CPU for system-wide perf events. */
struct lbpf_link_slot {
	struct bpf_link **links;
	int n;
};

struct lbpf_object {
	struct bpf_object *obj;
	char *log_buf;		/* the kernel writes verifier logs here on a failed load */
	size_t log_size;
	struct lbpf_link_slot *links; /* by link id; empty once detached */
	int nlinks;
	int links_cap;
	bool loaded;
	struct lbpf_loop *loop;	/* made on first use */
};

#endif
