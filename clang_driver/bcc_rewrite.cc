// The BCC dialect on clang's raw lexer: tokens, not text, so comments and
// string literals are never touched. Only names of maps the unit declares
// are rewritten, and every replacement keeps its newlines so diagnostics
// still name the user's own lines.
#include "bcc_rewrite.h"

#include <clang/Basic/LangOptions.h>
#include <clang/Basic/TokenKinds.h>
#include <clang/Lex/Lexer.h>
#include <clang/Lex/Token.h>

#include <algorithm>
#include <cstdlib>
#include <map>
#include <set>
#include <vector>

namespace lbpf {
namespace {

// What a map can do, so a method on the wrong kind of map is named as such.
enum Kind : unsigned {
	KV = 1,		// hash, array, histogram, LPM trie and their per-CPU forms
	PERF = 2,	// BPF_PERF_OUTPUT
	RING = 4,	// BPF_RINGBUF_OUTPUT
	STACKS = 8,	// BPF_STACK_TRACE
	PROGS = 16,	// BPF_PROG_ARRAY
	QUEUE = 32,	// BPF_QUEUE, BPF_STACK
	ANY = ~0u,	// BPF_TABLE and maps declared the libbpf way: not checked
};

struct DeclMacro {
	const char *name;
	unsigned min, max, name_arg;
	Kind kind;
	const char *usage;
};

const DeclMacro kDeclMacros[] = {
	{"BPF_HASH", 1, 4, 0, KV, "BPF_HASH(name[, key_type[, leaf_type[, size]]])"},
	{"BPF_ARRAY", 1, 3, 0, KV, "BPF_ARRAY(name[, leaf_type[, size]])"},
	{"BPF_HISTOGRAM", 1, 3, 0, KV, "BPF_HISTOGRAM(name[, key_type[, size]])"},
	{"BPF_PERCPU_HASH", 1, 4, 0, KV, "BPF_PERCPU_HASH(name[, key_type[, leaf_type[, size]]])"},
	{"BPF_PERCPU_ARRAY", 1, 3, 0, KV, "BPF_PERCPU_ARRAY(name[, leaf_type[, size]])"},
	{"BPF_LPM_TRIE", 1, 4, 0, KV, "BPF_LPM_TRIE(name[, key_type[, leaf_type[, size]]])"},
	{"BPF_STACK_TRACE", 2, 2, 0, STACKS, "BPF_STACK_TRACE(name, max_entries)"},
	{"BPF_PROG_ARRAY", 2, 2, 0, PROGS, "BPF_PROG_ARRAY(name, max_entries)"},
	{"BPF_QUEUE", 3, 3, 0, QUEUE, "BPF_QUEUE(name, leaf_type, max_entries)"},
	{"BPF_STACK", 3, 3, 0, QUEUE, "BPF_STACK(name, leaf_type, max_entries)"},
	{"BPF_RINGBUF_OUTPUT", 2, 2, 0, RING, "BPF_RINGBUF_OUTPUT(name, page_count)"},
	{"BPF_PERF_OUTPUT", 1, 1, 0, PERF, "BPF_PERF_OUTPUT(name)"},
	{"BPF_TABLE", 5, 5, 3, ANY, "BPF_TABLE(\"type\", key_type, leaf_type, name, max_entries)"},
};

// BPF_TABLE's first argument: the map type, its flags, and how it is declared.
struct TableType {
	const char *name;
	const char *map_type;
	const char *flags;
	Kind kind;
	bool keyless;
};

const TableType kTableTypes[] = {
	{"hash", "BPF_MAP_TYPE_HASH", "0", KV, false},
	{"array", "BPF_MAP_TYPE_ARRAY", "0", KV, false},
	{"histogram", nullptr, "0", KV, false},
	{"percpu_hash", "BPF_MAP_TYPE_PERCPU_HASH", "0", KV, false},
	{"percpu_array", "BPF_MAP_TYPE_PERCPU_ARRAY", "0", KV, false},
	{"lru_hash", "BPF_MAP_TYPE_LRU_HASH", "0", KV, false},
	{"lru_percpu_hash", "BPF_MAP_TYPE_LRU_PERCPU_HASH", "0", KV, false},
	{"lpm_trie", "BPF_MAP_TYPE_LPM_TRIE", "BPF_F_NO_PREALLOC", KV, false},
	{"stacktrace", "BPF_MAP_TYPE_STACK_TRACE", "0", STACKS, false},
	{"prog", "BPF_MAP_TYPE_PROG_ARRAY", "0", PROGS, false},
	{"perf_output", "BPF_MAP_TYPE_PERF_EVENT_ARRAY", "0", PERF, false},
	{"queue", "BPF_MAP_TYPE_QUEUE", "0", QUEUE, true},
	{"stack", "BPF_MAP_TYPE_STACK", "0", QUEUE, true},
	{"devmap", "BPF_MAP_TYPE_DEVMAP", "0", ANY, false},
	{"cpumap", "BPF_MAP_TYPE_CPUMAP", "0", ANY, false},
	{"xskmap", "BPF_MAP_TYPE_XSKMAP", "0", ANY, false},
	{"sockmap", "BPF_MAP_TYPE_SOCKMAP", "0", ANY, false},
	{"sockhash", "BPF_MAP_TYPE_SOCKHASH", "0", ANY, false},
	{"cgroup_array", "BPF_MAP_TYPE_CGROUP_ARRAY", "0", ANY, false},
};

struct Method {
	const char *name;
	unsigned min, max;
	unsigned kinds;
	const char *usage;
};

const Method kMethods[] = {
	{"lookup", 1, 1, KV | STACKS, "lookup(&key)"},
	{"lookup_or_try_init", 2, 2, KV, "lookup_or_try_init(&key, &zero)"},
	{"lookup_or_init", 2, 2, KV, "lookup_or_init(&key, &zero)"},
	{"update", 2, 2, KV, "update(&key, &value)"},
	{"insert", 2, 2, KV, "insert(&key, &value)"},
	{"delete", 1, 1, KV | STACKS, "delete(&key)"},
	{"increment", 1, 2, KV, "increment(key[, amount])"},
	{"atomic_increment", 1, 2, KV, "atomic_increment(key[, amount])"},
	{"perf_submit", 3, 3, PERF, "perf_submit(ctx, &data, sizeof(data))"},
	{"ringbuf_output", 3, 3, RING, "ringbuf_output(&data, sizeof(data), flags)"},
	{"ringbuf_reserve", 1, 1, RING, "ringbuf_reserve(sizeof(struct data_t))"},
	{"ringbuf_submit", 2, 2, RING, "ringbuf_submit(data, flags)"},
	{"ringbuf_discard", 2, 2, RING, "ringbuf_discard(data, flags)"},
	{"get_stackid", 2, 2, STACKS, "get_stackid(ctx, flags)"},
	{"push", 2, 2, QUEUE, "push(&value, flags)"},
	{"pop", 1, 1, QUEUE, "pop(&value)"},
	{"peek", 1, 1, QUEUE, "peek(&value)"},
	{"call", 2, 2, PROGS, "call(ctx, index)"},
	{"redirect_map", 2, 2, 0, "redirect_map(index, flags)"},
};

// Functions named this way attach by name, as in BCC; the section is derived.
struct NamedProbe {
	const char *prefix;
	const char *section;
	bool two_parts; // tracepoint__<category>__<event>
};

const NamedProbe kNamedProbes[] = {
	{"kprobe__", "kprobe/", false},
	{"kretprobe__", "kretprobe/", false},
	{"tracepoint__", "tracepoint/", true},
	{"raw_tracepoint__", "raw_tracepoint/", false},
};

struct Tok {
	clang::tok::TokenKind kind;
	llvm::StringRef text;
	size_t off;
	bool bol;	  // first token on its line
	bool directive;	  // part of a preprocessor directive
};

struct MapDecl {
	unsigned kinds;
	std::string macro;
};

struct Edit {
	size_t begin, end;
	std::string text;
};

struct LineMark {
	unsigned phys_line; // first physical line the mark applies to
	unsigned line;
	std::string file;
};

class Rewriter {
public:
	Rewriter(llvm::StringRef in, const TracepointStructFn &tp, const std::set<std::string> &twins)
		: text_(in.str()), in_(text_), tp_(tp), twins_(twins)
	{
	}

