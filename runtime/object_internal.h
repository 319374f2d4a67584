/* The layout of struct lbpf_object, shared by the runtime files that own its
 * parts (object.c, link.c); outside the runtime it stays opaque. */
#ifndef LBPF_OBJECT_INTERNAL_H
#define LBPF_OBJECT_INTERNAL_H
#include "luabpf.h"

/* Big enough for the tail of any verifier log that explains a rejection. */
#define LBPF_LOG_SIZE (1u << 20)

/* A TC program on the clsact qdisc: a filter, not a kernel link. */
struct lbpf_tc_filter {
	int ifindex;
	bool egress;
	bool created_qdisc; /* removed again with the filter */
	__u32 handle, priority;
};

/* A program attached without a link (BPF_PROG_ATTACH), by fds of its own. */
struct lbpf_prog_attach {
	int prog_fd, target_fd;
	enum bpf_attach_type type;
};

/* One attach: usually one libbpf link, one per CPU for system-wide perf
 * events; kernel link fds made without libbpf (behind a gate, for links whose
 * detach waits for grace periods: runtime/gate.c); a clsact filter (tc); or a
 * program attached to its target without a link. */
struct lbpf_link_slot {
	struct bpf_link **links;
	int n;
	int *fds;
	int nfds;
	int gate_map; /* -1 when the program is attached itself */
	bool pinned;  /* the link outlives the object: its gate stays open */
	/* Tracepoints: the program and the event ids, by fd, so that the same
	 * program twice on one tracepoint is refused as the kernel would refuse
	 * it ungated (attach_tracepoint.c). */
	const struct bpf_program *prog;
	long *tp_ids;
	struct lbpf_tc_filter *tc;
	struct lbpf_prog_attach *prog_attach;
};

int lbpf_link__add_tc(struct lbpf_object *obj, const struct lbpf_tc_filter *filter);
void lbpf_link__detach_tc(const struct lbpf_tc_filter *filter);
int lbpf_link__add_prog_attach(struct lbpf_object *obj, const struct lbpf_prog_attach *a);
void lbpf_link__detach_prog_attach(const struct lbpf_prog_attach *a);
/* Kernel link fds (fds[n], taken over) that attach and detach as one, with
 * the gate of their program or -1 (runtime/gate.c). */
int lbpf_link__add_fds(struct lbpf_object *obj, int *fds, int n, int gate_map);

/* The gate of prog_fd (its fd, a program of the given type to attach in the
 * program's place) and, in *gate_map, the program array that holds it; a
 * negative errno when the program cannot be gated (attach it itself). */
int lbpf_gate__open(int prog_fd, enum bpf_prog_type type, const char *name, int *gate_map);
/* Stops the gated program at once, and closes the gate's map fd. */
void lbpf_gate__close(int gate_map);
/* Before a pin: the gated tracepoint link id gets the program attached
 * itself, as a pinned link outlives the gate's program array, which the
 * kernel empties when its last fd closes. */
int lbpf_attach__tracepoint_ungate(struct lbpf_object *obj, int id, struct lbpf_err *err);
/* Closes fds, whose waits the kernel does in a detached process (runtime/reaper.c). */
void lbpf_reaper__close(int *fds, int n);

struct lbpf_object {
	struct bpf_object *obj;
	char *log_buf;		/* the kernel writes verifier logs here on a failed load */
	size_t log_size;
	struct lbpf_link_slot *links; /* by link id; empty once detached */
	int nlinks;
	int links_cap;
	bool loaded;
	int core_btf_fd; /* a portable object's CO-RE target until the load, or -1 */
	int *inner_fds;	 /* inner map templates given before the load */
	int ninner_fds;
	struct lbpf_loop *loop;	/* made on first use */
	/* BCC's program model (functions.c): the ELF again, and each function
	 * loaded for an attach, in an object of its own sharing these maps. */
	char *elf;
	size_t elf_size;
	char *name;
	struct lbpf_function *functions;
	int nfunctions;
};

struct bpf_object_open_opts;
/* After libbpf opened *obj from elf with opts: a portable object is opened
 * again to relocate against its tracepoint records (runtime/core_btf.c),
 * whose memfd *core_fd holds until the load (-1 for other objects). On an
 * error *obj is closed and NULL. */
int lbpf_object__reopen_portable(struct bpf_object **obj, const void *elf, size_t size,
				 struct bpf_object_open_opts *opts, int *core_fd, struct lbpf_err *err);
int lbpf_object__explain_load(const struct bpf_object *obj, const char *log, int ret, struct lbpf_err *err);
int lbpf_functions__open(struct lbpf_object *o, const void *elf, size_t size, const char *name, struct lbpf_err *err);
void lbpf_functions__close(struct lbpf_object *o);

#endif
