/* libFuzzer harness: the tracepoint format parser. A format file of any
 * shape either is refused or becomes a record whose fields lie in order
 * inside it, and one line of C that declares exactly one struct: no braces,
 * comments, quotes or directives of the file's own may reach the source. */
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
	struct lbpf_tp_record r;
	int ret = lbpf_tracepoint__parse(f, "fuzz", &r, &err);
	fclose(f);
	if (ret) {
		if (!err.msg[0])
			abort();
		return 0;
	}
	unsigned end_of_last = 0;
	for (size_t i = 0; i < r.nfields; i++) {
		const struct lbpf_tp_field *fld = &r.fields[i];
		if (fld->offset < end_of_last || fld->size == 0 || fld->offset + fld->size > r.size) {
			fprintf(stderr, "field %s out of place\n", fld->name);
			abort();
		}
		end_of_last = fld->offset + fld->size;
	}
	char *text = lbpf_tracepoint__c("cat", "ev", &r);
	lbpf_tp_record__free(&r);
	if (!text)
		return 0;
	static const char head[] = "struct tracepoint__cat__ev {", tail[] = " } " LBPF_TRACEPOINT_ATTRS ";";
	size_t len = strlen(text);
	const char *end = len >= sizeof(tail) ? text + len - (sizeof(tail) - 1) : NULL;
	if (strncmp(text, head, sizeof(head) - 1) != 0 || !end || strcmp(end, tail) != 0 ||
	    strchr(text + 1 + strcspn(text, "{"), '{') || strchr(text, '}') != end + 1 ||
	    strpbrk(text, "\n\"#/\\")) {
		fprintf(stderr, "not one struct: %s\n", text);
		abort();
	}
	free(text);
	return 0;
}
