/* The BTF a portable object's CO-RE relocations resolve against: the kernel's
 * types with the records of the tracepoints its TRACEPOINT_PROBE args name
 * appended, laid out as this kernel's tracefs states them. */
#include <bpf/btf.h>
#include <errno.h>
#include <linux/btf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "luabpf.h"

#define PREFIX "tracepoint__"

/* Types and strings appended after a base BTF's: ids and string offsets
 * continue the base's. */
struct appender {
	char *types, *strs;
	size_t types_len, types_cap, strs_len, strs_cap;
	__u32 next_id, str_base;
	bool failed;
};

static void append(struct appender *a, char **buf, size_t *len, size_t *cap, const void *data, size_t size)
{
	if (a->failed)
		return;
	if (*len + size > *cap) {
		size_t want = *cap ? *cap * 2 : 4096;
		while (want < *len + size)
			want *= 2;
		char *more = realloc(*buf, want);
		if (!more) {
			a->failed = true;
			return;
		}
		*buf = more;
		*cap = want;
	}
	memcpy(*buf + *len, data, size);
	*len += size;
}

static __u32 add_str(struct appender *a, const char *s)
{
	__u32 off = a->str_base + (__u32)a->strs_len;
	append(a, &a->strs, &a->strs_len, &a->strs_cap, s, strlen(s) + 1);
	return off;
}

/* One type record: its btf_type and the kind's data after it. */
static __u32 add_type(struct appender *a, const struct btf_type *t, const void *extra, size_t extra_size)
{
	append(a, &a->types, &a->types_len, &a->types_cap, t, sizeof(*t));
	if (extra_size)
		append(a, &a->types, &a->types_len, &a->types_cap, extra, extra_size);
	return a->next_id++;
}

static __u32 add_int(struct appender *a, const char *name, unsigned size, bool is_signed)
{
	struct btf_type t = {.name_off = add_str(a, name), .info = BTF_KIND_INT << 24, .size = size};
	__u32 enc = (is_signed ? BTF_INT_SIGNED : 0) << 24 | size * 8;
	return add_type(a, &t, &enc, sizeof(enc));
}

static const char *int_name(unsigned size, bool is_signed)
{
	static const char *const names[2][9] = {
		{[1] = "__u8", [2] = "__u16", [4] = "__u32", [8] = "__u64"},
		{[1] = "__s8", [2] = "__s16", [4] = "__s32", [8] = "__s64"},
	};
	return size < 9 && names[is_signed][size] ? names[is_signed][size] : "char";
}

/* A member's type with the kind the C text of the same record gives it, as
 * libbpf matches kinds (int with int, array with array, pointer with pointer). */
static __u32 member_type(struct appender *a, const struct lbpf_tp_field *f)
{
	if (f->ptr_type[0]) {
		struct btf_type t = {.info = BTF_KIND_PTR << 24, .type = 0};
		return add_type(a, &t, NULL, 0);
	}
	if (!f->count)
		return add_int(a, int_name(f->size, f->is_signed), f->size, f->is_signed);
	unsigned elem_size = f->is_char ? 1 : f->size / f->count;
	struct btf_array arr = {
		.type = f->is_char ? add_int(a, "char", 1, true) : add_int(a, int_name(elem_size, f->is_signed),
									     elem_size, f->is_signed),
		.index_type = add_int(a, "__u32", 4, false),
		.nelems = f->count,
	};
	struct btf_type t = {.info = BTF_KIND_ARRAY << 24};
	return add_type(a, &t, &arr, sizeof(arr));
}

static void add_record(struct appender *a, const char *name, const struct lbpf_tp_record *r)
{
	__u32 *ids = calloc(r->nfields, sizeof(*ids));
	if (!ids || r->nfields > BTF_MAX_VLEN) {
		free(ids);
		a->failed = true;
		return;
	}
	for (size_t i = 0; i < r->nfields; i++)
		ids[i] = member_type(a, &r->fields[i]);
	struct btf_type t = {
		.name_off = add_str(a, name),
		.info = BTF_KIND_STRUCT << 24 | (__u32)r->nfields,
		.size = r->size,
	};
	add_type(a, &t, NULL, 0);
	for (size_t i = 0; i < r->nfields; i++) {
		struct btf_member m = {
			.name_off = add_str(a, r->fields[i].name),
			.type = ids[i],
			.offset = r->fields[i].offset * 8,
		};
		append(a, &a->types, &a->types_len, &a->types_cap, &m, sizeof(m));
	}
	free(ids);
}

