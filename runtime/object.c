/* A BPF object's life: open from memory, set rodata and map sizes, load
 * (explaining verifier rejections and refused program types), auto-attach, close. */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "object_internal.h"

/* How many of the log's last lines the error message quotes. */
#define QUOTED_LOG_LINES 12

/* LUABPF_BTF: the kernel BTF CO-RE relocates against, for kernels without
 * /sys/kernel/btf/vmlinux (BTFHub's files); NULL for the running kernel's. */
const char *lbpf_object__btf_path(void)
{
	const char *path = getenv("LUABPF_BTF");
	return path && *path ? path : NULL;
}

int lbpf_object__reopen_portable(struct bpf_object **obj, const void *elf, size_t size,
				 struct bpf_object_open_opts *opts, int *core_fd, struct lbpf_err *err)
{
	char path[64];

	int ret = lbpf_core_btf__open(bpf_object__btf(*obj), opts->btf_custom_path, core_fd, err);
	if (ret || *core_fd < 0) {
		if (ret) {
			bpf_object__close(*obj);
			*obj = NULL;
		}
		return ret;
	}
	bpf_object__close(*obj);
	snprintf(path, sizeof(path), "/proc/self/fd/%d", *core_fd);
	opts->btf_custom_path = path;
	*obj = bpf_object__open_mem(elf, size, opts);
	opts->btf_custom_path = NULL;
	if (!*obj) {
		ret = -errno;
		close(*core_fd);
		*core_fd = -1;
		return lbpf_err__set(err, ret, "cannot open the object again with its tracepoint records: %s",
				     lbpf_strerror(-ret));
	}
	return 0;
}

struct lbpf_object *lbpf_object__open_mem(const void *elf, size_t size, const char *name,
					  struct lbpf_err *err)
{
	struct lbpf_object *o = calloc(1, sizeof(*o));

	lbpf_log__init();
	lbpf_log__reset();
	if (!o || !(o->log_buf = malloc(LBPF_LOG_SIZE))) {
		free(o);
		lbpf_err__set(err, ENOMEM, "out of memory opening a BPF object");
		return NULL;
	}
	o->log_buf[0] = '\0';
	o->log_size = LBPF_LOG_SIZE;
	o->core_btf_fd = -1;
	const char *btf = lbpf_object__btf_path();
	if (btf && access(btf, R_OK) != 0) {
		lbpf_err__set(err, errno, "the kernel BTF given (LUABPF_BTF or --btf) cannot be read: %s: %s", btf,
			      lbpf_strerror(errno));
		free(o->log_buf);
		free(o);
		return NULL;
	}
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .kernel_log_buf = o->log_buf,
		    .kernel_log_size = o->log_size, .btf_custom_path = btf);
	o->obj = bpf_object__open_mem(elf, size, &opts);
	if (!o->obj) {
		int e = errno;
		const char *why = lbpf_log__last();
		lbpf_err__set(err, e, "not a usable BPF object: %s%s%s%s", lbpf_strerror(e), *why ? ": " : "", why,
			      strstr(why, "legacy map definitions")
				      ? " (declare maps in SEC(\".maps\") with __uint/__type, or with BCC's BPF_ARRAY, "
					"BPF_HASH, ...)"
				      : "");
		free(o->log_buf);
		free(o);
		return NULL;
	}
	if (lbpf_object__reopen_portable(&o->obj, elf, size, &opts, &o->core_btf_fd, err)) {
		free(o->log_buf);
		free(o);
		return NULL;
	}
	if (lbpf_functions__open(o, elf, size, name, err)) {
		lbpf_object__close(o);
		return NULL;
	}
	return o;
}

struct bpf_object *lbpf_object__bpf(const struct lbpf_object *o)
{
	return o->obj;
}

struct bpf_program *lbpf_object__prog(const struct lbpf_object *o, const char *name)
{
	return bpf_object__find_program_by_name(o->obj, name);
}

struct bpf_map *lbpf_object__map(const struct lbpf_object *o, const char *name)
{
	struct bpf_map *m;

