/* libFuzzer harness: the tracepoint format parser. A format file of any
 * shape either is refused or becomes one line of C that declares exactly one
 * struct: no braces, comments, quotes or directives of the file's own may
 * reach the compiled source. */
#include <stdlib.h>
#include <string.h>

#include "luabpf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct lbpf_err err;
	memset(&err, 0, sizeof(err));
	FILE *f = fmemopen((void *)data, size, "r");
	if (!f)
		return 0;
	char *text = lbpf_tracepoint__parse(f, "cat", "ev", "fuzz", &err);
	fclose(f);
	if (!text) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	static const char head[] = "struct tracepoint__cat__ev {";
	size_t len = strlen(text);
	if (strncmp(text, head, sizeof(head) - 1) != 0 || len < 3 || strcmp(text + len - 3, " };") != 0 ||
	    strchr(text + 1 + strcspn(text, "{"), '{') || strchr(text, '}') != text + len - 2 ||
	    strpbrk(text, "\n\"#/\\")) {
		fprintf(stderr, "not one struct: %s\n", text);
		abort();
	}
	free(text);
	return 0;
}
