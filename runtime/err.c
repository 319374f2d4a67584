/* Filling struct lbpf_err: the one way the runtime reports what went wrong. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/libbpf.h>

#include "luabpf.h"

int lbpf_err__set(struct lbpf_err *err, int code, const char *fmt, ...)
{
	va_list ap;

	err->code = code < 0 ? code : -code;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return err->code;
}

void lbpf_err__free(struct lbpf_err *err)
{
	free(err->log);
	err->log = NULL;
}

/* The kernel's own error numbers (512 and up) never reach user space in
 * errno's table, yet BPF calls return them: ENOTSUPP above all; libbpf has
 * its own (4000 and up) for damaged objects. */
const char *lbpf_strerror(int e)
{
	if (e < 0)
		e = -e;
	switch (e) {
	case 524: return "not supported by this kernel for this kind of program or map (ENOTSUPP)";
	case 525: return "buffer or request too small (ETOOSMALL)";
	case 527: return "type not supported by this kernel (EBADTYPE)";
	default:
		if (e >= __LIBBPF_ERRNO__START && e < __LIBBPF_ERRNO__END) {
			static __thread char text[128];
			libbpf_strerror(e, text, sizeof(text));
			return text;
		}
		return strerror(e);
	}
}
