/* A binary's USDT probes, read from its .note.stapsdt entries: each note's
 * description is three addresses (pc, base, semaphore), then
 * "provider\0name\0args\0", every length checked against the note's size. */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

#define STAPSDT_NOTE_TYPE 3

/* One note's strings, or false when they do not fit in it. */
static bool split(const char *desc, size_t left, struct lbpf_usdt_probe *p)
{
	const char *parts[3];
	for (int i = 0; i < 3; i++) {
		size_t n = strnlen(desc, left);
		if (n == left)
			return false;
		parts[i] = desc;
		desc += n + 1;
		left -= n + 1;
	}
	p->provider = parts[0];
	p->name = parts[1];
	p->args = parts[2];
	return true;
}

int lbpf_usdt__each(const char *path, int (*fn)(void *ctx, const struct lbpf_usdt_probe *p), void *ctx)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	if (!elf) {
		close(fd);
		return -ENOEXEC;
	}
	int ret = 0;
	Elf_Scn *scn = NULL;
	size_t addr_size = gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	while (!ret && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (data && !ret && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != STAPSDT_NOTE_TYPE || nh.n_descsz <= 3 * addr_size)
				continue;
			const char *desc = (const char *)data->d_buf + desc_off;
			struct lbpf_usdt_probe p = {0};
			memcpy(&p.pc, desc, addr_size);
			memcpy(&p.semaphore, desc + 2 * addr_size, addr_size);
			if (split(desc + 3 * addr_size, nh.n_descsz - 3 * addr_size, &p))
				ret = fn(ctx, &p);
		}
	}
	elf_end(elf);
	close(fd);
	return ret;
}
