/* Compiling BPF C: builds the translation unit (prelude, the user's source
 * under a #line that names the script, license) and compiles it with the
 * clang driver library in a forked child, which hands the ELF back over a pipe.
 * The child keeps LLVM out of the tracing process: its memory, its crashes,
 * and state its BPF passes keep between compiles never reach us. */
#include <ctype.h>
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
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

#define MAX_CANDIDATES 4

/* Where the driver library may be, in order: LUABPF_DRIVER alone (naming
 * none proves a bundle runs without one); else beside luabpf (the build
 * tree), then where an install under any prefix puts it, seen from the host
 * in bin and from bpf.so in lib/lua/5.4, then the configured directory. */
static int driver_candidates(char out[MAX_CANDIDATES][PATH_MAX + 64])
{
	const char *forced = getenv("LUABPF_DRIVER");
	int n = 0;

	if (forced && *forced) {
		snprintf(out[n++], sizeof(out[0]), "%s", forced);
		return n;
	}
	if (driver_dir[0]) {
		snprintf(out[n++], sizeof(out[0]), "%s/" DRIVER_NAME, driver_dir);
		snprintf(out[n++], sizeof(out[0]), "%s/../lib/luabpf/" DRIVER_NAME, driver_dir);
		snprintf(out[n++], sizeof(out[0]), "%s/../../luabpf/" DRIVER_NAME, driver_dir);
	}
	snprintf(out[n++], sizeof(out[0]), "%s/" DRIVER_NAME, LBPF_LIBDIR);
	return n;
}

