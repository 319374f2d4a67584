/* BTF to layouts: compiles a BTF type into a small self-contained tree
 * (kinds, sizes, field offsets, bitfields) that the Lua codec walks to turn
 * map bytes into values and back, with no BTF lookups on the hot path. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

/* Layout memory comes from one growing list of blocks, freed together. */
struct block {
	struct block *next;
	size_t used, size;
	max_align_t data[];
};

struct lbpf_layout {
	struct block *blocks;
	const struct lbpf_type *root;
};

/* Nesting deeper than this is refused rather than followed. */
#define MAX_DEPTH 32

static void *arena_alloc(struct lbpf_layout *l, size_t n)
{
	n = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	struct block *b = l->blocks;
	if (!b || b->used + n > b->size) {
		size_t size = n > 4096 ? n : 4096;
		b = malloc(sizeof(*b) + size);
		if (!b)
			return NULL;
		b->next = l->blocks;
		b->used = 0;
		b->size = size;
		l->blocks = b;
	}
	void *p = (char *)b->data + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

static const char *arena_strdup(struct lbpf_layout *l, const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = arena_alloc(l, n);
	if (p)
		memcpy(p, s, n);
	return p;
}

static const struct btf_type *skip_mods(const struct btf *btf, __u32 *id)
{
	const struct btf_type *t = btf__type_by_id(btf, *id);
	/* Damaged BTF may loop; a chain this long is taken as missing. */
	for (int hops = 0; t && (btf_is_mod(t) || btf_is_typedef(t) || btf_kind(t) == BTF_KIND_TYPE_TAG); hops++) {
		if (hops == MAX_DEPTH)
			return NULL;
		*id = t->type;
		t = btf__type_by_id(btf, *id);
	}
	return t;
}

/* "struct event", "u32", "char[16]": the name messages use. */
static void type_name(const struct btf *btf, __u32 id, char *buf, size_t size, int depth)
{
	const struct btf_type *t = depth < MAX_DEPTH ? btf__type_by_id(btf, id) : NULL;
	const char *name = t ? btf__name_by_offset(btf, t->name_off) : NULL;

	if (!t) {
		snprintf(buf, size, "void");
	} else if (name && *name) {
		const char *tag = btf_is_struct(t) ? "struct " : btf_is_union(t) ? "union " :
				  btf_is_any_enum(t) ? "enum " : "";
		snprintf(buf, size, "%s%s", tag, name);
	} else if (btf_is_array(t)) {
		char elem[96];
		type_name(btf, btf_array(t)->type, elem, sizeof(elem), depth + 1);
		snprintf(buf, size, "%s[%u]", elem, btf_array(t)->nelems);
	} else if (btf_is_ptr(t)) {
		snprintf(buf, size, "pointer");
	} else if (btf_is_mod(t)) {
		type_name(btf, t->type, buf, size, depth + 1);
	} else {
		snprintf(buf, size, btf_is_struct(t) ? "struct (anonymous)" : btf_is_union(t) ? "union (anonymous)" : "?");
	}
}

static bool is_char(const struct btf *btf, __u32 id)
{
	const struct btf_type *t = skip_mods(btf, &id);
	if (!t || !btf_is_int(t) || t->size != 1)
		return false;
	const char *name = btf__name_by_offset(btf, t->name_off);
	return (btf_int_encoding(t) & BTF_INT_CHAR) || (name && strcmp(name, "char") == 0);
}

static struct lbpf_type *compile(struct lbpf_layout *l, const struct btf *btf, __u32 id, int depth);

/* Counts a struct's fields, anonymous members' fields included (C lets them be named directly). */
static int count_fields(const struct btf *btf, const struct btf_type *t, int depth)
{
	const struct btf_member *m = btf_members(t);
	int n = 0;

	if (depth > MAX_DEPTH)
		return -1;
	for (int i = 0; i < btf_vlen(t); i++, m++) {
		__u32 mid = m->type;
		const struct btf_type *mt = skip_mods(btf, &mid);
		const char *name = btf__name_by_offset(btf, m->name_off);
		if ((!name || !*name) && mt && btf_is_composite(mt)) {
			int inner = count_fields(btf, mt, depth + 1);
			if (inner < 0)
				return -1;
			n += inner;
		} else if (name && *name) {
			n++;
		}
	}
	return n;
}

/* Fields are placed relative to the outermost struct, whose end_bits none
 * may pass: the codec reads and writes them without further checks. */
static int fill_fields(struct lbpf_layout *l, const struct btf *btf, const struct btf_type *t, __u64 base_bits,
		       __u64 end_bits, struct lbpf_field *fields, int n, int depth)
{
	const struct btf_member *m = btf_members(t);
	const int first = n;

	for (int i = 0; i < btf_vlen(t); i++, m++) {
		__u32 mid = m->type;
		const struct btf_type *mt = skip_mods(btf, &mid);
		const char *name = btf__name_by_offset(btf, m->name_off);
		__u64 bits = base_bits + btf_member_bit_offset(t, i);
		if ((!name || !*name) && mt && btf_is_composite(mt)) {
			n = fill_fields(l, btf, mt, bits, end_bits, fields, n, depth + 1);
			if (n < 0)
				return -1;
			continue;
		}
		if (!name || !*name)
			continue;
		struct lbpf_field *f = &fields[n++];
		f->name = arena_strdup(l, name);
		f->bit_offset = bits;
		f->bit_size = btf_member_bitfield_size(t, i);
		f->type = compile(l, btf, m->type, depth + 1);
		if (!f->name || !f->type || f->bit_size > 64 || (!f->bit_size && bits % 8) ||
		    bits + (f->bit_size ? f->bit_size : (__u64)f->type->size * 8) > end_bits)
			return -1;
		/* C forbids two members of one name, anonymous members' included. */
		for (int j = 0; j < n - 1; j++)
			if (strcmp(fields[j].name, f->name) == 0)
				return -1;
		/* Nor bitfields of a struct that share bits: writing one would change
		 * the other, and a value read and written back would not be the same. */
		for (int j = first; f->bit_size && btf_is_struct(t) && j < n - 1; j++)
			if (fields[j].bit_size && f->bit_offset < fields[j].bit_offset + fields[j].bit_size &&
			    fields[j].bit_offset < f->bit_offset + f->bit_size)
				return -1;
	}
	return n;
}

static struct lbpf_type *compile(struct lbpf_layout *l, const struct btf *btf, __u32 id, int depth)
{
	char name[128];
	__u32 rid = id;
	const struct btf_type *t = skip_mods(btf, &rid);
	struct lbpf_type *out = arena_alloc(l, sizeof(*out));

	if (!out || depth > MAX_DEPTH)
		return NULL;
	type_name(btf, id, name, sizeof(name), 0);
	out->name = arena_strdup(l, name);
	out->kind = LBPF_T_BYTES;
	if (!t) {
		out->size = 0;
		return out->name ? out : NULL;
	}
	__s64 size = btf__resolve_size(btf, rid);
	out->size = size > 0 ? (uint32_t)size : 0;

	switch (btf_kind(t)) {
	case BTF_KIND_INT: {
		__u8 enc = btf_int_encoding(t);
		if (t->size <= 8 && (t->size & (t->size - 1)) == 0)
			out->kind = (enc & BTF_INT_BOOL) ? LBPF_T_BOOL : (enc & BTF_INT_SIGNED) ? LBPF_T_INT : LBPF_T_UINT;
		break;
	}
	case BTF_KIND_ENUM:
	case BTF_KIND_ENUM64:
		if (t->size <= 8 && (t->size & (t->size - 1)) == 0)
			out->kind = btf_kflag(t) ? LBPF_T_INT : LBPF_T_UINT;
		break;
	case BTF_KIND_PTR:
		out->kind = LBPF_T_UINT;
		break;
	case BTF_KIND_FLOAT:
		if (t->size == 4 || t->size == 8)
			out->kind = LBPF_T_FLOAT;
		break;
	case BTF_KIND_ARRAY: {
		const struct btf_array *a = btf_array(t);
		if (is_char(btf, a->type)) {
			out->kind = LBPF_T_CHARS;
			break;
		}
		const struct lbpf_type *elem = compile(l, btf, a->type, depth + 1);
		if (!elem || (__u64)a->nelems * elem->size != out->size)
			return NULL;
		/* Elements of no size would decode to tables of tables of nothing. */
		if (!elem->size)
			break;
		out->kind = LBPF_T_ARRAY;
		out->count = a->nelems;
		out->elem = elem;
		break;
	}
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION: {
		int n = count_fields(btf, t, depth);
		if (n < 0)
			return NULL;
		struct lbpf_field *fields = arena_alloc(l, (n ? n : 1) * sizeof(*fields));
		if (!fields || fill_fields(l, btf, t, 0, (__u64)out->size * 8, fields, 0, depth) != n)
			return NULL;
		out->kind = btf_is_struct(t) ? LBPF_T_STRUCT : LBPF_T_UNION;
		out->fields = fields;
		out->nfields = n;
		break;
	}
	default:
		break; /* raw bytes: functions, forward declarations, __int128 */
	}
	return out->name ? out : NULL;
}

struct lbpf_layout *lbpf_layout__new(const struct btf *btf, uint32_t type_id, struct lbpf_err *err)
{
	struct lbpf_layout *l = calloc(1, sizeof(*l));

	if (l && btf && type_id)
		l->root = compile(l, btf, type_id, 0);
	if (!l || !l->root) {
		lbpf_layout__free(l);
		lbpf_err__set(err, ENOMEM, "cannot describe BTF type %u (out of memory, nested too deeply, or damaged)",
			      type_id);
		return NULL;
	}
	return l;
}

/* A layout of raw bytes, for maps without BTF. */
struct lbpf_layout *lbpf_layout__bytes(uint32_t size)
{
	struct lbpf_layout *l = calloc(1, sizeof(*l));
	struct lbpf_type *t = l ? arena_alloc(l, sizeof(*t)) : NULL;

	if (t) {
		t->kind = LBPF_T_BYTES;
		t->size = size;
		t->name = arena_strdup(l, "bytes");
	}
	if (!t || !t->name) {
		lbpf_layout__free(l);
		return NULL;
	}
	l->root = t;
	return l;
}

const struct lbpf_type *lbpf_layout__root(const struct lbpf_layout *l)
{
	return l->root;
}

void lbpf_layout__free(struct lbpf_layout *l)
{
	if (!l)
		return;
	for (struct block *b = l->blocks, *next; b; b = next) {
		next = b->next;
		free(b);
	}
	free(l);
}