	/* Internal maps (.bss, .rodata) are globals, not maps a script names. */
	bpf_object__for_each_map(m, o->obj)
		if (!bpf_map__is_internal(m) && strcmp(bpf_map__name(m), name) == 0)
			return m;
	return NULL;
}

static void append_name(char *buf, size_t size, const char *name)
{
	size_t len = strlen(buf);
	snprintf(buf + len, size - len, "%s%s", len ? ", " : "", name);
}

void lbpf_object__prog_names(const struct lbpf_object *o, char *buf, size_t size)
{
	struct bpf_program *p;

	buf[0] = '\0';
	bpf_object__for_each_program(p, o->obj)
		append_name(buf, size, bpf_program__name(p));
	if (!buf[0])
		snprintf(buf, size, "none");
}

void lbpf_object__map_names(const struct lbpf_object *o, char *buf, size_t size)
{
	struct bpf_map *m;

	buf[0] = '\0';
	bpf_object__for_each_map(m, o->obj)
		if (!bpf_map__is_internal(m))
			append_name(buf, size, bpf_map__name(m));
	if (!buf[0])
		snprintf(buf, size, "none");
}

/* The map an option names, or NULL with err naming the maps there are. */
static struct bpf_map *option_map(const struct lbpf_object *o, const char *option, const char *name,
				  struct lbpf_err *err)
{
	struct bpf_map *m = lbpf_object__map(o, name);
	char names[512];

	if (!m) {
		lbpf_object__map_names(o, names, sizeof(names));
		lbpf_err__set(err, ENOENT, "%s: no map named '%s' (maps: %s)", option, name, names);
	}
	return m;
}

int lbpf_object__set_max_entries(struct lbpf_object *o, const char *name, uint32_t n, struct lbpf_err *err)
{
	struct bpf_map *m = option_map(o, "max_entries", name, err);

	if (!m)
		return err->code;
	if (n == 0)
		return lbpf_err__set(err, EINVAL, "max_entries: map '%s' needs at least 1 entry", name);
	int ret = bpf_map__set_max_entries(m, n);
	if (ret)
		return lbpf_err__set(err, ret, "max_entries: cannot resize map '%s': %s", name, lbpf_strerror(-ret));
	return 0;
}

/* libbpf borrows the template's fd until the load: the object keeps a copy
 * of its own, so the caller's map may close first. */
int lbpf_object__set_inner_map(struct lbpf_object *o, struct bpf_map *m, int fd, struct lbpf_err *err)
{
	int *grown = realloc(o->inner_fds, (o->ninner_fds + 1) * sizeof(*grown));
	if (!grown)
		return lbpf_err__set(err, ENOMEM, "map '%s': out of memory", bpf_map__name(m));
	o->inner_fds = grown;
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (own < 0)
		return lbpf_err__set(err, errno, "map '%s': cannot keep the inner map: %s", bpf_map__name(m),
				     lbpf_strerror(errno));
	int ret = bpf_map__set_inner_map_fd(m, own);
	if (ret) {
		close(own);
		return lbpf_err__set(err, ret, "map '%s': cannot take an inner map template: %s%s", bpf_map__name(m),
				     lbpf_strerror(-ret),
				     ret == -EINVAL ? " (it is not a map of maps, or has its template already)" : "");
	}
	o->inner_fds[o->ninner_fds++] = own;
	return 0;
}

static void close_inner_fds(struct lbpf_object *o)
{
	for (int i = 0; i < o->ninner_fds; i++)
		close(o->inner_fds[i]);
	free(o->inner_fds);
	o->inner_fds = NULL;
	o->ninner_fds = 0;
}

/* The type a `.maps` definition names in its key or value field ("key" or
 * "value"): libbpf zeroes the ids for map types whose kernel side takes no
 * BTF (queues, stacks, ...), yet the definition still says what they hold. */