/* The bytes after a btf_type that its kind carries; -1 for a kind this
 * code does not know (a newer kernel's), which cannot be stepped over. */
static long kind_extra(const struct btf_type *t)
{
	__u32 vlen = BTF_INFO_VLEN(t->info);

	switch (BTF_INFO_KIND(t->info)) {
	case BTF_KIND_INT:
	case BTF_KIND_VAR:
	case BTF_KIND_DECL_TAG:
		return 4;
	case BTF_KIND_PTR:
	case BTF_KIND_FWD:
	case BTF_KIND_TYPEDEF:
	case BTF_KIND_VOLATILE:
	case BTF_KIND_CONST:
	case BTF_KIND_RESTRICT:
	case BTF_KIND_FUNC:
	case BTF_KIND_FLOAT:
	case BTF_KIND_TYPE_TAG:
		return 0;
	case BTF_KIND_ARRAY:
		return sizeof(struct btf_array);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		return (long)vlen * sizeof(struct btf_member);
	case BTF_KIND_ENUM:
		return (long)vlen * sizeof(struct btf_enum);
	case BTF_KIND_FUNC_PROTO:
		return (long)vlen * sizeof(struct btf_param);
	case BTF_KIND_DATASEC:
		return (long)vlen * sizeof(struct btf_var_secinfo);
	case BTF_KIND_ENUM64:
		return (long)vlen * sizeof(struct btf_enum64);
	}
	return -1;
}

/* A raw BTF's sections, checked to lie inside it; its types counted (ids
 * 1..count) by stepping over each record. */
struct raw_btf {
	const char *types, *strs;
	__u32 types_len, strs_len, count;
};

static int split_raw(const char *data, size_t size, const char *what, struct raw_btf *out, struct lbpf_err *err)
{
	struct btf_header h;

	if (size < sizeof(h))
		return lbpf_err__set(err, EPROTO, "%s is not BTF (too short)", what);
	memcpy(&h, data, sizeof(h));
	if (h.magic != BTF_MAGIC || h.version != BTF_VERSION || h.hdr_len < sizeof(h) || h.hdr_len > size ||
	    h.type_off > size - h.hdr_len || h.type_len > size - h.hdr_len - h.type_off ||
	    h.str_off > size - h.hdr_len || h.str_len > size - h.hdr_len - h.str_off || h.type_off % 4)
		return lbpf_err__set(err, EPROTO, "%s is not BTF in this machine's byte order", what);
	*out = (struct raw_btf){.types = data + h.hdr_len + h.type_off, .types_len = h.type_len,
				.strs = data + h.hdr_len + h.str_off, .strs_len = h.str_len};
	for (size_t off = 0; off < out->types_len; out->count++) {
		struct btf_type t;
		if (out->types_len - off < sizeof(t))
			return lbpf_err__set(err, EPROTO, "%s: its types end mid-record", what);
		memcpy(&t, out->types + off, sizeof(t));
		long extra = kind_extra(&t);
		if (extra < 0 || (size_t)extra > out->types_len - off - sizeof(t))
			return lbpf_err__set(err, EPROTO, "%s: type %u has kind %u, which luabpf does not know", what,
					     out->count + 1, BTF_INFO_KIND(t.info));
		off += sizeof(t) + extra;
	}
	return 0;
}

/* category and event from a tag's struct name, "tracepoint__<cat>__<ev>"
 * (the category is what precedes the first "__", as the rewrite names it). */
static bool tracepoint_of(const char *name, char *cat, size_t cat_size, const char **event)
{
	if (strncmp(name, PREFIX, strlen(PREFIX)) != 0)
		return false;
	const char *rest = name + strlen(PREFIX), *sep = strstr(rest, "__");
	if (!sep || sep == rest || !sep[2] || (size_t)(sep - rest) >= cat_size)
		return false;
	snprintf(cat, cat_size, "%.*s", (int)(sep - rest), rest);
	*event = sep + 2;
	return true;
}

