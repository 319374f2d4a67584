// A fixed-size copy out of a shorter constant (a string literal) reads past
// its end: harmless where BCC compiled it, but here the literal lives in a
// .rodata map and the verifier refuses the read. Such constants get zeros
// up to the largest size copied from them. Runs after add_probe_reads has
// put locals in registers, so a literal passed through one is seen.
#include "padded_strings.h"

#include <llvm/IR/Constants.h>
#include <llvm/IR/GlobalVariable.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Module.h>

#include <map>
#include <vector>
#include <string>

namespace lbpf {

namespace {

// The constant strings a copy's source may be: the literal itself, or the
// literals callers pass for a function's argument (trace_return(ctx, "fsync")).
std::vector<llvm::GlobalVariable *> literals(const llvm::Value *src)
{
	std::vector<llvm::GlobalVariable *> out;
	src = src->stripPointerCasts();
	std::vector<const llvm::Value *> sources{src};
	if (auto *a = llvm::dyn_cast<llvm::Argument>(src)) {
		sources.clear();
		for (const llvm::User *u : a->getParent()->users())
			if (auto *call = llvm::dyn_cast<llvm::CallBase>(u); call && a->getArgNo() < call->arg_size())
				sources.push_back(call->getArgOperand(a->getArgNo())->stripPointerCasts());
	}
	for (const llvm::Value *v : sources) {
		auto *g = llvm::dyn_cast<llvm::GlobalVariable>(const_cast<llvm::Value *>(v));
		if (g && g->isConstant() && g->hasLocalLinkage() && g->hasInitializer())
			if (auto *data = llvm::dyn_cast<llvm::ConstantDataArray>(g->getInitializer()); data && data->isString())
				out.push_back(g);
	}
	return out;
}

} // namespace

void pad_copied_strings(llvm::Module &m)
{
	std::map<llvm::GlobalVariable *, uint64_t> wanted;
	for (llvm::Function &f : m)
		for (llvm::Instruction &i : llvm::instructions(f)) {
			auto *copy = llvm::dyn_cast<llvm::MemCpyInst>(&i);
			auto *len = copy ? llvm::dyn_cast<llvm::ConstantInt>(copy->getLength()) : nullptr;
			if (!len || len->getZExtValue() > 4096)
				continue;
			for (llvm::GlobalVariable *g : literals(copy->getSource())) {
				auto *data = llvm::cast<llvm::ConstantDataArray>(g->getInitializer());
				if (len->getZExtValue() > data->getNumElements()) {
					uint64_t &n = wanted[g];
					n = std::max(n, len->getZExtValue());
				}
			}
		}
	for (auto &[g, size] : wanted) {
		auto *data = llvm::cast<llvm::ConstantDataArray>(g->getInitializer());
		std::string bytes = data->getAsString().str();
		bytes.resize(size, '\0');
		llvm::Constant *init = llvm::ConstantDataArray::getString(m.getContext(), bytes, false);
		auto *padded = new llvm::GlobalVariable(m, init->getType(), true, g->getLinkage(), init, g->getName() + ".padded");
		padded->setAlignment(g->getAlign());
		padded->setUnnamedAddr(g->getUnnamedAddr());
		g->replaceAllUsesWith(padded);
		g->eraseFromParent();
	}
}

} // namespace lbpf
