// BCC's program model on the IR: a non-static function with a body, no
// section and no caller is a program, put in a section libbpf has no type
// for, so the runtime loads it with the type of the attach call that names it.
#include "bcc_functions.h"

#include <llvm/IR/Module.h>

namespace lbpf {

void mark_bcc_functions(llvm::Module &m)
{
	for (llvm::Function &f : m) {
		if (f.isDeclaration() || f.hasSection() || !f.hasExternalLinkage() || !f.use_empty() ||
		    f.getName().starts_with("__") || f.arg_size() > 1)
			continue;
		f.setSection(kFunctionSection);
	}
}

} // namespace lbpf
