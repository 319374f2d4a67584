/* A tracepoint's record as a C struct, laid out from its tracefs format file
 * (offsets and sizes as the kernel states them), for TRACEPOINT_PROBE's args. */
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

static const char *int_type(unsigned size, bool is_signed)
{
	switch (size) {
	case 1:
		return is_signed ? "__s8" : "__u8";
	case 2:
		return is_signed ? "__s16" : "__u16";
	case 4:
		return is_signed ? "__s32" : "__u32";
	case 8:
		return is_signed ? "__s64" : "__u64";
	}
	return NULL;
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

/* One "field:TYPE NAME[N]" declaration as a member (without its ';') in
 * buf; its alignment goes to *align. Scalars become integers of the size the
 * kernel states (syscall arguments are declared int but stored as 8 bytes). */
static bool member(char *buf, size_t bufsize, char *decl, unsigned size, bool is_signed, unsigned *align)
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
	if (!is_name(name))
		return false;
	char type[256];
	snprintf(type, sizeof(type), "%.*s", (int)(name - decl), decl);

	if (loc) {
		/* BCC's spelling: the offset/length word of a dynamic array. */
		*align = 4;
		snprintf(buf, bufsize, "int %s_%s", strstr(type, "__rel_loc") ? "rel_loc" : "data_loc", name);
		return size == 4;
	}
	if (bracket) {
		unsigned elem = count ? size / count : 0;
		const char *it = elem && elem * count == size ? int_type(elem, is_signed) : NULL;
		if (strstr(type, "char") || !it) {
			*align = 1;
			snprintf(buf, bufsize, "char %s[%u]", name, size);
		} else {
			*align = elem;
			snprintf(buf, bufsize, "%s %s[%u]", it, name, count);
		}
		return true;
	}
	if (strchr(type, '*')) {
		/* The type is copied into the compiled source: only words and stars. */
		if (type[strspn(type, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_ *")])
			return false;
		*align = size;
		snprintf(buf, bufsize, "%s%s", type, name);
		return size == sizeof(void *);
	}
	/* A system call's `int dfd` sits in an 8-byte slot whose upper half the
	 * caller never set: read the declared int, as BCC and bpftrace do. */
	bool dsigned;
	unsigned dsize = declared_int(type, is_signed, &dsigned);
	if (!dsize || dsize > size)
		dsize = size;
	const char *it = int_type(dsize, dsigned);
	if (it && dsize < size) {
		*align = dsize;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
		snprintf(buf, bufsize, "%s %s; char __pad_after_%s[%u]", it, name, name, size - dsize);
#else
		snprintf(buf, bufsize, "char __pad_before_%s[%u]; %s %s", name, size - dsize, it, name);
#endif
	} else if (it) {
		*align = size;
		snprintf(buf, bufsize, "%s %s", it, name);
	} else {
		*align = 1;
		snprintf(buf, bufsize, "char %s[%u]", name, size);
	}
	return true;
}

char *lbpf_tracepoint__parse(FILE *f, const char *category, const char *event, const char *source,
			     struct lbpf_err *err)
{
	char line[1024];
	char *text = NULL;
	size_t text_size = 0;
	FILE *out = open_memstream(&text, &text_size);
	if (!out) {
		lbpf_err__set(err, ENOMEM, "out of memory");
		return NULL;
	}
	fprintf(out, "struct tracepoint__%s__%s {", category, event);
	unsigned pos = 0, pads = 0, fields = 0;
	bool ok = true;
	while (ok && fgets(line, sizeof(line), f)) {
		unsigned offset, size, is_signed = 0;
		char *field = strstr(line, "field:");
		char *semi = field ? strchr(field, ';') : NULL;
		if (!semi)
			continue;
		*semi = '\0';
		if (sscanf(semi + 1, " offset:%u; size:%u; signed:%u;", &offset, &size, &is_signed) < 2 ||
		    offset < pos || size == 0 || size > 4096) {
			ok = false;
			break;
		}
		if (offset > pos)
			fprintf(out, " char __pad_%u[%u];", pads++, offset - pos);
		char m[320];
		unsigned align = 1;
		if (!(ok = member(m, sizeof(m), field + strlen("field:"), size, is_signed != 0, &align)))
			break;
		/* Misaligned in the record: packed, or clang would pad before it. */
		fprintf(out, " %s%s;", m, align > 1 && offset % align ? " __attribute__((packed))" : "");
		pos = offset + size;
		fields++;
	}
	fputs(" };", out);
	if (fclose(out) != 0 || !ok || !fields) {
		free(text);
		lbpf_err__set(err, EPROTO, "cannot lay out the record of %s:%s from %s", category, event, source);
		return NULL;
	}
	return text;
}

char *lbpf_tracepoint__struct(const char *category, const char *event, struct lbpf_err *err)
{
	char path[PATH_MAX];

	if (!is_name(category) || !is_name(event)) {
		lbpf_err__set(err, EINVAL, "'%s:%s' is not a tracepoint name", category, event);
		return NULL;
	}
	if (lbpf_tracefs__ensure(err))
		return NULL;
	snprintf(path, sizeof(path), "%s/events/%s/%s/format", lbpf_tracefs__root(), category, event);
	FILE *f = fopen(path, "r");
	if (!f) {
		int e = errno;
		if (e == ENOENT)
			lbpf_err__set(err, e,
				      "this kernel has no tracepoint %s:%s (no %s); bpf.tracepoints(\"%s:*\") lists the "
				      "ones it has",
				      category, event, path, category);
		else
			lbpf_err__set(err, e, "cannot read the format of %s:%s (%s): %s", category, event, path,
				      lbpf_strerror(e));
		return NULL;
	}
	char *text = lbpf_tracepoint__parse(f, category, event, path, err);
	fclose(f);
	return text;
}
