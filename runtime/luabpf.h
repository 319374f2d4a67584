/* The luabpf runtime's public C API: compile BPF C, load objects with libbpf,
 * attach programs and reach maps. Nothing here knows about Lua. */
#ifndef LUABPF_H
#define LUABPF_H

#include <stdbool.h>
#include <stdio.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <linux/bpf.h>

struct bpf_object;
struct bpf_program;
struct bpf_map;
struct bpf_link;

/* ---- errors (runtime/err.c) ---- */

/* Every fallible call fills one of these: a message meant for the user, the
 * negative errno behind it, and for verifier rejections the whole log. */
struct lbpf_err {
	int code;
	char msg[2048];
	char *log;	 /* malloc'd verifier log, or NULL */
	char prog[128];	 /* the program the log belongs to */
};

/* strerror that also names the kernel's internal error numbers (524 ENOTSUPP, ...). */
const char *lbpf_strerror(int e);
int lbpf_err__set(struct lbpf_err *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void lbpf_err__free(struct lbpf_err *err);

/* ---- libbpf's own messages (runtime/log.c) ---- */

/* Routes libbpf's messages: kept for error messages, echoed when LUABPF_DEBUG is set. */
void lbpf_log__init(void);
/* Forget what libbpf said so far, before an operation whose failure we explain. */
void lbpf_log__reset(void);
/* The last warning libbpf printed since the reset, without its "libbpf: " prefix, or "". */
const char *lbpf_log__last(void);
/* The program libbpf last reported failing to load, or "". */
const char *lbpf_log__failed_prog(void);
bool lbpf_log__debug(void);
/* Turns debug logging on or off (opts.debug); returns what it was. */
bool lbpf_log__set_debug(bool on);

/* ---- what this kernel and process allow (runtime/features.c) ---- */

bool lbpf_features__kprobes(void);
/* Tracing programs (fentry/fexit) load here; tries loading one. */
bool lbpf_features__tracing_programs(void);
/* Whether the kernel has uprobe_multi links (libbpf's USDT attach uses them). */
bool lbpf_features__uprobe_multi(void);
/* NULL when the process may load BPF, else a sentence naming the missing capabilities. */
const char *lbpf_features__missing_caps(void);

/* ---- tracefs (runtime/tracefs.c) ---- */

/* Makes sure tracefs is reachable, mounting it at /sys/kernel/tracing if needed. */
int lbpf_tracefs__ensure(struct lbpf_err *err);
/* The tracefs root in use ("/sys/kernel/tracing"), valid after ensure succeeded. */
const char *lbpf_tracefs__root(void);
bool lbpf_tracefs__event_exists(const char *category, const char *event);

/* ---- symbols (runtime/ksyms.c, runtime/usyms.c, runtime/syscalls.c) ---- */

struct lbpf_sym {
	const char *name;   /* owned by the symbol table it came from */
	uint64_t offset;    /* of the address from the symbol's start */
	const char *module; /* "kernel", a module name, or the mapped file's path */
};

/* /proc/kallsyms, sorted by address. */
struct lbpf_ksyms;
struct lbpf_ksyms *lbpf_ksyms__load(struct lbpf_err *err);
bool lbpf_ksyms__find(const struct lbpf_ksyms *k, uint64_t addr, struct lbpf_sym *out);
/* A symbol's address by name, or 0. */
uint64_t lbpf_ksyms__addr(const struct lbpf_ksyms *k, const char *name);
void lbpf_ksyms__free(struct lbpf_ksyms *k);

/* Symbols of user processes; keeps what it reads. False when addr has no
 * symbol (out->module still names the mapped file when there is one). */
struct lbpf_usyms;
struct lbpf_usyms *lbpf_usyms__new(void);
bool lbpf_usyms__find(struct lbpf_usyms *u, int pid, uint64_t addr, struct lbpf_sym *out);
/* Reads pid's mappings and opens their files now, so its stacks can be
 * named after it exits (luabpf -c's command). */
void lbpf_usyms__load(struct lbpf_usyms *u, int pid);
void lbpf_usyms__free(struct lbpf_usyms *u);

/* A whole file, if a less privileged user could not have written it
 * (runtime/trusted_file.c): *data is malloc'd, at most max bytes. */
#define LBPF_TRUSTED_FILE_MAX (256u << 20)
int lbpf_file__read_trusted(const char *path, size_t max, char **data, size_t *size, struct lbpf_err *err);

/* A cgroup v2 directory (runtime/cgroup.c): an fd, or a negative errno with
 * err naming who failed; or its id, as bpf_get_current_cgroup_id() gives it. */
int lbpf_cgroup__open(const char *path, const char *who, struct lbpf_err *err);
int lbpf_cgroup__id(const char *path, uint64_t *id, struct lbpf_err *err);

/* The functions an ELF file defines whose names match a glob, sorted by
 * name, each once, with their file offsets (runtime/elf_functions.c). */
struct lbpf_elf_function {
	char *name;
	uint64_t offset;
};
struct lbpf_elf_functions {
	struct lbpf_elf_function *fns;
	size_t n;
};
/* Calls fn for each function an ELF file's .symtab and .dynsym define,
 * until it returns false; false then. */
struct Elf;
bool lbpf_elf__each_function(struct Elf *elf, bool (*fn)(void *ctx, const char *name, uint64_t addr, uint64_t size),
			     void *ctx);
int lbpf_elf_functions__read(const char *path, const char *glob, struct lbpf_elf_functions *f, struct lbpf_err *err);
const struct lbpf_elf_function *lbpf_elf_functions__find(const struct lbpf_elf_functions *f, const char *name);
void lbpf_elf_functions__free(struct lbpf_elf_functions *f);

struct lbpf_syscall {
	long nr;
	const char *name;
};
/* "execve" for 59 on x86_64; NULL if unknown. */
const char *lbpf_syscall__name(long nr);
/* -1 if unknown. */
long lbpf_syscall__nr(const char *name);

/* ---- tracepoint records (runtime/tracepoint_format.c) ---- */

/* Names how records are laid out as C; part of the object cache's key, so a
 * change to the layout recompiles cached programs. */
#define LBPF_TRACEPOINT_LAYOUT "tracepoint layout 3: declared int sizes and signs, relocatable"
/* What follows the closing brace of args' struct: the prelude defines it
 * empty, and portable compiles as CO-RE relocatable (see runtime/core_btf.c). */
#define LBPF_TRACEPOINT_ATTRS "__luabpf_tracepoint_args"
/* The BTF decl tag a portable object's args structs carry. */
#define LBPF_TRACEPOINT_TAG "luabpf_tracepoint"

/* One member of TRACEPOINT_PROBE's args. */
struct lbpf_tp_field {
	char name[128];
	char ptr_type[128]; /* a pointer's declared type, e.g. "const char *"; else "" */
	unsigned offset;    /* in the record, bytes */
	unsigned size;	    /* bytes, all elements of an array */
	unsigned count;	    /* an array's elements; 0 for a scalar or pointer */
	bool is_signed;	    /* of the integer or of an array's integers */
	bool is_char;	    /* a char array */
};
struct lbpf_tp_record {
	struct lbpf_tp_field *fields; /* in offset order, none overlapping */
	size_t nfields;
	unsigned size; /* the record's bytes */
};
/* The record of category:event from formats_dir/<category>/<event>/format
 * (another kernel's events directory, trusted files only), or from this
 * kernel's tracefs when formats_dir is NULL. */
int lbpf_tracepoint__record(const char *formats_dir, const char *category, const char *event,
			    struct lbpf_tp_record *out, struct lbpf_err *err);
/* The same from a format file's text in f; source names it in errors. */
int lbpf_tracepoint__parse(FILE *f, const char *source, struct lbpf_tp_record *out, struct lbpf_err *err);
void lbpf_tp_record__free(struct lbpf_tp_record *r);
/* struct tracepoint__<category>__<event> in C, on one line; malloc'd, NULL
 * when out of memory. */
char *lbpf_tracepoint__c(const char *category, const char *event, const struct lbpf_tp_record *r);

/* All of data to fd (runtime/fd_write.c); false with errno on a failure. */
bool lbpf_fd__write_all(int fd, const void *data, size_t size);

/* ---- kernel BTF files (runtime/btf_file.c, runtime/btf_minimize.c) ---- */

/* The bytes of the ELF section name in data (inside data, not copied):
 * 0, -ENOENT when there is none, -EINVAL for a damaged ELF. */
int lbpf_elf__section(const void *data, size_t size, const char *name, const char **out, size_t *out_size);
/* path's raw BTF (a raw file, or an ELF's .BTF), only from a trusted file;
 * the running kernel's when path is NULL. *data is malloc'd. */
int lbpf_btf__read(const char *path, char **data, size_t *size, struct lbpf_err *err);
/* Sets err to say the running kernel has no BTF and what to do; ESRCH. */
int lbpf_btf__missing(struct lbpf_err *err);
/* Makes raw BTF bytes the kernel BTF CO-RE relocates against from now on
 * (LUABPF_BTF names a memfd holding them), for kernels without their own. */
int lbpf_btf__use(const void *data, size_t size, struct lbpf_err *err);
/* Of the kernel BTF at path, only what the CO-RE relocations of the objects
 * (ELF bytes) reach, and the named types whole ("struct x", "enum y", or a
 * bare name of any kind), as raw BTF in *out (malloc'd): enough to load
 * them on that kernel, a small part of its size. */
struct lbpf_btf_needs {
	const char *const *objects;
	const size_t *sizes;
	size_t nobjects;
	const char *const *types;
	size_t ntypes;
};
int lbpf_btf__minimize(const char *path, const struct lbpf_btf_needs *needs, char **out, size_t *out_size,
		       struct lbpf_err *err);

/* ---- a portable object's CO-RE target (runtime/core_btf.c) ---- */

struct btf;
/* For an object whose BTF tags TRACEPOINT_PROBE args structs (a portable
 * compile): in *fd a memfd of base_path's BTF (the running kernel's when
 * NULL) with this kernel's records of those tracepoints appended, for
 * libbpf's btf_custom_path; -1 when the object tags none. */
int lbpf_core_btf__open(const struct btf *obj_btf, const char *base_path, int *fd, struct lbpf_err *err);
struct btf_type;
/* Whether t is the decl tag a portable compile puts on an args struct. */
bool lbpf_core_btf__is_args_tag(const struct btf *btf, const struct btf_type *t);

/* ---- compiling (runtime/vmlinux_h.c, runtime/compile.c) ---- */

/* vmlinux.h for the running kernel, generated from its BTF: malloc'd text.
 * LBPF_VMLINUX_H names what it holds; it is part of the cache's key. */
#define LBPF_VMLINUX_H "vmlinux.h 2: types and kfuncs"
int lbpf_vmlinux_h__generate(char **text, size_t *size, struct lbpf_err *err);

/* Where to find libluabpf-clang.so: set once from the binary's own location. */
void lbpf_compile__set_driver_dir(const char *dir);

struct lbpf_compile_opts {
	const char *name;	/* file name diagnostics use, e.g. "tool.lua" */
	int line;		/* line of that file where the source's first line stands */
	const char *const *cflags;
	size_t ncflags;
	bool no_prelude;
	/* TRACEPOINT_PROBE's args read through CO-RE, so the object reads the
	 * right offsets on another kernel (bundles are built so). */
	bool portable;
};

struct lbpf_elf {
	char *data;	    /* malloc'd ELF bytes */
	size_t size;
	char *warnings;	    /* malloc'd compiler warnings, or NULL */
};
/* The object without its DWARF (.BTF kept), for shipping (runtime/elf_strip.c). */
int lbpf_elf__strip_debug(const void *data, size_t size, struct lbpf_elf *out, struct lbpf_err *err);

int lbpf_compile(const char *src, size_t len, const struct lbpf_compile_opts *opts,
		 struct lbpf_elf *out, struct lbpf_err *err);
void lbpf_elf__free(struct lbpf_elf *elf);

/* ---- the compiled-object cache (runtime/cache.c) ---- */

/* A 128-bit non-cryptographic key over everything added to it. */
struct lbpf_hash {
	uint64_t a, b;
};
void lbpf_hash__init(struct lbpf_hash *h);
void lbpf_hash__add(struct lbpf_hash *h, const void *data, size_t size);
void lbpf_hash__hex(const struct lbpf_hash *h, char out[33]);
/* Faster for large data; not interchangeable with lbpf_hash__add. */
void lbpf_hash__add_words(struct lbpf_hash *h, const void *data, size_t size);

/* The ELF cached under key (32 hex digits), verified; -ENOENT on a miss.
 * LUABPF_CACHE_DIR, XDG_CACHE_HOME or HOME say where; LUABPF_NO_CACHE=1 turns
 * it off; an unsafe directory is refused with a warning. */
int lbpf_cache__get(const char *key, struct lbpf_elf *out);
void lbpf_cache__put(const char *key, const struct lbpf_elf *elf);
/* One entry's bytes read from f and verified against their checksum:
 * 0, or -EBADMSG for anything damaged. */
int lbpf_cache__read_entry(FILE *f, struct lbpf_elf *out);
/* The path of the cache file key + ext; false when the cache is off or unsafe. */
bool lbpf_cache__file(const char *key, const char *ext, char *out, size_t size);
/* A regular file owned by root or us that no one else may write. */
bool lbpf_cache__trusted(const char *path);

/* ---- objects (runtime/object.c) ---- */

struct lbpf_object;

/* The ELF must stay alive until lbpf_object__load returns. */
/* Checks ELF bytes from outside before they are opened: headers bounds-checked,
 * then a trial open in a child process, so damaged bytes cannot crash this one. */
int lbpf_elf__check(const void *elf, size_t size, struct lbpf_err *err);

const char *lbpf_object__btf_path(void);
struct lbpf_object *lbpf_object__open_mem(const void *elf, size_t size, const char *name,
					  struct lbpf_err *err);
struct bpf_object *lbpf_object__bpf(const struct lbpf_object *obj);
struct bpf_program *lbpf_object__prog(const struct lbpf_object *obj, const char *name);
struct bpf_map *lbpf_object__map(const struct lbpf_object *obj, const char *name);
/* Comma-separated names, for "unknown name" messages; never NULL. */
void lbpf_object__prog_names(const struct lbpf_object *obj, char *buf, size_t size);
void lbpf_object__map_names(const struct lbpf_object *obj, char *buf, size_t size);

int lbpf_object__set_max_entries(struct lbpf_object *obj, const char *map, uint32_t n,
				 struct lbpf_err *err);
/* Before the load: the map of maps m takes the map at fd as the template of
 * its inner maps (instead of the one its definition declares). */
int lbpf_object__set_inner_map(struct lbpf_object *obj, struct bpf_map *m, int fd, struct lbpf_err *err);
/* A type of the program's BTF named as C names it ("struct event", "u64"): its id, or -ENOENT. */
int lbpf_object__find_type(const struct lbpf_object *obj, const char *name);
/* The record type the program writes to a ring or perf buffer map (from its
 * bpf_ringbuf_output/reserve or bpf_perf_event_output calls), or -ENOENT. */
int lbpf_object__record_type(const struct lbpf_object *obj, const char *map);
/* The BTF ids of a map's key and value types in the object's BTF (0 if none). */
void lbpf_object__map_types(const struct lbpf_object *obj, const struct bpf_map *map, uint32_t *key,
			    uint32_t *value);
/* Shares the map through a pin: reuses what is pinned at path, or pins it there. */
int lbpf_object__set_pin(struct lbpf_object *obj, const char *map, const char *path, struct lbpf_err *err);
/* A global variable: before load its initial bytes (.rodata included);
 * after load the live memory-mapped bytes (.rodata read-only). */
struct lbpf_global {
	void *data;
	size_t size;
	uint32_t type_id;	/* in the object's BTF */
	bool readonly;
	const char *section;
};
int lbpf_object__global(const struct lbpf_object *obj, const char *name, struct lbpf_global *g,
			struct lbpf_err *err);
/* Global names in order: NULL gives the first; NULL after the last. */
const char *lbpf_object__next_global(const struct lbpf_object *obj, const char *after);
int lbpf_object__load(struct lbpf_object *obj, struct lbpf_err *err);
bool lbpf_object__loaded(const struct lbpf_object *obj);
/* The object's event loop, made on first use and freed with the object. */
struct lbpf_loop *lbpf_object__loop(struct lbpf_object *obj, struct lbpf_err *err);
/* Attaches every program whose section says where it goes. */
int lbpf_object__attach_auto(struct lbpf_object *obj, struct lbpf_err *err);
void lbpf_object__close(struct lbpf_object *obj);

/* ---- BCC's program model (runtime/functions.c) ---- */

/* The section the clang driver gives a BCC-dialect script's plain functions
 * (clang_driver/bcc_functions.h has its twin): programs with no type yet. */
#define LBPF_FUNCTION_SECTION "luabpf_function"
bool lbpf_program__is_function(const struct bpf_program *prog);
/* The program to attach: prog itself, or for a plain function, it loaded
 * with this type and expected attach type (once per pair) sharing the
 * object's maps. */
struct bpf_program *lbpf_object__typed_prog(struct lbpf_object *obj, struct bpf_program *prog,
					    enum bpf_prog_type type, enum bpf_attach_type expected,
					    struct lbpf_err *err);

/* ---- links (runtime/link.c): owned by their object, named by small ids ---- */

int lbpf_link__add(struct lbpf_object *obj, struct bpf_link *link);
/* Several libbpf links (one per CPU) that attach and detach as one; on
 * failure they are destroyed. */
int lbpf_link__add_group(struct lbpf_object *obj, struct bpf_link **links, int n);
/* A kernel link fd made without libbpf; the object owns it from here on. */
int lbpf_link__add_fd(struct lbpf_object *obj, int fd);
/* The kernel link fd of an attached link (its first, for a group), or -1. */
int lbpf_link__fd(const struct lbpf_object *obj, int id);
/* Pins an attached link at path (on bpffs): it then outlives its object
 * and this process, until the pin is removed. A group cannot be pinned. */
int lbpf_link__pin(struct lbpf_object *obj, int id, const char *path, struct lbpf_err *err);
/* Returns false when the link was already detached. */
bool lbpf_link__detach(struct lbpf_object *obj, int id);
bool lbpf_link__attached(const struct lbpf_object *obj, int id);
void lbpf_link__detach_all(struct lbpf_object *obj);

/* ---- attach kinds, one file each (runtime/attach_*.c); return a link id ---- */

int lbpf_attach__tracepoint(struct lbpf_object *obj, struct bpf_program *prog, const char *category,
			    const char *event, struct lbpf_err *err);
int lbpf_attach__raw_tracepoint(struct lbpf_object *obj, struct bpf_program *prog, const char *event,
				struct lbpf_err *err);

struct lbpf_uprobe_opts {
	const char *path;   /* binary or library; a bare name is searched like the loader does */
	const char *sym;    /* function name, or NULL to use offset */
	uint64_t offset;    /* file offset, or offset from sym */
	int pid;	    /* -1 for every process */
	bool retprobe;
};
int lbpf_attach__uprobe(struct lbpf_object *obj, struct bpf_program *prog,
			const struct lbpf_uprobe_opts *opts, struct lbpf_err *err);
int lbpf_attach__kprobe(struct lbpf_object *obj, struct bpf_program *prog, const char *func,
			bool retprobe, struct lbpf_err *err);
/* One link on every function a glob matches (runtime/attach_uprobe_multi.c,
 * attach_kprobe_multi.c). */
/* A glob pattern, or (pattern NULL) the nsyms names of syms, the i-th with
 * attach cookie i + 1 (at most LBPF_UPROBE_MULTI_MAX). */
#define LBPF_UPROBE_MULTI_MAX 65536
int lbpf_attach__uprobe_multi(struct lbpf_object *obj, struct bpf_program *prog, const char *path,
			      const char *pattern, const char **syms, size_t nsyms, int pid, bool retprobe,
			      struct lbpf_err *err);
int lbpf_attach__kprobe_multi(struct lbpf_object *obj, struct bpf_program *prog, const char *pattern,
			      bool retprobe, struct lbpf_err *err);
/* BTF-typed tracing programs (runtime/attach_trace.c): kind is "fentry",
 * "fexit", "fmod_ret", "tp_btf", "lsm" or "iter"; an iterator's link is read
 * with lbpf_link__read_iter (malloc'd text, *size bytes). */
int lbpf_attach__trace(struct lbpf_object *obj, struct bpf_program *prog, const char *kind, struct lbpf_err *err);
char *lbpf_link__read_iter(struct lbpf_object *obj, int id, size_t *size, struct lbpf_err *err);

struct lbpf_usdt_opts {
	const char *path;     /* the binary or library; NULL for /proc/PID/exe */
	const char *provider; /* NULL: the provider of the first probe called name */
	const char *name;
	int pid;	      /* -1 for every process */
};
/* A binary's USDT probes (runtime/usdt_notes.c): fn is called for each
 * until it returns non-zero, which is returned; a negative errno when the
 * file cannot be read. The strings live only during the call. */
struct lbpf_usdt_probe {
	const char *provider, *name, *args; /* args: "-4@%edi 8@%rax", the compiler's spec */
	uint64_t pc, semaphore;		    /* addresses; semaphore 0 when there is none */
};
int lbpf_usdt__each(const char *path, int (*fn)(void *ctx, const struct lbpf_usdt_probe *p), void *ctx);

/* The attach type libbpf's USDT support needs a program loaded with. */
enum bpf_attach_type lbpf_attach__usdt_attach_type(void);
int lbpf_attach__usdt(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_usdt_opts *opts,
		      struct lbpf_err *err);

/* Perf events (runtime/attach_perf_event.c): software or hardware counters
 * that run the program every sample_period events or sample_freq times a
 * second; pid -1 samples every process, one event per CPU. */
struct lbpf_perf_event_opts {
	uint32_t type;	   /* PERF_TYPE_SOFTWARE, PERF_TYPE_HARDWARE, ... */
	uint64_t config;   /* PERF_COUNT_SW_CPU_CLOCK, ... */
	uint64_t sample_period;
	uint64_t sample_freq; /* used when sample_period is 0 */
	int pid;	   /* -1: all processes */
	int cpu;	   /* -1: every CPU (or wherever pid runs) */
};
int lbpf_attach__perf_event(struct lbpf_object *obj, struct bpf_program *prog,
			    const struct lbpf_perf_event_opts *opts, struct lbpf_err *err);

/* "program 'p' is not an XDP program (its section is ...); declare it with
 * SEC("xdp")" unless prog has the type. */
int lbpf_attach__check_type(const struct bpf_program *prog, enum bpf_prog_type type, const char *kind,
			    const char *section, struct lbpf_err *err);
/* A network device's index (positive), or a negative errno naming it. */
int lbpf_attach__ifindex(const char *dev, struct lbpf_err *err);
/* Network attach kinds (runtime/attach_xdp.c, attach_tc.c, attach_cgroup.c). */
struct lbpf_xdp_opts {
	const char *dev;
	const char *mode;	/* NULL (the driver's if it has one), "skb", "drv" or "hw" */
	bool replace;		/* take the device over from a program `ip link` installed */
};
int lbpf_attach__xdp(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_xdp_opts *opts,
		     struct lbpf_err *err);
/* mode: NULL (tcx, else the clsact qdisc), "tcx" or "clsact". */
int lbpf_attach__tc(struct lbpf_object *obj, struct bpf_program *prog, const char *dev, bool egress, const char *mode,
		    struct lbpf_err *err);
/* type: the kernel's name of a cgroup attach type ("cgroup_inet_egress"), or
 * NULL for the one the program's section names. */
int lbpf_attach__cgroup(struct lbpf_object *obj, struct bpf_program *prog, const char *path, const char *type,
			struct lbpf_err *err);

/* Netfilter hooks (runtime/attach_netfilter.c): family "ipv4" or "ipv6",
 * hook "prerouting", "input", "forward", "output" or "postrouting". */
struct lbpf_netfilter_opts {
	const char *family, *hook;
	int priority;
};
int lbpf_attach__netfilter(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_netfilter_opts *opts,
			   struct lbpf_err *err);
/* A network namespace's flow dissector (runtime/attach_flow_dissector.c);
 * netns NULL for this process's. */
int lbpf_attach__flow_dissector(struct lbpf_object *obj, struct bpf_program *prog, const char *netns,
				struct lbpf_err *err);

/* sk_msg and sk_skb programs on a sockmap or sockhash (runtime/attach_sockmap.c):
 * type is the hook's name ("sk_msg_verdict", "sk_skb_stream_verdict", ...)
 * or NULL for the section's; mode NULL (a link, else BPF_PROG_ATTACH),
 * "link" or "prog_attach". */
int lbpf_attach__sockmap(struct lbpf_object *obj, struct bpf_program *prog, int map_fd, const char *type,
			 const char *mode, struct lbpf_err *err);

/* Socket filters (runtime/attach_socket.c): on a socket the caller has, or
 * on a new packet socket bound to dev (returned; the caller closes it). */
int lbpf_attach__socket_filter(struct bpf_program *prog, int sock, struct lbpf_err *err);
int lbpf_socket__open_packet(const char *dev, struct bpf_program *prog, struct lbpf_err *err);

/* Shared wording for a failed attach: privileges first, then libbpf's reason. */
int lbpf_attach__fail(struct lbpf_err *err, int code, const struct bpf_program *prog, const char *what);

/* ---- programs (runtime/prog.c) ---- */

/* One BPF_PROG_TEST_RUN: inputs, output buffers the caller sizes (NULL for
 * none), and what the kernel gives back. */
struct lbpf_test_run {
	const void *data, *ctx;
	size_t data_size, ctx_size;
	uint32_t repeat, flags, cpu;
	void *data_out, *ctx_out;
	size_t data_out_size, ctx_out_size; /* in: room; out: bytes written */
	uint32_t retval, duration_ns;	    /* duration: the average of the runs */
};
int lbpf_prog__test_run(int fd, enum bpf_prog_type type, struct lbpf_test_run *t, struct lbpf_err *err);
int lbpf_prog__pin(int fd, const char *path, struct lbpf_err *err);

/* ---- layouts of BTF types (runtime/btf_codec.c) ---- */

struct btf;

enum lbpf_type_kind {
	LBPF_T_INT,	/* signed integer of 1, 2, 4 or 8 bytes (also signed enums) */
	LBPF_T_UINT,	/* unsigned integer, unsigned enum or pointer */
	LBPF_T_BOOL,
	LBPF_T_FLOAT,	/* float or double */
	LBPF_T_CHARS,	/* char[N]: a string cut at the first NUL */
	LBPF_T_ARRAY,
	LBPF_T_STRUCT,
	LBPF_T_UNION,
	LBPF_T_BYTES,	/* anything else, and maps without BTF: raw bytes */
};

struct lbpf_type;

struct lbpf_field {
	const char *name;
	uint32_t bit_offset;
	uint32_t bit_size;	/* 0 unless a bitfield */
	const struct lbpf_type *type;
};

struct lbpf_type {
	enum lbpf_type_kind kind;
	uint32_t size;		/* bytes */
	const char *name;	/* "struct event", "u32", "char[16]": for messages */
	const struct lbpf_type *elem; /* ARRAY */
	uint32_t count;		/* ARRAY */
	const struct lbpf_field *fields; /* STRUCT, UNION: anonymous members' fields inlined */
	uint32_t nfields;
};

/* A compiled type tree; owns its memory and names, independent of the BTF. */
struct lbpf_layout;
struct lbpf_layout *lbpf_layout__new(const struct btf *btf, uint32_t type_id, struct lbpf_err *err);
struct lbpf_layout *lbpf_layout__bytes(uint32_t size);
const struct lbpf_type *lbpf_layout__root(const struct lbpf_layout *layout);
void lbpf_layout__free(struct lbpf_layout *layout);

/* ---- maps by fd (runtime/map.c); buffers are sized by the caller from the info ---- */

struct lbpf_map_info {
	uint32_t type, key_size, value_size, max_entries, flags, id;
	uint32_t btf_id, btf_key_type_id, btf_value_type_id;
	char name[16];
};

int lbpf_map__info(int fd, struct lbpf_map_info *info);
int lbpf_map__lookup(int fd, const void *key, void *value, uint64_t flags);
int lbpf_map__update(int fd, const void *key, const void *value, uint64_t flags);
int lbpf_map__delete(int fd, const void *key);
int lbpf_map__lookup_and_delete(int fd, const void *key, void *value);
/* key NULL gives the first key; returns -ENOENT after the last. */
int lbpf_map__next_key(int fd, const void *key, void *next);
/* One batch of up to *count entries; -ENOENT marks the last batch. */
int lbpf_map__lookup_batch(int fd, void *in_token, void *out_token, void *keys, void *values, uint32_t *count,
			   bool and_delete);
bool lbpf_map__batch_supported(uint32_t type);
bool lbpf_map__is_percpu(uint32_t type);
const char *lbpf_map__type_name(uint32_t type);
/* These return a new fd, or a negative errno with err filled. */
int lbpf_map__open_id(uint32_t id, struct lbpf_err *err);
int lbpf_map__pin(int fd, const char *path, struct lbpf_err *err);

/* ---- reading and clearing whole maps (runtime/map_reader.c) ---- */

struct lbpf_map_reader;
/* vbytes: bytes of one value as lookups return it (all CPUs for per-CPU maps).
 * batch false forces key-by-key reads. NULL when out of memory. */
struct lbpf_map_reader *lbpf_map_reader__new(int fd, const struct lbpf_map_info *info, size_t vbytes, bool batch);
/* 1 with the next entry's bytes (valid until the next call), 0 at the end, or -errno. */
int lbpf_map_reader__next(struct lbpf_map_reader *r, const void **key, const void **value);
void lbpf_map_reader__free(struct lbpf_map_reader *r);
/* Removes every entry (zeroes arrays); *removed counts them. */
int lbpf_map__clear(int fd, const struct lbpf_map_info *info, size_t vbytes, uint64_t *removed);

/* ---- events: one epoll loop per object (runtime/event_loop.c) over ring
 * buffers (ringbuf.c), perf buffers (perfbuf.c), trace_pipe (trace_pipe.c)
 * and timers ---- */

/* One event: a record's bytes, a trace_pipe line (without its newline), or a
 * timer's expiry count (a uint64_t). A negative return stops delivery. */
typedef int (*lbpf_event_fn)(void *ctx, const void *data, size_t size, int cpu);
/* Several ring buffer records at once, valid until the function returns
 * (their space is released after it): at most LBPF_BATCH_MAX. A negative
 * return stops delivery. */
#define LBPF_BATCH_MAX 256
struct lbpf_event {
	const void *data;
	uint32_t size;
};
typedef int (*lbpf_batch_fn)(void *ctx, const struct lbpf_event *events, int n);
/* Perf buffer records the kernel dropped on a CPU. */
typedef void (*lbpf_lost_fn)(void *ctx, int cpu, uint64_t count);

struct lbpf_source_stats {
	uint64_t received;	/* delivered to the callback */
	uint64_t lost;		/* dropped by the kernel (perf buffers) */
	uint64_t pending;	/* left undelivered when a callback stopped delivery */
};

struct lbpf_loop;
struct lbpf_loop *lbpf_loop__new(struct lbpf_err *err);
void lbpf_loop__free(struct lbpf_loop *loop);
/* The epoll fd: readable when any source is, so loops can nest. */
int lbpf_loop__fd(const struct lbpf_loop *loop);
/* Each returns a source id (>= 0) or a negative errno with err filled. */
int lbpf_loop__add_ringbuf(struct lbpf_loop *loop, int map_fd, lbpf_event_fn fn, void *ctx, struct lbpf_err *err);
int lbpf_loop__add_ringbuf_batch(struct lbpf_loop *loop, int map_fd, lbpf_batch_fn fn, void *ctx,
				 struct lbpf_err *err);
int lbpf_loop__add_perfbuf(struct lbpf_loop *loop, int map_fd, size_t pages, unsigned int wakeup_events,
			   lbpf_event_fn fn, lbpf_lost_fn lost, void *ctx, struct lbpf_err *err);
int lbpf_loop__add_trace_pipe(struct lbpf_loop *loop, lbpf_event_fn fn, void *ctx, struct lbpf_err *err);
int lbpf_loop__add_timer(struct lbpf_loop *loop, uint64_t interval_ns, lbpf_event_fn fn, void *ctx,
			 struct lbpf_err *err);
void lbpf_loop__remove(struct lbpf_loop *loop, int id);
/* Waits up to timeout_ms (-1: forever) and delivers what is ready. Returns 0,
 * a callback's negative return (delivery stopped; the rest is counted as
 * pending), or -EINTR when a signal cut the wait short. *handled counts events. */
int lbpf_loop__poll(struct lbpf_loop *loop, int timeout_ms, int *handled);
int lbpf_loop__stats(const struct lbpf_loop *loop, int id, struct lbpf_source_stats *stats);
/* "ringbuf", "perfbuf", "trace_pipe", "timer", or NULL for an unused id. */
const char *lbpf_loop__kind(const struct lbpf_loop *loop, int id);

/* An HTTP server (runtime/http_server.c), served by the loop it is added
 * to: fn answers each GET or HEAD request, in the loop's thread. */
struct lbpf_http_request {
	const char *method, *path;
	const char *accept; /* the Accept header, or NULL */
};
struct lbpf_http_response {
	int status;		  /* 0: 200 */
	const char *content_type; /* valid until fn is called again; NULL: text/plain */
	char *body;		  /* malloc'd, taken by the server; NULL drops the connection */
	size_t len;		  /* 0: strlen(body) */
};
typedef void (*lbpf_http_fn)(void *ctx, const struct lbpf_http_request *req, struct lbpf_http_response *resp);
struct lbpf_http;
/* listen: "HOST:PORT", "[V6]:PORT" or ":PORT"; port 0 picks a free one. */
struct lbpf_http *lbpf_http__new(const char *listen, lbpf_http_fn fn, void *ctx, struct lbpf_err *err);
uint16_t lbpf_http__port(const struct lbpf_http *h);
/* Accepts, reads and answers whatever is ready, without waiting. */
int lbpf_http__run(struct lbpf_http *h);
void lbpf_http__free(struct lbpf_http *h);
/* Adds h to the loop; the loop's source does not own h. */
int lbpf_loop__add_http(struct lbpf_loop *loop, struct lbpf_http *h, struct lbpf_err *err);

/* SIGINT and SIGTERM as a request to stop a run, not to die. */
void lbpf_stop__arm(void);
void lbpf_stop__disarm(void);
bool lbpf_stop__requested(void);
/* The signal that requested the stop (SIGCHLD for the watched child's
 * exit), or 0. */
int lbpf_stop__signal(void);
/* Makes pid's exit (luabpf -c's command) end a run as Ctrl-C does; it is
 * reaped here. 0 watches none. */
void lbpf_stop__watch_child(pid_t pid);
/* The child watched, while it runs; 0 otherwise. */
pid_t lbpf_stop__watched(void);

/* ---- the BPF file system (runtime/bpffs.c) ---- */

/* Makes sure pin_path's directory is on bpffs, mounting /sys/fs/bpf if needed. */
int lbpf_bpffs__ensure(const char *pin_path, struct lbpf_err *err);
/* Removes the pin at path; refuses anything not on a BPF file system. */
int lbpf_bpffs__unpin(const char *path, struct lbpf_err *err);
/* What a BPF fd is: "map", "prog", "link" (buf holds the text). */
const char *lbpf_bpffs__kind(int fd, char *buf, size_t size);
/* A new fd for the pin at path, and its kind in kind. */
int lbpf_bpffs__open(const char *path, char *kind, size_t size, struct lbpf_err *err);

/* ---- every map and program on the machine (runtime/sysview.c) ---- */

struct lbpf_prog_info {
	uint32_t id, type, xlated_size, jited_size, nr_map_ids, uid;
	uint64_t run_cnt, run_time_ns, recursion_misses, load_time_ns;
	char name[128]; /* the BTF name, as bpftool shows it, past the kernel's 15 characters */
	char tag[17];
};

/* Start with *id = 0; each call moves to the next id; -ENOENT after the last. */
int lbpf_sys__next_map(uint32_t *id, struct lbpf_map_info *info);
int lbpf_sys__next_prog(uint32_t *id, struct lbpf_prog_info *info);

#endif
