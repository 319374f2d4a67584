/* User-space symbols: an address in a process is found in /proc/PID/maps,
 * turned into an address in the mapped ELF file (PIE binaries and shared
 * libraries alike) and looked up in its .symtab and .dynsym; JIT code comes
 * from /tmp/perf-PID.map. Processes and files are read once and kept. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luabpf.h"

struct usym {
	uint64_t addr, size;
	char *name;
};

/* A symbol table: ELF functions by address, or a perf map's entries. */
struct symtab {
	struct usym *syms;
	size_t n, cap;
};

struct segment {
	uint64_t offset, vaddr, filesz;
};

struct elf_file {
	dev_t dev;
	ino_t ino;
	struct symtab tab;
	struct segment *segs;
	size_t nsegs;
};

struct mapping {
	uint64_t start, end, pgoff;
	char *path;
	struct elf_file *file; /* NULL until first needed, or when unreadable */
	bool tried;
};

struct proc {
	int pid;
	struct mapping *maps;
	size_t n;
	struct symtab perf_map;
	bool perf_map_read;
};

struct lbpf_usyms {
	struct proc *procs;
	size_t nprocs;
	struct elf_file **files;
	size_t nfiles;
};

static int cmp_usym(const void *a, const void *b)
{
	const struct usym *x = a, *y = b;
	return x->addr < y->addr ? -1 : x->addr > y->addr;
}

static bool symtab_add(struct symtab *t, uint64_t addr, uint64_t size, const char *name)
{
	if (t->n == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 256;
		struct usym *grown = realloc(t->syms, cap * sizeof(*grown));
		if (!grown)
			return false;
		t->syms = grown;
		t->cap = cap;
	}
	char *copy = strdup(name);
	if (!copy)
		return false;
	t->syms[t->n++] = (struct usym){addr, size, copy};
	return true;
}

static void symtab_free(struct symtab *t)
{
	for (size_t i = 0; i < t->n; i++)
		free(t->syms[i].name);
	free(t->syms);
	memset(t, 0, sizeof(*t));
}

/* The symbol containing addr (or the nearest one below, for unsized ones). */
static const struct usym *symtab_find(const struct symtab *t, uint64_t addr)
{
	size_t lo = 0, hi = t->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (t->syms[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct usym *s = &t->syms[lo - 1];
	return s->size == 0 || addr < s->addr + s->size ? s : NULL;
}

static bool add_symbol(void *ctx, const char *name, uint64_t addr, uint64_t size)
{
	return symtab_add(ctx, addr, size, name);
}

static void read_symbols(Elf *elf, struct symtab *t)
{
	lbpf_elf__each_function(elf, add_symbol, t);
	qsort(t->syms, t->n, sizeof(*t->syms), cmp_usym);
}

static struct elf_file *open_elf(struct lbpf_usyms *u, const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	for (size_t i = 0; i < u->nfiles; i++)
		if (u->files[i]->dev == st.st_dev && u->files[i]->ino == st.st_ino) {
			close(fd);
			return u->files[i];
		}
	struct elf_file *f = calloc(1, sizeof(*f));
	struct elf_file **grown = realloc(u->files, (u->nfiles + 1) * sizeof(*grown));
	Elf *elf = NULL;
	size_t nph = 0;
	if (f && grown) {
		u->files = grown;
		elf_version(EV_CURRENT);
		elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	}
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getphdrnum(elf, &nph) != 0 ||
	    !(f->segs = calloc(nph ? nph : 1, sizeof(*f->segs)))) {
		if (elf)
			elf_end(elf);
		free(f);
		close(fd);
		return NULL;
	}
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (gelf_getphdr(elf, (int)i, &ph) && ph.p_type == PT_LOAD)
			f->segs[f->nsegs++] = (struct segment){ph.p_offset, ph.p_vaddr, ph.p_filesz};
	}
	read_symbols(elf, &f->tab);
	elf_end(elf);
	close(fd);
	f->dev = st.st_dev;
	f->ino = st.st_ino;
	u->files[u->nfiles++] = f;
	return f;
}

static void free_proc(struct proc *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->maps[i].path);
	free(p->maps);
	symtab_free(&p->perf_map);
	p->maps = NULL;
	p->n = 0;
}

static bool read_maps(struct proc *p)
{
	char path[64], line[PATH_MAX + 128];
	size_t cap = 0;

	snprintf(path, sizeof(path), "/proc/%d/maps", p->pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, end, pgoff;
		char perms[8];
		int name_at = 0;
		if (sscanf(line, "%llx-%llx %7s %llx %*s %*s %n", &start, &end, perms, &pgoff, &name_at) < 4 ||
		    !strchr(perms, 'x'))
			continue;
		char *name = line + name_at;
		name[strcspn(name, "\n")] = '\0';
		if (p->n == cap) {
			cap = cap ? cap * 2 : 64;
			struct mapping *grown = realloc(p->maps, cap * sizeof(*grown));
			if (!grown)
				break;
			p->maps = grown;
		}
		p->maps[p->n++] = (struct mapping){start, end, pgoff, strdup(name), NULL, false};
	}
	fclose(f);
	return true;
}

