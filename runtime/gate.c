/* A program's gate: a small program of the same type that
 * tail-calls it through a one-slot program array. Links hold the gate; closing
 * the gate (emptying the slot) stops the program at once, so the grace periods
 * the kernel waits out when the links go can be waited out in the background. */
#include <bpf/bpf.h>
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "object_internal.h"

int lbpf_gate__open(int prog_fd, enum bpf_prog_type type, const char *name, int *gate_map)
{
	int map = bpf_map_create(BPF_MAP_TYPE_PROG_ARRAY, "lbpf_gate", 4, 4, 1, NULL);
	if (map < 0)
		return -errno;
	/* The slot index is 0, made of a helper's upper half so that the
	 * verifier cannot know it: a constant index becomes a direct jump, which
	 * the kernel repatches, slowly (18 ms), when the slot empties. The
	 * context (r1) passes through; r0 = 0 when the slot is empty. */
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_6, .src_reg = BPF_REG_1},
		{.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_get_prandom_u32},
		{.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_3, .src_reg = BPF_REG_0},
		{.code = BPF_ALU64 | BPF_RSH | BPF_K, .dst_reg = BPF_REG_3, .imm = 32},
		{.code = BPF_ALU64 | BPF_MOV | BPF_X, .dst_reg = BPF_REG_1, .src_reg = BPF_REG_6},
		{.code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_2, .src_reg = BPF_PSEUDO_MAP_FD, .imm = map},
		{0},
		{.code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_tail_call},
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = 0},
		{.code = BPF_JMP | BPF_EXIT},
	};
	char short_name[BPF_OBJ_NAME_LEN];
	/* The kernel takes letters, digits, '_' and '.' in 15 characters. */
	size_t n = 0;
	for (; name[n] && n < sizeof(short_name) - 1; n++)
		short_name[n] = (name[n] == '_' || name[n] == '.' || (name[n] >= '0' && name[n] <= '9') ||
				 ((name[n] | 0x20) >= 'a' && (name[n] | 0x20) <= 'z'))
					? name[n]
					: '_';
	short_name[n] = 0;
	int gate = bpf_prog_load(type, short_name, "GPL", insns, sizeof(insns) / sizeof(insns[0]), NULL);
	int zero = 0, ret = gate < 0 ? -errno : 0;
	if (!ret && bpf_map_update_elem(map, &zero, &prog_fd, BPF_ANY) != 0)
		ret = -errno; /* a program that cannot be tail-called is attached itself */
	if (ret) {
		if (gate >= 0)
			close(gate);
		close(map);
		return ret;
	}
	*gate_map = map;
	return gate;
}

void lbpf_gate__close(int gate_map)
{
	int zero = 0;
	bpf_map_delete_elem(gate_map, &zero);
	close(gate_map);
}
