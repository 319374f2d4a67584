/* A BPF object's life: open from memory, set rodata and map sizes, load
 * (explaining verifier rejections and refused program types), auto-attach, close. */
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "object_internal.h"

/* Big enough for the tail of any verifier log that explains a rejection. */
#define LOG_SIZE (1u << 20)
/* How many of the log's last lines the error message quotes. */
#define QUOTED_LOG_LINES 12

struct lbpf_object *lbpf_object__open_mem(const void *elf, size_t size, const char *name,
					  struct lbpf_err *err)
{
	struct lbpf_object *o = calloc(1, sizeof(*o));

	lbpf_log__init();
	lbpf_log__reset();
	if (!o || !(o->log_buf = malloc(LOG_SIZE))) {
		free(o);
		lbpf_err__set(err, ENOMEM, "out of memory opening a BPF object");
		return NULL;
	}
	o->log_buf[0] = '\0';
	o->log_size = LOG_SIZE;
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = name, .kernel_log_buf = o->log_buf,
		    .kernel_log_size = o->log_size);
	o->obj = bpf_object__open_mem(elf, size, &opts);
	if (!o->obj) {
		int e = errno;
		lbpf_err__set(err, e, "not a usable BPF object: %s%s%s", strerror(e),
			      *lbpf_log__last() ? ": " : "", lbpf_log__last());
		free(o->log_buf);
		free(o);
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

int lbpf_object__set_max_entries(struct lbpf_object *o, const char *name, uint32_t n, struct lbpf_err *err)
{
	struct bpf_map *m = lbpf_object__map(o, name);
	char names[512];

	if (!m) {
		lbpf_object__map_names(o, names, sizeof(names));
		return lbpf_err__set(err, ENOENT, "max_entries: no map named '%s' (maps: %s)", name, names);
	}
	if (n == 0)
		return lbpf_err__set(err, EINVAL, "max_entries: map '%s' needs at least 1 entry", name);
	int ret = bpf_map__set_max_entries(m, n);
	if (ret)
		return lbpf_err__set(err, ret, "max_entries: cannot resize map '%s': %s", name, strerror(-ret));
	return 0;
}

static struct bpf_map *rodata_map(const struct lbpf_object *o)
{
	struct bpf_map *m;
	bpf_object__for_each_map(m, o->obj) {
		const char *n = bpf_map__name(m);
		size_t len = strlen(n);
		if (bpf_map__is_internal(m) && len >= 7 && strcmp(n + len - 7, ".rodata") == 0)
			return m;
	}
	return NULL;
}

int lbpf_object__rodata_var(struct lbpf_object *o, const char *name, void **data, size_t *size,
			    struct lbpf_err *err)
{
	struct btf *btf = bpf_object__btf(o->obj);
	struct bpf_map *map = rodata_map(o);
	int sec_id = btf ? btf__find_by_name_kind(btf, ".rodata", BTF_KIND_DATASEC) : -ENOENT;

	if (o->loaded)
		return lbpf_err__set(err, EPERM, "rodata '%s' is read-only once the object is loaded", name);
	if (map && sec_id > 0) {
		const struct btf_type *sec = btf__type_by_id(btf, sec_id);
		const struct btf_var_secinfo *vs = btf_var_secinfos(sec);
		size_t total;
		/* Writable before load (libbpf >= 1.3 drops the const); skeletons write it too. */
		char *base = (char *)bpf_map__initial_value(map, &total);
		for (int i = 0; i < btf_vlen(sec); i++, vs++) {
			const struct btf_type *var = btf__type_by_id(btf, vs->type);
			if (strcmp(btf__name_by_offset(btf, var->name_off), name) != 0)
				continue;
			if (!base || (size_t)vs->offset + vs->size > total)
				break;
			*data = base + vs->offset;
			*size = vs->size;
			return 0;
		}
	}
	return lbpf_err__set(err, ENOENT,
			     "rodata: the program has no global 'const volatile' variable named '%s'", name);
}

static bool is_tracing_type(enum bpf_prog_type t)
{
	return t == BPF_PROG_TYPE_TRACING || t == BPF_PROG_TYPE_LSM || t == BPF_PROG_TYPE_EXT;
}

/* The program libbpf was loading when load failed: it stops at the first failure. */
static struct bpf_program *failed_prog(const struct lbpf_object *o)
{
	struct bpf_program *p;
	bpf_object__for_each_program(p, o->obj)
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

static int explain_load_failure(struct lbpf_object *o, int ret, struct lbpf_err *err)
{
	const char *caps = lbpf_features__missing_caps();
	struct bpf_program *p = failed_prog(o);

	if (caps && (ret == -EPERM || ret == -EACCES))
		return lbpf_err__set(err, ret, "permission denied: %s", caps);
	if (p && is_tracing_type(bpf_program__type(p)) && (ret == -EPERM || ret == -ENOTSUP || ret == -524))
		return lbpf_err__set(err, ret,
				     "program '%s' (SEC(\"%s\")) is a tracing program (fentry/fexit, LSM or "
				     "iterator), and this kernel refuses tracing programs (%s): attach it to a "
				     "tracepoint (SEC(\"tp/...\")) or a raw tracepoint (SEC(\"raw_tp/...\")) instead",
				     bpf_program__name(p), bpf_program__section_name(p), strerror(-ret));
	if (p && o->log_buf[0]) {
		snprintf(err->prog, sizeof(err->prog), "%s", bpf_program__name(p));
		err->log = strdup(o->log_buf);
		return lbpf_err__set(err, ret,
				     "the verifier rejected program '%s' (SEC(\"%s\")): %s\n%s\n"
				     "(the whole verifier log is in the error's .log field)",
				     bpf_program__name(p), bpf_program__section_name(p), strerror(-ret),
				     log_tail(o->log_buf, QUOTED_LOG_LINES));
	}
	return lbpf_err__set(err, ret, "loading the BPF object failed: %s%s%s", strerror(-ret),
			     *lbpf_log__last() ? ": " : "", lbpf_log__last());
}

int lbpf_object__load(struct lbpf_object *o, struct lbpf_err *err)
{
	lbpf_log__reset();
	int ret = bpf_object__load(o->obj);
	/* The log is only needed to explain this load; give its memory back. */
	if (ret)
		ret = explain_load_failure(o, ret, err);
	free(o->log_buf);
	o->log_buf = NULL;
	o->loaded = ret == 0;
	return ret;
}

bool lbpf_object__loaded(const struct lbpf_object *o)
{
	return o->loaded;
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

void lbpf_object__close(struct lbpf_object *o)
{
	if (!o)
		return;
	lbpf_link__detach_all(o);
	bpf_object__close(o->obj);
	free(o->log_buf);
	free(o);
}
