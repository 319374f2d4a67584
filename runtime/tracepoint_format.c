/* A tracepoint's record laid out from its tracefs format file (offsets and
 * sizes as the kernel states them): fields for TRACEPOINT_PROBE's args, as a
 * list (for the BTF CO-RE relocates against) and as one line of C. */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

static bool is_name(const char *s)
{
	if (!*s || isdigit((unsigned char)*s))
		return false;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

static bool int_size(unsigned size)
{
	return size == 1 || size == 2 || size == 4 || size == 8;
}

static bool has_word(const char *type, const char *word)
{
	size_t n = strlen(word);
	for (const char *p = type; (p = strstr(p, word)); p += n) {
		bool starts = p == type || !(isalnum((unsigned char)p[-1]) || p[-1] == '_');
		bool ends = !(isalnum((unsigned char)p[n]) || p[n] == '_');
		if (starts && ends)
			return true;
	}
	return false;
}
/* What a scalar's declared type says of its integer: its size (0 when the
 * name gives none) and its sign. tracefs says signed:0 for syscall arguments
 * declared int or pid_t (stored in 8 unsigned bytes); as in BCC and bpftrace,
 * the declared type decides, so `args->dfd < 0` works. The first word that
 * names a size wins ("long" before "int"); "unsigned" and bool are never
 * signed; a type no word calls signed keeps the tracefs flag. */
static unsigned declared_int(const char *type, bool tracefs_signed, bool *is_signed)
{
	static const struct {
		const char *word;
		unsigned size;
		bool is_signed;
	} words[] = {
		{"long", 8, true}, {"short", 2, true}, {"char", 1, true}, {"bool", 1, false},
		{"_Bool", 1, false}, {"int", 4, true}, {"pid_t", 4, true}, {"uid_t", 4, false},
		{"gid_t", 4, false}, {"key_serial_t", 4, true}, {"clockid_t", 4, true}, {"mqd_t", 4, true},
		{"timer_t", 4, true}, {"umode_t", 2, false}, {"size_t", 8, false}, {"ssize_t", 8, true},
		{"loff_t", 8, true}, {"off_t", 8, true}, {"time_t", 8, true}, {"u8", 1, false},
		{"s8", 1, true}, {"__u8", 1, false}, {"__s8", 1, true}, {"u16", 2, false}, {"s16", 2, true},
		{"__u16", 2, false}, {"__s16", 2, true}, {"u32", 4, false}, {"s32", 4, true},
		{"__u32", 4, false}, {"__s32", 4, true}, {"u64", 8, false}, {"s64", 8, true},
		{"__u64", 8, false}, {"__s64", 8, true}, {"signed", 0, true}, {"time64_t", 0, true},
		{"ktime_t", 0, true},
	};
	unsigned size = 0;
	bool named_signed = false;
	for (size_t i = 0; i < sizeof(words) / sizeof(words[0]); i++) {
		if (!has_word(type, words[i].word))
			continue;
		if (!size)
			size = words[i].size;
		named_signed |= words[i].is_signed;
	}
	if (has_word(type, "unsigned") || has_word(type, "bool") || has_word(type, "_Bool"))
		*is_signed = false;
	else
		*is_signed = named_signed || tracefs_signed;
	return size;
}

/* One "field:TYPE NAME[N]" declaration (decl) of size bytes at offset as a
 * member of args in *fld. A scalar keeps the size its declared type names
 * (a system call's `int dfd` sits in an 8-byte slot whose upper half the
 * caller never set: read the declared int, as BCC and bpftrace do). */
static bool parse_field(char *decl, unsigned offset, unsigned size, bool is_signed, struct lbpf_tp_field *fld)
{
	char *end = decl + strlen(decl);
	while (end > decl && isspace((unsigned char)end[-1]))
		*--end = '\0';
	/* "__data_loc char[] name": the brackets belong to the type, not the name. */
	bool loc = strstr(decl, "__data_loc") || strstr(decl, "__rel_loc");
	unsigned count = 0;
	char *bracket = loc ? NULL : strchr(decl, '[');
	if (bracket) {
		count = (unsigned)strtoul(bracket + 1, NULL, 10);
		*bracket = '\0';
		end = bracket;
	}
	char *name = end;
	while (name > decl && (isalnum((unsigned char)name[-1]) || name[-1] == '_'))
		name--;
	if (!is_name(name) || strlen(name) + sizeof("data_loc_") > sizeof(fld->name))
		return false;
	char type[256];
	snprintf(type, sizeof(type), "%.*s", (int)(name - decl), decl);
	*fld = (struct lbpf_tp_field){.offset = offset, .size = size, .is_signed = is_signed};

	if (loc) {
		/* BCC's spelling: the offset/length word of a dynamic array. */
		snprintf(fld->name, sizeof(fld->name), "%s_%s", strstr(type, "__rel_loc") ? "rel_loc" : "data_loc",
			 name);
		fld->is_signed = true;
		return size == 4;
	}
	snprintf(fld->name, sizeof(fld->name), "%s", name);
	if (bracket) {
		unsigned elem = count ? size / count : 0;
		if (strstr(type, "char") || !int_size(elem) || elem * count != size) {
			fld->count = size;
			fld->is_char = true;
		} else {
			fld->count = count;
		}
		return true;
	}
	if (strchr(type, '*')) {
		/* The type is copied into the compiled source: only words and stars. */
		if (strlen(type) >= sizeof(fld->ptr_type) ||
		    type[strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ *")])
			return false;
		snprintf(fld->ptr_type, sizeof(fld->ptr_type), "%s", type);
		return size == sizeof(void *);
	}
	bool dsigned;
	unsigned dsize = declared_int(type, is_signed, &dsigned);
	if (!dsize || dsize > size || !int_size(dsize))
		dsize = size;
	if (!int_size(dsize)) {
		fld->count = size;
		fld->is_char = true;
		return true;
	}
	fld->size = dsize;
	fld->is_signed = dsigned;
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
	fld->offset += size - dsize;
#endif
	return true;
}

void lbpf_tp_record__free(struct lbpf_tp_record *r)
{
	free(r->fields);
	*r = (struct lbpf_tp_record){0};
}

int lbpf_tracepoint__parse(FILE *f, const char *source, struct lbpf_tp_record *out, struct lbpf_err *err)
{
	char line[1024];
	size_t cap = 0;
	unsigned pos = 0;

	*out = (struct lbpf_tp_record){0};
	while (fgets(line, sizeof(line), f)) {
		unsigned offset, size, is_signed = 0;
		char *field = strstr(line, "field:");
		char *semi = field ? strchr(field, ';') : NULL;
		if (!semi)
			continue;
		*semi = '\0';
		if (sscanf(semi + 1, " offset:%u; size:%u; signed:%u;", &offset, &size, &is_signed) < 2 ||
		    offset < pos || size == 0 || size > 4096 || offset > 65536)
			goto bad;
		if (out->nfields == cap) {
			cap = cap ? cap * 2 : 16;
			void *more = reallocarray(out->fields, cap, sizeof(*out->fields));
			if (!more) {
				lbpf_tp_record__free(out);
				return lbpf_err__set(err, ENOMEM, "out of memory reading %s", source);
			}
			out->fields = more;
		}
		if (!parse_field(field + strlen("field:"), offset, size, is_signed != 0, &out->fields[out->nfields]))
			goto bad;
		out->nfields++;
		pos = out->size = offset + size;
	}
	if (out->nfields)
		return 0;
bad:
	lbpf_tp_record__free(out);
	return lbpf_err__set(err, EPROTO, "cannot lay out the tracepoint record in %s", source);
}

/* A format from a directory of another kernel's formats: it decides the
 * offsets compiled in, so only one no less privileged user could write. */
static FILE *open_foreign(const char *path, char **data, struct lbpf_err *err)
{
	size_t size;

	if (lbpf_file__read_trusted(path, 1 << 20, data, &size, err))
		return NULL;
	FILE *f = fmemopen(*data, size, "r");
	if (!f)
		lbpf_err__set(err, errno, "cannot read %s: %s", path, lbpf_strerror(errno));
	return f;
}

int lbpf_tracepoint__record(const char *formats_dir, const char *category, const char *event,
			    struct lbpf_tp_record *out, struct lbpf_err *err)
{
	char path[PATH_MAX];
	char *data = NULL;
	FILE *f;

	if (!is_name(category) || !is_name(event))
		return lbpf_err__set(err, EINVAL, "'%s:%s' is not a tracepoint name", category, event);
	if (formats_dir) {
		snprintf(path, sizeof(path), "%s/%s/%s/format", formats_dir, category, event);
		if (!(f = open_foreign(path, &data, err))) {
			free(data);
			return err->code;
		}
	} else {
		if (lbpf_tracefs__ensure(err))
			return err->code;
		snprintf(path, sizeof(path), "%s/events/%s/%s/format", lbpf_tracefs__root(), category, event);
		if (!(f = fopen(path, "r"))) {
			int e = errno;
			if (e == ENOENT)
				return lbpf_err__set(err, e,
						     "this kernel has no tracepoint %s:%s (no %s); "
						     "bpf.tracepoints(\"%s:*\") lists the ones it has",
						     category, event, path, category);
			return lbpf_err__set(err, e, "cannot read the format of %s:%s (%s): %s", category, event,
					     path, lbpf_strerror(e));
		}
	}
	int ret = lbpf_tracepoint__parse(f, path, out, err);
	fclose(f);
	free(data);
	if (ret)
		lbpf_err__set(err, ret, "cannot lay out the record of %s:%s from %s", category, event, path);
	return ret;
}

static unsigned field_align(const struct lbpf_tp_field *fld)
{
	if (fld->ptr_type[0])
		return sizeof(void *);
	if (fld->is_char)
		return 1;
	return fld->count ? fld->size / fld->count : fld->size;
}

static const char *int_type(unsigned size, bool is_signed)
{
	static const char *const names[2][9] = {
		{[1] = "__u8", [2] = "__u16", [4] = "__u32", [8] = "__u64"},
		{[1] = "__s8", [2] = "__s16", [4] = "__s32", [8] = "__s64"},
	};
	return names[is_signed][size];
}

char *lbpf_tracepoint__c(const char *category, const char *event, const struct lbpf_tp_record *r)
{
	char *text = NULL;
	size_t text_size = 0;
	unsigned pos = 0, pads = 0;
	FILE *out = open_memstream(&text, &text_size);

	if (!out)
		return NULL;
	fprintf(out, "struct tracepoint__%s__%s {", category, event);
	for (size_t i = 0; i < r->nfields; i++) {
		const struct lbpf_tp_field *fld = &r->fields[i];
		if (fld->offset > pos)
			fprintf(out, " char __pad_%u[%u];", pads++, fld->offset - pos);
		if (fld->ptr_type[0])
			fprintf(out, " %s%s", fld->ptr_type, fld->name);
		else if (fld->is_char)
			fprintf(out, " char %s[%u]", fld->name, fld->count);
		else if (fld->count)
			fprintf(out, " %s %s[%u]", int_type(fld->size / fld->count, fld->is_signed), fld->name,
				fld->count);
		else
			fprintf(out, " %s %s", int_type(fld->size, fld->is_signed), fld->name);
		/* Misaligned in the record: packed, or clang would pad before it. */
		unsigned align = field_align(fld);
		fprintf(out, "%s;", align > 1 && fld->offset % align ? " __attribute__((packed))" : "");
		pos = fld->offset + fld->size;
	}
	if (r->size > pos)
		fprintf(out, " char __pad_%u[%u];", pads, r->size - pos);
	/* The prelude defines it empty; portable objects make it CO-RE relocatable. */
	fputs(" } " LBPF_TRACEPOINT_ATTRS ";", out);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}