/* A perf map is written by the process itself: trusted only when its owner
 * is the process's owner or root. */
static void read_perf_map(struct proc *p)
{
	char path[64], line[1024];
	struct stat st, owner;

	p->perf_map_read = true;
	snprintf(path, sizeof(path), "/proc/%d", p->pid);
	if (stat(path, &owner) != 0)
		return;
	snprintf(path, sizeof(path), "/tmp/perf-%d.map", p->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	FILE *f = fd >= 0 ? fdopen(fd, "r") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return;
	}
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_uid != owner.st_uid && st.st_uid != 0)) {
		fclose(f);
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned long long start, size;
		int name_at = 0;
		if (sscanf(line, "%llx %llx %n", &start, &size, &name_at) < 2 || !name_at)
			continue;
		line[strcspn(line, "\n")] = '\0';
		if (!symtab_add(&p->perf_map, start, size, line + name_at))
			break;
	}
	fclose(f);
	qsort(p->perf_map.syms, p->perf_map.n, sizeof(*p->perf_map.syms), cmp_usym);
}

static struct proc *find_proc(struct lbpf_usyms *u, int pid, bool reread)
{
	for (size_t i = 0; i < u->nprocs; i++) {
		if (u->procs[i].pid != pid)
			continue;
		/* A process that has exited keeps the maps last read. */
		struct proc fresh = {.pid = pid};
		if (reread && read_maps(&fresh)) {
			free_proc(&u->procs[i]);
			u->procs[i] = fresh;
		}
		return &u->procs[i];
	}
	struct proc *grown = realloc(u->procs, (u->nprocs + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	u->procs = grown;
	struct proc *p = &u->procs[u->nprocs];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	if (!read_maps(p))
		return NULL;
	u->nprocs++;
	return p;
}

static struct mapping *find_mapping(struct proc *p, uint64_t addr)
{
	for (size_t i = 0; i < p->n; i++)
		if (addr >= p->maps[i].start && addr < p->maps[i].end)
			return &p->maps[i];
	return NULL;
}

struct lbpf_usyms *lbpf_usyms__new(void)
{
	return calloc(1, sizeof(struct lbpf_usyms));
}

/* The ELF file behind a mapping, opened once: map_files reaches the very
 * file mapped, even in another mount namespace or deleted since. */
static void open_mapping(struct lbpf_usyms *u, int pid, struct mapping *m)
{
	char path[PATH_MAX + 64];

	if (m->tried || !m->path || m->path[0] != '/')
		return;
	m->tried = true;
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", pid, (unsigned long long)m->start,
		 (unsigned long long)m->end);
	m->file = open_elf(u, path);
	if (!m->file) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", pid, m->path);
		m->file = open_elf(u, path);
	}
}

void lbpf_usyms__load(struct lbpf_usyms *u, int pid)
{
	struct proc *p = find_proc(u, pid, true);
	for (size_t i = 0; p && i < p->n; i++)
		open_mapping(u, pid, &p->maps[i]);
}

bool lbpf_usyms__find(struct lbpf_usyms *u, int pid, uint64_t addr, struct lbpf_sym *out)
{
	memset(out, 0, sizeof(*out));
	struct proc *p = find_proc(u, pid, false);
	struct mapping *m = p ? find_mapping(p, addr) : NULL;
	if (p && !m) /* mapped since we read the maps (dlopen, JIT) */
		m = (p = find_proc(u, pid, true)) ? find_mapping(p, addr) : NULL;
	if (!p)
		return false;
	if (m && m->path && m->path[0] == '/') {
		out->module = m->path;
		open_mapping(u, pid, m);
		uint64_t file_off = addr - m->start + m->pgoff;
		for (size_t i = 0; m->file && i < m->file->nsegs; i++) {
			const struct segment *s = &m->file->segs[i];
			if (file_off < s->offset || file_off >= s->offset + s->filesz)
				continue;
			uint64_t vaddr = file_off - s->offset + s->vaddr;
			const struct usym *sym = symtab_find(&m->file->tab, vaddr);
			if (!sym)
				return false;
			out->name = sym->name;
			out->offset = vaddr - sym->addr;
			return true;
		}
		return false;
	}
	if (!p->perf_map_read)
		read_perf_map(p);
	const struct usym *sym = symtab_find(&p->perf_map, addr);
	if (!sym)
		return false;
	out->name = sym->name;
	out->offset = addr - sym->addr;
	out->module = "[perf-map]";
	return true;
}

void lbpf_usyms__free(struct lbpf_usyms *u)
{
	if (!u)
		return;
	for (size_t i = 0; i < u->nprocs; i++)
		free_proc(&u->procs[i]);
	free(u->procs);
	for (size_t i = 0; i < u->nfiles; i++) {
		symtab_free(&u->files[i]->tab);
		free(u->files[i]->segs);
		free(u->files[i]);
	}
	free(u->files);
	free(u);
}