/* Appends the record of each args struct obj_btf tags, once per name. */
static int add_tagged(struct appender *a, const struct btf *obj_btf, struct lbpf_err *err)
{
	__u32 n = btf__type_cnt(obj_btf);

	for (__u32 id = 1; id < n && !a->failed; id++) {
		const struct btf_type *t = btf__type_by_id(obj_btf, id);
		if (!lbpf_core_btf__is_args_tag(obj_btf, t))
			continue;
		const char *name = btf__name_by_offset(obj_btf, btf__type_by_id(obj_btf, t->type)->name_off);
		char cat[128];
		const char *event;
		if (!name || !tracepoint_of(name, cat, sizeof(cat), &event))
			return lbpf_err__set(err, EPROTO, "the object tags '%s' as a tracepoint's args, which it is not",
					     name ? name : "?");
		bool seen = false;
		for (__u32 prev = 1; prev < id && !seen; prev++) {
			const struct btf_type *p = btf__type_by_id(obj_btf, prev);
			seen = p->type == t->type && lbpf_core_btf__is_args_tag(obj_btf, p);
		}
		if (seen)
			continue;
		struct lbpf_tp_record r;
		if (lbpf_tracepoint__record(NULL, cat, event, &r, err)) {
			char why[sizeof(err->msg)];
			snprintf(why, sizeof(why), "%s", err->msg);
			return lbpf_err__set(err, err->code, "TRACEPOINT_PROBE(%s, %s): %s", cat, event, why);
		}
		add_record(a, name, &r);
		lbpf_tp_record__free(&r);
	}
	return a->failed ? lbpf_err__set(err, ENOMEM, "out of memory describing tracepoint records") : 0;
}

static int write_combined(const struct raw_btf *base, const struct appender *a, int *fd, struct lbpf_err *err)
{
	struct btf_header h = {
		.magic = BTF_MAGIC,
		.version = BTF_VERSION,
		.hdr_len = sizeof(h),
		.type_len = base->types_len + (__u32)a->types_len,
		.str_off = base->types_len + (__u32)a->types_len,
		.str_len = base->strs_len + (__u32)a->strs_len,
	};
	int mfd = memfd_create("luabpf-core-btf", MFD_CLOEXEC);
	if (mfd < 0)
		return lbpf_err__set(err, errno, "cannot make the BTF for tracepoint records: %s", lbpf_strerror(errno));
	if (!lbpf_fd__write_all(mfd, &h, sizeof(h)) || !lbpf_fd__write_all(mfd, base->types, base->types_len) ||
	    !lbpf_fd__write_all(mfd, a->types, a->types_len) || !lbpf_fd__write_all(mfd, base->strs, base->strs_len) ||
	    !lbpf_fd__write_all(mfd, a->strs, a->strs_len)) {
		int e = errno ? errno : EIO;
		close(mfd);
		return lbpf_err__set(err, e, "cannot write the BTF for tracepoint records: %s", lbpf_strerror(e));
	}
	*fd = mfd;
	return 0;
}

bool lbpf_core_btf__is_args_tag(const struct btf *btf, const struct btf_type *t)
{
	return btf_is_decl_tag(t) && btf_decl_tag(t)->component_idx == -1 &&
	       !strcmp(btf__name_by_offset(btf, t->name_off), LBPF_TRACEPOINT_TAG);
}

static bool has_tags(const struct btf *obj_btf)
{
	__u32 n = obj_btf ? btf__type_cnt(obj_btf) : 0;

	for (__u32 id = 1; id < n; id++)
		if (lbpf_core_btf__is_args_tag(obj_btf, btf__type_by_id(obj_btf, id)))
			return true;
	return false;
}

int lbpf_core_btf__open(const struct btf *obj_btf, const char *base_path, int *fd, struct lbpf_err *err)
{
	char *data = NULL;
	size_t size = 0;
	struct raw_btf base = {0};
	struct appender a = {0};

	*fd = -1;
	if (!has_tags(obj_btf))
		return 0;
	int ret = lbpf_btf__read(base_path, &data, &size, err);
	if (!ret)
		ret = split_raw(data, size, base_path ? base_path : "/sys/kernel/btf/vmlinux", &base, err);
	if (!ret) {
		a.next_id = base.count + 1;
		a.str_base = base.strs_len;
		ret = add_tagged(&a, obj_btf, err);
	}
	if (!ret)
		ret = write_combined(&base, &a, fd, err);
	free(a.types);
	free(a.strs);
	free(data);
	return ret;
}