	bool run(std::string &out, std::string &diagnostics)
	{
		lex();
		find_declarations();
		find_method_calls();
		find_trace_printk();
		rename_twins();
		if (!errors_.empty()) {
			diagnostics = errors_;
			return false;
		}
		apply(out);
		return true;
	}

private:
	std::string text_; // a copy ending in NUL: clang's lexer reads one past the end
	llvm::StringRef in_;
	const TracepointStructFn &tp_;
	const std::set<std::string> &twins_;
	std::vector<Tok> toks_;
	std::vector<size_t> line_starts_;
	std::vector<LineMark> marks_;
	std::map<std::string, MapDecl> maps_;
	std::set<std::string> tracepoint_structs_;
	std::vector<Edit> edits_;
	std::string errors_;

	void lex()
	{
		line_starts_.push_back(0);
		for (size_t i = 0; i < in_.size(); i++)
			if (in_[i] == '\n')
				line_starts_.push_back(i + 1);

		clang::LangOptions lo;
		lo.C11 = lo.GNUMode = lo.DollarIdents = lo.LineComment = true;
		const char *begin = in_.data();
		clang::Lexer lexer(clang::SourceLocation(), lo, begin, begin, begin + in_.size());
		bool in_directive = false;
		clang::Token t;
		for (bool at_end = false; !at_end;) {
			at_end = lexer.LexFromRawLexer(t);
			if (t.is(clang::tok::eof))
				break;
			Tok k;
			k.kind = t.getKind();
			k.off = t.getLocation().getRawEncoding();
			k.text = in_.substr(k.off, t.getLength());
			k.bol = t.isAtStartOfLine();
			if (k.bol)
				in_directive = t.is(clang::tok::hash);
			k.directive = in_directive;
			toks_.push_back(k);
		}
		// #line marks (the unit names the script this way), so errors name
		// the user's own file and line.
		for (size_t i = 0; i + 2 < toks_.size(); i++) {
			if (!toks_[i].bol || toks_[i].kind != clang::tok::hash)
				continue;
			size_t j = i + 1;
			if (toks_[j].text == "line")
				j++;
			if (j + 1 >= toks_.size() || toks_[j].kind != clang::tok::numeric_constant || toks_[j].bol)
				continue;
			LineMark m;
			m.phys_line = phys_line(toks_[i].off) + 1;
			m.line = (unsigned)strtoul(toks_[j].text.str().c_str(), nullptr, 10);
			if (toks_[j + 1].kind == clang::tok::string_literal && !toks_[j + 1].bol)
				m.file = toks_[j + 1].text.drop_front().drop_back().str();
			else if (!marks_.empty())
				m.file = marks_.back().file;
			marks_.push_back(m);
		}
	}

