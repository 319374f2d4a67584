/* The functions an ELF binary or library defines, filtered by a glob, with
 * their file offsets: what a uprobe pattern ("c:malloc*") expands to, one
 * cookie per name (the offsets spare libbpf its versioned-name matching). */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

static int cmp_fn(const void *a, const void *b)
{
	return strcmp(((const struct lbpf_elf_function *)a)->name, ((const struct lbpf_elf_function *)b)->name);
}

void lbpf_elf_functions__free(struct lbpf_elf_functions *f)
{
	if (!f)
		return;
	for (size_t i = 0; i < f->n; i++)
		free(f->fns[i].name);
	free(f->fns);
	f->fns = NULL;
	f->n = 0;
}

static bool add(struct lbpf_elf_functions *f, size_t *cap, const char *name, uint64_t offset)
{
	if (f->n == *cap) {
		size_t grown = *cap ? *cap * 2 : 64;
		struct lbpf_elf_function *fns = realloc(f->fns, grown * sizeof(*fns));
		if (!fns)
			return false;
		f->fns = fns;
		*cap = grown;
	}
	if (!(f->fns[f->n].name = strdup(name)))
		return false;
	f->fns[f->n++].offset = offset;
	return true;
}

/* Names sorted, each once: a function is often in both .symtab and .dynsym. */
static void dedup(struct lbpf_elf_functions *f)
{
	size_t out = 0;
	if (f->n == 0)
		return;
	qsort(f->fns, f->n, sizeof(*f->fns), cmp_fn);
	for (size_t i = 0; i < f->n; i++) {
		if (out && strcmp(f->fns[out - 1].name, f->fns[i].name) == 0)
			free(f->fns[i].name);
		else
			f->fns[out++] = f->fns[i];
	}
	f->n = out;
}

/* The file offset of a function's address: through the section holding it. */
static bool file_offset(Elf *elf, uint64_t addr, uint64_t *offset)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == SHT_PROGBITS && (sh.sh_flags & SHF_EXECINSTR) &&
		    addr >= sh.sh_addr && addr < sh.sh_addr + sh.sh_size) {
			*offset = addr - sh.sh_addr + sh.sh_offset;
			return true;
		}
	}
	return false;
}

const struct lbpf_elf_function *lbpf_elf_functions__find(const struct lbpf_elf_functions *f, const char *name)
{
	struct lbpf_elf_function key = {.name = (char *)name};
	return bsearch(&key, f->fns, f->n, sizeof(*f->fns), cmp_fn);
}

bool lbpf_elf__each_function(Elf *elf, bool (*fn)(void *ctx, const char *name, uint64_t addr, uint64_t size),
			     void *ctx)
{
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || (sh.sh_type != SHT_SYMTAB && sh.sh_type != SHT_DYNSYM) ||
		    sh.sh_entsize == 0)
			continue;
		Elf_Data *d = elf_getdata(scn, NULL);
		size_t count = d ? d->d_size / sh.sh_entsize : 0;
		for (size_t i = 0; i < count; i++) {
			GElf_Sym sym;
			if (!gelf_getsym(d, (int)i, &sym) || sym.st_shndx == SHN_UNDEF || sym.st_value == 0)
				continue;
			int type = GELF_ST_TYPE(sym.st_info);
			if (type != STT_FUNC && type != STT_GNU_IFUNC)
				continue;
			const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
			if (name && *name && !fn(ctx, name, sym.st_value, sym.st_size))
				return false;
		}
	}
	return true;
}

struct collect {
	struct lbpf_elf_functions *f;
	const char *glob;
	Elf *elf;
	size_t cap;
};

static bool collect_one(void *ctx, const char *name, uint64_t addr, uint64_t size)
{
	struct collect *c = ctx;
	uint64_t offset;
	if (fnmatch(c->glob, name, 0) != 0 || !file_offset(c->elf, addr, &offset))
		return true;
	return add(c->f, &c->cap, name, offset);
}

int lbpf_elf_functions__read(const char *path, const char *glob, struct lbpf_elf_functions *f, struct lbpf_err *err)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	memset(f, 0, sizeof(*f));
	if (fd < 0)
		return lbpf_err__set(err, -errno, "cannot read %s: %s", path, lbpf_strerror(errno));
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf || elf_kind(elf) != ELF_K_ELF) {
		if (elf)
			elf_end(elf);
		close(fd);
		return lbpf_err__set(err, -ENOEXEC, "%s is not an ELF binary or library", path);
	}
	struct collect c = {f, glob, elf, 0};
	bool ok = lbpf_elf__each_function(elf, collect_one, &c);
	elf_end(elf);
	close(fd);
	if (!ok) {
		lbpf_elf_functions__free(f);
		return lbpf_err__set(err, -ENOMEM, "out of memory reading the functions of %s", path);
	}
	dedup(f);
	return 0;
}