static int load_driver(struct lbpf_err *err)
{
	char candidates[MAX_CANDIDATES][PATH_MAX + 64], looked[MAX_CANDIDATES * (PATH_MAX + 72)] = "";

	if (driver_compile)
		return 0;
	int n = driver_candidates(candidates);

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
	for (int i = 0; i < n; i++)
		snprintf(looked + strlen(looked), sizeof(looked) - strlen(looked), "%s%s",
			 i == 0 ? "" : i == n - 1 ? " and " : ", ", candidates[i]);
	return lbpf_err__set(err, ENOENT,
			     "cannot compile BPF C: the clang driver (%s) is not installed beside luabpf "
			     "(looked in %s); install it (make install-compiler), or run a bundle made by "
			     "luabpf bundle, or load a precompiled object with bpf.new(elf_bytes)",
			     DRIVER_NAME, looked);
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
	/* libbpf's USDT support defines maps, so only scripts that speak of USDT get it. */
	if (!opts->no_prelude && memmem(src, len, "usdt", 4))
		fputs("#include <luabpf/usdt.h>\n", out);
	/* The tag tells the loader which records to describe to libbpf. */
	if (!opts->no_prelude && opts->portable)
		fputs("#undef " LBPF_TRACEPOINT_ATTRS "\n#define " LBPF_TRACEPOINT_ATTRS
		      " __attribute__((preserve_access_index, btf_decl_tag(\"" LBPF_TRACEPOINT_TAG "\")))\n",
		      out);
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

static double seconds_since(const struct timespec *t0)
{
	struct timespec t1;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return (t1.tv_sec - t0->tv_sec) + (t1.tv_nsec - t0->tv_nsec) / 1e9;
}

/* What decides a compile's output besides the source: the prelude, the
 * flags, the compiler, and the kernel whose BTF vmlinux.h comes from (and
 * what luabpf writes into vmlinux.h). */
static void add_build_identity(struct lbpf_hash *h, const struct lbpf_compile_opts *opts)
{
	struct utsname u;
	struct stat st;

	for (const struct lbpf_embedded *e = lbpf_runtime_files; e->name; e++)
		lbpf_hash__add(h, e->data, e->size);
	lbpf_hash__add(h, LBPF_TRACEPOINT_LAYOUT, sizeof(LBPF_TRACEPOINT_LAYOUT));
	lbpf_hash__add(h, LBPF_VMLINUX_H, sizeof(LBPF_VMLINUX_H));
	for (size_t i = 0; i < opts->ncflags; i++)
		lbpf_hash__add(h, opts->cflags[i], strlen(opts->cflags[i]));
	lbpf_hash__add(h, LBPF_DRIVER_ID, sizeof(LBPF_DRIVER_ID));
	/* The library that would load: a rebuilt one recompiles. */
	char candidates[MAX_CANDIDATES][PATH_MAX + 64];
	int n = driver_candidates(candidates);
	for (int i = 0; i < n; i++)
		if (stat(candidates[i], &st) == 0) {
			lbpf_hash__add(h, &st.st_size, sizeof(st.st_size));
			lbpf_hash__add(h, &st.st_mtime, sizeof(st.st_mtime));
			break;
		}
	if (uname(&u) == 0) {
		lbpf_hash__add(h, u.release, strlen(u.release));
		lbpf_hash__add(h, u.version, strlen(u.version));
		lbpf_hash__add(h, u.machine, strlen(u.machine));
	}
	if (stat("/sys/kernel/btf/vmlinux", &st) == 0)
		lbpf_hash__add(h, &st.st_size, sizeof(st.st_size));
}

/* LUABPF_TRACEPOINT_FORMATS: another kernel's events directory to lay
 * TRACEPOINT_PROBE's args out from, instead of this kernel's tracefs. */
static const char *formats_dir(void)
{
	const char *dir = getenv("LUABPF_TRACEPOINT_FORMATS");
	return dir && *dir ? dir : NULL;
}

/* TRACEPOINT_PROBE's args type, for the driver's rewrite. */
static char *tracepoint_struct(const char *category, const char *event, char **error)
{
	struct lbpf_err err = {0};
	struct lbpf_tp_record r;

	if (lbpf_tracepoint__record(formats_dir(), category, event, &r, &err)) {
		*error = strdup(err.msg);
		return NULL;
	}
	char *text = lbpf_tracepoint__c(category, event, &r);
	lbpf_tp_record__free(&r);
	if (!text)
		*error = strdup("out of memory");
	return text;
}

/* One call of the driver with the headers it needs: vmlinux.h unless a
 * precompiled header stands in for it. vmlinux_size, when given, receives
 * the size of the vmlinux.h generated. */
static int run_driver(const char *main_text, size_t main_size, const struct lbpf_compile_opts *opts,
		      bool want_vmlinux, const char *pch_in, size_t stand_in_size, const char *pch_out,
		      size_t *vmlinux_size_out, struct lbpf_clang_output *res, struct lbpf_err *err)
{
	struct lbpf_clang_file files[8];
	size_t nfiles = 0;
	char *vmlinux = NULL;
	size_t vmlinux_size = 0;

	if (want_vmlinux) {
		int ret = lbpf_vmlinux_h__generate(&vmlinux, &vmlinux_size, err);
		if (ret)
			return ret;
		files[nfiles++] = (struct lbpf_clang_file){"vmlinux.h", vmlinux, vmlinux_size};
		if (vmlinux_size_out)
			*vmlinux_size_out = vmlinux_size;
	} else if (pch_in) {
		/* The precompiled header names vmlinux.h and checks its size; its text
		 * is only quoted in diagnostics, and a failed compile is redone from source. */
		vmlinux = malloc(stand_in_size + 1);
		if (!vmlinux)
			return lbpf_err__set(err, ENOMEM, "out of memory");
		memset(vmlinux, '\n', stand_in_size);
		files[nfiles++] = (struct lbpf_clang_file){"vmlinux.h", vmlinux, stand_in_size};
	}
	for (const struct lbpf_embedded *e = lbpf_runtime_files; e->name && nfiles < 8; e++)
		files[nfiles++] = (struct lbpf_clang_file){e->name, e->data, e->size};
	struct lbpf_clang_input in = {
		.main_name = opts->name,
		.main_text = main_text,
		.main_size = main_size,
		.cflags = opts->cflags,
		.ncflags = opts->ncflags,
		.files = files,
		.nfiles = nfiles,
		.pch_in = pch_in,
		.pch_out = pch_out,
		.bcc = !opts->no_prelude && !pch_out,
		.tracepoint_struct = tracepoint_struct,
	};
	int ret = driver_compile(&in, res);
	free(vmlinux);
	return ret;
}

/* A precompiled header's checksum, to verify it before use as cache entries are. */
static bool file_digest(const char *path, char out[33])
{
	struct stat st;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	void *map = MAP_FAILED;

	if (fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0)
		map = mmap(NULL, st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (fd >= 0)
		close(fd);
	if (map == MAP_FAILED)
		return false;
	struct lbpf_hash h;
	lbpf_hash__init(&h);
	lbpf_hash__add_words(&h, map, st.st_size);
	lbpf_hash__hex(&h, out);
	munmap(map, st.st_size);
	return true;
}

/* Beside each precompiled header: the size of the vmlinux.h it came from
 * (clang checks it) and its checksum. 0 when missing or not matching. */
static size_t read_pch_meta(const char *pch)
{
	char path[PATH_MAX + 96], want[33] = "", have[33];
	unsigned long long n = 0;

	snprintf(path, sizeof(path), "%s.meta", pch);
	FILE *f = lbpf_cache__trusted(path) ? fopen(path, "r") : NULL;
	if (!f)
		return 0;
	if (fscanf(f, "%llu %32s", &n, want) != 2)
		n = 0;
	fclose(f);
	if (n && (!file_digest(pch, have) || strcmp(have, want) != 0)) {
		fprintf(stderr, "luabpf: warning: the precompiled header %s is corrupt; building it again\n", pch);
		return 0;
	}
	return n;
}

static bool write_pch_meta(const char *pch, size_t n)
{
	char path[PATH_MAX + 96], digest[33];

	if (!file_digest(pch, digest))
		return false;
	snprintf(path, sizeof(path), "%s.meta", pch);
	unlink(path);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!f) {
		if (fd >= 0)
			close(fd);
		return false;
	}
	bool ok = fprintf(f, "%zu %s\n", n, digest) > 0;
	return fclose(f) == 0 && ok;
}

/* The cached precompiled header of the prelude (vmlinux.h above all), built
 * on first use, and the size of the vmlinux.h it came from; false when there
 * is none to use. */
static bool prelude_pch(const struct lbpf_compile_opts *opts, char *path, size_t size, size_t *vmlinux_size)
{
	static const char prelude[] = "#include <luabpf/prelude.h>\n";
	struct lbpf_hash h;
	char key[33], tmp[PATH_MAX + 96];
	struct timespec t0;
	struct lbpf_err err = {0};
	struct lbpf_clang_output res = {0};

	lbpf_hash__init(&h);
	add_build_identity(&h, opts);
	lbpf_hash__add(&h, "precompiled prelude", 19);
	lbpf_hash__hex(&h, key);
	if (!lbpf_cache__file(key, ".pch", path, size))
		return false;
	if (lbpf_cache__trusted(path) && (*vmlinux_size = read_pch_meta(path)) > 0)
		return true;
	if (lbpf_log__debug())
		fprintf(stderr, "luabpf: building the precompiled header %s\n", path);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int ret = run_driver(prelude, sizeof(prelude) - 1, opts, true, NULL, 0, tmp, vmlinux_size, &res, &err);
	free(res.diagnostics);
	free(res.elf);
	/* Written aside and renamed, like cache entries; the checksum is of the
	 * renamed file, so a header is never used without one. */
	if (ret || rename(tmp, path) != 0 || !write_pch_meta(path, *vmlinux_size)) {
		unlink(tmp);
		return false;
	}
	if (lbpf_log__debug())
		fprintf(stderr, "luabpf: built the precompiled header in %.3f s\n", seconds_since(&t0));
	return lbpf_cache__trusted(path);
}

/* The compile itself, run in the child; unit is the whole translation unit. */
static int compile_here(const char *src, size_t len, const char *unit, size_t unit_size,
			const struct lbpf_compile_opts *opts, struct lbpf_elf *out, struct lbpf_err *err)
{
	char pch[PATH_MAX + 64];
	struct lbpf_clang_output res;
	int ret = load_driver(err);

	if (ret)
		return ret;
	size_t vmlinux_size = 0;
	bool use_pch = !opts->no_prelude && prelude_pch(opts, pch, sizeof(pch), &vmlinux_size);
	if (use_pch && lbpf_log__debug())
		fprintf(stderr, "luabpf: compiling with the precompiled header %s\n", pch);
	bool want_vmlinux = !use_pch && (!opts->no_prelude || memmem(src, len, "vmlinux.h", 9));
	ret = run_driver(unit, unit_size, opts, want_vmlinux, use_pch ? pch : NULL, vmlinux_size, NULL, NULL, &res,
			 err);
	if (ret == -1 && use_pch) {
		/* Redone from source: its diagnostics quote the real headers, and if it
		 * succeeds the precompiled header was at fault and goes. */
		if (lbpf_log__debug())
			fprintf(stderr, "luabpf: compiling with the precompiled header failed:\n%s",
				res.diagnostics ? res.diagnostics : "");
		free(res.diagnostics);
		free(res.elf);
		ret = run_driver(unit, unit_size, opts, true, NULL, 0, NULL, NULL, &res, err);
		if (ret == 0) {
			fprintf(stderr, "luabpf: warning: the precompiled header %s is unusable; removing it\n", pch);
			unlink(pch);
		}
	}
	if (ret > 0 || ret < -1)
		return ret; /* vmlinux.h could not be written: err says why */
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

/* What the child sends back: this header, then the ELF, then the text (the
 * error message on failure, the warnings on success). */
struct reply {
	int32_t code;
	uint32_t elf_size;
	uint32_t text_size;
};

#define MAX_REPLY_PART (256u << 20)

/* How long a compile may take before the child is killed: a guard against
 * inputs that make clang work for ever. LUABPF_COMPILE_TIMEOUT (seconds) overrides. */
static int compile_timeout_ms(void)
{
	const char *env = getenv("LUABPF_COMPILE_TIMEOUT");
	long s = env ? strtol(env, NULL, 10) : 0;
	return (int)(s > 0 && s < 86400 ? s * 1000 : 300 * 1000);
}

/* Reads exactly n bytes; -EINTR when a signal (Ctrl-C) cut the wait short,
 * -ETIMEDOUT when the compile's limit_ms since t0 ran out. */
static int read_all(int fd, void *buf, size_t n, const struct timespec *t0, int limit_ms)
{
	for (char *p = buf; n > 0;) {
		struct pollfd pfd = {fd, POLLIN, 0};
		int left = limit_ms - (int)(seconds_since(t0) * 1000);
		int ready = left > 0 ? poll(&pfd, 1, left) : 0;
		if (ready < 0)
			return -errno;
		if (ready == 0)
			return -ETIMEDOUT;
		ssize_t r = read(fd, p, n);
		if (r < 0)
			return -errno;
		if (r == 0)
			return -EPIPE;
		p += r;
		n -= r;
	}
	return 0;
}

static void __attribute__((noreturn)) child_main(int fd, const char *src, size_t len, const char *unit,
						 size_t unit_size, const struct lbpf_compile_opts *opts)
{
	struct lbpf_elf elf = {0};
	struct lbpf_err err = {0};

	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	int ret = compile_here(src, len, unit, unit_size, opts, &elf, &err);
	const char *text = ret ? err.msg : (elf.warnings ? elf.warnings : "");
	struct reply r = {ret, ret ? 0 : (uint32_t)elf.size, (uint32_t)strlen(text)};
	if (!lbpf_fd__write_all(fd, &r, sizeof(r)) || !lbpf_fd__write_all(fd, elf.data, r.elf_size) ||
	    !lbpf_fd__write_all(fd, text, r.text_size))
		_exit(1);
	_exit(0);
}

static int receive(int fd, struct lbpf_elf *out, struct lbpf_err *err)
{
	struct reply r;
	struct timespec t0;
	int limit_ms = compile_timeout_ms();
	clock_gettime(CLOCK_MONOTONIC, &t0);
	int ret = read_all(fd, &r, sizeof(r), &t0, limit_ms);

	if (ret == 0 && (r.elf_size > MAX_REPLY_PART || r.text_size > MAX_REPLY_PART || (r.code == 0) != (r.elf_size > 0)))
		ret = -EPROTO;
	char *elf = ret ? NULL : malloc(r.elf_size ? r.elf_size : 1);
	char *text = ret ? NULL : malloc(r.text_size + 1);
	if (!ret && (!elf || !text))
		ret = -ENOMEM;
	if (!ret)
		ret = read_all(fd, elf, r.elf_size, &t0, limit_ms);
	if (!ret)
		ret = read_all(fd, text, r.text_size, &t0, limit_ms);
	if (ret) {
		free(elf);
		free(text);
		if (ret == -EINTR)
			return lbpf_err__set(err, EINTR, "compile interrupted");
		if (ret == -ETIMEDOUT)
			return lbpf_err__set(err, ETIMEDOUT, "the compiler was still working after %d s and was stopped "
							     "(LUABPF_COMPILE_TIMEOUT sets the limit)",
					     limit_ms / 1000);
		return ret; /* compile_in_child says how the compiler died */
	}
	text[r.text_size] = '\0';
	if (r.code) {
		lbpf_err__set(err, r.code, "%s", text);
		free(elf);
		free(text);
		return err->code;
	}
	out->data = elf;
	out->size = r.elf_size;
	if (r.text_size)
		out->warnings = text;
	else
		free(text);
	return 0;
}

/* What the compiler process printed before it died: LLVM reports a fatal
 * error on stderr ("LLVM ERROR: ...", "error: ...") and aborts, then dumps a
 * stack. The last such line, else the last line, goes in buf. */
static void last_words(int fd, char *buf, size_t size)
{
	char tail[8192];
	buf[0] = '\0';
	off_t end = lseek(fd, 0, SEEK_END);
	off_t from = end > (off_t)sizeof(tail) - 1 ? end - (off_t)sizeof(tail) + 1 : 0;
	ssize_t n = end > 0 ? pread(fd, tail, sizeof(tail) - 1, from) : 0;
	if (n <= 0)
		return;
	tail[n] = '\0';
	const char *pick = NULL, *last = NULL;
	for (char *line = strtok(tail, "\n"); line; line = strtok(NULL, "\n")) {
		if (strncmp(line, "LLVM ERROR:", 11) == 0 || strstr(line, "error:"))
			pick = line;
		if (*line)
			last = line;
	}
	snprintf(buf, size, "%s", pick ? pick : last ? last : "");
}

/* Forks the compiler: the child loads LLVM, compiles, and sends the ELF back.
 * Its stderr goes to a memory file, which says why if it dies. */
static int compile_in_child(const char *src, size_t len, const char *unit, size_t unit_size,
			    const struct lbpf_compile_opts *opts, struct lbpf_elf *out, struct lbpf_err *err)
{
	int fds[2], status;

	if (pipe2(fds, O_CLOEXEC) != 0)
		return lbpf_err__set(err, errno, "cannot start the compiler: %s", lbpf_strerror(errno));
	int errfd = lbpf_log__debug() ? -1 : memfd_create("luabpf-compiler-stderr", MFD_CLOEXEC);
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0) {
		int e = errno;
		close(fds[0]);
		close(fds[1]);
		if (errfd >= 0)
			close(errfd);
		return lbpf_err__set(err, e, "cannot start the compiler: %s", lbpf_strerror(e));
	}
	if (pid == 0) {
		close(fds[0]);
		if (errfd >= 0)
			dup2(errfd, STDERR_FILENO);
		child_main(fds[1], src, len, unit, unit_size, opts);
	}
	close(fds[1]);
	int ret = receive(fds[0], out, err);
	close(fds[0]);
	if (ret == -EINTR || ret == -ETIMEDOUT)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (ret && ret != -EINTR && !err->code) {
		char words[512], how[64];
		if (errfd >= 0)
			last_words(errfd, words, sizeof(words));
		else
			snprintf(words, sizeof(words), "see its output above");
		if (WIFSIGNALED(status))
			snprintf(how, sizeof(how), "was killed by signal %d (%s)", WTERMSIG(status), strsignal(WTERMSIG(status)));
		else
			snprintf(how, sizeof(how), "exited with status %d", WIFEXITED(status) ? WEXITSTATUS(status) : -1);
		ret = lbpf_err__set(err, -ret, "the compiler %s: %s", how,
				    words[0] ? words : "it printed nothing (run with LUABPF_DEBUG=1 for details)");
	}
	if (errfd >= 0)
		close(errfd);
	return ret;
}

/* An identifier far longer than any C program uses: clang's typo correction
 * compares it with every known name, a cost that grows with its length
 * squared (a 1 MB one would take hours). */
#define MAX_IDENTIFIER 4096

static int long_identifier(const char *src, size_t len, const struct lbpf_compile_opts *opts, struct lbpf_err *err)
{
	size_t run = 0, line = 1;
	for (size_t i = 0; i < len; i++) {
		char c = src[i];
		if (c == '\n')
			line++;
		run = isalnum((unsigned char)c) || c == '_' ? run + 1 : 0;
		if (run > MAX_IDENTIFIER)
			return lbpf_err__set(err, EINVAL, "%s:%zu: a word over %d characters long; that is not C "
							  "(is the source what you meant?)",
					     opts->name && *opts->name ? opts->name : "bpf.c",
					     line + (opts->line > 0 ? (size_t)opts->line - 1 : 0), MAX_IDENTIFIER);
	}
	return 0;
}

/* The cache key: everything that decides the object's bytes. */
static void cache_key(const char *unit, size_t unit_size, const struct lbpf_compile_opts *opts, char key[33])
{
	struct lbpf_hash h;

	lbpf_hash__init(&h);
	lbpf_hash__add(&h, unit, unit_size);
	add_build_identity(&h, opts);
	lbpf_hash__hex(&h, key);
}

int lbpf_compile(const char *src, size_t len, const struct lbpf_compile_opts *opts, struct lbpf_elf *out,
		 struct lbpf_err *err)
{
	char key[33];
	size_t unit_size;
	struct timespec t0;

	memset(out, 0, sizeof(*out));
	if (memchr(src, '\0', len))
		return lbpf_err__set(err, EINVAL, "the BPF source contains a NUL byte");
	if (long_identifier(src, len, opts, err))
		return err->code;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	char *unit = build_unit(src, len, opts, &unit_size);
	if (!unit)
		return lbpf_err__set(err, ENOMEM, "out of memory building the translation unit");
	cache_key(unit, unit_size, opts, key);
	/* Formats from elsewhere can change under the same name: never cached. */
	bool cached = !formats_dir();
	if (cached && lbpf_cache__get(key, out) == 0) {
		free(unit);
		if (lbpf_log__debug())
			fprintf(stderr, "luabpf: cache hit %s (%.1f ms)\n", key, seconds_since(&t0) * 1e3);
		return 0;
	}
	if (lbpf_log__debug())
		fprintf(stderr, "luabpf: cache miss %s: compiling\n", key);
	int ret = compile_in_child(src, len, unit, unit_size, opts, out, err);
	free(unit);
	if (ret == 0) {
		if (lbpf_log__debug())
			fprintf(stderr, "luabpf: compiled in %.3f s\n", seconds_since(&t0));
		if (cached)
			lbpf_cache__put(key, out);
	}
	return ret;
}

void lbpf_elf__free(struct lbpf_elf *elf)
{
	free(elf->data);
	free(elf->warnings);
	memset(elf, 0, sizeof(*elf));
}
