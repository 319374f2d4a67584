// BCC tools copy a fixed size out of a shorter string literal
// (__builtin_memcpy(&key.op, "fsync", 8)); the literal is padded with zeros.
#ifndef LBPF_PADDED_STRINGS_H
#define LBPF_PADDED_STRINGS_H

namespace llvm {
class Module;
}

namespace lbpf {
void pad_copied_strings(llvm::Module &m);
}

#endif
