// BCC's implicit probe reads, on the IR clang emits before optimization:
// a load through a CO-RE field access (vmlinux.h marks every kernel struct
// preserve_access_index) of a kernel pointer becomes bpf_probe_read_kernel
// into a stack slot, so `t->real_parent->tgid` works in kprobes and
// tracepoints and still relocates on other kernels.
#include "probe_reads.h"

#include <llvm/BinaryFormat/Dwarf.h>
#include <llvm/IR/DebugInfoMetadata.h>
#include <llvm/IR/Dominators.h>
#include <llvm/IR/IRBuilder.h>
#include <llvm/IR/InstIterator.h>
#include <llvm/IR/Instructions.h>
#include <llvm/IR/IntrinsicInst.h>
#include <llvm/IR/Intrinsics.h>
#include <llvm/IR/Module.h>
#include <llvm/Transforms/Utils/PromoteMemToReg.h>

#include <map>
#include <set>
#include <vector>

namespace lbpf {
namespace {

const uint64_t kProbeReadKernel = 113; // BPF_FUNC_probe_read_kernel

// Program sections and context types whose programs read packets and
// context fields directly and may not call bpf_probe_read_kernel; and the
// BTF-typed tracing kinds, whose pointers the verifier trusts only as
// direct loads (a probe read would make them plain numbers).
const char *const kNetworkSections[] = {
	"xdp",	     "tc",	  "classifier", "action",  "socket",  "sk_skb",	  "sk_msg",    "cgroup",
	"sockops",   "sk_lookup", "flow_dissector", "lwt_", "sk_reuseport", "netfilter", "struct_ops", "syscall",
	"netkit",    "tcx",	  "fentry",	"fexit",   "fmod_ret", "freplace", "tp_btf",    "iter",
	"lsm",
};
const char *const kNetworkContexts[] = {
	"xdp_md", "__sk_buff", "sk_msg_md", "bpf_sock_ops", "bpf_sock_addr", "bpf_sk_lookup",
	"sk_reuseport_md", "bpf_sockopt", "bpf_sysctl", "bpf_cgroup_dev_ctx", "bpf_flow_keys", "bpf_nf_ctx",
};

const llvm::DIType *strip_type(const llvm::DIType *t)
{
	while (auto *d = llvm::dyn_cast_or_null<llvm::DIDerivedType>(t)) {
		unsigned tag = d->getTag();
		if (tag != llvm::dwarf::DW_TAG_typedef && tag != llvm::dwarf::DW_TAG_const_type &&
		    tag != llvm::dwarf::DW_TAG_volatile_type && tag != llvm::dwarf::DW_TAG_restrict_type)
			break;
		t = d->getBaseType();
	}
	return t;
}

// The struct a program's context points to, from its debug info.
llvm::StringRef context_type(const llvm::Function &f)
{
	const llvm::DISubprogram *sp = f.getSubprogram();
	if (!sp || !sp->getType())
		return "";
	auto types = sp->getType()->getTypeArray();
	if (types.size() < 2)
		return "";
	auto *ptr = llvm::dyn_cast_or_null<llvm::DIDerivedType>(strip_type(types[1]));
	if (!ptr || ptr->getTag() != llvm::dwarf::DW_TAG_pointer_type)
		return "";
	const llvm::DIType *pointee = strip_type(ptr->getBaseType());
	return pointee ? pointee->getName() : "";
}

bool is_network(const llvm::Function &f)
{
	llvm::StringRef sec = f.hasSection() ? f.getSection() : "";
	for (const char *s : kNetworkSections)
		if (sec.starts_with(s))
			return true;
	llvm::StringRef ctx = context_type(f);
	for (const char *c : kNetworkContexts)
		if (ctx == c)
			return true;
	return false;
}

// Types a program's context is: read directly when reached from a function
// argument (the verifier rewrites those accesses), like any other otherwise
// (a pt_regs saved by a system call wrapper is kernel memory).
bool is_context_type(llvm::StringRef name)
{
	return name == "pt_regs" || name == "user_pt_regs" || name.starts_with("bpf_") ||
	       name.starts_with("trace_event_raw_");
}

bool is_access_index(const llvm::Value *v)
{
	auto *call = llvm::dyn_cast<llvm::IntrinsicInst>(v);
	if (!call)
		return false;
	switch (call->getIntrinsicID()) {
	case llvm::Intrinsic::preserve_struct_access_index:
	case llvm::Intrinsic::preserve_union_access_index:
	case llvm::Intrinsic::preserve_array_access_index:
		return true;
	default:
		return false;
	}
}

// A struct member access that lands on a bitfield: BPF's CO-RE pass needs
// those loaded directly, so they are left alone.
bool is_bitfield_access(const llvm::IntrinsicInst *call)
{
	if (call->getIntrinsicID() != llvm::Intrinsic::preserve_struct_access_index)
		return false;
	auto *md = call->getMetadata(llvm::LLVMContext::MD_preserve_access_index);
	auto *type = llvm::dyn_cast_or_null<llvm::DICompositeType>(strip_type(llvm::dyn_cast_or_null<llvm::DIType>(md)));
	auto *index = llvm::dyn_cast<llvm::ConstantInt>(call->getArgOperand(2));
	if (!type || !index || index->getZExtValue() >= type->getElements().size())
		return false;
	auto *member = llvm::dyn_cast<llvm::DIDerivedType>(type->getElements()[index->getZExtValue()]);
	return member && member->isBitField();
}

llvm::StringRef accessed_type(const llvm::IntrinsicInst *call)
{
	auto *md = call->getMetadata(llvm::LLVMContext::MD_preserve_access_index);
	const llvm::DIType *t = strip_type(llvm::dyn_cast_or_null<llvm::DIType>(md));
	return t ? t->getName() : "";
}

// Whether memory at ptr is a kernel object reached through a kernel pointer.
bool needs_probe_read(const llvm::Value *ptr)
{
	const llvm::Value *v = ptr->stripPointerCasts();
	auto *last = llvm::dyn_cast<llvm::IntrinsicInst>(v);
	if (!last || !is_access_index(last) || is_bitfield_access(last))
		return false;
	llvm::StringRef type;
	while (true) {
		v = v->stripPointerCasts();
		if (is_access_index(v)) {
			auto *call = llvm::cast<llvm::IntrinsicInst>(v);
			if (call->getIntrinsicID() != llvm::Intrinsic::preserve_array_access_index)
				type = accessed_type(call);
			v = call->getArgOperand(0);
		} else if (auto *gep = llvm::dyn_cast<llvm::GEPOperator>(v)) {
			v = gep->getPointerOperand();
		} else {
			break;
		}
	}
	if (llvm::isa<llvm::AllocaInst>(v) || llvm::isa<llvm::GlobalValue>(v))
		return false;
	if (llvm::isa<llvm::Argument>(v) && is_context_type(type))
		return false;
	// A BPF helper's pointer result (a map value, a ring buffer record) is
	// memory the program may read; a function of the script's returns
	// whatever it computed (skb_to_tcphdr(skb)).
	if (auto *call = llvm::dyn_cast<llvm::CallInst>(v); call && call->getType()->isPointerTy())
		return call->getCalledFunction() && !call->getCalledFunction()->isDeclaration();
	return true;
}

// Which values are kernel addresses: read from kernel memory, cast from
// integers (ctx->args[0], bpf_get_current_task()), derived from those by
// pointer arithmetic, passed as such to a static function's argument, or
// returned as such by a static function.
// Plain dereferences of them (*ppos, ((u8 *)tcp)[13]) are probe reads too.
class KernelValues {
public:
	bool is_kernel(const llvm::Value *v)
	{
		auto [it, fresh] = memo_.emplace(v, false);
		if (!fresh)
			return it->second;
		bool k = compute(v);
		memo_[v] = k;
		return k;
	}