	unsigned phys_line(size_t off) const
	{
		return (unsigned)(std::upper_bound(line_starts_.begin(), line_starts_.end(), off) -
				  line_starts_.begin());
	}

	void error(size_t tok, const std::string &msg)
	{
		unsigned phys = phys_line(toks_[tok].off);
		std::string file = "<input>";
		unsigned line = phys;
		for (const LineMark &m : marks_) {
			if (m.phys_line > phys)
				break;
			file = m.file;
			line = m.line + (phys - m.phys_line);
		}
		errors_ += file + ":" + std::to_string(line) + ": error: " + msg + "\n";
	}

	bool is(size_t i, clang::tok::TokenKind k) const { return i < toks_.size() && toks_[i].kind == k; }
	bool is_ident(size_t i) const { return is(i, clang::tok::raw_identifier); }

	// The arguments of the call whose '(' is at `open`: token ranges split at
	// top-level commas. Returns the index of ')' or 0 when unbalanced.
	size_t args(size_t open, std::vector<std::pair<size_t, size_t>> &out) const
	{
		int depth = 0;
		size_t start = open + 1;
		for (size_t i = open; i < toks_.size(); i++) {
			switch (toks_[i].kind) {
			case clang::tok::l_paren:
			case clang::tok::l_square:
			case clang::tok::l_brace:
				depth++;
				break;
			case clang::tok::r_paren:
			case clang::tok::r_square:
			case clang::tok::r_brace:
				if (--depth == 0) {
					if (i > start || !out.empty())
						out.emplace_back(start, i);
					return i;
				}
				break;
			case clang::tok::comma:
				if (depth == 1) {
					out.emplace_back(start, i);
					start = i + 1;
				}
				break;
			default:
				break;
			}
		}
		return 0;
	}

	std::string source(size_t first, size_t last) const // tokens [first, last)
	{
		if (first >= last)
			return "";
		size_t b = toks_[first].off, e = toks_[last - 1].off + toks_[last - 1].text.size();
		return in_.substr(b, e - b).str();
	}

