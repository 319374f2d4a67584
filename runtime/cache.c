/* The compiled-object cache: ELF objects on disk, keyed by a hash of all
 * that decides their bytes, so a script run again loads without compiling.
 * Root must never load what a less privileged user could have written: the
 * directory, every directory above it and each entry are checked first. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luabpf.h"

#define MAGIC "LUABPF-OBJECT-1\n"
#define MAX_ENTRY (64u << 20)

/* ---- a 128-bit key: two differently seeded 64-bit FNV-1a hashes, mixed ---- */

void lbpf_hash__init(struct lbpf_hash *h)
{
	h->a = 0xcbf29ce484222325ull;
	h->b = 0x84222325cbf29ce4ull ^ 0x9e3779b97f4a7c15ull;
}

void lbpf_hash__add(struct lbpf_hash *h, const void *data, size_t size)
{
	const unsigned char *p = data;
	for (size_t i = 0; i < size; i++) {
		h->a = (h->a ^ p[i]) * 0x100000001b3ull;
		h->b = (h->b ^ p[i]) * 0x100000001b3ull;
		h->b ^= h->b >> 29;
	}
	/* Length-delimited, so ("ab", "c") and ("a", "bc") differ. */
	uint64_t n = size;
	h->a = (h->a ^ n) * 0x100000001b3ull;
	h->b = (h->b ^ (n * 0xff51afd7ed558ccdull)) * 0x100000001b3ull;
}

/* The same idea eight bytes at a time, for large files such as precompiled headers. */
void lbpf_hash__add_words(struct lbpf_hash *h, const void *data, size_t size)
{
	const unsigned char *p = data;
	size_t i = 0;
	for (; i + 8 <= size; i += 8) {
		uint64_t w;
		memcpy(&w, p + i, 8);
		h->a = (h->a ^ w) * 0x9e3779b97f4a7c15ull;
		h->a ^= h->a >> 31;
		h->b = (h->b + w) * 0xff51afd7ed558ccdull;
		h->b ^= h->b >> 29;
	}
	lbpf_hash__add(h, p + i, size - i);
}

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ull;
	return x ^ (x >> 33);
}

void lbpf_hash__hex(const struct lbpf_hash *h, char out[33])
{
	snprintf(out, 33, "%016llx%016llx", (unsigned long long)mix(h->a ^ mix(h->b)),
		 (unsigned long long)mix(h->b + h->a));
}

/* ---- where the cache is, and whether it can be trusted ---- */

static bool safe_owner(const struct stat *st)
{
	return st->st_uid == 0 || st->st_uid == geteuid();
}

/* Every directory from / down to dir: owned by root or us, not writable by others. */
static bool path_is_safe(const char *dir, char *why, size_t size)
{
	char path[PATH_MAX];
	struct stat st;

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path;; p++) {
		if (*p == '/' || *p == '\0') {
			char saved = *p;
			*p = '\0';
			const char *check = path[0] ? path : "/";
			if (stat(check, &st) != 0) {
				snprintf(why, size, "%s: %s", check, lbpf_strerror(errno));
				return false;
			}
			if (!safe_owner(&st) || (st.st_mode & (S_IWGRP | S_IWOTH))) {
				snprintf(why, size, "%s is %s", check,
					 !safe_owner(&st) ? "owned by another user" : "writable by group or others");
				return false;
			}
			*p = saved;
			if (saved == '\0')
				return true;
		}
	}
}

static int make_dirs(const char *dir)
{
	char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s", dir);
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(path, 0700) != 0 && errno != EEXIST)
			return -errno;
		*p = '/';
	}
	return mkdir(path, 0700) != 0 && errno != EEXIST ? -errno : 0;
}