static __u32 declared_type(const struct btf *btf, const char *map, const char *field)
{
	int sec = btf ? btf__find_by_name_kind(btf, ".maps", BTF_KIND_DATASEC) : -ENOENT;
	if (sec <= 0)
		return 0;
	const struct btf_type *ds = btf__type_by_id(btf, sec);
	const struct btf_var_secinfo *vs = btf_var_secinfos(ds);
	for (int i = 0; i < btf_vlen(ds); i++, vs++) {
		const struct btf_type *var = btf__type_by_id(btf, vs->type);
		if (!btf_is_var(var) || strcmp(btf__name_by_offset(btf, var->name_off), map) != 0)
			continue;
		const struct btf_type *def = btf__type_by_id(btf, var->type);
		while (def && (btf_is_mod(def) || btf_is_typedef(def)))
			def = btf__type_by_id(btf, def->type);
		if (!def || !btf_is_struct(def))
			return 0;
		const struct btf_member *m = btf_members(def);
		for (int j = 0; j < btf_vlen(def); j++, m++) {
			const struct btf_type *ptr = btf__type_by_id(btf, m->type);
			if (strcmp(btf__name_by_offset(btf, m->name_off), field) == 0 && ptr && btf_is_ptr(ptr))
				return ptr->type;
		}
		return 0;
	}
	return 0;
}

int lbpf_object__find_type(const struct lbpf_object *o, const char *name)
{
	static const struct {
		const char *prefix;
		int kind;
	} tagged[] = {{"struct ", BTF_KIND_STRUCT}, {"union ", BTF_KIND_UNION}, {"enum ", BTF_KIND_ENUM}};
	const struct btf *btf = bpf_object__btf(o->obj);

	if (!btf)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(tagged) / sizeof(tagged[0]); i++) {
		size_t n = strlen(tagged[i].prefix);
		if (strncmp(name, tagged[i].prefix, n) == 0)
			return btf__find_by_name_kind(btf, name + n, tagged[i].kind);
	}
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_TYPEDEF);
	if (id < 0)
		id = btf__find_by_name_kind(btf, name, BTF_KIND_INT);
	return id;
}

int lbpf_object__record_type(const struct lbpf_object *o, const char *map)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	char name[256];

	if (!btf || snprintf(name, sizeof(name), "__luabpf_record__%s", map) >= (int)sizeof(name))
		return -ENOENT;
	int id = btf__find_by_name_kind(btf, name, BTF_KIND_VAR);
	const struct btf_type *var = id > 0 ? btf__type_by_id(btf, id) : NULL;
	const struct btf_type *ptr = var ? btf__type_by_id(btf, var->type) : NULL;
	return ptr && btf_is_ptr(ptr) ? (int)ptr->type : -ENOENT;
}

void lbpf_object__map_types(const struct lbpf_object *o, const struct bpf_map *map, uint32_t *key, uint32_t *value)
{
	const struct btf *btf = bpf_object__btf(o->obj);
	*key = bpf_map__btf_key_type_id(map);
	*value = bpf_map__btf_value_type_id(map);
	if (!*key)
		*key = declared_type(btf, bpf_map__name(map), "key");
	if (!*value)
		*value = declared_type(btf, bpf_map__name(map), "value");
}

int lbpf_object__set_pin(struct lbpf_object *o, const char *name, const char *path, struct lbpf_err *err)
{
	struct bpf_map *m = option_map(o, "pin", name, err);

	if (!m)
		return err->code;
	int ret = lbpf_bpffs__ensure(path, err);
	if (ret)
		return ret;
	/* At load libbpf reuses a compatible map pinned there, or pins the new one. */
	ret = bpf_map__set_pin_path(m, path);
	if (ret)
		return lbpf_err__set(err, ret, "pin: cannot use %s for map '%s': %s", path, name, lbpf_strerror(-ret));
	return 0;
}

static bool is_readonly_section(const char *sec)
{
	return strncmp(sec, ".rodata", 7) == 0 || strcmp(sec, ".kconfig") == 0;
}

/* Walks every variable of every data section; stops when fn returns true. */
static bool for_each_global(const struct lbpf_object *o,
			    bool (*fn)(const struct btf *, const char *sec, const struct btf_var_secinfo *, void *),
			    void *ctx)
{
	const struct btf *btf = bpf_object__btf(o->obj);

	for (__u32 id = 1, n = btf ? btf__type_cnt(btf) : 0; id < n; id++) {
		const struct btf_type *t = btf__type_by_id(btf, id);
		if (!btf_is_datasec(t))
			continue;
		const char *sec = btf__name_by_offset(btf, t->name_off);
		const struct btf_var_secinfo *vs = btf_var_secinfos(t);
		for (int i = 0; i < btf_vlen(t); i++, vs++)
			if (fn(btf, sec, vs, ctx))
				return true;
	}
	return false;
}

