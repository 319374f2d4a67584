/* vmlinux.h for the running kernel, written from /sys/kernel/btf/vmlinux with
 * libbpf's btf_dump, so programs compile with no kernel headers installed;
 * it declares the kernel's kfuncs too, weak, so bpf_ksym_exists() works. */
#include <bpf/btf.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

static void print_to_stream(void *ctx, const char *fmt, va_list args)
{
	vfprintf(ctx, fmt, args);
}

/* Every function the kernel tags bpf_kfunc, as an extern program may call:
 * weak, so a program that tests bpf_ksym_exists(f) loads where f is missing. */
static int dump_kfuncs(const struct btf *btf, struct btf_dump *dump, FILE *out)
{
	for (__u32 id = 1, n = btf__type_cnt(btf); id < n; id++) {
		const struct btf_type *tag = btf__type_by_id(btf, id);
		if (!btf_is_decl_tag(tag) || btf_decl_tag(tag)->component_idx != -1 ||
		    strcmp(btf__name_by_offset(btf, tag->name_off), "bpf_kfunc") != 0)
			continue;
		const struct btf_type *fn = btf__type_by_id(btf, tag->type);
		if (!fn || !btf_is_func(fn))
			continue;
		LIBBPF_OPTS(btf_dump_emit_type_decl_opts, opts, .field_name = btf__name_by_offset(btf, fn->name_off));
		fputs("extern ", out);
		int ret = btf_dump__emit_type_decl(dump, fn->type, &opts);
		if (ret)
			return ret;
		fputs(" __attribute__((weak, section(\".ksyms\")));\n", out);
	}
	return 0;
}

int lbpf_vmlinux_h__generate(char **text, size_t *size, struct lbpf_err *err)
{
	struct btf *btf = btf__load_vmlinux_btf();
	if (!btf)
		return lbpf_err__set(err, errno,
				     "cannot read the kernel's BTF (/sys/kernel/btf/vmlinux): %s; luabpf needs a "
				     "kernel built with CONFIG_DEBUG_INFO_BTF=y",
				     lbpf_strerror(errno));

	*text = NULL;
	FILE *out = open_memstream(text, size);
	struct btf_dump *dump = out ? btf_dump__new(btf, print_to_stream, out, NULL) : NULL;
	if (!dump) {
		int e = errno;
		if (out)
			fclose(out);
		free(*text);
		btf__free(btf);
		return lbpf_err__set(err, e, "cannot write vmlinux.h: %s", lbpf_strerror(e));
	}

	/* preserve_access_index makes every kernel struct access a CO-RE relocation. */
	fputs("#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n"
	      "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n"
	      "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n"
	      "#endif\n",
	      out);
	int ret = 0;
	for (__u32 id = 1, n = btf__type_cnt(btf); id < n && !ret; id++)
		ret = btf_dump__dump_type(dump, id);
	fputs("#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n", out);
	if (!ret)
		ret = dump_kfuncs(btf, dump, out);
	fputs("#endif /* __VMLINUX_H__ */\n", out);
	btf_dump__free(dump);
	btf__free(btf);
	if (fclose(out) != 0 && !ret)
		ret = -errno;
	if (ret) {
		free(*text);
		*text = NULL;
		return lbpf_err__set(err, ret, "cannot write vmlinux.h from the kernel's BTF: %s",
				     lbpf_strerror(-ret));
	}
	return 0;
}
