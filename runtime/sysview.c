/* Every map and program loaded on the machine, by id, as bpftool's
 * "map show" and "prog show" list them. */
#include <bpf/bpf.h>
#include <bpf/btf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "luabpf.h"

int lbpf_sys__next_map(uint32_t *id, struct lbpf_map_info *info)
{
	for (;;) {
		if (bpf_map_get_next_id(*id, id) != 0)
			return -errno;
		int fd = bpf_map_get_fd_by_id(*id);
		if (fd < 0)
			continue; /* freed meanwhile */
		int ret = lbpf_map__info(fd, info);
		close(fd);
		if (ret == 0)
			return 0;
	}
}

/* The kernel keeps 15 characters of a program's name; its BTF has all of
 * them, through the program's first function record. */
static void full_name(int fd, const struct bpf_prog_info *info, char *out, size_t size)
{
	struct bpf_func_info func = {0};
	struct bpf_prog_info more = {.nr_func_info = 1, .func_info_rec_size = sizeof(func),
				     .func_info = (__u64)(unsigned long)&func};
	__u32 len = sizeof(more);

	if (!info->btf_id || !info->nr_func_info || bpf_obj_get_info_by_fd(fd, &more, &len) != 0)
		return;
	struct btf *btf = btf__load_from_kernel_by_id(info->btf_id);
	if (!btf)
		return;
	const struct btf_type *t = btf__type_by_id(btf, func.type_id);
	const char *name = t ? btf__name_by_offset(btf, t->name_off) : NULL;
	if (name && strncmp(name, info->name, strlen(info->name)) == 0)
		snprintf(out, size, "%s", name);
	btf__free(btf);
}

int lbpf_sys__next_prog(uint32_t *id, struct lbpf_prog_info *out)
{
	for (;;) {
		if (bpf_prog_get_next_id(*id, id) != 0)
			return -errno;
		int fd = bpf_prog_get_fd_by_id(*id);
		if (fd < 0)
			continue;
		struct bpf_prog_info info = {0};
		__u32 len = sizeof(info);
		int ret = bpf_obj_get_info_by_fd(fd, &info, &len);
		if (ret != 0) {
			close(fd);
			continue;
		}
		*out = (struct lbpf_prog_info){
			.id = info.id,
			.type = info.type,
			.run_cnt = info.run_cnt,
			.run_time_ns = info.run_time_ns,
			.recursion_misses = info.recursion_misses,
			.xlated_size = info.xlated_prog_len,
			.jited_size = info.jited_prog_len,
			.nr_map_ids = info.nr_map_ids,
			.load_time_ns = info.load_time,
			.uid = info.created_by_uid,
		};
		snprintf(out->name, sizeof(out->name), "%s", info.name);
		if (strlen(info.name) == sizeof(info.name) - 1)
			full_name(fd, &info, out->name, sizeof(out->name));
		close(fd);
		for (int i = 0; i < 8; i++)
			snprintf(out->tag + 2 * i, 3, "%02x", info.tag[i]);
		return 0;
	}
}