struct global_query {
	const struct lbpf_object *o;
	const char *name;
	struct lbpf_global *out;
	int ret;
};

static bool match_global(const struct btf *btf, const char *sec, const struct btf_var_secinfo *vs, void *ctx)
{
	struct global_query *q = ctx;
	const struct btf_type *var = btf__type_by_id(btf, vs->type);

	if (!btf_is_var(var) || strcmp(btf__name_by_offset(btf, var->name_off), q->name) != 0)
		return false;
	struct bpf_map *map = bpf_object__find_map_by_name(q->o->obj, sec);
	size_t total = 0;
	/* Before load this is the initial image; after load libbpf maps it onto the
	 * kernel's memory for mmapable maps, so reads and writes cost no syscall.
	 * libbpf >= 1.3 returns it without const. */
	char *base = map ? (char *)bpf_map__initial_value(map, &total) : NULL;
	if (!base || (size_t)vs->offset + vs->size > total) {
		q->ret = -ENOENT;
		return true;
	}
	if (q->o->loaded && !(bpf_map__map_flags(map) & BPF_F_MMAPABLE)) {
		q->ret = -EOPNOTSUPP;
		return true;
	}
	*q->out = (struct lbpf_global){
		.data = base + vs->offset,
		.size = vs->size,
		.type_id = var->type,
		.readonly = q->o->loaded && is_readonly_section(sec),
		.section = sec,
	};
	q->ret = 0;
	return true;
}

int lbpf_object__global(const struct lbpf_object *o, const char *name, struct lbpf_global *g, struct lbpf_err *err)
{
	struct global_query q = {o, name, g, -ENOENT};

	for_each_global(o, match_global, &q);
	if (q.ret == -EOPNOTSUPP)
		return lbpf_err__set(err, q.ret, "global '%s': this kernel cannot memory-map BPF globals (Linux 5.5+)",
				     name);
	if (q.ret) {
		char names[512] = "";
		for (const char *g = lbpf_object__next_global(o, NULL); g; g = lbpf_object__next_global(o, g))
			snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s", names[0] ? ", " : "", g);
		return lbpf_err__set(err, q.ret, "the program has no global variable named '%s' (its globals: %s)",
				     name, names[0] ? names : "none");
	}
	return 0;
}

struct global_walk {
	const char *after;
	bool passed;
	const char *next;
};

static bool find_next_global(const struct btf *btf, const char *sec, const struct btf_var_secinfo *vs, void *ctx)
{
	struct global_walk *w = ctx;
	const struct btf_type *var = btf__type_by_id(btf, vs->type);
	const char *name = btf_is_var(var) ? btf__name_by_offset(btf, var->name_off) : NULL;

	/* libbpf's own variables (license, version) are not the script's. */
	if (!name || !*name || strcmp(sec, "license") == 0 || strncmp(name, "__luabpf", 8) == 0)
		return false;
	if (w->passed) {
		w->next = name;
		return true;
	}
	w->passed = strcmp(name, w->after) == 0;
	return false;
}

const char *lbpf_object__next_global(const struct lbpf_object *o, const char *after)
{
	struct global_walk w = {after ? after : "", after == NULL, NULL};
	for_each_global(o, find_next_global, &w);
	return w.next;
}

static bool is_tracing_type(enum bpf_prog_type t)
{
	return t == BPF_PROG_TYPE_TRACING || t == BPF_PROG_TYPE_LSM || t == BPF_PROG_TYPE_EXT;
}

/* The program libbpf was loading when load failed: it stops at the first failure. */
static struct bpf_program *failed_prog(const struct bpf_object *obj)
{
	struct bpf_program *p;
	if (*lbpf_log__failed_prog() && (p = bpf_object__find_program_by_name(obj, lbpf_log__failed_prog())))
		return p;
	bpf_object__for_each_program(p, obj)
		if (bpf_program__autoload(p) && bpf_program__fd(p) < 0)
			return p;
	return NULL;
}

