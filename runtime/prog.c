/* Programs outside of attaching: running one in the kernel on test input
 * (BPF_PROG_TEST_RUN) and pinning one so another process can open it. */
#include <bpf/bpf.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>

#include "luabpf.h"

int lbpf_prog__test_run(int fd, enum bpf_prog_type type, struct lbpf_test_run *t, struct lbpf_err *err)
{
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = t->data, .data_size_in = (__u32)t->data_size,
		    .ctx_in = t->ctx, .ctx_size_in = (__u32)t->ctx_size, .data_out = t->data_out,
		    .data_size_out = (__u32)t->data_out_size, .ctx_out = t->ctx_out,
		    .ctx_size_out = (__u32)t->ctx_out_size, .repeat = t->repeat, .flags = t->flags, .cpu = t->cpu);

	/* Syscall programs change their context in place, where the kernel
	 * writes it back: into the caller's output buffer, never its input.
	 * Tracing kinds only read theirs. */
	if (t->ctx && t->ctx_out && type == BPF_PROG_TYPE_SYSCALL) {
		memcpy(t->ctx_out, t->ctx, t->ctx_size < t->ctx_out_size ? t->ctx_size : t->ctx_out_size);
		opts.ctx_in = t->ctx_out;
		opts.ctx_out = NULL;
		opts.ctx_size_out = 0;
	} else if (type == BPF_PROG_TYPE_RAW_TRACEPOINT || type == BPF_PROG_TYPE_RAW_TRACEPOINT_WRITABLE ||
		   type == BPF_PROG_TYPE_TRACING) {
		opts.ctx_out = NULL;
		opts.ctx_size_out = 0;
	}
	if (t->data_size > UINT32_MAX || t->ctx_size > UINT32_MAX || t->data_out_size > UINT32_MAX ||
	    t->ctx_out_size > UINT32_MAX)
		return lbpf_err__set(err, E2BIG, "test_run: data and ctx are limited to 4 GB");
	if (bpf_prog_test_run_opts(fd, &opts) != 0) {
		int e = errno;
		const char *caps = lbpf_features__missing_caps();
		if (caps && (e == EPERM || e == EACCES))
			return lbpf_err__set(err, e, "test_run: permission denied: %s", caps);
		return lbpf_err__set(err, e, "test_run failed: %s%s", lbpf_strerror(e),
				     e == ENOTSUP || e == EINVAL
					     ? " (the kernel can test-run XDP, TC, socket filter, raw tracepoint and "
					       "syscall programs; raw tracepoints take ctx and no data, some kinds "
					       "no repeat)"
					     : "");
	}
	t->retval = opts.retval;
	t->duration_ns = opts.duration;
	t->data_out_size = t->data_out ? opts.data_size_out : 0;
	t->ctx_out_size = !t->ctx_out ? 0 : opts.ctx_in == t->ctx_out ? t->ctx_size : opts.ctx_size_out;
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
