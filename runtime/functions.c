/* BCC's program model: a plain function of a BCC-dialect script (the driver
 * puts it in LBPF_FUNCTION_SECTION) has no type until an attach call names
 * it; it is then loaded with that call's type, from the same ELF, in a
 * bpf_object of its own that shares every map of the object. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "object_internal.h"

struct lbpf_function {
	struct bpf_object *obj;
	struct bpf_program *prog; /* the one program obj loads */
	enum bpf_prog_type type;
	enum bpf_attach_type expected;
};

bool lbpf_program__is_function(const struct bpf_program *p)
{
	return strcmp(bpf_program__section_name(p), LBPF_FUNCTION_SECTION) == 0;
}

int lbpf_functions__open(struct lbpf_object *o, const void *elf, size_t size, const char *name, struct lbpf_err *err)
{
	struct bpf_program *p;
	bool any = false;

	/* Not loaded with the object: their type is not known yet. */
	bpf_object__for_each_program(p, o->obj) {
		if (lbpf_program__is_function(p)) {
			bpf_program__set_autoload(p, false);
			any = true;
		}
	}
	if (!any)
		return 0;
	o->elf = malloc(size);
	o->name = strdup(name ? name : "");
	if (!o->elf || !o->name)
		return lbpf_err__set(err, ENOMEM, "out of memory opening a BPF object");
	memcpy(o->elf, elf, size);
	o->elf_size = size;
	return 0;
}

/* Every map of the object, .bss and .rodata included, by name; not libbpf's
 * USDT maps, whose spec ids each bpf_object numbers from 0 on its own. */
static int share_maps(const struct lbpf_object *o, struct bpf_object *obj, struct lbpf_err *err)
{
	struct bpf_map *m;

	bpf_object__for_each_map(m, obj) {
		if (!strncmp(bpf_map__name(m), "__bpf_usdt", 10))
			continue;
		struct bpf_map *mine = bpf_object__find_map_by_name(o->obj, bpf_map__name(m));
		int ret = mine ? bpf_map__reuse_fd(m, bpf_map__fd(mine)) : 0;
		if (ret)
			return lbpf_err__set(err, ret, "cannot share map '%s' with function programs: %s",
					     bpf_map__name(m), lbpf_strerror(-ret));
	}
	return 0;
}

static struct bpf_program *load(struct lbpf_object *o, const char *name, enum bpf_prog_type type,
				enum bpf_attach_type expected, struct lbpf_err *err)
{
	char *log = malloc(LBPF_LOG_SIZE);
	if (!log) {
		lbpf_err__set(err, ENOMEM, "out of memory loading '%s'", name);
		return NULL;
	}
	log[0] = '\0';
	LIBBPF_OPTS(bpf_object_open_opts, opts, .object_name = o->name, .kernel_log_buf = log,
		    .kernel_log_size = LBPF_LOG_SIZE, .btf_custom_path = lbpf_object__btf_path());
	lbpf_log__reset();
	struct bpf_object *obj = bpf_object__open_mem(o->elf, o->elf_size, &opts);
	struct bpf_program *p, *prog = NULL;
	int core_fd = -1;
	int ret = obj ? 0 : -errno;
	if (ret) {
		lbpf_err__set(err, ret, "cannot open the object again for '%s': %s", name, lbpf_strerror(-ret));
		goto out;
	}
	if ((ret = lbpf_object__reopen_portable(&obj, o->elf, o->elf_size, &opts, &core_fd, err)))
		goto out;
	bpf_object__for_each_program(p, obj) {
		bool mine = strcmp(bpf_program__name(p), name) == 0;
		bpf_program__set_autoload(p, mine);
		if (mine)
			prog = p;
	}
	if (!prog || (ret = bpf_program__set_type(prog, type)) ||
	    (ret = bpf_program__set_expected_attach_type(prog, expected)) || (ret = share_maps(o, obj, err)))
		goto out;
	lbpf_log__reset();
	ret = bpf_object__load(obj);
	if (ret)
		lbpf_object__explain_load(obj, log, ret, err);
out:
	if (core_fd >= 0)
		close(core_fd);
	free(log);
	if (ret || !prog) {
		if (!ret && !prog)
			lbpf_err__set(err, ENOENT, "no program named '%s'", name);
		bpf_object__close(obj);
		return NULL;
	}
	struct lbpf_function *f = realloc(o->functions, (o->nfunctions + 1) * sizeof(*f));
	if (!f) {
		bpf_object__close(obj);
		lbpf_err__set(err, ENOMEM, "out of memory loading '%s'", name);
		return NULL;
	}
	o->functions = f;
	o->functions[o->nfunctions++] = (struct lbpf_function){obj, prog, type, expected};
	return prog;
}

struct bpf_program *lbpf_object__typed_prog(struct lbpf_object *o, struct bpf_program *prog,
					    enum bpf_prog_type type, enum bpf_attach_type expected,
					    struct lbpf_err *err)
{
	if (!lbpf_program__is_function(prog) || !o->elf)
		return prog;
	const char *name = bpf_program__name(prog);
	for (int i = 0; i < o->nfunctions; i++)
		if (o->functions[i].type == type && o->functions[i].expected == expected &&
		    strcmp(bpf_program__name(o->functions[i].prog), name) == 0)
			return o->functions[i].prog;
	return load(o, name, type, expected, err);
}

void lbpf_functions__close(struct lbpf_object *o)
{
	for (int i = 0; i < o->nfunctions; i++)
		bpf_object__close(o->functions[i].obj);
	free(o->functions);
	free(o->elf);
	free(o->name);
}
