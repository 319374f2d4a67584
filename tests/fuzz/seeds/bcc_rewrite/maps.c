#include <uapi/linux/ptrace.h>
BPF_HASH(counts, u32, u64);
BPF_HISTOGRAM(lat, int, 64);
BPF_PERF_OUTPUT(events);
struct data_t { u32 pid; char comm[16]; };
int kprobe__do_sys_open(struct pt_regs *ctx) {
    u32 pid = bpf_get_current_pid_tgid() >> 32;
    counts.increment(pid);
    u64 *v = counts.lookup(&pid);
    lat.increment(bpf_log2l(*v));
    struct data_t d = {};
    d.pid = pid;
    events.perf_submit(ctx, &d, sizeof(d));
    return 0;
}
