/* Map access by file descriptor, so a map of an object and a map opened by
 * pin or id work alike: elements, batches, info, pinning and opening. */
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

static int ret_errno(int ret)
{
	return ret < 0 ? -errno : 0;
}

int lbpf_map__info(int fd, struct lbpf_map_info *out)
{
	struct bpf_map_info info = {0};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len) != 0)
		return -errno;
	*out = (struct lbpf_map_info){
		.type = info.type,
		.key_size = info.key_size,
		.value_size = info.value_size,
		.max_entries = info.max_entries,
		.flags = info.map_flags,
		.id = info.id,
		.btf_id = info.btf_id,
		.btf_key_type_id = info.btf_key_type_id,
		.btf_value_type_id = info.btf_value_type_id,
	};
	snprintf(out->name, sizeof(out->name), "%s", info.name);
	return 0;
}

int lbpf_map__lookup(int fd, const void *key, void *value, uint64_t flags)
{
	return ret_errno(bpf_map_lookup_elem_flags(fd, key, value, flags));
}

int lbpf_map__update(int fd, const void *key, const void *value, uint64_t flags)
{
	return ret_errno(bpf_map_update_elem(fd, key, value, flags));
}

int lbpf_map__delete(int fd, const void *key)
{
	return ret_errno(bpf_map_delete_elem(fd, key));
}

int lbpf_map__lookup_and_delete(int fd, const void *key, void *value)
{
	return ret_errno(bpf_map_lookup_and_delete_elem(fd, key, value));
}

int lbpf_map__next_key(int fd, const void *key, void *next)
{
	return ret_errno(bpf_map_get_next_key(fd, key, next));
}

int lbpf_map__lookup_batch(int fd, void *in_token, void *out_token, void *keys, void *values, uint32_t *count,
			   bool and_delete)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 n = *count;
	int ret = and_delete ? bpf_map_lookup_and_delete_batch(fd, in_token, out_token, keys, values, &n, &opts)
			     : bpf_map_lookup_batch(fd, in_token, out_token, keys, values, &n, &opts);
	ret = ret_errno(ret);
	/* On -ENOENT (the end) n still counts the last entries returned. */
	*count = (ret == 0 || ret == -ENOENT) ? n : 0;
	return ret;
}

bool lbpf_map__batch_supported(uint32_t type)
{
	switch (type) {
	case BPF_MAP_TYPE_HASH:
	case BPF_MAP_TYPE_PERCPU_HASH:
	case BPF_MAP_TYPE_LRU_HASH:
	case BPF_MAP_TYPE_LRU_PERCPU_HASH:
	case BPF_MAP_TYPE_ARRAY:
	case BPF_MAP_TYPE_PERCPU_ARRAY:
		return true;
	default:
		return false;
	}
}

bool lbpf_map__is_percpu(uint32_t type)
{
	return type == BPF_MAP_TYPE_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_ARRAY ||
	       type == BPF_MAP_TYPE_LRU_PERCPU_HASH || type == BPF_MAP_TYPE_PERCPU_CGROUP_STORAGE;
}

const char *lbpf_map__type_name(uint32_t type)
{
	const char *name = libbpf_bpf_map_type_str(type);
	return name ? name : "unknown";
}

/* What a BPF fd is, from its anonymous inode's name: "map", "prog", "link"... */
int lbpf_map__open_id(uint32_t id, struct lbpf_err *err)
{
	int fd = bpf_map_get_fd_by_id(id);
	if (fd < 0)
		return lbpf_err__set(err, errno, "cannot open map id %u: %s", id,
				     errno == ENOENT ? "no map has that id" : lbpf_strerror(errno));
	return fd;
}

int lbpf_map__pin(int fd, const char *path, struct lbpf_err *err)
{
	int ret = lbpf_bpffs__ensure(path, err);
	if (ret)
		return ret;
	if (bpf_obj_pin(fd, path) != 0)
		return lbpf_err__set(err, errno, "cannot pin map at %s: %s%s", path, lbpf_strerror(errno),
				     errno == EEXIST ? " (something is pinned there already; unpin it first)" : "");
	return 0;
}
