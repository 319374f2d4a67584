// libFuzzer harness: the BCC dialect's source rewrite. Any text is either
// refused with a diagnostic or rewritten with every line kept on its line,
// which is what lets compile errors name the user's own lines.
#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <set>
#include <string>

#include "bcc_rewrite.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	llvm::StringRef in(reinterpret_cast<const char *>(data), size);
	auto tracepoint_struct = [](const std::string &cat, const std::string &ev, std::string &text) {
		if (cat == "missing") {
			text = "no such tracepoint";
			return false;
		}
		text = "struct tracepoint__" + cat + "__" + ev + " { int x; };";
		return true;
	};
	std::set<std::string> twins = {"task_struct", "sock"};
	std::string out, diagnostics;
	if (lbpf::bcc_rewrite(in, tracepoint_struct, twins, out, diagnostics)) {
		if (std::count(out.begin(), out.end(), '\n') != std::count(in.begin(), in.end(), '\n'))
			abort();
	} else if (diagnostics.empty()) {
		abort();
	}
	return 0;
}
