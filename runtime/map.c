/* Map element access by raw bytes, with sizes checked against the map's own
 * before anything reaches the kernel. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>

#include "luabpf.h"

int lbpf_map__lookup(const struct bpf_map *map, const void *key, size_t key_size, void *value,
		     size_t value_size)
{
	int ret = bpf_map__lookup_elem(map, key, key_size, value, value_size, 0);
	return ret < 0 ? -errno : 0;
}

int lbpf_map__update(const struct bpf_map *map, const void *key, size_t key_size, const void *value,
		     size_t value_size, uint64_t flags)
{
	int ret = bpf_map__update_elem(map, key, key_size, value, value_size, flags);
	return ret < 0 ? -errno : 0;
}

int lbpf_map__delete(const struct bpf_map *map, const void *key, size_t key_size)
{
	int ret = bpf_map__delete_elem(map, key, key_size, 0);
	return ret < 0 ? -errno : 0;
}

int lbpf_map__next_key(const struct bpf_map *map, const void *key, void *next, size_t key_size)
{
	int ret = bpf_map__get_next_key(map, key, next, key_size);
	return ret < 0 ? -errno : 0;
}