	// A load or copy source that needs bpf_probe_read_kernel.
	bool needs_read(const llvm::Value *ptr)
	{
		if (needs_probe_read(ptr))
			return true;
		const llvm::Value *v = ptr->stripPointerCasts();
		if (is_access_index(v))
			return false; // a field of a local, a global or the context
		return is_kernel(v);
	}

	void mark_argument(const llvm::Argument *a) { kernel_args_.insert(a); }
	bool marked(const llvm::Argument *a) const { return kernel_args_.count(a); }
	void forget_values() { memo_.clear(); }

private:
	bool compute(const llvm::Value *v)
	{
		v = v->stripPointerCasts();
		if (auto *gep = llvm::dyn_cast<llvm::GEPOperator>(v))
			return is_kernel(gep->getPointerOperand());
		if (llvm::isa<llvm::IntToPtrInst>(v))
			return true;
		if (auto *load = llvm::dyn_cast<llvm::LoadInst>(v))
			return needs_read(load->getPointerOperand());
		if (auto *a = llvm::dyn_cast<llvm::Argument>(v))
			return kernel_args_.count(a);
		if (is_access_index(v)) {
			const llvm::Value *base = llvm::cast<llvm::IntrinsicInst>(v)->getArgOperand(0);
			return needs_probe_read(v) || is_kernel(base);
		}
		if (auto *phi = llvm::dyn_cast<llvm::PHINode>(v)) {
			for (const llvm::Value *in : phi->incoming_values())
				if (is_kernel(in))
					return true;
			return false;
		}
		if (auto *sel = llvm::dyn_cast<llvm::SelectInst>(v))
			return is_kernel(sel->getTrueValue()) || is_kernel(sel->getFalseValue());
		// A static function that returns a kernel address: skb_to_tcphdr(skb).
		if (auto *call = llvm::dyn_cast<llvm::CallInst>(v)) {
			const llvm::Function *callee = call->getCalledFunction();
			if (!callee || callee->isDeclaration())
				return false;
			for (const llvm::Instruction &i : llvm::instructions(*callee))
				if (auto *ret = llvm::dyn_cast<llvm::ReturnInst>(&i))
					if (ret->getReturnValue() && is_kernel(ret->getReturnValue()))
						return true;
		}
		return false;
	}

