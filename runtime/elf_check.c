/* Checks ELF bytes from outside (a file, a bundle, a user's string) before
 * libbpf parses them in this process: the headers are bounds-checked here,
 * then libbpf opens them once in a short-lived child, so a parser crash on
 * damaged bytes is an error message instead of the end of the script. */
#include <bpf/libbpf.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "luabpf.h"

static bool fits(uint64_t offset, uint64_t len, size_t size)
{
	return offset <= size && len <= size - offset;
}

static int check_headers(const unsigned char *elf, size_t size, struct lbpf_err *err)
{
	Elf64_Ehdr eh;

	if (size < sizeof(eh))
		return lbpf_err__set(err, EINVAL, "not a usable BPF object: %zu bytes is too short for an ELF header", size);
	memcpy(&eh, elf, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64 ||
	    eh.e_ident[EI_DATA] != ELFDATA2LSB)
		return lbpf_err__set(err, EINVAL, "not a usable BPF object: not a 64-bit little-endian ELF file");
	if (eh.e_machine != EM_BPF)
		return lbpf_err__set(err, EINVAL, "not a usable BPF object: its ELF machine is %u, not BPF (%u)",
				     eh.e_machine, EM_BPF);
	if (eh.e_shentsize != sizeof(Elf64_Shdr) || eh.e_shnum == 0 || eh.e_shstrndx >= eh.e_shnum ||
	    !fits(eh.e_shoff, (uint64_t)eh.e_shnum * sizeof(Elf64_Shdr), size))
		return lbpf_err__set(err, EINVAL, "not a usable BPF object: its section header table is damaged");
	for (unsigned i = 0; i < eh.e_shnum; i++) {
		Elf64_Shdr sh;
		memcpy(&sh, elf + eh.e_shoff + (uint64_t)i * sizeof(sh), sizeof(sh));
		if (sh.sh_type != SHT_NOBITS && sh.sh_type != SHT_NULL && !fits(sh.sh_offset, sh.sh_size, size))
			return lbpf_err__set(err, EINVAL, "not a usable BPF object: section %u lies outside the file", i);
		if (sh.sh_link >= eh.e_shnum)
			return lbpf_err__set(err, EINVAL, "not a usable BPF object: section %u links to a missing section",
					     i);
	}
	return 0;
}

#define REFUSED 77

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	return 0;
}

/* Present when a sanitizer runtime is linked in (SANITIZE=1, the fuzzers). */
extern void __sanitizer_set_death_callback(void (*callback)(void)) __attribute__((weak));

/* The child dies by its own signal whatever handlers the host installed, and
 * a sanitizer's report there is not the host's (a fuzzer would record the
 * input as its own crash). */
static void plain_death(void)
{
	static const int fatal[] = {SIGSEGV, SIGBUS, SIGABRT, SIGFPE, SIGILL, SIGTRAP};
	for (size_t i = 0; i < sizeof(fatal) / sizeof(fatal[0]); i++)
		signal(fatal[i], SIG_DFL);
	if (__sanitizer_set_death_callback)
		__sanitizer_set_death_callback(NULL);
}

int lbpf_elf__check(const void *elf, size_t size, struct lbpf_err *err)
{
	int status;

	if (check_headers(elf, size, err))
		return err->code;
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return lbpf_err__set(err, errno, "cannot check the BPF object: %s", lbpf_strerror(errno));
	if (pid == 0) {
		/* An unusual code for a clean refusal: a crash caught by a
		 * sanitizer exits with 1 rather than by the signal. */
		int null = open("/dev/null", O_WRONLY);
		if (null >= 0)
			dup2(null, STDERR_FILENO);
		plain_death();
		libbpf_set_print(quiet);
		struct bpf_object *obj = bpf_object__open_mem(elf, size, NULL);
		_exit(obj ? 0 : REFUSED);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return lbpf_err__set(err, errno, "cannot check the BPF object: %s", lbpf_strerror(errno));
	if (WIFSIGNALED(status))
		return lbpf_err__set(err, EINVAL, "not a usable BPF object: libbpf crashed reading it (%s); the ELF "
						  "file is damaged",
				     strsignal(WTERMSIG(status)));
	if (!WIFEXITED(status) || (WEXITSTATUS(status) != 0 && WEXITSTATUS(status) != REFUSED))
		return lbpf_err__set(err, EINVAL, "not a usable BPF object: libbpf failed reading it (exit status %d); "
						  "the ELF file is damaged",
				     WIFEXITED(status) ? WEXITSTATUS(status) : -1);
	return 0; /* a clean refusal is left to the real open, which says why */
}