/* The last n lines of the log, for quoting in the message. */
static const char *log_tail(const char *log, int n)
{
	const char *p = log + strlen(log);
	while (p > log && p[-1] == '\n')
		p--;
	while (p > log && n > 0)
		if (*--p == '\n')
			n--;
	return n == 0 ? p + 1 : log;
}

int lbpf_object__explain_load(const struct bpf_object *obj, const char *log, int ret, struct lbpf_err *err)
{
	const char *caps = lbpf_features__missing_caps();
	struct bpf_program *p = failed_prog(obj);

	if (caps && (ret == -EPERM || ret == -EACCES))
		return lbpf_err__set(err, ret, "permission denied: %s", caps);
	if (p && is_tracing_type(bpf_program__type(p)) && (ret == -EPERM || ret == -ENOTSUP || ret == -524))
		return lbpf_err__set(err, ret,
				     "program '%s' (SEC(\"%s\")) is a tracing program (fentry/fexit, LSM or "
				     "iterator), and this kernel refuses tracing programs (%s): attach it to a "
				     "tracepoint (SEC(\"tp/...\")) or a raw tracepoint (SEC(\"raw_tp/...\")) instead",
				     bpf_program__name(p), bpf_program__section_name(p), lbpf_strerror(-ret));
	char tp_struct[128], field[128];
	const char *relo = p ? strstr(log, "failed to resolve CO-RE relocation") : NULL;
	const char *tp = relo ? strstr(relo, " struct tracepoint__") : NULL;
	if (tp && sscanf(tp, " struct tracepoint__%127[^.].%127[A-Za-z0-9_]", tp_struct, field) == 2) {
		/* A portable object built for another kernel's layout of the record. */
		char *sep = strstr(tp_struct, "__");
		const char *event = sep ? sep + 2 : "";
		if (sep)
			*sep = '\0';
		snprintf(err->prog, sizeof(err->prog), "%s", bpf_program__name(p));
		err->log = strdup(log);
		return lbpf_err__set(err, ret,
				     "program '%s' reads args->%s, which this kernel's tracepoint %s:%s does not have "
				     "(the object was built where its record had that field; its fields here are in "
				     "%s/events/%s/%s/format)",
				     bpf_program__name(p), field, tp_struct, event, lbpf_tracefs__root(), tp_struct,
				     event);
	}
	if (p && log[0]) {
		snprintf(err->prog, sizeof(err->prog), "%s", bpf_program__name(p));
		err->log = strdup(log);
		return lbpf_err__set(err, ret,
				     "the verifier rejected program '%s' (SEC(\"%s\")): %s\n%s\n"
				     "(the whole verifier log is in the error's .log field)",
				     bpf_program__name(p), bpf_program__section_name(p), lbpf_strerror(-ret),
				     log_tail(log, QUOTED_LOG_LINES));
	}
	if (ret == -ESRCH && !lbpf_object__btf_path() && access("/sys/kernel/btf/vmlinux", R_OK) != 0)
		return lbpf_btf__missing(err);
	return lbpf_err__set(err, ret, "loading the BPF object failed: %s%s%s", lbpf_strerror(-ret),
			     *lbpf_log__last() ? ": " : "", lbpf_log__last());
}

/* Puts the kernel's memory of .bss, .data and .rodata where libbpf keeps
 * their image, so globals read and write the live values with no syscall.
 * libbpf 1.1 does this only for skeletons. */
static int map_globals(struct lbpf_object *o, struct lbpf_err *err)
{
	struct bpf_map *m;
	long page = sysconf(_SC_PAGESIZE);

	bpf_object__for_each_map(m, o->obj) {
		size_t size;
		void *image = (void *)bpf_map__initial_value(m, &size);
		if (!bpf_map__is_internal(m) || !image || !(bpf_map__map_flags(m) & BPF_F_MMAPABLE))
			continue;
		int prot = PROT_READ | ((bpf_map__map_flags(m) & BPF_F_RDONLY_PROG) ? 0 : PROT_WRITE);
		size_t len = (size + page - 1) / page * page;
		if (mmap(image, len, prot, MAP_SHARED | MAP_FIXED, bpf_map__fd(m), 0) == MAP_FAILED)
			return lbpf_err__set(err, errno, "cannot map the globals of %s: %s", bpf_map__name(m),
					     lbpf_strerror(errno));
	}
	return 0;
}