	// Replaces tokens [first, last] with text, keeping the newlines they spanned.
	void replace(size_t first, size_t last, std::string text)
	{
		size_t b = toks_[first].off, e = toks_[last].off + toks_[last].text.size();
		unsigned lines = phys_line(e) - phys_line(b);
		for (unsigned i = 0; i < lines; i++)
			text += toks_[first].directive ? " \\\n" : "\n";
		edits_.push_back({b, e, std::move(text)});
	}

	void find_declarations()
	{
		int depth = 0;
		bool decl_has_sec = false, decl_is_static = false;
		for (size_t i = 0; i < toks_.size(); i++) {
			const Tok &t = toks_[i];
			if (t.directive)
				continue;
			if (t.kind == clang::tok::l_brace)
				depth++;
			else if (t.kind == clang::tok::r_brace)
				depth--;
			if (depth == 0 && (t.kind == clang::tok::semi || t.kind == clang::tok::r_brace))
				decl_has_sec = decl_is_static = false;
			if (!is_ident(i) || depth != 0)
				continue;
			if (t.text == "SEC") {
				decl_has_sec = true;
				libbpf_map(i);
				continue;
			}
			if (t.text == "static") {
				decl_is_static = true;
				continue;
			}
			if (!is(i + 1, clang::tok::l_paren))
				continue;
			if (declaration_macro(i) || tracepoint_probe(i))
				continue;
			if (!decl_has_sec && !named_probe(i) && !decl_is_static)
				probe_arguments(i);
		}
	}

	// `} name SEC(".maps")`: a map declared the libbpf way.
	void libbpf_map(size_t i)
	{
		if (i >= 1 && is_ident(i - 1) && is(i + 1, clang::tok::l_paren) && is(i + 2, clang::tok::string_literal) &&
		    toks_[i + 2].text == "\".maps\"")
			maps_.emplace(toks_[i - 1].text.str(), MapDecl{ANY, "a libbpf map definition"});
	}

	bool declaration_macro(size_t i)
	{
		const DeclMacro *m = nullptr;
		for (const DeclMacro &d : kDeclMacros)
			if (toks_[i].text == d.name)
				m = &d;
		if (!m)
			return false;
		std::vector<std::pair<size_t, size_t>> a;
		size_t close = args(i + 1, a);
		if (!close) {
			error(i, std::string(m->name) + " has no closing parenthesis");
			return true;
		}
		if (a.size() < m->min || a.size() > m->max) {
			error(i, std::string(m->name) + " takes " +
					 (m->min == m->max ? std::to_string(m->min)
							   : std::to_string(m->min) + " to " + std::to_string(m->max)) +
					 " arguments, " + m->usage + ", but was given " + std::to_string(a.size()));
			return true;
		}
		auto [nb, ne] = a[m->name_arg];
		if (ne != nb + 1 || !is_ident(nb)) {
			error(i, std::string(m->name) + ": the map's name must be a plain identifier, as in " + m->usage);
			return true;
		}
		Kind kind = m->kind;
		if (std::string(m->name) == "BPF_TABLE" && !table(i, close, a, kind))
			return true;
		maps_.emplace(toks_[nb].text.str(), MapDecl{kind, m->name});
		return true;
	}

	// BPF_TABLE("hash", key, leaf, name, size): the string picks the map type,
	// which the preprocessor cannot do, so the whole declaration is replaced.
	bool table(size_t i, size_t close, const std::vector<std::pair<size_t, size_t>> &a, Kind &kind)
	{
		auto [tb, te] = a[0];
		const TableType *type = nullptr;
		if (te == tb + 1 && is(tb, clang::tok::string_literal))
			for (const TableType &t : kTableTypes)
				if (toks_[tb].text.drop_front().drop_back() == t.name)
					type = &t;
		if (!type) {
			std::string known;
			for (const TableType &t : kTableTypes)
				known += std::string(known.empty() ? "" : ", ") + "\"" + t.name + "\"";
			error(i, "BPF_TABLE: unknown map type " + source(tb, te) + "; use one of " + known);
			return false;
		}
		kind = type->kind;
		std::string key = source(a[1].first, a[1].second), leaf = source(a[2].first, a[2].second);
		std::string name = source(a[3].first, a[3].second), size = source(a[4].first, a[4].second);
		std::string map_type = type->map_type ? type->map_type : "__LBPF_HIST_TYPE(" + key + ")";
		if (type->keyless)
			replace(i, close, "__LBPF_KEYLESS_MAP(" + map_type + ", " + leaf + ", " + name + ", " + size + ")");
		else
			replace(i, close, "__LBPF_MAP(" + map_type + ", " + type->flags + ", " + key + ", " + leaf + ", " +
						  name + ", " + size + ")");
		return true;
	}

