// The BCC dialect's source rewrite: map.method() calls, BPF_TABLE's string
// types, TRACEPOINT_PROBE and probes named kprobe__X, done on clang's tokens.
#ifndef LBPF_BCC_REWRITE_H
#define LBPF_BCC_REWRITE_H

#include <functional>
#include <set>
#include <string>

#include <llvm/ADT/StringRef.h>

namespace lbpf {

// Returns the C definition of `struct tracepoint__<cat>__<ev>` on one line,
// or false with a message in `text`.
using TracepointStructFn = std::function<bool(const std::string &cat, const std::string &ev, std::string &text)>;

// Rewrites `in` into `out`, keeping every line on its line. Each struct
// named in kernel_twins (one the script defines and vmlinux.h has too)
// becomes NAME___luabpf, a CO-RE flavor of the kernel's. On a form it cannot
// handle it returns false with clang-style "file:line: error: ..." lines in
// `diagnostics`.
bool bcc_rewrite(llvm::StringRef in, const TracepointStructFn &tracepoint_struct,
		 const std::set<std::string> &kernel_twins, std::string &out, std::string &diagnostics);

} // namespace lbpf

#endif
