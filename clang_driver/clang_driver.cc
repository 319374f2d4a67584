// Compiles BPF C to a BPF ELF object entirely in memory with the clang/LLVM
// libraries: the source and every header live in an in-memory file system.
#include "clang_driver.h"
#include "bcc_functions.h"
#include "bcc_rewrite.h"
#include "padded_strings.h"
#include "probe_reads.h"

#include <clang/AST/ASTConsumer.h>
#include <clang/AST/ASTContext.h>
#include <clang/AST/Attr.h>
#include <clang/AST/Expr.h>
#include <clang/AST/Decl.h>
#include <clang/AST/DeclGroup.h>
#include <clang/AST/RecursiveASTVisitor.h>
#include <clang/Basic/DiagnosticOptions.h>
#include <clang/Basic/SourceManager.h>
#include <clang/CodeGen/BackendUtil.h>
#include <clang/CodeGen/CodeGenAction.h>
#include <clang/Frontend/CompilerInstance.h>
#include <clang/Frontend/CompilerInvocation.h>
#include <clang/Frontend/FrontendActions.h>
#include <clang/Frontend/TextDiagnosticPrinter.h>
#include <clang/Frontend/Utils.h>
#include <llvm/ADT/SmallVector.h>
#include <llvm/Config/llvm-config.h>
#include <llvm/IR/Module.h>
#include <llvm/Support/CrashRecoveryContext.h>
#include <llvm/Support/MemoryBuffer.h>
#include <llvm/Support/TargetSelect.h>
#include <llvm/Support/VirtualFileSystem.h>
#include <llvm/Support/raw_ostream.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include <sys/utsname.h>

extern "C" {
#include "embedded.h"
extern const struct lbpf_embedded lbpf_clang_headers[];
}

namespace {

const char kRoot[] = "/luabpf";
const char kIncludeDir[] = "/luabpf/include";
const char kMainFile[] = "/luabpf/input.c";
const char kPchFile[] = "/luabpf/prelude.pch";

#if defined(__x86_64__)
const char kTargetArch[] = "-D__TARGET_ARCH_x86";
#elif defined(__aarch64__)
const char kTargetArch[] = "-D__TARGET_ARCH_arm64";
#elif defined(__s390x__)
const char kTargetArch[] = "-D__TARGET_ARCH_s390";
#elif defined(__riscv)
const char kTargetArch[] = "-D__TARGET_ARCH_riscv";
#elif defined(__powerpc64__)
const char kTargetArch[] = "-D__TARGET_ARCH_powerpc";
#else
#error "unknown host architecture for bpf_tracing.h"
#endif

// Flags every compile gets: BTF and CO-RE need -g; no host headers are
// reachable; BPF ISA v3 (Linux 5.1+) for 32-bit atomics and jumps (a
// script's cflags may pick another -mcpu, the last one counts).
const char *const kBaseFlags[] = {
	"clang", "-target", "bpf", "-mcpu=v3", "-O2", "-g", "-c", "-nostdinc", "-ffreestanding",
	"-fno-color-diagnostics", "-fmessage-length=0", "-isystem", kIncludeDir, kTargetArch,
	"-Wno-unused-value", "-Wno-pointer-sign", "-Wno-compare-distinct-pointer-types",
	"-Wno-gnu-variable-sized-type-not-at-end", "-Wno-address-of-packed-member",
	"-Wno-tautological-compare", "-Wno-unknown-warning-option",
};

// The record type each ring or perf buffer carries, from the data its
// bpf_perf_event_output/bpf_ringbuf_output calls pass or the sizeof its
// bpf_ringbuf_reserve calls ask for; a map given two types has none.
class RecordTypes : public clang::RecursiveASTVisitor<RecordTypes> {
public:
	explicit RecordTypes(clang::ASTContext &ctx) : ctx_(ctx) {}