	// TRACEPOINT_PROBE(category, event): `args` typed from the tracepoint's
	// format file, its struct written inline so no line moves.
	bool tracepoint_probe(size_t i)
	{
		if (toks_[i].text != "TRACEPOINT_PROBE")
			return false;
		std::vector<std::pair<size_t, size_t>> a;
		size_t close = args(i + 1, a);
		if (!close || a.size() != 2 || a[0].second != a[0].first + 1 || a[1].second != a[1].first + 1 ||
		    !is_ident(a[0].first) || !is_ident(a[1].first)) {
			error(i, "TRACEPOINT_PROBE takes two names, TRACEPOINT_PROBE(category, event), as in "
				 "TRACEPOINT_PROBE(syscalls, sys_enter_openat)");
			return true;
		}
		std::string cat = toks_[a[0].first].text.str(), ev = toks_[a[1].first].text.str();
		std::string type = "tracepoint__" + cat + "__" + ev;
		std::string text;
		if (!tracepoint_structs_.count(type)) {
			if (!tp_(cat, ev, text)) {
				error(i, "TRACEPOINT_PROBE(" + cat + ", " + ev + "): " + text);
				return true;
			}
			tracepoint_structs_.insert(type);
			text += " ";
		}
		text += "SEC(\"tracepoint/" + cat + "/" + ev + "\") int " + type + "(struct " + type + " *args)";
		replace(i, close, text);
		return true;
	}

	// int kprobe__vfs_read(struct pt_regs *ctx) { ... } gets its section.
	// Returns whether the name was a probe's.
	bool named_probe(size_t i)
	{
		llvm::StringRef name = toks_[i].text;
		for (const NamedProbe &p : kNamedProbes) {
			if (!name.starts_with(p.prefix) || name.size() == strlen(p.prefix))
				continue;
			std::string rest = name.drop_front(strlen(p.prefix)).str();
			std::vector<std::pair<size_t, size_t>> a;
			size_t close = args(i + 1, a);
			if (!close || !is(close + 1, clang::tok::l_brace))
				return true; // a declaration or a call, not a definition
			if (p.two_parts) {
				size_t sep = rest.find("__");
				if (sep == std::string::npos || sep == 0 || sep + 2 == rest.size()) {
					error(i, name.str() + ": a tracepoint program is named tracepoint__<category>__<event>, "
							      "e.g. tracepoint__syscalls__sys_enter_openat");
					return true;
				}
				rest = rest.substr(0, sep) + "/" + rest.substr(sep + 2);
			}
			edits_.push_back({toks_[i].off, toks_[i].off, "SEC(\"" + std::string(p.section) + rest + "\") "});
			if (std::string(p.prefix) == "kprobe__" && a.size() > 1)
				kprobe_arguments(i, a, "BPF_KPROBE");
			return true;
		}
		return false;
	}

	// A plain function is a program its attach call types, as in BCC:
	// `int trace_read(struct pt_regs *ctx, struct file *file, ...)` takes the
	// probed function's arguments after ctx, and a syscall__ function the
	// system call's (through the wrapper's saved registers).
	void probe_arguments(size_t i)
	{
		llvm::StringRef name = toks_[i].text;
		if (name.upper() == name.str())
			return; // a macro, e.g. BPF_KPROBE(...)
		std::vector<std::pair<size_t, size_t>> a;
		size_t close = args(i + 1, a);
		if (!close || !is(close + 1, clang::tok::l_brace) || a.size() < 2)
			return;
		auto [fb, fe] = a[0];
		if (fe != fb + 4 || toks_[fb].text != "struct" || toks_[fb + 1].text != "pt_regs" ||
		    !is(fb + 2, clang::tok::star))
			return;
		kprobe_arguments(i, a, name.starts_with("syscall__") ? "BPF_KSYSCALL" : "BPF_KPROBE");
	}

	// BCC's kprobe__f(struct pt_regs *ctx, struct file *file, ...): the
	// arguments after ctx come from the registers, as BPF_KPROBE does.
	void kprobe_arguments(size_t i, const std::vector<std::pair<size_t, size_t>> &a, const char *macro)
	{
		auto [fb, fe] = a[0];
		if (fe == fb || toks_[fe - 1].text != "ctx") {
			error(i, toks_[i].text.str() + ": the first parameter must be struct pt_regs *ctx when the "
						       "function's own arguments follow it");
			return;
		}
		replace(i, fe, std::string(macro) + "(" + toks_[i].text.str() + ",");
	}

