/* Attach kind: USDT probes (a binary's .note.stapsdt entries) through
 * libbpf's USDT support; a probe named without its provider is looked up. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

#define STAPSDT_NOTE_TYPE 3

/* The provider of the first probe called `name` in the binary's stapsdt
 * notes, copied to out; -ENOENT if there is none. A note's description is
 * three addresses (pc, base, semaphore), then "provider\0name\0args\0". */
static int find_provider(const char *path, const char *name, char *out, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ, NULL);
	int ret = -ENOENT;
	Elf_Scn *scn = NULL;
	size_t addr_size = elf && gelf_getclass(elf) == ELFCLASS32 ? 4 : 8;
	while (elf && ret == -ENOENT && (scn = elf_nextscn(elf, scn))) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (data && ret == -ENOENT && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != STAPSDT_NOTE_TYPE || nh.n_descsz <= 3 * addr_size)
				continue;
			const char *desc = (const char *)data->d_buf + desc_off + 3 * addr_size;
			size_t left = nh.n_descsz - 3 * addr_size;
			const char *provider = desc;
			size_t plen = strnlen(provider, left);
			if (plen + 1 >= left)
				continue;
			const char *probe = provider + plen + 1;
			if (strnlen(probe, left - plen - 1) < left - plen - 1 && strcmp(probe, name) == 0 &&
			    plen < size) {
				memcpy(out, provider, plen + 1);
				ret = 0;
			}
		}
	}
	if (elf)
		elf_end(elf);
	close(fd);
	return ret;
}

enum bpf_attach_type lbpf_attach__usdt_attach_type(void)
{
	/* libbpf attaches USDT probes with one uprobe_multi link where it can. */
	return lbpf_features__uprobe_multi() ? BPF_TRACE_UPROBE_MULTI : 0;
}

int lbpf_attach__usdt(struct lbpf_object *obj, struct bpf_program *prog, const struct lbpf_usdt_opts *o,
		      struct lbpf_err *err)
{
	char path[64], provider[256], what[768];
	const char *binary = o->path;

	if (bpf_program__type(prog) != BPF_PROG_TYPE_KPROBE)
		return lbpf_err__set(err, EINVAL,
				     "program '%s' is not a USDT program (its section is \"%s\"); declare it with "
				     "SEC(\"usdt\") or as a plain function",
				     bpf_program__name(prog), bpf_program__section_name(prog));
	if (!binary) {
		if (o->pid < 0)
			return lbpf_err__set(err, EINVAL, "usdt: give the binary's path, a pid, or both");
		snprintf(path, sizeof(path), "/proc/%d/exe", o->pid);
		binary = path;
	}
	if (access(binary, R_OK) != 0)
		return lbpf_err__set(err, errno, "usdt: cannot read %s: %s", binary, lbpf_strerror(errno));
	const char *prov = o->provider;
	if (!prov) {
		int ret = find_provider(binary, o->name, provider, sizeof(provider));
		if (ret)
			return lbpf_err__set(err, ret, "usdt: %s has no USDT probe named '%s'%s", binary, o->name,
					     ret == -ENOENT ? " (list them with: readelf -n BINARY)" : "");
		prov = provider;
	}
	if (!lbpf_object__map(obj, "__bpf_usdt_specs"))
		return lbpf_err__set(err, ENOTSUP,
				     "usdt: program '%s' was compiled without USDT support; read arguments with "
				     "bpf_usdt_readarg() (or #include <bpf/usdt.bpf.h>) so the compile includes it",
				     bpf_program__name(prog));
	snprintf(what, sizeof(what), "USDT probe %s:%s in %s", prov, o->name, binary);
	lbpf_log__reset();
	struct bpf_link *link = bpf_program__attach_usdt(prog, o->pid, binary, prov, o->name, NULL);
	if (!link) {
		int ret = -errno;
		if (ret == -ENOENT)
			return lbpf_err__set(err, ret, "usdt: %s has no USDT probe %s:%s (list them with: readelf -n %s)",
					     binary, prov, o->name, binary);
		return lbpf_attach__fail(err, ret, prog, what);
	}
	return lbpf_link__add(obj, link);
}
