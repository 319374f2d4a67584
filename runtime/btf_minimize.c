/* Minimized kernel BTF for bundles: of a kernel's BTF, only the types (and
 * of structs only the members) that objects' CO-RE relocations reach, found
 * as libbpf matches them, by name, so the objects load on that kernel. */
#include <bpf/btf.h>
#include <errno.h>
#include <linux/bpf.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

struct minimizer {
	const struct btf *targ;
	__u32 ntypes;
	bool *kept;	/* by target type id */
	bool **members; /* by id: a struct's or union's kept members, or NULL */
	bool failed;
};

static bool *member_marks(struct minimizer *m, __u32 id, const struct btf_type *t)
{
	if (!m->members[id] && !(m->members[id] = calloc(btf_vlen(t) + 1, sizeof(bool))))
		m->failed = true;
	return m->members[id];
}

/* Keeps type id and the types it is written with. A pointer keeps only
 * itself (it points to void unless its target is kept for its own sake); a
 * struct or union keeps its members only when whole. */
static void keep(struct minimizer *m, __u32 id, bool whole)
{
	while (id && id < m->ntypes && !m->failed) {
		const struct btf_type *t = btf__type_by_id(m->targ, id);
		/* Functions, variables and sections are nothing a relocation reads. */
		if (btf_is_func(t) || btf_is_var(t) || btf_is_datasec(t) || btf_is_decl_tag(t))
			return;
		m->kept[id] = true;
		switch (btf_kind(t)) {
		case BTF_KIND_TYPEDEF:
		case BTF_KIND_CONST:
		case BTF_KIND_VOLATILE:
		case BTF_KIND_RESTRICT:
		case BTF_KIND_TYPE_TAG:
			id = t->type;
			continue;
		case BTF_KIND_ARRAY:
			keep(m, btf_array(t)->index_type, false);
			id = btf_array(t)->type;
			continue;
		case BTF_KIND_FUNC_PROTO:
			for (__u16 i = 0; i < btf_vlen(t); i++)
				keep(m, btf_params(t)[i].type, false);
			id = t->type;
			continue;
		case BTF_KIND_STRUCT:
		case BTF_KIND_UNION:
			if (whole) {
				bool *marks = member_marks(m, id, t);
				for (__u16 i = 0; marks && i < btf_vlen(t); i++)
					if (!marks[i]) {
						marks[i] = true;
						keep(m, btf_members(t)[i].type, true);
					}
			}
			return;
		default:
			return;
		}
	}
}

static const struct btf_type *skip_mods(const struct btf *btf, __u32 id, __u32 *out)
{
	const struct btf_type *t = btf__type_by_id(btf, id);
	while (t && (btf_is_mod(t) || btf_is_typedef(t))) {
		id = t->type;
		t = btf__type_by_id(btf, id);
	}
	*out = id;
	return t;
}

/* The member of composite id named name, looked for inside anonymous
 * members too, as libbpf matches a field: kept, with the path to it; its
 * type in *type. */
static bool keep_member(struct minimizer *m, __u32 id, const char *name, __u32 *type)
{
	const struct btf_type *t = btf__type_by_id(m->targ, id);

	for (__u16 i = 0; i < btf_vlen(t); i++) {
		const struct btf_member *mb = &btf_members(t)[i];
		const char *mname = btf__name_by_offset(m->targ, mb->name_off);
		__u32 inner;
		const struct btf_type *mt = skip_mods(m->targ, mb->type, &inner);
		bool found = mname && *mname ? !strcmp(mname, name)
					     : mt && btf_is_composite(mt) && keep_member(m, inner, name, type);
		if (!found)
			continue;
		bool *marks = member_marks(m, id, t);
		if (marks)
			marks[i] = true;
		keep(m, mb->type, false);
		if (mname && *mname)
			*type = mb->type;
		return true;
	}
	return false;
}

/* A field relocation: the access string ("0:2:1") walks the local type from
 * the root; each named member is found by name in the target's matching
 * type, as libbpf does, and kept. */
