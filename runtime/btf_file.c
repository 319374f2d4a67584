/* Kernel BTF files: reading one (raw, or an ELF's .BTF section) only if a
 * less privileged user could not have written it, and making BTF bytes the
 * process's kernel BTF, as LUABPF_BTF makes a file. */
#include <bpf/btf.h>
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luabpf.h"

/* The kernel BTF is some megabytes; a file larger than this is not one. */
#define MAX_BTF_SIZE (256u << 20)

int lbpf_elf__section(const void *data, size_t size, const char *name, const char **out, size_t *out_size)
{
	GElf_Shdr sh;
	size_t strndx;
	int ret = -ENOENT;

	*out = NULL;
	*out_size = 0;
	elf_version(EV_CURRENT);
	Elf *e = elf_memory((char *)data, size);
	if (!e || elf_getshdrstrndx(e, &strndx) != 0) {
		if (e)
			elf_end(e);
		return -EINVAL;
	}
	for (Elf_Scn *scn = NULL; ret == -ENOENT && (scn = elf_nextscn(e, scn));) {
		const char *sname = gelf_getshdr(scn, &sh) ? elf_strptr(e, strndx, sh.sh_name) : NULL;
		if (!sname || strcmp(sname, name) != 0 || sh.sh_type == SHT_NOBITS)
			continue;
		if (sh.sh_offset > size || sh.sh_size > size - sh.sh_offset)
			ret = -EINVAL;
		else {
			*out = (const char *)data + sh.sh_offset;
			*out_size = sh.sh_size;
			ret = 0;
		}
	}
	elf_end(e);
	return ret;
}

int lbpf_btf__missing(struct lbpf_err *err)
{
	return lbpf_err__set(err, ESRCH,
			     "this kernel has no BTF (no /sys/kernel/btf/vmlinux: it was built without "
			     "CONFIG_DEBUG_INFO_BTF), which CO-RE relocation needs: give its BTF with --btf FILE "
			     "(LUABPF_BTF; BTFHub has it for many distribution kernels), or bundle the tool with "
			     "--min-btf");
}

int lbpf_btf__read(const char *path, char **data, size_t *size, struct lbpf_err *err)
{
	const char *file = path ? path : "/sys/kernel/btf/vmlinux";

	if (!path && access(file, F_OK) != 0)
		return lbpf_btf__missing(err);
	if (lbpf_file__read_trusted(file, MAX_BTF_SIZE, data, size, err))
		return err->code;
	if (*size < 4 || memcmp(*data, "\177ELF", 4) != 0)
		return 0;
	const char *btf;
	size_t n;
	char *copy = NULL;
	if (lbpf_elf__section(*data, *size, ".BTF", &btf, &n) == 0 && (copy = malloc(n)))
		memcpy(copy, btf, n);
	free(*data);
	*data = copy;
	*size = copy ? n : 0;
	if (!copy)
		return lbpf_err__set(err, EPROTO, "%s is an ELF file without a .BTF section", file);
	return 0;
}

#define HELD "luabpf-kernel-btf"

/* The descriptor of BTF an earlier lbpf_btf__use holds, or -1. */
static int held_fd(void)
{
	const char *path = getenv("LUABPF_BTF");
	char target[64];
	int fd;

	if (!path || sscanf(path, "/proc/self/fd/%d", &fd) != 1)
		return -1;
	ssize_t n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return -1;
	target[n] = '\0';
	return strncmp(target, "/memfd:" HELD, strlen("/memfd:" HELD)) == 0 ? fd : -1;
}

int lbpf_btf__use(const void *data, size_t size, struct lbpf_err *err)
{
	char path[64];
	int old = held_fd();
	struct btf *check = btf__new(data, size);

	if (!check)
		return lbpf_err__set(err, EINVAL, "the kernel BTF given is not BTF: %s", lbpf_strerror(errno));
	btf__free(check);
	int fd = memfd_create(HELD, MFD_CLOEXEC);

	/* 0600: the file is checked as any kernel BTF given is (trusted_file.c). */
	if (fd < 0 || fchmod(fd, 0600) != 0 || !lbpf_fd__write_all(fd, data, size)) {
		int e = errno ? errno : EIO;
		if (fd >= 0)
			close(fd);
		return lbpf_err__set(err, e, "cannot hold the kernel BTF given: %s", lbpf_strerror(e));
	}
	/* The descriptor lives as long as the process, as the variable does. */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (setenv("LUABPF_BTF", path, 1) != 0) {
		int e = errno;
		close(fd);
		return lbpf_err__set(err, e, "cannot set LUABPF_BTF: %s", lbpf_strerror(e));
	}
	if (old >= 0)
		close(old);
	return 0;
}