	bool VisitCallExpr(clang::CallExpr *call)
	{
		auto *fn = llvm::dyn_cast<clang::DeclRefExpr>(call->getCallee()->IgnoreParenImpCasts());
		if (!fn || !fn->getDecl()->getIdentifier())
			return true;
		llvm::StringRef name = fn->getDecl()->getName();
		unsigned map_arg = 0, data_arg = 1;
		bool by_size = false;
		if (name == "bpf_perf_event_output")
			map_arg = 1, data_arg = 3;
		else if (name == "bpf_ringbuf_reserve")
			by_size = true;
		else if (name != "bpf_ringbuf_output")
			return true;
		if (call->getNumArgs() <= std::max(map_arg, data_arg))
			return true;
		const clang::Expr *map = call->getArg(map_arg)->IgnoreParenCasts();
		if (auto *u = llvm::dyn_cast<clang::UnaryOperator>(map); u && u->getOpcode() == clang::UO_AddrOf)
			map = u->getSubExpr()->IgnoreParenCasts();
		auto *ref = llvm::dyn_cast<clang::DeclRefExpr>(map);
		if (!ref || !ref->getDecl()->getIdentifier())
			return true;
		clang::QualType t;
		const clang::Expr *data = call->getArg(data_arg)->IgnoreParenImpCasts();
		if (by_size) {
			auto *s = llvm::dyn_cast<clang::UnaryExprOrTypeTraitExpr>(data);
			if (!s || s->getKind() != clang::UETT_SizeOf)
				return true;
			t = s->getTypeOfArgument();
		} else if (data->getType()->isPointerType()) {
			t = data->getType()->getPointeeType();
		}
		if (t.isNull() || t->isVoidType() || t->isIncompleteType())
			return true;
		t = t.getUnqualifiedType();
		auto [it, fresh] = types_.emplace(ref->getDecl()->getName().str(), t);
		if (!fresh && !it->second.isNull() && !ctx_.hasSameType(it->second, t))
			it->second = clang::QualType();
		return true;
	}

	const std::map<std::string, clang::QualType> &types() const { return types_; }

private:
	clang::ASTContext &ctx_;
	std::map<std::string, clang::QualType> types_;
};

// BTF keeps only types reachable from globals, maps and function signatures,
// so a ring buffer's record type would be missing. For each type the script
// itself defines (in the main file, not vmlinux.h) this adds a used static
// pointer to it, in a section libbpf leaves alone, so BTF keeps exactly those.
// Each ring or perf buffer's record type gets one too, named
// __luabpf_record__<map>, so the runtime decodes its events without opts.type.
class KeepScriptTypes : public clang::ASTConsumer {
public:
	KeepScriptTypes(std::unique_ptr<clang::ASTConsumer> inner, clang::CompilerInstance &ci)
		: inner_(std::move(inner)), ci_(ci)
	{
	}

	bool HandleTopLevelDecl(clang::DeclGroupRef group) override
	{
		for (clang::Decl *d : group) {
			if (!ci_.getSourceManager().isInMainFile(d->getLocation()))
				continue;
			if (auto *fn = llvm::dyn_cast<clang::FunctionDecl>(d)) {
				if (fn->doesThisDeclarationHaveABody())
					functions_.push_back(fn);
			} else if (auto *tag = llvm::dyn_cast<clang::TagDecl>(d)) {
				if (tag->isThisDeclarationADefinition() && tag->getIdentifier())
					types_.push_back(ci_.getASTContext().getTagDeclType(tag));
			} else if (auto *td = llvm::dyn_cast<clang::TypedefNameDecl>(d)) {
				types_.push_back(ci_.getASTContext().getTypedefType(td));
			}
		}
		return inner_->HandleTopLevelDecl(group);
	}

	void HandleTranslationUnit(clang::ASTContext &ctx) override
	{
		if (!ci_.getDiagnostics().hasErrorOccurred()) {
			// Only the script's functions: traversing the whole unit would
			// deserialize all of vmlinux.h from the precompiled header.
			RecordTypes records(ctx);
			for (clang::FunctionDecl *fn : functions_)
				records.TraverseDecl(fn);
			std::vector<std::pair<std::string, clang::QualType>> keep;
			for (clang::QualType t : types_)
				keep.emplace_back("__luabpf_keep_type_" + std::to_string(keep.size()), t);
			for (const auto &[map, t] : records.types())
				if (!t.isNull())
					keep.emplace_back("__luabpf_record__" + map, t);
			for (const auto &[name, t] : keep) {
				clang::QualType ptr = ctx.getPointerType(t);
				auto *var = clang::VarDecl::Create(ctx, ctx.getTranslationUnitDecl(), clang::SourceLocation(),
								   clang::SourceLocation(), &ctx.Idents.get(name), ptr,
								   ctx.getTrivialTypeSourceInfo(ptr), clang::SC_Static);
				var->setInit(new (ctx) clang::ImplicitValueInitExpr(ptr));
				var->addAttr(clang::UsedAttr::CreateImplicit(ctx));
				var->addAttr(clang::SectionAttr::CreateImplicit(ctx, ".luabpf.types"));
				ctx.getTranslationUnitDecl()->addDecl(var);
				inner_->HandleTopLevelDecl(clang::DeclGroupRef(var));
			}
		}
		inner_->HandleTranslationUnit(ctx);
	}