static void keep_field(struct minimizer *m, const struct btf *local, __u32 local_id, const char *access,
		       __u32 targ_id)
{
	__u32 lid, tid;
	const struct btf_type *lt = skip_mods(local, local_id, &lid);
	keep(m, targ_id, false);
	const struct btf_type *tt = skip_mods(m->targ, targ_id, &tid);
	char *end;

	strtoul(access, &end, 10); /* the root's own index, as through an array */
	while (*end == ':' && lt && tt) {
		unsigned long idx = strtoul(end + 1, &end, 10);
		if (btf_is_composite(lt)) {
			if (idx >= btf_vlen(lt))
				return;
			const struct btf_member *lm = &btf_members(lt)[idx];
			const char *name = btf__name_by_offset(local, lm->name_off);
			lt = skip_mods(local, lm->type, &lid);
			/* An anonymous local member: the next named one is looked for
			 * from the same target type, through its anonymous members. */
			if (!name || !*name)
				continue;
			__u32 mtype;
			if (!btf_is_composite(tt) || !keep_member(m, tid, name, &mtype))
				return;
			tt = skip_mods(m->targ, mtype, &tid);
		} else if (btf_is_array(lt)) {
			if (!btf_is_array(tt))
				return;
			lt = skip_mods(local, btf_array(lt)->type, &lid);
			tt = skip_mods(m->targ, btf_array(tt)->type, &tid);
		} else {
			return;
		}
	}
}

/* The name up to a "___flavor" suffix (X___Y, X and Y not underscores),
 * which libbpf ignores when matching. */
static size_t essential_len(const char *name)
{
	size_t n = strlen(name);
	for (size_t i = n >= 5 ? n - 5 + 1 : 0; i-- > 0;)
		if (name[i] != '_' && !strncmp(name + i + 1, "___", 3) && name[i + 4] != '_')
			return i + 1;
	return n;
}

static bool same_kind(const struct btf_type *a, const struct btf_type *b)
{
	bool enum_a = btf_is_enum(a) || btf_is_enum64(a), enum_b = btf_is_enum(b) || btf_is_enum64(b);
	return btf_kind(a) == btf_kind(b) || (enum_a && enum_b);
}

static void keep_relocation(struct minimizer *m, const struct btf *local, const struct bpf_core_relo *r)
{
	const struct btf_type *lt = btf__type_by_id(local, r->type_id);
	const char *lname = lt ? btf__name_by_offset(local, lt->name_off) : NULL;
	const char *access = btf__name_by_offset(local, r->access_str_off);

	if (!lname || !*lname || !access || r->kind == BPF_CORE_TYPE_ID_LOCAL)
		return;
	size_t len = essential_len(lname);
	for (__u32 id = 1; id < m->ntypes && !m->failed; id++) {
		const struct btf_type *t = btf__type_by_id(m->targ, id);
		const char *name = btf__name_by_offset(m->targ, t->name_off);
		if (!same_kind(t, lt) || !name || essential_len(name) != len || strncmp(name, lname, len) != 0)
			continue;
		switch (r->kind) {
		case BPF_CORE_FIELD_BYTE_OFFSET:
		case BPF_CORE_FIELD_BYTE_SIZE:
		case BPF_CORE_FIELD_EXISTS:
		case BPF_CORE_FIELD_SIGNED:
		case BPF_CORE_FIELD_LSHIFT_U64:
		case BPF_CORE_FIELD_RSHIFT_U64:
			keep_field(m, local, r->type_id, access, id);
			break;
		default: /* the type's existence, id, size or shape; an enum's values */
			keep(m, id, true);
			break;
		}
	}
}

/* Whether local type id carries the tag of TRACEPOINT_PROBE's args, which
 * luabpf describes from tracefs at load, not from the kernel's BTF. */
static bool is_tracepoint_args(const struct btf *local, __u32 id)
{
	for (__u32 i = 1; i < btf__type_cnt(local); i++) {
		const struct btf_type *t = btf__type_by_id(local, i);
		if (t->type == id && lbpf_core_btf__is_args_tag(local, t))
			return true;
	}
	return false;
}

/* .BTF.ext's header, as far as the CO-RE relocations. */
struct ext_header {
	__u16 magic;
	__u8 version, flags;
	__u32 hdr_len, func_info_off, func_info_len, line_info_off, line_info_len, core_relo_off, core_relo_len;
};

