/* Reads a whole file only if a less privileged user could not have written
 * it: a regular file owned by root or by us, not writable by group or
 * others, checked on the descriptor that is read (no race with a rename). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "luabpf.h"

int lbpf_file__read_trusted(const char *path, size_t max, char **data, size_t *size, struct lbpf_err *err)
{
	struct stat st;
	/* /proc/self/fd/N is a link to a descriptor this process holds (a memfd
	 * of BTF from a bundle); what it opens is checked as any file is. */
	bool own_fd = strncmp(path, "/proc/self/fd/", 14) == 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC | (own_fd ? 0 : O_NOFOLLOW));

	*data = NULL;
	*size = 0;
	if (fd < 0)
		return lbpf_err__set(err, errno, "cannot open %s: %s", path, lbpf_strerror(errno));
	int ret = 0;
	if (fstat(fd, &st) != 0)
		ret = lbpf_err__set(err, errno, "cannot stat %s: %s", path, lbpf_strerror(errno));
	else if (!S_ISREG(st.st_mode))
		ret = lbpf_err__set(err, EINVAL, "%s is not a regular file", path);
	else if (st.st_uid != 0 && st.st_uid != geteuid())
		ret = lbpf_err__set(err, EPERM, "%s is owned by another user (uid %u); copy it and own the copy",
				    path, (unsigned)st.st_uid);
	else if (st.st_mode & (S_IWGRP | S_IWOTH))
		ret = lbpf_err__set(err, EPERM, "%s is writable by group or others (chmod go-w %s)", path, path);
	else if ((size_t)st.st_size > max)
		ret = lbpf_err__set(err, EFBIG, "%s is %lld bytes, more than %zu", path, (long long)st.st_size, max);
	else if (!(*data = malloc(st.st_size ? st.st_size : 1)))
		ret = lbpf_err__set(err, ENOMEM, "out of memory reading %s", path);
	while (!ret && *size < (size_t)st.st_size) {
		ssize_t n = read(fd, *data + *size, st.st_size - *size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			ret = lbpf_err__set(err, n < 0 ? errno : EIO, "cannot read %s: %s", path,
					    n < 0 ? lbpf_strerror(errno) : "it shrank while read");
		else
			*size += n;
	}
	close(fd);
	if (ret) {
		free(*data);
		*data = NULL;
		*size = 0;
	}
	return ret;
}