	void Initialize(clang::ASTContext &ctx) override { inner_->Initialize(ctx); }
	void HandleInlineFunctionDefinition(clang::FunctionDecl *d) override
	{
		inner_->HandleInlineFunctionDefinition(d);
	}
	void HandleInterestingDecl(clang::DeclGroupRef d) override { inner_->HandleInterestingDecl(d); }
	void HandleTagDeclDefinition(clang::TagDecl *d) override { inner_->HandleTagDeclDefinition(d); }
	void HandleTagDeclRequiredDefinition(const clang::TagDecl *d) override
	{
		inner_->HandleTagDeclRequiredDefinition(d);
	}
	void CompleteTentativeDefinition(clang::VarDecl *d) override { inner_->CompleteTentativeDefinition(d); }
	void CompleteExternalDeclaration(clang::DeclaratorDecl *d) override
	{
		inner_->CompleteExternalDeclaration(d);
	}
	bool shouldSkipFunctionBody(clang::Decl *d) override { return inner_->shouldSkipFunctionBody(d); }

private:
	std::unique_ptr<clang::ASTConsumer> inner_;
	clang::CompilerInstance &ci_;
	std::vector<clang::QualType> types_;
	std::vector<clang::FunctionDecl *> functions_;
};

// Emits the unoptimized IR module, so the BCC dialect's probe reads can be
// added before the optimizer and BPF's CO-RE pass see it.
class EmitBpfModule : public clang::EmitLLVMOnlyAction {
protected:
	std::unique_ptr<clang::ASTConsumer> CreateASTConsumer(clang::CompilerInstance &ci, llvm::StringRef file) override
	{
		auto inner = clang::EmitLLVMOnlyAction::CreateASTConsumer(ci, file);
		if (!inner)
			return nullptr;
		return std::make_unique<KeepScriptTypes>(std::move(inner), ci);
	}
};

void init_bpf_target()
{
	static std::once_flag once;
	std::call_once(once, [] {
		LLVMInitializeBPFTargetInfo();
		LLVMInitializeBPFTarget();
		LLVMInitializeBPFTargetMC();
		LLVMInitializeBPFAsmPrinter();
		LLVMInitializeBPFAsmParser(); // inline asm in scripts
	});
}

void add_file(llvm::vfs::InMemoryFileSystem &fs, const std::string &path, const char *data, size_t size)
{
	fs.addFile(path, 0, llvm::MemoryBuffer::getMemBuffer(llvm::StringRef(data, size), path, false));
}

// Each kernel header kernel_headers.list names compiles to luabpf/kernel.h:
// vmlinux.h has the types; one header has the rest. An include not listed
// stays "file not found".
void add_kernel_headers(llvm::vfs::InMemoryFileSystem &fs, llvm::StringRef list)
{
	static const char stub[] = "#include <luabpf/kernel.h>\n";
	llvm::SmallVector<llvm::StringRef, 128> lines;
	list.split(lines, '\n', -1, false);
	for (llvm::StringRef line : lines) {
		line = line.trim();
		if (!line.empty() && !line.starts_with("#"))
			add_file(fs, std::string(kIncludeDir) + "/" + line.str(), stub, sizeof(stub) - 1);
	}
}

// LINUX_VERSION_CODE of the running kernel (the one the program is built for).
std::string kernel_version_flag()
{
	struct utsname u;
	unsigned a = 0, b = 0, c = 0;
	if (uname(&u) == 0)
		sscanf(u.release, "%u.%u.%u", &a, &b, &c);
	return "-D__LUABPF_LINUX_VERSION_CODE=" + std::to_string((a << 16) + (b << 8) + std::min(c, 255u));
}

char *dup_string(const std::string &s)
{
	char *p = static_cast<char *>(malloc(s.size() + 1));
	if (p)
		memcpy(p, s.c_str(), s.size() + 1);
	return p;
}

} // namespace

