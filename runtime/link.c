/* Links owned by their object: each attach returns a small id, so a Lua
 * handle can outlive the object without pointing at freed memory. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>

#include "object_internal.h"

int lbpf_link__add(struct lbpf_object *obj, struct bpf_link *link)
{
	if (obj->nlinks == obj->links_cap) {
		int cap = obj->links_cap ? obj->links_cap * 2 : 8;
		struct bpf_link **grown = realloc(obj->links, cap * sizeof(*grown));
		if (!grown) {
			bpf_link__destroy(link);
			return -ENOMEM;
		}
		obj->links = grown;
		obj->links_cap = cap;
	}
	obj->links[obj->nlinks] = link;
	return obj->nlinks++;
}

bool lbpf_link__attached(const struct lbpf_object *obj, int id)
{
	return id >= 0 && id < obj->nlinks && obj->links[id];
}

bool lbpf_link__detach(struct lbpf_object *obj, int id)
{
	if (!lbpf_link__attached(obj, id))
		return false;
	bpf_link__destroy(obj->links[id]);
	obj->links[id] = NULL;
	return true;
}

void lbpf_link__detach_all(struct lbpf_object *obj)
{
	for (int i = 0; i < obj->nlinks; i++)
		lbpf_link__detach(obj, i);
	free(obj->links);
	obj->links = NULL;
	obj->nlinks = obj->links_cap = 0;
}
