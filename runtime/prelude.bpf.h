/* Included first in every luabpf compile unless opts.prelude = false: the
 * kernel's types from its BTF and libbpf's BPF-side helpers, so scripts need no #include. */
#ifndef __LUABPF_PRELUDE_H
#define __LUABPF_PRELUDE_H

#include <vmlinux.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_endian.h>

/* libbpf 1.2 added these; scripts written against it compile with 1.1 too. */
#ifndef BPF_UPROBE
#define BPF_UPROBE(name, args...) BPF_KPROBE(name, ##args)
#endif
#ifndef BPF_URETPROBE
#define BPF_URETPROBE(name, args...) BPF_KRETPROBE(name, ##args)
#endif

/* libbpf 1.2 added a sixth probed-function argument (a register on x86_64,
 * arm64, s390x and riscv); BPF_KPROBE and BCC's kprobe functions take six here too. */
#if defined(__TARGET_ARCH_x86) && !defined(PT_REGS_PARM6)
#define PT_REGS_PARM6(x) (__PT_REGS_CAST(x)->r9)
#endif
#if defined(PT_REGS_PARM6) && !defined(___bpf_kprobe_args6)
#define ___bpf_kprobe_args6(x, args...) ___bpf_kprobe_args5(args), (void *)PT_REGS_PARM6(ctx)
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

/* The number of tasks queued on a CFS run queue (the running one included):
 * cfs_rq.nr_running before Linux 6.13, nr_queued since. A probe read with
 * CO-RE, so it takes any kernel pointer to a struct cfs_rq. */
struct cfs_rq___luabpf_queued { unsigned int nr_queued; } __attribute__((preserve_access_index));
struct cfs_rq___luabpf_running { unsigned int nr_running; } __attribute__((preserve_access_index));
static __always_inline unsigned int luabpf_cfs_rq_queued(const void *cfs_rq)
{
	const struct cfs_rq___luabpf_queued *now = cfs_rq;
	const struct cfs_rq___luabpf_running *before = cfs_rq;
	unsigned int n = 0;

	if (bpf_core_field_exists(now->nr_queued))
		bpf_core_read(&n, sizeof(n), &now->nr_queued);
	else
		bpf_core_read(&n, sizeof(n), &before->nr_running);
	return n;
}

/* ---- The BCC dialect. The driver's rewrite turns counts.increment(k) into
 * __lbpf_increment(counts, k), checks every macro's arguments, and types
 * TRACEPOINT_PROBE's args from tracefs; these macros do the rest. ---- */

#define __LBPF_MAP(_type, _flags, _key, _leaf, _name, _size)                               \
	struct {                                                                          \
		__uint(type, _type);                                                      \
		__uint(map_flags, _flags);                                                \
		__type(key, _key);                                                        \
		__type(value, _leaf);                                                     \
		__uint(max_entries, _size);                                               \
	} _name SEC(".maps")
#define __LBPF_KEYLESS_MAP(_type, _leaf, _name, _size)                                    \
	struct {                                                                          \
		__uint(type, _type);                                                      \
		__type(value, _leaf);                                                     \
		__uint(max_entries, _size);                                               \
	} _name SEC(".maps")

/* BCC's defaults for the arguments left out: u64 keys and leaves, 10240 entries. */
#define __LBPF_SEL3(_1, _2, _3, N, ...) N
#define __LBPF_SEL4(_1, _2, _3, _4, N, ...) N
#define __LBPF_HASH1(t, f, n) __LBPF_MAP(t, f, u64, u64, n, 10240)
#define __LBPF_HASH2(t, f, n, k) __LBPF_MAP(t, f, k, u64, n, 10240)
#define __LBPF_HASH3(t, f, n, k, v) __LBPF_MAP(t, f, k, v, n, 10240)
#define __LBPF_HASH4(t, f, n, k, v, s) __LBPF_MAP(t, f, k, v, n, s)
#define __LBPF_HASHES(t, f, ...)                                                          \
	__LBPF_SEL4(__VA_ARGS__, __LBPF_HASH4, __LBPF_HASH3, __LBPF_HASH2, __LBPF_HASH1)(t, f, __VA_ARGS__)
#define __LBPF_ARRAY1(t, n) __LBPF_MAP(t, 0, u32, u64, n, 10240)
#define __LBPF_ARRAY2(t, n, v) __LBPF_MAP(t, 0, u32, v, n, 10240)
#define __LBPF_ARRAY3(t, n, v, s) __LBPF_MAP(t, 0, u32, v, n, s)
#define __LBPF_ARRAYS(t, ...) __LBPF_SEL3(__VA_ARGS__, __LBPF_ARRAY3, __LBPF_ARRAY2, __LBPF_ARRAY1)(t, __VA_ARGS__)
/* As in BCC: a histogram keyed by int is an array, any other key a hash.
 * Its counts' type names it a histogram, for printing at exit. */
