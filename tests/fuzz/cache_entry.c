/* libFuzzer harness: the object cache's entry reader. Whatever the file
 * holds, the reader either refuses it or returns exactly the bytes whose
 * checksum the header states. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbpf_elf elf;
	FILE *f = fmemopen((void *)data, size, "rb");
	if (!f)
		return 0;
	int ret = lbpf_cache__read_entry(f, &elf);
	fclose(f);
	if (ret == 0) {
		/* Accepted bytes are the tail of the input, after the header. */
		if (!elf.size || elf.size > size || memcmp(elf.data, data + size - elf.size, elf.size) != 0)
			abort();
		lbpf_elf__free(&elf);
	} else if (ret != -EBADMSG || elf.data) {
		abort();
	}
	return 0;
}