#define LBPF_STR2(x) #x
#define LBPF_STR(x) LBPF_STR2(x)

extern "C" const char *lbpf_clang__version(void)
{
	return "abi" LBPF_STR(LBPF_CLANG_ABI) "/llvm" LLVM_VERSION_STRING;
}

namespace {

int compile_unit(const struct lbpf_clang_input *in, const std::set<std::string> &twins,
		 struct lbpf_clang_output *out)
{
	out->elf = nullptr;
	out->elf_size = 0;
	out->diagnostics = nullptr;
	init_bpf_target();

	auto fs = llvm::makeIntrusiveRefCnt<llvm::vfs::InMemoryFileSystem>();
	fs->setCurrentWorkingDirectory(kRoot);
	for (const struct lbpf_embedded *e = lbpf_clang_headers; e->name; e++) {
		if (strcmp(e->name, "kernel_headers.list") == 0)
			add_kernel_headers(*fs, llvm::StringRef(e->data, e->size));
		else
			add_file(*fs, std::string(kIncludeDir) + "/" + e->name, e->data, e->size);
	}
	for (size_t i = 0; i < in->nfiles; i++)
		add_file(*fs, std::string(kIncludeDir) + "/" + in->files[i].name, in->files[i].data,
			 in->files[i].size);
	llvm::StringRef main_text(in->main_text, in->main_size);
	std::string rewritten;
	if (in->bcc) {
		std::string diags;
		auto tracepoint_struct = [in](const std::string &cat, const std::string &ev, std::string &text) {
			char *error = nullptr;
			char *def = in->tracepoint_struct ? in->tracepoint_struct(cat.c_str(), ev.c_str(), &error)
							  : nullptr;
			bool found = def != nullptr;
			text = def ? def : error ? error : "tracepoint formats are not available";
			free(def);
			free(error);
			return found;
		};
		if (!lbpf::bcc_rewrite(main_text, tracepoint_struct, twins, rewritten, diags)) {
			out->diagnostics = dup_string(diags);
			return -1;
		}
		main_text = rewritten;
	}
	add_file(*fs, kMainFile, main_text.data(), main_text.size());

	std::vector<const char *> args(std::begin(kBaseFlags), std::end(kBaseFlags));
	std::string version_flag = kernel_version_flag();
	args.push_back(version_flag.c_str());
	// A renamed twin meets the kernel's pointers to its namesake: fine for CO-RE.
	if (!twins.empty())
		args.push_back("-Wno-incompatible-pointer-types");
	for (size_t i = 0; i < in->ncflags; i++)
		args.push_back(in->cflags[i]);
	std::unique_ptr<llvm::MemoryBuffer> pch;
	if (in->pch_in) {
		// Mapped, not read: clang loads only the parts of it the program uses.
		auto file = llvm::MemoryBuffer::getFile(in->pch_in, false, false);
		if (!file) {
			out->diagnostics = dup_string(std::string("error: cannot read the precompiled header ") +
						      in->pch_in + ": " + file.getError().message() + "\n");
			return -1;
		}
		pch = std::move(*file);
		fs->addFile(kPchFile, 0, llvm::MemoryBuffer::getMemBuffer(pch->getBuffer(), kPchFile, false));
		args.insert(args.end(), {"-include-pch", kPchFile, "-Xclang", "-fno-validate-pch"});
	}
	if (in->pch_out)
		args.insert(args.end(), {"-x", "c-header", kMainFile, "-o", in->pch_out});
	else
		args.insert(args.end(), {"-x", "c", kMainFile, "-o", "/luabpf/output.o"});

	std::string diag_text;
	llvm::raw_string_ostream diag_os(diag_text);
	auto diag_opts = llvm::makeIntrusiveRefCnt<clang::DiagnosticOptions>();
	diag_opts->ShowColumn = false;
	auto early_diags = clang::CompilerInstance::createDiagnostics(
		diag_opts.get(), new clang::TextDiagnosticPrinter(diag_os, diag_opts.get()), true);

	clang::CreateInvocationOptions cio;
	cio.Diags = early_diags;
	cio.VFS = fs;
	std::shared_ptr<clang::CompilerInvocation> inv = clang::createInvocation(args, cio);
	if (!inv) {
		diag_os.flush();
		out->diagnostics = dup_string(diag_text.empty() ? "invalid compiler flags" : diag_text);
		return -1;
	}