typedef __u64 __lbpf_hist_count;
#define __LBPF_HIST_TYPE(k) (__builtin_types_compatible_p(k, int) ? BPF_MAP_TYPE_ARRAY : BPF_MAP_TYPE_HASH)
#define __LBPF_HIST1(n) __LBPF_MAP(BPF_MAP_TYPE_ARRAY, 0, int, __lbpf_hist_count, n, 64)
#define __LBPF_HIST2(n, k) __LBPF_MAP(__LBPF_HIST_TYPE(k), 0, k, __lbpf_hist_count, n, 64)
#define __LBPF_HIST3(n, k, s) __LBPF_MAP(__LBPF_HIST_TYPE(k), 0, k, __lbpf_hist_count, n, s)

#define BPF_HASH(...) __LBPF_HASHES(BPF_MAP_TYPE_HASH, 0, __VA_ARGS__)
#define BPF_PERCPU_HASH(...) __LBPF_HASHES(BPF_MAP_TYPE_PERCPU_HASH, 0, __VA_ARGS__)
#define BPF_LPM_TRIE(...) __LBPF_HASHES(BPF_MAP_TYPE_LPM_TRIE, BPF_F_NO_PREALLOC, __VA_ARGS__)
#define BPF_ARRAY(...) __LBPF_ARRAYS(BPF_MAP_TYPE_ARRAY, __VA_ARGS__)
#define BPF_PERCPU_ARRAY(...) __LBPF_ARRAYS(BPF_MAP_TYPE_PERCPU_ARRAY, __VA_ARGS__)
#define BPF_HISTOGRAM(...) __LBPF_SEL3(__VA_ARGS__, __LBPF_HIST3, __LBPF_HIST2, __LBPF_HIST1)(__VA_ARGS__)
#define BPF_STACK_TRACE(n, s) __LBPF_MAP(BPF_MAP_TYPE_STACK_TRACE, 0, u32, u64[127], n, s)
#define BPF_PROG_ARRAY(n, s) __LBPF_MAP(BPF_MAP_TYPE_PROG_ARRAY, 0, u32, u32, n, s)
#define BPF_QUEUE(n, v, s) __LBPF_KEYLESS_MAP(BPF_MAP_TYPE_QUEUE, v, n, s)
#define BPF_STACK(n, v, s) __LBPF_KEYLESS_MAP(BPF_MAP_TYPE_STACK, v, n, s)
#define BPF_RINGBUF_OUTPUT(n, pages) LUABPF_RINGBUF(n, (pages) * 4096)
#define BPF_PERF_OUTPUT(n)                                                                \
	struct {                                                                          \
		__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);                              \
		__uint(key_size, sizeof(u32));                                            \
		__uint(value_size, sizeof(u32));                                          \
	} n SEC(".maps")

/* Map methods, as the rewrite spells them. */
#define __LBPF_SECOND(a, b, ...) b
#define __lbpf_lookup(m, k) ((typeof(*(m).value) *)bpf_map_lookup_elem(&(m), (k)))
#define __lbpf_lookup_or_try_init(m, k, init)                                             \
	({                                                                                \
		typeof(*(m).value) *__v = bpf_map_lookup_elem(&(m), (k));                 \
		if (!__v) {                                                               \
			bpf_map_update_elem(&(m), (k), (init), BPF_NOEXIST);              \
			__v = bpf_map_lookup_elem(&(m), (k));                             \
		}                                                                         \
		__v;                                                                      \
	})
/* BCC's older spelling leaves the program (returning 0) when there is no value. */
#define __lbpf_lookup_or_init(m, k, init)                                                 \
	({                                                                                \
		typeof(*(m).value) *__vi = __lbpf_lookup_or_try_init(m, k, init);         \
		if (!__vi)                                                                \
			return 0;                                                         \
		__vi;                                                                     \
	})
#define __lbpf_update(m, k, v) bpf_map_update_elem(&(m), (k), (v), BPF_ANY)
#define __lbpf_insert(m, k, v) bpf_map_update_elem(&(m), (k), (v), BPF_NOEXIST)
#define __lbpf_delete(m, k) bpf_map_delete_elem(&(m), (k))
/* Atomic where the leaf allows it, so counts from many CPUs add up exactly. */
#define __lbpf_add(p, n)                                                                  \
	__builtin_choose_expr(sizeof(*(p)) == 8 || sizeof(*(p)) == 4, (void)__sync_fetch_and_add((p), (n)), \
			      (void)(*(p) += (n)))
#define __lbpf_increment_by(m, k, n)                                                      \
	({                                                                                \
		typeof(*(m).key) __k = (k);                                               \
		typeof(*(m).value) *__v = bpf_map_lookup_elem(&(m), &__k);                \
		if (!__v) {                                                               \
			typeof(*(m).value) __z = 0;                                       \
			/* Fails when another CPU inserted first: its entry is used. */   \
			bpf_map_update_elem(&(m), &__k, &__z, BPF_NOEXIST);               \
			__v = bpf_map_lookup_elem(&(m), &__k);                            \
		}                                                                         \
		if (__v)                                                                  \
			__lbpf_add(__v, (n));                                             \
	})
