/* The C ABI of libluabpf-clang.so: BPF C source in, BPF ELF bytes or clang
 * diagnostics out, all in memory. The runtime dlopens it only to compile. */
#ifndef LBPF_CLANG_DRIVER_H
#define LBPF_CLANG_DRIVER_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Bumped whenever the structs below or the embedded headers change meaning. */
#define LBPF_CLANG_ABI 4

struct lbpf_clang_file {
	const char *name; /* as #include names it, e.g. "vmlinux.h" */
	const char *data;
	size_t size;
};

struct lbpf_clang_input {
	const char *main_name;	 /* file name diagnostics use for the main file */
	const char *main_text;	 /* the whole translation unit */
	size_t main_size;
	const char *const *cflags; /* clang driver flags, e.g. "-DX=1" */
	size_t ncflags;
	const struct lbpf_clang_file *files; /* extra in-memory headers */
	size_t nfiles;
	/* A precompiled header file to start from (its source is then skipped),
	 * or NULL. */
	const char *pch_in;
	/* When set, write a precompiled header of main_text to this path instead
	 * of compiling. */
	const char *pch_out;
	/* Apply the BCC dialect's rewrite first: map.method() calls, BPF_TABLE,
	 * TRACEPOINT_PROBE, probes named kprobe__X and the like. */
	int bcc;
	/* For TRACEPOINT_PROBE(cat, ev): the C definition of
	 * struct tracepoint__<cat>__<ev> on one line, malloc'd; or NULL with a
	 * malloc'd message in *error. */
	char *(*tracepoint_struct)(const char *category, const char *event, char **error);
};

struct lbpf_clang_output {
	char *elf;	/* malloc'd object bytes, NULL on failure */
	size_t elf_size;
	char *diagnostics; /* malloc'd NUL-terminated text, may be empty */
};

/* Returns 0 on success; otherwise elf is NULL and diagnostics says why. */
typedef int (*lbpf_clang_compile_fn)(const struct lbpf_clang_input *in, struct lbpf_clang_output *out);
int lbpf_clang__compile(const struct lbpf_clang_input *in, struct lbpf_clang_output *out);

/* "ABI/LLVM version", for messages and cache keys. */
typedef const char *(*lbpf_clang_version_fn)(void);
const char *lbpf_clang__version(void);

#ifdef __cplusplus
}
#endif
#endif