	if (in->pch_out) {
		inv->getFrontendOpts().OutputFile = in->pch_out;
		inv->getFrontendOpts().ProgramAction = clang::frontend::GeneratePCH;
	}
	clang::CompilerInstance ci;
	ci.setInvocation(inv);
	ci.getDiagnosticOpts().ShowColumn = false;
	ci.createDiagnostics(new clang::TextDiagnosticPrinter(diag_os, &ci.getDiagnosticOpts()), true);
	ci.createFileManager(fs);
	ci.setVerboseOutputStream(std::make_unique<llvm::raw_null_ostream>());

	llvm::SmallVector<char, 0> obj;

	bool ok = false;
	llvm::CrashRecoveryContext crc;
	bool survived = crc.RunSafely([&] {
		if (in->pch_out) {
			clang::GeneratePCHAction act;
			ok = ci.ExecuteAction(act);
		} else {
			EmitBpfModule act;
			ci.getCodeGenOpts().DisableLLVMPasses = true;
			ok = ci.ExecuteAction(act);
			std::unique_ptr<llvm::Module> module = ok ? act.takeModule() : nullptr;
			ok = module != nullptr;
			if (ok) {
				if (in->bcc) {
					lbpf::mark_bcc_functions(*module);
					lbpf::add_probe_reads(*module);
					lbpf::pad_copied_strings(*module);
				}
				ci.getCodeGenOpts().DisableLLVMPasses = false;
				clang::EmitBackendOutput(ci.getDiagnostics(), ci.getHeaderSearchOpts(), ci.getCodeGenOpts(),
							 ci.getTargetOpts(), ci.getLangOpts(),
							 ci.getTarget().getDataLayoutString(), module.get(),
							 clang::Backend_EmitObj, fs,
							 std::make_unique<llvm::raw_svector_ostream>(obj));
				ok = !ci.getDiagnostics().hasErrorOccurred();
			}
		}
	});
	diag_os.flush();
	if (!survived) {
		diag_text += "error: clang crashed while compiling this program\n";
		ok = false;
	}
	out->diagnostics = dup_string(diag_text);
	if (in->pch_out)
		return ok ? 0 : -1;
	if (!ok || obj.empty())
		return -1;
	out->elf = static_cast<char *>(malloc(obj.size()));
	if (!out->elf)
		return -1;
	memcpy(out->elf, obj.data(), obj.size());
	out->elf_size = obj.size();
	return 0;
}

// The structs a failed compile redefined that vmlinux.h already has: "error:
// redefinition of 'NAME'" with its previous definition in vmlinux.h. Returns
// whether it found one not yet in twins.
bool kernel_twins(const std::string &diagnostics, std::set<std::string> &twins)
{
	static const std::string kRedefinition = "error: redefinition of '";
	bool found = false;
	for (size_t at = 0; (at = diagnostics.find(kRedefinition, at)) != std::string::npos;) {
		size_t name = at + kRedefinition.size(), end = diagnostics.find('\'', name);
		size_t note = diagnostics.find("note: previous definition is here", name);
		size_t next = diagnostics.find(kRedefinition, name);
		at = name;
		if (end == std::string::npos || note == std::string::npos || (next != std::string::npos && next < note))
			continue;
		size_t line = diagnostics.rfind('\n', note);
		line = line == std::string::npos ? 0 : line + 1;
		if (diagnostics.substr(line, note - line).find("vmlinux.h:") == std::string::npos)
			continue;
		found |= twins.insert(diagnostics.substr(name, end - name)).second;
	}
	return found;
}

} // namespace

extern "C" int lbpf_clang__compile(const struct lbpf_clang_input *in, struct lbpf_clang_output *out)
{
	std::set<std::string> twins;
	int ret = compile_unit(in, twins, out);
	// BCC tools declare structs the kernel's headers keep private (struct
	// mnt_namespace); vmlinux.h has them, so the tool's own becomes a CO-RE
	// flavor of the kernel's and the unit is compiled again.
	if (ret && in->bcc && out->diagnostics && kernel_twins(out->diagnostics, twins)) {
		free(out->diagnostics);
		free(out->elf);
		ret = compile_unit(in, twins, out);
	}
	return ret;
}
