// BCC's implicit probe reads: kernel struct fields read through kernel
// pointers become bpf_probe_read_kernel calls, on the unoptimized IR.
#ifndef LBPF_PROBE_READS_H
#define LBPF_PROBE_READS_H

namespace llvm {
class Module;
}

namespace lbpf {
void add_probe_reads(llvm::Module &m);
}

#endif
