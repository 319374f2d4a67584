/* Filling struct lbpf_err: the one way the runtime reports what went wrong. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

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
