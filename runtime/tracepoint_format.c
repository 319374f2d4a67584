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

/* Whether a scalar's declared type is signed. tracefs says signed:0 for
 * syscall arguments declared int or pid_t (stored in 8 unsigned bytes); as in
 * BCC and bpftrace, the declared type decides, so `args->dfd < 0` works. */
static bool declared_signed(const char *type, bool tracefs_signed)
{
	static const char *const signed_words[] = {
		"signed", "int", "long", "short", "char", "pid_t", "ssize_t", "loff_t", "off_t", "time_t",
		"time64_t", "ktime_t", "clockid_t", "timer_t", "key_serial_t", "mqd_t", "s8", "s16", "s32",
		"s64", "__s8", "__s16", "__s32", "__s64",
	};
	if (has_word(type, "unsigned") || has_word(type, "bool") || has_word(type, "_Bool"))
		return false;
	for (size_t i = 0; i < sizeof(signed_words) / sizeof(signed_words[0]); i++)
		if (has_word(type, signed_words[i]))
			return true;
	return tracefs_signed;
}

/* The size of a scalar's declared type, or 0 when the name is not known. */
static unsigned declared_size(const char *type)
{
	static const struct {
		const char *word;
		unsigned size;
	} sizes[] = {
		{"long", 8}, {"short", 2}, {"char", 1}, {"bool", 1}, {"_Bool", 1}, {"int", 4},
		{"pid_t", 4}, {"uid_t", 4}, {"gid_t", 4}, {"key_serial_t", 4}, {"clockid_t", 4}, {"mqd_t", 4},
		{"timer_t", 4}, {"umode_t", 2}, {"size_t", 8}, {"ssize_t", 8}, {"loff_t", 8}, {"off_t", 8},
		{"time_t", 8}, {"u8", 1}, {"s8", 1}, {"__u8", 1}, {"__s8", 1}, {"u16", 2}, {"s16", 2},
		{"__u16", 2}, {"__s16", 2}, {"u32", 4}, {"s32", 4}, {"__u32", 4}, {"__s32", 4}, {"u64", 8},
		{"s64", 8}, {"__u64", 8}, {"__s64", 8},
	};
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++)
		if (has_word(type, sizes[i].word))
			return sizes[i].size;
	return 0;
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
		*align = size;
		snprintf(buf, bufsize, "%s%s", type, name);
		return size == sizeof(void *);
	}
	/* A system call's `int dfd` sits in an 8-byte slot whose upper half the
	 * caller never set: read the declared int, as BCC and bpftrace do. */
	unsigned dsize = declared_size(type);
	if (!dsize || dsize > size)
		dsize = size;
	const char *it = int_type(dsize, declared_signed(type, is_signed));
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

char *lbpf_tracepoint__struct(const char *category, const char *event, struct lbpf_err *err)
{
	char path[PATH_MAX], line[1024];

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
				      strerror(e));
		return NULL;
	}
	char *text = NULL;
	size_t text_size = 0;
	FILE *out = open_memstream(&text, &text_size);
	if (!out) {
		fclose(f);
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
	fclose(f);
	fputs(" };", out);
	if (fclose(out) != 0 || !ok || !fields) {
		free(text);
		lbpf_err__set(err, EPROTO, "cannot lay out the record of %s:%s from %s", category, event, path);
		return NULL;
	}
	return text;
}
