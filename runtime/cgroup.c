/* Cgroup v2 directories by path: opened (for attaching) or as the 64-bit id
 * bpf_get_current_cgroup_id() returns (for the tools' -c filter). */
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "luabpf.h"

#ifndef CGROUP2_SUPER_MAGIC
#define CGROUP2_SUPER_MAGIC 0x63677270
#endif

int lbpf_cgroup__open(const char *path, const char *who, struct lbpf_err *err)
{
	struct statfs fs;
	int cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	if (cg < 0)
		return lbpf_err__set(err, errno, "%s: cannot open the cgroup %s: %s", who, path, lbpf_strerror(errno));
	if (fstatfs(cg, &fs) != 0 || fs.f_type != CGROUP2_SUPER_MAGIC) {
		close(cg);
		return lbpf_err__set(err, ENOTDIR, "%s: %s is not a cgroup v2 directory (BPF works with cgroup2 only; "
						   "see mount -t cgroup2)",
				     who, path);
	}
	return cg;
}

/* The kernel names a cgroup by its kernfs node, which is the directory's inode. */
int lbpf_cgroup__id(const char *path, uint64_t *id, struct lbpf_err *err)
{
	struct stat st;
	int cg = lbpf_cgroup__open(path, "cgroup_id", err);

	if (cg < 0)
		return cg;
	int ret = fstat(cg, &st) == 0 ? 0 : -errno;
	close(cg);
	if (ret)
		return lbpf_err__set(err, ret, "cgroup_id: cannot stat %s: %s", path, lbpf_strerror(-ret));
	*id = st.st_ino;
	return 0;
}