static void close_core_btf(struct lbpf_object *o)
{
	if (o->core_btf_fd >= 0)
		close(o->core_btf_fd);
	o->core_btf_fd = -1;
}

bool lbpf_object__loaded(const struct lbpf_object *o)
{
	return o->loaded;
}

int lbpf_object__load(struct lbpf_object *o, struct lbpf_err *err)
{
	lbpf_log__reset();
	int ret = bpf_object__load(o->obj);
	ret = ret ? lbpf_object__explain_load(o->obj, o->log_buf, ret, err) : map_globals(o, err);
	/* The log is only needed to explain this load; give its memory back. */
	close_inner_fds(o);
	close_core_btf(o);
	free(o->log_buf);
	o->log_buf = NULL;
	o->loaded = ret == 0;
	return ret;
}

static bool is_kprobe_section(const char *sec)
{
	return !strncmp(sec, "kprobe", 6) || !strncmp(sec, "kretprobe", 9) || !strncmp(sec, "ksyscall", 8) ||
	       !strncmp(sec, "kretsyscall", 11);
}

int lbpf_object__attach_auto(struct lbpf_object *o, struct lbpf_err *err)
{
	struct bpf_program *p;

	bpf_object__for_each_program(p, o->obj) {
		const char *sec = bpf_program__section_name(p);
		enum bpf_prog_type type = bpf_program__type(p);

		if (!bpf_program__autoload(p))
			continue;
		if (type == BPF_PROG_TYPE_KPROBE && is_kprobe_section(sec) && strchr(sec, '/') &&
		    !lbpf_features__kprobes())
			return lbpf_attach__kprobe(o, p, strchr(sec, '/') + 1, false, err);
		if (type == BPF_PROG_TYPE_TRACEPOINT) {
			int ret = lbpf_tracefs__ensure(err);
			if (ret)
				return ret;
			const char *slash = strchr(sec, '/');
			const char *ev = slash ? strchr(slash + 1, '/') : NULL;
			if (ev) {
				char cat[128];
				snprintf(cat, sizeof(cat), "%.*s", (int)(ev - slash - 1), slash + 1);
				if (!lbpf_tracefs__event_exists(cat, ev + 1))
					return lbpf_err__set(err, ENOENT,
							     "program '%s': unknown tracepoint '%s:%s' (no such event in "
							     "%s/events)",
							     bpf_program__name(p), cat, ev + 1, lbpf_tracefs__root());
				/* Gated, so that the script's exit does not wait (attach_tracepoint.c). */
				ret = lbpf_attach__tracepoint(o, p, cat, ev + 1, err);
				if (ret < 0)
					return ret;
				continue;
			}
		}
		lbpf_log__reset();
		struct bpf_link *link = bpf_program__attach(p);
		if (!link) {
			int ret = -errno;
			if (ret == -EOPNOTSUPP)
				continue; /* the section names no target: attach it explicitly */
			return lbpf_attach__fail(err, ret, p, sec);
		}
		int id = lbpf_link__add(o, link);
		if (id < 0)
			return lbpf_err__set(err, id, "out of memory recording a link");
	}
	return 0;
}

struct lbpf_loop *lbpf_object__loop(struct lbpf_object *o, struct lbpf_err *err)
{
	if (!o->loop)
		o->loop = lbpf_loop__new(err);
	return o->loop;
}

void lbpf_object__close(struct lbpf_object *o)
{
	if (!o)
		return;
	/* Sources map the object's maps: they go first. */
	lbpf_loop__free(o->loop);
	lbpf_link__detach_all(o);
	lbpf_functions__close(o);
	bpf_object__close(o->obj);
	close_inner_fds(o);
	close_core_btf(o);
	free(o->log_buf);
	free(o);
}
