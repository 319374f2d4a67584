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

#endif
