/* Kernel symbols from /proc/kallsyms, read once and sorted by address so an
 * address resolves by binary search. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

struct ksym {
	uint64_t addr;
	uint32_t name;	 /* offsets into names */
	uint32_t module; /* 0: the kernel itself ("" at offset 0) */
};

struct lbpf_ksyms {
	struct ksym *syms;
	size_t n;
	char *names;
	size_t names_len;
};

static int cmp_addr(const void *a, const void *b)
{
	const struct ksym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

/* Appends s to the name pool; returns its offset or -1. */
static int64_t intern(struct lbpf_ksyms *k, size_t *cap, const char *s, size_t len)
{
	if (k->names_len + len + 1 > *cap) {
		size_t ncap = *cap ? *cap * 2 : 1 << 20;
		while (ncap < k->names_len + len + 1)
			ncap *= 2;
		char *grown = realloc(k->names, ncap);
		if (!grown)
			return -1;
		k->names = grown;
		*cap = ncap;
	}
	memcpy(k->names + k->names_len, s, len);
	k->names[k->names_len + len] = '\0';
	int64_t off = (int64_t)k->names_len;
	k->names_len += len + 1;
	return off;
}

struct lbpf_ksyms *lbpf_ksyms__load(struct lbpf_err *err)
{
	char line[512], last_module[128] = "";
	size_t cap = 0, names_cap = 0;
	uint32_t last_module_off = 0;
	bool any_address = false;
	FILE *f = fopen("/proc/kallsyms", "r");
	struct lbpf_ksyms *k = calloc(1, sizeof(*k));

	if (!f || !k) {
		int e = f ? ENOMEM : errno;
		if (f)
			fclose(f);
		free(k);
		lbpf_err__set(err, e, "cannot read /proc/kallsyms: %s", lbpf_strerror(e));
		return NULL;
	}
	if (intern(k, &names_cap, "", 0) < 0)
		goto nomem;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long addr;
		char type, name[256], module[128] = "";
		if (sscanf(line, "%llx %c %255s [%127[^]]]", &addr, &type, name, module) < 3)
			continue;
		/* Only code: data symbols would shadow the function an address is in. */
		if (type != 't' && type != 'T' && type != 'w' && type != 'W')
			continue;
		any_address |= addr != 0;
		if (k->n == cap) {
			cap = cap ? cap * 2 : 1 << 16;
			struct ksym *grown = realloc(k->syms, cap * sizeof(*grown));
			if (!grown)
				goto nomem;
			k->syms = grown;
		}
		int64_t n = intern(k, &names_cap, name, strlen(name));
		if (n < 0)
			goto nomem;
		if (*module && strcmp(module, last_module) != 0) {
			int64_t m = intern(k, &names_cap, module, strlen(module));
			if (m < 0)
				goto nomem;
			snprintf(last_module, sizeof(last_module), "%s", module);
			last_module_off = (uint32_t)m;
		}
		k->syms[k->n++] = (struct ksym){addr, (uint32_t)n, *module ? last_module_off : 0};
	}
	fclose(f);
	if (!any_address) {
		lbpf_ksyms__free(k);
		lbpf_err__set(err, EPERM,
			      "/proc/kallsyms shows no addresses to this process (kernel.kptr_restrict); run as root");
		return NULL;
	}
	qsort(k->syms, k->n, sizeof(*k->syms), cmp_addr);
	return k;
nomem:
	fclose(f);
	lbpf_ksyms__free(k);
	lbpf_err__set(err, ENOMEM, "out of memory reading /proc/kallsyms");
	return NULL;
}

bool lbpf_ksyms__find(const struct lbpf_ksyms *k, uint64_t addr, struct lbpf_sym *out)
{
	size_t lo = 0, hi = k->n;

	while (lo < hi) { /* the first symbol above addr */
		size_t mid = lo + (hi - lo) / 2;
		if (k->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	const struct ksym *s = &k->syms[lo - 1];
	out->name = k->names + s->name;
	out->offset = addr - s->addr;
	out->module = s->module ? k->names + s->module : "kernel";
	return true;
}

uint64_t lbpf_ksyms__addr(const struct lbpf_ksyms *k, const char *name)
{
	for (size_t i = 0; i < k->n; i++)
		if (strcmp(k->names + k->syms[i].name, name) == 0)
			return k->syms[i].addr;
	return 0;
}

void lbpf_ksyms__free(struct lbpf_ksyms *k)
{
	if (!k)
		return;
	free(k->syms);
	free(k->names);
	free(k);
}
