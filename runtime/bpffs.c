/* The BPF file system, where pinned maps, programs and links live: found
 * under the pin path, or mounted at /sys/fs/bpf when nothing is mounted
 * there yet; opening a pin of any kind; and unpinning, which removes
 * nothing that is not on it. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <sys/mount.h>
#include <sys/vfs.h>

#include <bpf/bpf.h>

#include "luabpf.h"

#define BPF_FS_MAGIC 0xcafe4a11
#define BPFFS_PATH "/sys/fs/bpf"

static bool is_bpffs(const char *path)
{
	struct statfs st;
	return statfs(path, &st) == 0 && st.f_type == BPF_FS_MAGIC;
}

int lbpf_bpffs__ensure(const char *pin_path, struct lbpf_err *err)
{
	char dir[PATH_MAX];

	snprintf(dir, sizeof(dir), "%s", pin_path);
	char *slash = strrchr(dir, '/');
	if (!slash || slash == dir)
		return lbpf_err__set(err, EINVAL, "pin path %s must be a file under a BPF file system, "
						  "e.g. " BPFFS_PATH "/my_map", pin_path);
	*slash = '\0';
	if (is_bpffs(dir))
		return 0;
	if (strncmp(pin_path, BPFFS_PATH "/", sizeof(BPFFS_PATH)) == 0 && !is_bpffs(BPFFS_PATH)) {
		if (mount("bpf", BPFFS_PATH, "bpf", 0, NULL) != 0)
			return lbpf_err__set(err, errno, "cannot mount the BPF file system at " BPFFS_PATH ": %s",
					     lbpf_strerror(errno));
		if (is_bpffs(dir))
			return 0;
	}
	struct stat st;
	if (stat(dir, &st) != 0)
		return lbpf_err__set(err, errno, "cannot pin at %s: directory %s: %s (create it first, e.g. "
						 "mkdir -p %s)", pin_path, dir, lbpf_strerror(errno), dir);
	return lbpf_err__set(err, EINVAL, "cannot pin at %s: %s is not on a BPF file system (pin under " BPFFS_PATH
					  ")", pin_path, dir);
}

int lbpf_bpffs__unpin(const char *path, struct lbpf_err *err)
{
	struct statfs st;
	if (statfs(path, &st) != 0)
		return lbpf_err__set(err, errno, "cannot unpin %s: %s", path, lbpf_strerror(errno));
	if (st.f_type != BPF_FS_MAGIC)
		return lbpf_err__set(err, EPERM, "refusing to unpin %s: it is not on a BPF file system, so it is "
						 "not a pin", path);
	if (unlink(path) != 0)
		return lbpf_err__set(err, errno, "cannot unpin %s: %s", path, lbpf_strerror(errno));
	return 0;
}

const char *lbpf_bpffs__kind(int fd, char *buf, size_t size)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(path, buf, size - 1);
	buf[n > 0 ? n : 0] = '\0';
	return strncmp(buf, "anon_inode:bpf-", 15) == 0 ? buf + 15 : buf;
}

int lbpf_bpffs__open(const char *path, char *kind, size_t size, struct lbpf_err *err)
{
	char buf[64];
	int fd = bpf_obj_get(path);
	if (fd < 0)
		return lbpf_err__set(err, errno, "cannot open the pin %s: %s", path, lbpf_strerror(errno));
	snprintf(kind, size, "%s", lbpf_bpffs__kind(fd, buf, sizeof(buf)));
	return fd;
}
