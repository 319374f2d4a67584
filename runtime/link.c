/* Links owned by their object: each attach returns a small id, so a Lua
 * handle can outlive the object without pointing at freed memory. */
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "object_internal.h"

int lbpf_link__add_group(struct lbpf_object *obj, struct bpf_link **links, int n)
{
	struct bpf_link **own = malloc(n * sizeof(*own));

	if (own && obj->nlinks == obj->links_cap) {
		int cap = obj->links_cap ? obj->links_cap * 2 : 8;
		struct lbpf_link_slot *grown = realloc(obj->links, cap * sizeof(*grown));
		if (grown) {
			obj->links = grown;
			obj->links_cap = cap;
		} else {
			free(own);
			own = NULL;
		}
	}
	if (!own) {
		for (int i = 0; i < n; i++)
			bpf_link__destroy(links[i]);
		return -ENOMEM;
	}
	memcpy(own, links, n * sizeof(*own));
	obj->links[obj->nlinks] = (struct lbpf_link_slot){own, n};
	return obj->nlinks++;
}

int lbpf_link__add(struct lbpf_object *obj, struct bpf_link *link)
{
	return lbpf_link__add_group(obj, &link, 1);
}

bool lbpf_link__attached(const struct lbpf_object *obj, int id)
{
	return id >= 0 && id < obj->nlinks && obj->links[id].links;
}

bool lbpf_link__detach(struct lbpf_object *obj, int id)
{
	if (!lbpf_link__attached(obj, id))
		return false;
	for (int i = 0; i < obj->links[id].n; i++)
		bpf_link__destroy(obj->links[id].links[i]);
	free(obj->links[id].links);
	obj->links[id] = (struct lbpf_link_slot){NULL, 0};
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