static int keep_object(struct minimizer *m, const char *elf, size_t size, size_t index, struct lbpf_err *err)
{
	const char *btf_data, *ext;
	size_t btf_size, ext_size;
	struct ext_header h = {0};

	if (lbpf_elf__section(elf, size, ".BTF", &btf_data, &btf_size) != 0)
		return lbpf_err__set(err, EINVAL, "object %zu has no BTF: compile it with luabpf", index + 1);
	if (lbpf_elf__section(elf, size, ".BTF.ext", &ext, &ext_size) != 0)
		return 0; /* no relocations */
	memcpy(&h, ext, ext_size < sizeof(h) ? ext_size : sizeof(h));
	if (h.magic != BTF_MAGIC || h.hdr_len < sizeof(h) || h.hdr_len > ext_size)
		return 0; /* an older header, without CO-RE relocations */
	const char *core = ext + h.hdr_len + h.core_relo_off, *limit = ext + ext_size;
	if (h.core_relo_off > ext_size - h.hdr_len || h.core_relo_len > (size_t)(limit - core))
		return lbpf_err__set(err, EINVAL, "object %zu: its .BTF.ext is damaged", index + 1);
	if (h.core_relo_len < sizeof(__u32))
		return 0;
	limit = core + h.core_relo_len;
	struct btf *local = btf__new(btf_data, btf_size);
	if (!local)
		return lbpf_err__set(err, errno, "object %zu: its BTF is damaged", index + 1);
	__u32 rec_size;
	memcpy(&rec_size, core, sizeof(rec_size));
	const char *p = core + sizeof(rec_size);
	int ret = rec_size < sizeof(struct bpf_core_relo) ? -EINVAL : 0;
	while (!ret && p < limit) {
		__u32 sec[2]; /* name, number of records */
		if ((size_t)(limit - p) < sizeof(sec)) {
			ret = -EINVAL;
			break;
		}
		memcpy(sec, p, sizeof(sec));
		p += sizeof(sec);
		if (sec[1] > (size_t)(limit - p) / rec_size) {
			ret = -EINVAL;
			break;
		}
		for (__u32 i = 0; i < sec[1] && !m->failed; i++, p += rec_size) {
			struct bpf_core_relo r;
			memcpy(&r, p, sizeof(r));
			if (r.type_id < btf__type_cnt(local) && !is_tracepoint_args(local, r.type_id))
				keep_relocation(m, local, &r);
		}
	}
	btf__free(local);
	if (ret)
		return lbpf_err__set(err, EINVAL, "object %zu: its CO-RE relocations are damaged", index + 1);
	return 0;
}

/* Adds target type id (kept) to out as new id: its references go to the
 * new ids of kept types, and to void where a pointer's target is not kept. */
static int add_kept(const struct minimizer *m, struct btf *out, __u32 id, const __u32 *new_id)
{
	const struct btf_type *t = btf__type_by_id(m->targ, id);
	const char *name = btf__name_by_offset(m->targ, t->name_off);
	__u32 ref = t->type < m->ntypes ? new_id[t->type] : 0;
	int ret = -EINVAL;

	switch (btf_kind(t)) {
	case BTF_KIND_INT:
		return btf__add_int(out, name, t->size, btf_int_encoding(t));
	case BTF_KIND_FLOAT:
		return btf__add_float(out, name, t->size);
	case BTF_KIND_PTR:
		return btf__add_ptr(out, ref);
	case BTF_KIND_TYPEDEF:
		return btf__add_typedef(out, name, ref);
	case BTF_KIND_CONST:
		return btf__add_const(out, ref);
	case BTF_KIND_VOLATILE:
		return btf__add_volatile(out, ref);
	case BTF_KIND_RESTRICT:
		return btf__add_restrict(out, ref);
	case BTF_KIND_TYPE_TAG:
		return btf__add_type_tag(out, name, ref);
	case BTF_KIND_FWD:
		return btf__add_fwd(out, name, btf_kflag(t) ? BTF_FWD_UNION : BTF_FWD_STRUCT);
	case BTF_KIND_ARRAY:
		return btf__add_array(out, new_id[btf_array(t)->index_type], new_id[btf_array(t)->type],
				      btf_array(t)->nelems);
	case BTF_KIND_STRUCT:
	case BTF_KIND_UNION:
		ret = btf_is_struct(t) ? btf__add_struct(out, name, t->size) : btf__add_union(out, name, t->size);
		for (__u16 i = 0; ret > 0 && m->members[id] && i < btf_vlen(t); i++) {
			const struct btf_member *mb = &btf_members(t)[i];
			if (m->members[id][i] && btf__add_field(out, btf__name_by_offset(m->targ, mb->name_off),
								new_id[mb->type], btf_member_bit_offset(t, i),
								btf_member_bitfield_size(t, i)))
				ret = -EINVAL;
		}
		return ret;
	case BTF_KIND_ENUM:
		ret = btf__add_enum(out, name, t->size);
		for (__u16 i = 0; ret > 0 && i < btf_vlen(t); i++) {
			const struct btf_enum *e = &btf_enum(t)[i];
			__s64 v = btf_kflag(t) ? (__s64)e->val : (__s64)(__u32)e->val;
			if (btf__add_enum_value(out, btf__name_by_offset(m->targ, e->name_off), v))
				ret = -EINVAL;
		}
		return ret;
	case BTF_KIND_ENUM64:
		ret = btf__add_enum64(out, name, t->size, btf_kflag(t));
		for (__u16 i = 0; ret > 0 && i < btf_vlen(t); i++) {
			const struct btf_enum64 *e = &btf_enum64(t)[i];
			if (btf__add_enum64_value(out, btf__name_by_offset(m->targ, e->name_off), btf_enum64_value(e)))
				ret = -EINVAL;
		}
		return ret;
	case BTF_KIND_FUNC_PROTO:
		ret = btf__add_func_proto(out, ref);
		for (__u16 i = 0; ret > 0 && i < btf_vlen(t); i++) {
			const struct btf_param *p = &btf_params(t)[i];
			if (btf__add_func_param(out, btf__name_by_offset(m->targ, p->name_off), new_id[p->type]))
				ret = -EINVAL;
		}
		return ret;
	}
	return ret;
}

