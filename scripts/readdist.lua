#!/usr/bin/env luabpf
-- readdist: a log2 histogram of read() sizes, in the BCC dialect.
-- usage: luabpf scripts/readdist.lua [seconds] [comm]
local bpf = require "bpf"

local seconds = tonumber(arg[1]) or 5
local comm = arg[2]

local b <close> = bpf.new([[
BPF_HISTOGRAM(dist);
const volatile char target[16] = {};

TRACEPOINT_PROBE(syscalls, sys_exit_read) {
	char comm[16];
	bpf_get_current_comm(&comm, sizeof(comm));
	for (int i = 0; i < 16 && target[0]; i++) {
		if (comm[i] != target[i])
			return 0;
		if (!comm[i])
			break;
	}
	if (args->ret > 0)
		dist.increment(bpf_log2l(args->ret));
	return 0;
}
]], { rodata = { target = comm or "" } })

io.write(("Tracing read sizes%s for %g s...\n"):format(comm and (" of " .. comm) or "", seconds))
bpf.sleep(seconds)
b.maps.dist:print_log2_hist("bytes")
