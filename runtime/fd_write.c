/* Writing a whole buffer to a descriptor, across short writes and signals:
 * the compile child's reply, memfds of stripped objects and of BTF. */
#include <errno.h>
#include <unistd.h>

#include "luabpf.h"

bool lbpf_fd__write_all(int fd, const void *data, size_t size)
{
	for (const char *p = data; size;) {
		ssize_t n = write(fd, p, size);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return false;
		p += n;
		size -= (size_t)n;
	}
	return true;
}