	std::map<const llvm::Value *, bool> memo_;
	std::set<const llvm::Argument *> kernel_args_;
};

class Rewriter {
public:
	Rewriter(llvm::Function &f, KernelValues &kernel) : f_(f), dl_(f.getParent()->getDataLayout()), kernel_(kernel) {}

	void run()
	{
		std::vector<llvm::Instruction *> work;
		for (llvm::Instruction &i : llvm::instructions(f_)) {
			if (auto *load = llvm::dyn_cast<llvm::LoadInst>(&i)) {
				if (!load->isAtomic() && kernel_.needs_read(load->getPointerOperand()))
					work.push_back(load);
			} else if (auto *copy = llvm::dyn_cast<llvm::MemCpyInst>(&i)) {
				if (llvm::isa<llvm::ConstantInt>(copy->getLength()) && !copy->isVolatile() &&
				    kernel_.needs_read(copy->getSource()))
					work.push_back(copy);
			}
		}
		for (llvm::Instruction *i : work) {
			if (auto *load = llvm::dyn_cast<llvm::LoadInst>(i))
				replace_load(load);
			else
				replace_copy(llvm::cast<llvm::MemCpyInst>(i));
		}
	}

private:
	llvm::CallInst *probe_read(llvm::IRBuilder<> &b, llvm::Value *dst, uint64_t size, llvm::Value *src)
	{
		llvm::LLVMContext &ctx = f_.getContext();
		llvm::Type *ptr = llvm::PointerType::get(ctx, 0);
		auto *type = llvm::FunctionType::get(b.getInt64Ty(), {ptr, b.getInt32Ty(), ptr}, false);
		llvm::Constant *helper =
			llvm::ConstantExpr::getIntToPtr(llvm::ConstantInt::get(b.getInt64Ty(), kProbeReadKernel), ptr);
		return b.CreateCall(type, helper, {dst, b.getInt32(static_cast<uint32_t>(size)), src});
	}

