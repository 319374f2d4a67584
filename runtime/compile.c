/* Compiling BPF C: builds the translation unit (prelude, the user's source
 * under a #line that names the script, license) and hands it to the clang
 * driver library, which is dlopened on the first compile only. */
#include <dlfcn.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clang_driver.h"
#include "embedded.h"
#include "luabpf.h"

#define DRIVER_NAME "libluabpf-clang.so"

extern const struct lbpf_embedded lbpf_runtime_files[];

static char driver_dir[PATH_MAX];
static lbpf_clang_compile_fn driver_compile;

void lbpf_compile__set_driver_dir(const char *dir)
{
	snprintf(driver_dir, sizeof(driver_dir), "%s", dir);
}

/* Code we load as root must not be writable by anyone less trusted. */
static int check_trusted(const char *path, struct lbpf_err *err)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -errno;
	if ((st.st_uid != 0 && st.st_uid != geteuid()) || (st.st_mode & (S_IWGRP | S_IWOTH)))
		return lbpf_err__set(err, EPERM,
				     "refusing to load %s: it is owned by another user or writable by "
				     "group or others; fix its ownership and mode (chmod go-w)",
				     path);
	return 0;
}

static int load_driver(struct lbpf_err *err)
{
	char candidates[2][PATH_MAX + 32];
	int n = 0;

	if (driver_compile)
		return 0;
	if (driver_dir[0])
		snprintf(candidates[n++], sizeof(candidates[0]), "%s/" DRIVER_NAME, driver_dir);
	snprintf(candidates[n++], sizeof(candidates[0]), "%s/" DRIVER_NAME, LBPF_LIBDIR);

	for (int i = 0; i < n; i++) {
		int ret = check_trusted(candidates[i], err);
		if (ret == -ENOENT)
			continue;
		if (ret)
			return ret;
		void *h = dlopen(candidates[i], RTLD_NOW | RTLD_LOCAL);
		if (!h)
			return lbpf_err__set(err, ENOEXEC, "cannot load the clang driver: %s", dlerror());
		driver_compile = (lbpf_clang_compile_fn)dlsym(h, "lbpf_clang__compile");
		if (!driver_compile) {
			dlclose(h);
			return lbpf_err__set(err, ENOEXEC, "%s is not a luabpf clang driver", candidates[i]);
		}
		if (lbpf_log__debug())
			fprintf(stderr, "luabpf: loaded clang driver %s\n", candidates[i]);
		return 0;
	}
	return lbpf_err__set(err, ENOENT,
			     "cannot compile BPF C: the clang driver (%s) is not installed beside luabpf "
			     "(looked in %s and %s); install it, or load a precompiled object with bpf.new(elf_bytes)",
			     DRIVER_NAME, driver_dir[0] ? driver_dir : "(unknown)", LBPF_LIBDIR);
}

/* A #line file name must not end the string literal early. */
static void quote_name(char *dst, size_t size, const char *name)
{
	size_t i = 0;
	for (; *name && i + 1 < size; name++)
		dst[i++] = (*name == '"' || *name == '\\' || *name == '\n') ? '_' : *name;
	dst[i] = '\0';
}

static char *build_unit(const char *src, size_t len, const struct lbpf_compile_opts *opts, size_t *size)
{
	char name[256];
	char *text = NULL;
	FILE *out = open_memstream(&text, size);

	if (!out)
		return NULL;
	quote_name(name, sizeof(name), opts->name && *opts->name ? opts->name : "bpf.c");
	if (!opts->no_prelude)
		fputs("#include <luabpf/prelude.h>\n", out);
	fprintf(out, "#line %d \"%s\"\n", opts->line > 0 ? opts->line : 1, name);
	fwrite(src, 1, len, out);
	/* After the user's code, so a license the script declares comes first and wins. */
	if (!opts->no_prelude)
		fputs("\n#line 1 \"<luabpf prelude>\"\n"
		      "char __luabpf_license[] __attribute__((section(\"license\"), used)) = \"GPL\";\n",
		      out);
	if (fclose(out) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

int lbpf_compile(const char *src, size_t len, const struct lbpf_compile_opts *opts, struct lbpf_elf *out,
		 struct lbpf_err *err)
{
	struct lbpf_clang_file files[8];
	size_t nfiles = 0;
	char *vmlinux = NULL;
	size_t vmlinux_size = 0;
	int ret;

	memset(out, 0, sizeof(*out));
	if (memchr(src, '\0', len))
		return lbpf_err__set(err, EINVAL, "the BPF source contains a NUL byte");
	ret = load_driver(err);
	if (ret)
		return ret;

	if (!opts->no_prelude || memmem(src, len, "vmlinux.h", 9)) {
		ret = lbpf_vmlinux_h__generate(&vmlinux, &vmlinux_size, err);
		if (ret)
			return ret;
		files[nfiles++] = (struct lbpf_clang_file){"vmlinux.h", vmlinux, vmlinux_size};
	}
	for (const struct lbpf_embedded *e = lbpf_runtime_files; e->name && nfiles < 8; e++)
		files[nfiles++] = (struct lbpf_clang_file){e->name, e->data, e->size};

	size_t unit_size;
	char *unit = build_unit(src, len, opts, &unit_size);
	if (!unit) {
		free(vmlinux);
		return lbpf_err__set(err, ENOMEM, "out of memory building the translation unit");
	}

	struct lbpf_clang_input in = {
		.main_name = opts->name,
		.main_text = unit,
		.main_size = unit_size,
		.cflags = opts->cflags,
		.ncflags = opts->ncflags,
		.files = files,
		.nfiles = nfiles,
	};
	struct lbpf_clang_output res;
	ret = driver_compile(&in, &res);
	free(unit);
	free(vmlinux);
	if (ret) {
		ret = lbpf_err__set(err, EINVAL, "compile failed:\n%s",
				    res.diagnostics && *res.diagnostics ? res.diagnostics : "(no diagnostics)");
		free(res.diagnostics);
		free(res.elf);
		return ret;
	}
	out->data = res.elf;
	out->size = res.elf_size;
	if (res.diagnostics && *res.diagnostics)
		out->warnings = res.diagnostics;
	else
		free(res.diagnostics);
	return 0;
}

void lbpf_elf__free(struct lbpf_elf *elf)
{
	free(elf->data);
	free(elf->warnings);
	memset(elf, 0, sizeof(*elf));
}