static int write_kept(const struct minimizer *m, char **out, size_t *out_size, struct lbpf_err *err)
{
	__u32 *new_id = calloc(m->ntypes, sizeof(*new_id));
	struct btf *btf = btf__new_empty();
	int ret = new_id && btf ? 0 : -ENOMEM;

	for (__u32 id = 1, next = 1; !ret && id < m->ntypes; id++)
		if (m->kept[id])
			new_id[id] = next++;
	for (__u32 id = 1; !ret && id < m->ntypes; id++)
		if (m->kept[id] && add_kept(m, btf, id, new_id) != (int)new_id[id])
			ret = lbpf_err__set(err, EINVAL, "cannot write type %u of the kernel BTF", id);
	__u32 size = 0;
	const void *raw = ret ? NULL : btf__raw_data(btf, &size);
	if (!ret && (!raw || !(*out = malloc(size))))
		ret = -ENOMEM;
	if (!ret) {
		memcpy(*out, raw, size);
		*out_size = size;
	}
	btf__free(btf);
	free(new_id);
	if (ret == -ENOMEM)
		lbpf_err__set(err, ENOMEM, "out of memory minimizing BTF");
	return ret;
}

/* A type a script looks up by name (bpf.kernel_enum and the like), whole. */
static void keep_named(struct minimizer *m, const char *name)
{
	static const struct {
		const char *prefix;
		int kind;
	} tagged[] = {{"struct ", BTF_KIND_STRUCT}, {"union ", BTF_KIND_UNION}, {"enum ", BTF_KIND_ENUM}};
	int kind = -1;

	for (size_t i = 0; i < sizeof(tagged) / sizeof(tagged[0]); i++)
		if (!strncmp(name, tagged[i].prefix, strlen(tagged[i].prefix))) {
			kind = tagged[i].kind;
			name += strlen(tagged[i].prefix);
		}
	for (__u32 id = 1; id < m->ntypes; id++) {
		const struct btf_type *t = btf__type_by_id(m->targ, id);
		const char *tname = btf__name_by_offset(m->targ, t->name_off);
		bool kind_ok = kind < 0 || btf_kind(t) == (__u32)kind || (kind == BTF_KIND_ENUM && btf_is_enum64(t));
		if (kind_ok && tname && !strcmp(tname, name))
			keep(m, id, true);
	}
}

int lbpf_btf__minimize(const char *path, const struct lbpf_btf_needs *needs, char **out, size_t *out_size,
		       struct lbpf_err *err)
{
	char *data;
	size_t size;
	struct minimizer m = {0};

	*out = NULL;
	*out_size = 0;
	if (lbpf_btf__read(path, &data, &size, err))
		return err->code;
	struct btf *targ = btf__new(data, size);
	free(data);
	if (!targ)
		return lbpf_err__set(err, errno, "%s is not usable BTF: %s", path, lbpf_strerror(errno));
	m.targ = targ;
	m.ntypes = btf__type_cnt(targ);
	m.kept = calloc(m.ntypes, sizeof(*m.kept));
	m.members = calloc(m.ntypes, sizeof(*m.members));
	int ret = m.kept && m.members ? 0 : lbpf_err__set(err, ENOMEM, "out of memory minimizing BTF");
	for (size_t i = 0; !ret && i < needs->nobjects; i++)
		ret = keep_object(&m, needs->objects[i], needs->sizes[i], i, err);
	for (size_t i = 0; !ret && i < needs->ntypes; i++)
		keep_named(&m, needs->types[i]);
	if (!ret && m.failed)
		ret = lbpf_err__set(err, ENOMEM, "out of memory minimizing BTF");
	if (!ret)
		ret = write_kept(&m, out, out_size, err);
	for (__u32 id = 0; m.members && id < m.ntypes; id++)
		free(m.members[id]);
	free(m.members);
	free(m.kept);
	btf__free(targ);
	return ret;
}