#define __lbpf_increment(m, k, ...) __lbpf_increment_by(m, k, __LBPF_SECOND(0, ##__VA_ARGS__, 1))
#define __lbpf_atomic_increment __lbpf_increment
#define __lbpf_perf_submit(m, ctx, data, size) bpf_perf_event_output((ctx), &(m), BPF_F_CURRENT_CPU, (data), (size))
#define __lbpf_ringbuf_output(m, data, size, flags) luabpf_ringbuf_output(m, (data), (size), (flags))
#define __lbpf_ringbuf_reserve(m, size) luabpf_ringbuf_reserve(m, (size), 0)
#define __lbpf_ringbuf_submit(m, data, flags) bpf_ringbuf_submit((data), (flags))
#define __lbpf_ringbuf_discard(m, data, flags) bpf_ringbuf_discard((data), (flags))
#define __lbpf_get_stackid(m, ctx, flags) bpf_get_stackid((ctx), &(m), (flags))
#define __lbpf_push(m, v, flags) bpf_map_push_elem(&(m), (v), (flags))
#define __lbpf_pop(m, v) bpf_map_pop_elem(&(m), (v))
#define __lbpf_peek(m, v) bpf_map_peek_elem(&(m), (v))
#define __lbpf_call(m, ctx, idx) bpf_tail_call((ctx), &(m), (idx))
#define __lbpf_redirect_map(m, idx, flags) bpf_redirect_map(&(m), (idx), (flags))

/* Probes. kprobe__X, kretprobe__X, tracepoint__cat__ev and raw_tracepoint__ev
 * functions get their sections from the rewrite; TRACEPOINT_PROBE too. */
#define RAW_TRACEPOINT_PROBE(ev) SEC("raw_tracepoint/" #ev) int raw_tracepoint__##ev(struct bpf_raw_tracepoint_args *ctx)
#define KFUNC_PROBE(ev, args...) SEC("fentry/" #ev) int BPF_PROG(kfunc__##ev, ##args)
#define KRETFUNC_PROBE(ev, args...) SEC("fexit/" #ev) int BPF_PROG(kretfunc__##ev, ##args)
/* The process luabpf -p PID or -c CMD targets, 0 for none: set before
 * load in every object that uses it. FILTER_TARGET() ends a probe run for
 * any other process. */
static const volatile __u32 __luabpf_target_pid = 0;
#define TARGET_PID __luabpf_target_pid
#define FILTER_TARGET()                                                                 \
	do {                                                                            \
		if (__luabpf_target_pid && (bpf_get_current_pid_tgid() >> 32) != __luabpf_target_pid) \
			return 0;                                                       \
	} while (0)
/* Follows the struct of TRACEPOINT_PROBE's args; a portable compile
 * redefines it to make the args' offsets CO-RE relocations. */
#define __luabpf_tracepoint_args

/* BCC's bpf_trace_printk("fmt", args...) takes no format size; the rewrite
 * sends calls whose format is a literal here (libbpf's own calls pass a size). */
#define __lbpf_trace_printk(fmt, ...) bpf_printk(fmt, ##__VA_ARGS__)
/* A __data_loc field of TRACEPOINT_PROBE's args is one word: the data's
 * offset in the record (low 16 bits) and its length (high 16 bits). */
#define __LBPF_DATA_LOC_PTR(field) ((const char *)args + (args->data_loc_##field & 0xFFFF))
#define TP_DATA_LOC_READ_CONST(dst, field, length)                                        \
	bpf_probe_read_kernel((void *)(dst), (length), __LBPF_DATA_LOC_PTR(field))
#define TP_DATA_LOC_READ(dst, field)                                                      \
	bpf_probe_read_kernel((void *)(dst), (args->data_loc_##field >> 16) & 0xFFFF, __LBPF_DATA_LOC_PTR(field))
#define TP_DATA_LOC_READ_STR(dst, field, length)                                          \
	bpf_probe_read_kernel_str((void *)(dst), (length), __LBPF_DATA_LOC_PTR(field))
#define lock_xadd(p, v) ((void)__sync_fetch_and_add((p), (v)))

/* floor(log2(v)) + 1, and 0 for 0: the bucket BCC's log2 histograms use. */
/* BCC's: bpf_log2 is floor(log2(v)) (0 for 0 and 1), bpf_log2l one more,
 * so that 0 and 1 share bucket 1, the "0 -> 1" line of a histogram. */
static __always_inline unsigned int bpf_log2(unsigned int v)
{
	unsigned int r = 0;
	for (int s = 16; s > 0; s >>= 1) {
		if (v >> s) {
			v >>= s;
			r += s;
		}
	}
	return r;
}
static __always_inline unsigned int bpf_log2l(unsigned long long v)
{
	unsigned int hi = v >> 32;
	return hi ? bpf_log2(hi) + 33 : bpf_log2((unsigned int)v) + 1;
}

#endif