/* The cache directory, made if missing; false (with a warning if asked) when unusable. */
static bool cache_dir(char *out, size_t size, bool warn)
{
	const char *env = getenv("LUABPF_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char why[PATH_MAX + 64];

	if (getenv("LUABPF_NO_CACHE") && strcmp(getenv("LUABPF_NO_CACHE"), "0") != 0)
		return false;
	if (env && *env)
		snprintf(out, size, "%s", env);
	else if (xdg && *xdg == '/')
		snprintf(out, size, "%s/luabpf", xdg);
	else if (home && *home == '/')
		snprintf(out, size, "%s/.cache/luabpf", home);
	else
		return false;
	if (out[0] != '/') {
		if (warn)
			fprintf(stderr, "luabpf: warning: ignoring the cache directory %s: it must be an absolute path\n",
				out);
		return false;
	}
	make_dirs(out);
	if (!path_is_safe(out, why, sizeof(why))) {
		if (warn)
			fprintf(stderr,
			"luabpf: warning: not using the object cache at %s: %s; compiling in memory instead "
			"(fix the ownership or mode, or set LUABPF_CACHE_DIR)\n",
			out, why);
		return false;
	}
	return true;
}

static void entry_path(char *out, size_t size, const char *dir, const char *key)
{
	snprintf(out, size, "%s/%s.o", dir, key);
}

bool lbpf_cache__file(const char *key, const char *ext, char *out, size_t size)
{
	char dir[PATH_MAX];
	if (!cache_dir(dir, sizeof(dir), false))
		return false;
	snprintf(out, size, "%s/%s%s", dir, key, ext);
	return true;
}

bool lbpf_cache__trusted(const char *path)
{
	struct stat st;
	return lstat(path, &st) == 0 && S_ISREG(st.st_mode) && safe_owner(&st) && !(st.st_mode & (S_IWGRP | S_IWOTH));
}

/* ---- reading and writing entries ---- */

static void payload_hash(const void *data, size_t size, char out[33])
{
	struct lbpf_hash h;
	lbpf_hash__init(&h);
	lbpf_hash__add(&h, data, size);
	lbpf_hash__hex(&h, out);
}

int lbpf_cache__read_entry(FILE *f, struct lbpf_elf *out)
{
	char header[128], want[33], sum[33] = "";
	unsigned long long size = 0;

	memset(out, 0, sizeof(*out));
	if (fgets(header, sizeof(header), f) && strcmp(header, MAGIC) == 0 &&
	    fscanf(f, "%llu %32s\n", &size, sum) == 2 && size > 0 && size <= MAX_ENTRY &&
	    (out->data = malloc(size)) && fread(out->data, 1, size, f) == size && fgetc(f) == EOF) {
		payload_hash(out->data, size, want);
		if (strcmp(want, sum) == 0) {
			out->size = size;
			return 0;
		}
	}
	lbpf_elf__free(out);
	return -EBADMSG;
}

int lbpf_cache__get(const char *key, struct lbpf_elf *out)
{
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct stat st;

	memset(out, 0, sizeof(*out));
	if (!cache_dir(dir, sizeof(dir), true))
		return -ENOENT;
	entry_path(path, sizeof(path), dir, key);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -ENOENT;
	FILE *f = fdopen(fd, "rb");
	if (!f || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || !safe_owner(&st) ||
	    (st.st_mode & (S_IWGRP | S_IWOTH)) || st.st_size > MAX_ENTRY) {
		if (f)
			fclose(f);
		else
			close(fd);
		if (lbpf_log__debug())
			fprintf(stderr, "luabpf: cache: ignoring %s: not a private regular file\n", path);
		return -EPERM;
	}
	int ret = lbpf_cache__read_entry(f, out);
	fclose(f);
	if (ret) {
		fprintf(stderr, "luabpf: warning: the cache entry %s is corrupt; compiling again\n", path);
		unlink(path);
	}
	return ret;
}

void lbpf_cache__put(const char *key, const struct lbpf_elf *elf)
{
	char dir[PATH_MAX], path[PATH_MAX + 64], tmp[PATH_MAX + 64], sum[33];

	if (!cache_dir(dir, sizeof(dir), false))
		return;
	entry_path(path, sizeof(path), dir, key);
	snprintf(tmp, sizeof(tmp), "%s/.%s.XXXXXX", dir, key);
	int fd = mkstemp(tmp);
	if (fd < 0)
		return;
	payload_hash(elf->data, elf->size, sum);
	FILE *f = fdopen(fd, "wb");
	bool ok = f && fprintf(f, MAGIC "%zu %s\n", elf->size, sum) > 0 &&
		  fwrite(elf->data, 1, elf->size, f) == elf->size;
	ok = f ? fclose(f) == 0 && ok : (close(fd), false);
	/* Written aside and renamed, so a reader never sees half an entry. */
	if (!ok || rename(tmp, path) != 0)
		unlink(tmp);
	else if (lbpf_log__debug())
		fprintf(stderr, "luabpf: cache: stored %s\n", path);
}
