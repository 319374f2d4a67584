/* libFuzzer harness: the pre-check ELF bytes from outside go through before
 * libbpf opens them in this process. A damaged object must come back as an
 * error message, never as a crash here. */
#include <string.h>

#include "luabpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbpf_err err;
	memset(&err, 0, sizeof(err));
	if (lbpf_elf__check(data, size, &err) && !err.msg[0])
		__builtin_trap();
	return 0;
}
