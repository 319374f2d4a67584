// BCC's program model: every plain function of the script is a program
// whose type its attach call decides.
#ifndef LBPF_BCC_FUNCTIONS_H
#define LBPF_BCC_FUNCTIONS_H

namespace llvm {
class Module;
}

namespace lbpf {
// The section the runtime knows such functions by (runtime/luabpf.h has its twin).
inline constexpr const char kFunctionSection[] = "luabpf_function";
void mark_bcc_functions(llvm::Module &m);
}

#endif