	void replace_load(llvm::LoadInst *load)
	{
		llvm::Type *type = load->getType();
		llvm::IRBuilder<> entry(&*f_.getEntryBlock().getFirstInsertionPt());
		llvm::AllocaInst *slot = entry.CreateAlloca(type, nullptr, "probe_read");
		slot->setAlignment(dl_.getPrefTypeAlign(type));
		uint64_t size = dl_.getTypeStoreSize(type);
		// The slot lives only around this read, so slots share stack space.
		llvm::IRBuilder<> b(load);
		b.CreateLifetimeStart(slot, b.getInt64(size));
		probe_read(b, slot, size, load->getPointerOperand());
		llvm::LoadInst *value = b.CreateAlignedLoad(type, slot, slot->getAlign());
		b.CreateLifetimeEnd(slot, b.getInt64(size));
		value->setDebugLoc(load->getDebugLoc());
		load->replaceAllUsesWith(value);
		load->eraseFromParent();
	}

	void replace_copy(llvm::MemCpyInst *copy)
	{
		llvm::IRBuilder<> b(copy);
		uint64_t size = llvm::cast<llvm::ConstantInt>(copy->getLength())->getZExtValue();
		probe_read(b, copy->getDest(), size, copy->getSource())->setDebugLoc(copy->getDebugLoc());
		copy->eraseFromParent();
	}

	llvm::Function &f_;
	const llvm::DataLayout &dl_;
	KernelValues &kernel_;
};

// Locals held in registers, so a pointer's origin (an argument, a load, a
// helper's result) is visible at its use; the optimizer does the same first thing.
void promote_locals(llvm::Function &f)
{
	std::vector<llvm::AllocaInst *> allocas;
	for (llvm::Instruction &i : f.getEntryBlock())
		if (auto *a = llvm::dyn_cast<llvm::AllocaInst>(&i); a && llvm::isAllocaPromotable(a))
			allocas.push_back(a);
	if (allocas.empty())
		return;
	llvm::DominatorTree dt(f);
	llvm::PromoteMemToReg(allocas, dt);
}

} // namespace

void add_probe_reads(llvm::Module &m)
{
	// Functions a network program reaches keep direct access.
	std::set<const llvm::Function *> network;
	std::vector<const llvm::Function *> todo;
	for (const llvm::Function &f : m)
		if (!f.isDeclaration() && is_network(f) && network.insert(&f).second)
			todo.push_back(&f);
	while (!todo.empty()) {
		const llvm::Function *f = todo.back();
		todo.pop_back();
		for (const llvm::Instruction &i : llvm::instructions(*f))
			if (auto *call = llvm::dyn_cast<llvm::CallBase>(&i))
				if (const llvm::Function *callee = call->getCalledFunction();
				    callee && !callee->isDeclaration() && network.insert(callee).second)
					todo.push_back(callee);
	}
	std::vector<llvm::Function *> tracing;
	for (llvm::Function &f : m)
		if (!f.isDeclaration() && !network.count(&f))
			tracing.push_back(&f);
	for (llvm::Function *f : tracing)
		promote_locals(*f);
	// A static function's argument is a kernel address when a caller passes one.
	KernelValues kernel;
	for (bool changed = true; changed;) {
		changed = false;
		for (llvm::Function *f : tracing)
			for (llvm::Instruction &i : llvm::instructions(*f)) {
				auto *call = llvm::dyn_cast<llvm::CallBase>(&i);
				llvm::Function *callee = call ? call->getCalledFunction() : nullptr;
				if (!callee || callee->isDeclaration() || !callee->hasLocalLinkage())
					continue;
				for (unsigned n = 0; n < call->arg_size() && n < callee->arg_size(); n++) {
					const llvm::Argument *a = callee->getArg(n);
					if (!kernel.marked(a) && kernel.is_kernel(call->getArgOperand(n))) {
						kernel.mark_argument(a);
						changed = true;
					}
				}
			}
		kernel.forget_values();
	}
	for (llvm::Function *f : tracing)
		Rewriter(*f, kernel).run();
}

} // namespace lbpf
