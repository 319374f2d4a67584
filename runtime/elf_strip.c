/* Drops the DWARF from a compiled BPF object for shipping: each .debug_*
 * section, and its relocations, becomes SHT_NOBITS (no bytes in the file),
 * so no section or symbol is renumbered; .BTF and .BTF.ext, which CO-RE
 * needs, stay. libbpf skips both kinds of section by name and type. */
#include <errno.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "luabpf.h"

static bool is_debug(const char *name)
{
	return strncmp(name, ".debug_", 7) == 0 || strncmp(name, ".rel.debug_", 11) == 0 ||
	       strncmp(name, ".rela.debug_", 12) == 0;
}

int lbpf_elf__strip_debug(const void *data, size_t size, struct lbpf_elf *out, struct lbpf_err *err)
{
	memset(out, 0, sizeof(*out));
	int fd = memfd_create("luabpf-strip", MFD_CLOEXEC);
	if (fd < 0)
		return lbpf_err__set(err, errno, "strip: memfd_create: %s", lbpf_strerror(errno));
	if (!lbpf_fd__write_all(fd, data, size)) {
		close(fd);
		return lbpf_err__set(err, EIO, "strip: cannot copy the object");
	}
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_RDWR, NULL);
	size_t shstrndx;
	int ret = 0;
	if (!elf || elf_kind(elf) != ELF_K_ELF || elf_getshdrstrndx(elf, &shstrndx) != 0) {
		ret = lbpf_err__set(err, ENOEXEC, "strip: not an ELF object: %s", elf_errmsg(-1));
		goto done;
	}
	Elf_Scn *scn = NULL;
	while ((scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) || !is_debug(name))
			continue;
		sh.sh_type = SHT_NOBITS;
		sh.sh_flags &= ~(GElf_Xword)SHF_ALLOC;
		gelf_update_shdr(scn, &sh);
		Elf_Data *d = elf_getdata(scn, NULL);
		if (d)
			d->d_type = ELF_T_BYTE;
		elf_flagscn(scn, ELF_C_SET, ELF_F_DIRTY);
	}
	off_t end = elf_update(elf, ELF_C_WRITE);
	if (end < 0) {
		ret = lbpf_err__set(err, EIO, "strip: %s", elf_errmsg(-1));
		goto done;
	}
	out->size = (size_t)end;
	out->data = malloc(out->size ? out->size : 1);
	if (!out->data || pread(fd, out->data, out->size, 0) != (ssize_t)out->size) {
		lbpf_elf__free(out);
		ret = lbpf_err__set(err, EIO, "strip: cannot read the stripped object back");
	}
done:
	if (elf)
		elf_end(elf);
	close(fd);
	return ret;
}
