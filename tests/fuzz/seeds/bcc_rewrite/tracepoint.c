BPF_RINGBUF_OUTPUT(rb, 8);
BPF_STACK_TRACE(stacks, 1024);
TRACEPOINT_PROBE(sched, sched_switch) {
    int id = stacks.get_stackid(args, 0);
    u64 *p = rb.ringbuf_reserve(sizeof(u64));
    if (!p) return 0;
    *p = args->prev_pid + id;
    rb.ringbuf_submit(p, 0);
    return 0;
}
TRACEPOINT_PROBE(missing, nothing) { return 0; }
struct task_struct { int pid; };
