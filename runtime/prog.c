/* Programs outside of attaching: running one in the kernel on test input
 * (BPF_PROG_TEST_RUN) and pinning one so another process can open it. */
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>

#include "luabpf.h"

int lbpf_prog__test_run(int fd, const void *data, size_t size, uint32_t repeat, uint32_t *retval,
			uint32_t *duration_ns, struct lbpf_err *err)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = data, .data_size_in = (__u32)size, .repeat = repeat);

	if (bpf_prog_test_run_opts(fd, &opts) != 0) {
		int e = errno;
		const char *caps = lbpf_features__missing_caps();
		if (caps && (e == EPERM || e == EACCES))
			return lbpf_err__set(err, e, "test_run: permission denied: %s", caps);
		return lbpf_err__set(err, e, "test_run failed: %s%s", lbpf_strerror(e),
				     e == ENOTSUP || e == EINVAL
					     ? " (the kernel can test-run XDP, TC, socket filter, raw tracepoint and "
					       "syscall programs, some of them only without repeat)"
					     : "");
	}
	*retval = opts.retval;
	*duration_ns = opts.duration;
	return 0;
}

int lbpf_prog__pin(int fd, const char *path, struct lbpf_err *err)
{
	int ret = lbpf_bpffs__ensure(path, err);
	if (ret)
		return ret;
	if (bpf_obj_pin(fd, path) != 0)
		return lbpf_err__set(err, errno, "cannot pin the program at %s: %s", path, lbpf_strerror(errno));
	return 0;
}