	void find_method_calls()
	{
		for (size_t i = 0; i + 3 < toks_.size(); i++) {
			if (!is_ident(i) || !is(i + 1, clang::tok::period) || !is_ident(i + 2) || !is(i + 3, clang::tok::l_paren))
				continue;
			if (i > 0 && (is(i - 1, clang::tok::period) || is(i - 1, clang::tok::arrow)))
				continue;
			const Method *m = nullptr;
			for (const Method &k : kMethods)
				if (toks_[i + 2].text == k.name)
					m = &k;
			std::string map = toks_[i].text.str(), method = toks_[i + 2].text.str();
			auto decl = maps_.find(map);
			if (decl == maps_.end()) {
				if (m)
					error(i, "'" + map + "' is not a map declared in this program, so " + map + "." + method +
							 "() is not a map method; declare it first, e.g. BPF_HASH(" + map + ")");
				continue;
			}
			if (!m) {
				std::string known;
				for (const Method &k : kMethods)
					known += std::string(known.empty() ? "" : ", ") + k.name;
				error(i, "map '" + map + "' has no method '" + method + "'; map methods are " + known);
				continue;
			}
			if (!(m->kinds & decl->second.kinds) && decl->second.kinds != ANY) {
				error(i, map + "." + method + "() does not apply to " + map + ", declared with " +
						 decl->second.macro);
				continue;
			}
			std::vector<std::pair<size_t, size_t>> a;
			size_t close = args(i + 3, a);
			if (!close) {
				error(i, map + "." + method + "( has no closing parenthesis");
				continue;
			}
			if (a.size() < m->min || a.size() > m->max) {
				error(i, map + "." + method + "() takes " +
						 (m->min == m->max ? std::to_string(m->min)
								   : std::to_string(m->min) + " or " + std::to_string(m->max)) +
						 (m->max == 1 ? " argument" : " arguments") + ", as in " + map + "." + m->usage +
						 ", but was given " + std::to_string(a.size()));
				continue;
			}
			replace(i, i + 3, "__lbpf_" + method + "(" + map + (a.empty() ? "" : ", "));
		}
	}

	// bpf_trace_printk("fmt", args...) as BCC writes it: no format size.
	void find_trace_printk()
	{
		for (size_t i = 0; i + 2 < toks_.size(); i++)
			if (is_ident(i) && toks_[i].text == "bpf_trace_printk" && is(i + 1, clang::tok::l_paren) &&
			    is(i + 2, clang::tok::string_literal))
				replace(i, i + 1, "__lbpf_trace_printk(");
	}

	// `struct mnt_namespace` the script defines, vmlinux.h too: the script's
	// is renamed a flavor (CO-RE ignores a ___suffix) and its definition made
	// relocatable, so its fields are found in the running kernel's struct.
	void rename_twins()
	{
		for (size_t i = 0; i + 1 < toks_.size(); i++) {
			if (toks_[i].text != "struct" || !is_ident(i + 1) || !twins_.count(toks_[i + 1].text.str()))
				continue;
			std::string name = toks_[i + 1].text.str() + "___luabpf";
			if (is(i + 2, clang::tok::l_brace))
				name = "__attribute__((preserve_access_index)) " + name;
			replace(i + 1, i + 1, name);
		}
	}

	void apply(std::string &out)
	{
		std::stable_sort(edits_.begin(), edits_.end(),
				 [](const Edit &x, const Edit &y) { return x.begin < y.begin; });
		size_t pos = 0;
		out.clear();
		out.reserve(in_.size() + 256);
		for (const Edit &e : edits_) {
			if (e.begin < pos)
				continue; // inside an earlier replacement (BPF_TABLE's own tokens)
			out.append(in_.data() + pos, e.begin - pos);
			out += e.text;
			pos = e.end;
		}
		out.append(in_.data() + pos, in_.size() - pos);
	}
};

} // namespace

bool bcc_rewrite(llvm::StringRef in, const TracepointStructFn &tracepoint_struct,
		 const std::set<std::string> &kernel_twins, std::string &out, std::string &diagnostics)
{
	return Rewriter(in, tracepoint_struct, kernel_twins).run(out, diagnostics);
}

} // namespace lbpf
