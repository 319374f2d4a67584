/* BCC's USDT argument readers on libbpf's USDT support; a compile includes
 * this only when the script speaks of USDT, since usdt.bpf.h defines maps. */
#ifndef __LUABPF_USDT_H
#define __LUABPF_USDT_H
#include <bpf/usdt.bpf.h>

/* bpf_usdt_readarg(n, ctx, &dst): argument n (from 1) into dst; 0 or -errno. */
#define bpf_usdt_readarg(n, ctx, dst)                                                      \
	({                                                                                \
		long __arg = 0;                                                           \
		int __ret = bpf_usdt_arg((struct pt_regs *)(ctx), (n) - 1, &__arg);       \
		*(dst) = (typeof(*(dst)))__arg;                                           \
		__ret;                                                                    \
	})
/* bpf_usdt_readarg_p(n, ctx, buf, len): the user memory argument n points to. */
#define bpf_usdt_readarg_p(n, ctx, buf, len)                                               \
	({                                                                                \
		long __arg = 0;                                                           \
		int __ret = bpf_usdt_arg((struct pt_regs *)(ctx), (n) - 1, &__arg);       \
		__ret ? __ret : bpf_probe_read_user((buf), (len), (const void *)__arg);   \
	})
#endif
