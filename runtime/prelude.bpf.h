/* Included first in every luabpf compile unless opts.prelude = false: the
 * kernel's types from its BTF and libbpf's BPF-side helpers, so scripts need no #include. */
#ifndef __LUABPF_PRELUDE_H
#define __LUABPF_PRELUDE_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>

/* libbpf 1.2 added these; scripts written against it compile with 1.1 too. */
#ifndef BPF_UPROBE
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#endif
#ifndef BPF_URETPROBE
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#endif

/* A ring buffer whose drops (records refused because it was full) b:stats()
 * reports as lost: declare it with LUABPF_RINGBUF(events, 256 * 1024) and write
 * with luabpf_ringbuf_output(events, &rec, sizeof(rec), 0) or
 * luabpf_ringbuf_reserve(events, sizeof(*rec), 0). */
#define LUABPF_RINGBUF(name, bytes)                                                      \
	struct {                                                                          \
		__uint(type, BPF_MAP_TYPE_RINGBUF);                                       \
		__uint(max_entries, bytes);                                               \
	} name SEC(".maps");                                                              \
	__u64 __luabpf_lost_##name
#define luabpf_ringbuf_output(name, data, size, flags)                                   \
	({                                                                                \
		long __ret = bpf_ringbuf_output(&name, data, size, flags);                \
		if (__ret)                                                                \
			__sync_fetch_and_add(&__luabpf_lost_##name, 1);                   \
		__ret;                                                                    \
	})
#define luabpf_ringbuf_reserve(name, size, flags)                                        \
	({                                                                                \
		void *__rec = bpf_ringbuf_reserve(&name, size, flags);                    \
		if (!__rec)                                                               \
			__sync_fetch_and_add(&__luabpf_lost_##name, 1);                   \
		__rec;                                                                    \
	})

#endif
