# Builds luabpf: the C runtime, the Lua module bpf.so, the luabpf host, the
# clang driver library and the test fixtures, all under build/.
CC ?= cc
CXX ?= c++
LLVM_CONFIG ?= llvm-config-19
PREFIX ?= /usr/local
B := build
# make SANITIZE=1: the runtime, binding and host built with AddressSanitizer
# and UndefinedBehaviorSanitizer, in a tree of their own (make test runs it).
SANITIZE ?= 0
ifeq ($(SANITIZE),1)
B := build-san
SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
# make fuzz: the same code built by clang with libFuzzer's coverage (and
# ASan, UBSan) in build-fuzz/, and one harness per parser from tests/fuzz/.
FUZZ ?= 0
ifeq ($(FUZZ),1)
B := build-fuzz
CC := clang-19
CXX := clang++-19
SAN_FLAGS := -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
endif
FUZZERS := btf_codec cache_entry elf_check trace_line tracepoint_format bcc_rewrite
# Seconds `make fuzz` runs each harness; make test runs them for 30.
FUZZ_SECONDS ?= 600

# Debian 12 packages the build, the tests and the fuzzers need (libbpf-dev
# comes from bookworm-backports: 1.4).
DEB_PACKAGES := gcc g++ make pkg-config libc6-dev linux-libc-dev libbpf-dev liblua5.4-dev lua5.4 libmicrohttpd-dev \
	llvm-19-dev libclang-cpp19-dev libclang-19-dev libclang-common-19-dev \
	libelf-dev zlib1g-dev libedit-dev lua-busted util-linux systemtap-sdt-dev clang-19 libclang-rt-19-dev \
	lua-argparse lua-dkjson libbsd-dev libmd-dev libncurses-dev

# Lazily expanded, so `make deps` runs before anything asks llvm-config.
LLVM_PREFIX = $(shell $(LLVM_CONFIG) --prefix)
LLVM_MAJOR = $(shell $(LLVM_CONFIG) --version | cut -d. -f1)
CLANG_RESOURCE = $(LLVM_PREFIX)/lib/clang/$(LLVM_MAJOR)/include
LUA_CFLAGS = $(shell pkg-config --cflags lua5.4)

WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
CFLAGS ?= -O2 -g
ALL_CFLAGS = $(CFLAGS) $(SAN_FLAGS) $(WARN) -std=gnu11 -fPIC -D_GNU_SOURCE -Iruntime -Itools -Iclang_driver \
	-Ilua -I$(B)/gen $(LUA_CFLAGS) -DLBPF_LIBDIR='"$(PREFIX)/lib/luabpf"' \
	-DLBPF_DRIVER_ID='"llvm-$(shell $(LLVM_CONFIG) --version)"'
RUNTIME_LIBS := -lbpf -lelf -lz -ldl

RUNTIME_SRCS := $(wildcard runtime/*.c)
BINDING_SRCS := $(filter-out lua/host.c,$(wildcard lua/*.c))
LUA_MODULES := $(filter-out lua/host.lua,$(wildcard lua/*.lua))
# Loaded on require "bpf.NAME" only (they need lua-argparse and a JSON library).
PRELOAD_MODULES := $(wildcard lua/preload/*.lua)
RUNTIME_OBJS := $(RUNTIME_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/gen/runtime_files.o $(B)/obj/gen/syscalls.o
BINDING_OBJS := $(BINDING_SRCS:%.c=$(B)/obj/%.o) $(B)/obj/gen/lua_modules.o

# The BPF-side headers a compile may include, embedded into the driver.
LIBBPF_HEADERS := bpf_helpers.h bpf_helper_defs.h bpf_tracing.h bpf_core_read.h bpf_endian.h usdt.bpf.h
CLANG_HEADERS := stddef.h stdint.h stdbool.h stdarg.h limits.h float.h stdalign.h stdnoreturn.h \
	iso646.h stdatomic.h

BENCH_TOOLS := $(B)/bench/producer $(B)/bench/lbpf_gen $(B)/bench/c_consumer $(B)/bench/measure $(B)/bench/many_funcs \
	$(B)/bench/scraper
FIXTURES := $(B)/tests/busy $(B)/tests/readsizes $(B)/tests/uprobe_target $(B)/tests/opener $(B)/tests/ptydrive $(B)/tests/getppid_loop $(B)/tests/usdt_target $(B)/tests/tcp_pair $(B)/tests/pipe_wake $(B)/tests/udp_count $(B)/tests/hog

.PHONY: install-runtime install-compiler install-tools all deps bench-deps test bench demo install clean fixtures fuzz fuzzers FORCE
all: $(B)/luabpf $(B)/bpf.so $(B)/libluabpf-clang.so $(if $(filter 1,$(SANITIZE) $(FUZZ)),,$(B)/luabpf-static)

deps:
	@tools/deps $(DEB_PACKAGES)

# Packages keep their files' old dates, so an upgrade of libbpf or of the
# uapi headers is noticed by version: what was built against them is rebuilt.
$(B)/gen/headers.version: FORCE
	@mkdir -p $(dir $@)
	@v=$$(dpkg-query -W -f='$${Version} ' libbpf-dev linux-libc-dev); \
		[ "$$(cat $@ 2>/dev/null)" = "$$v" ] || echo "$$v" >$@
FORCE:

$(B)/obj/%.o: %.c $(wildcard runtime/*.h lua/*.h clang_driver/*.h tools/*.h) $(B)/gen/headers.version
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/obj/gen/%.o: $(B)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

$(B)/embed: tools/embed.c
	@mkdir -p $(B)
	$(CC) -O2 -Wall -o $@ $<

$(B)/gen/runtime_files.c: $(B)/embed runtime/prelude.bpf.h runtime/usdt.bpf.h
	@mkdir -p $(dir $@)
	$(B)/embed lbpf_runtime_files $@ luabpf/prelude.h=runtime/prelude.bpf.h luabpf/usdt.h=runtime/usdt.bpf.h

# This architecture's system call table, from the C library's headers.
$(B)/gen/syscalls.c:
	@mkdir -p $(dir $@)
	{ echo '#include "luabpf.h"'; echo 'const struct lbpf_syscall lbpf_syscalls[] = {'; \
	  echo '#include <sys/syscall.h>' | $(CC) -dM -E - | \
	  awk '$$1 == "#define" && $$2 ~ /^__NR_[a-z0-9_]+$$/ && $$3 ~ /^[0-9]+$$/ { sub("__NR_", "", $$2); printf "\t{%s, \"%s\"},\n", $$3, $$2 }' | sort -t, -k1.3n; \
	  echo '	{-1, NULL},'; echo '};'; } > $@.tmp && mv $@.tmp $@

# The host's Lua, and the README its REPL quotes for :help.
$(B)/gen/host_lua.c: $(B)/embed lua/host.lua README.md
	@mkdir -p $(dir $@)
	$(B)/embed lbpf_host_lua $@ host.lua=lua/host.lua README.md=README.md

$(B)/gen/lua_modules.c: $(B)/embed $(LUA_MODULES) $(PRELOAD_MODULES)
	@mkdir -p $(dir $@)
	$(B)/embed lbpf_lua_modules $@ $(foreach m,$(LUA_MODULES),$(notdir $(m))=$(m)) \
		$(foreach m,$(PRELOAD_MODULES),preload/$(notdir $(m))=$(m))

$(B)/gen/clang_headers.c: $(B)/embed $(wildcard clang_driver/include/*/*.h) clang_driver/include/kernel_headers.list \
		$(B)/gen/headers.version
	@mkdir -p $(dir $@)
	$(B)/embed lbpf_clang_headers $@ \
		$(foreach h,$(LIBBPF_HEADERS),bpf/$(h)=/usr/include/bpf/$(h)) \
		$(foreach h,$(CLANG_HEADERS) $(notdir $(wildcard $(CLANG_RESOURCE)/__stddef_*.h $(CLANG_RESOURCE)/__stdarg_*.h)),$(h)=$(CLANG_RESOURCE)/$(h)) \
		linux/errno.h=clang_driver/include/linux/errno.h linux/types.h=clang_driver/include/linux/types.h \
		luabpf/kernel.h=clang_driver/include/luabpf/kernel.h \
		kernel_headers.list=clang_driver/include/kernel_headers.list

$(B)/bpf.so: $(RUNTIME_OBJS) $(BINDING_OBJS)
	$(CC) $(SAN_FLAGS) -shared -o $@ $^ $(RUNTIME_LIBS) -lm

$(B)/luabpf: $(B)/obj/lua/host.o $(B)/obj/gen/host_lua.o $(RUNTIME_OBJS) $(BINDING_OBJS)
	$(CC) $(SAN_FLAGS) -o $@ $^ -llua5.4 -ledit $(RUNTIME_LIBS) -lm

# The host with Lua, libbpf, libelf, zlib and libedit linked in (glibc
# stays shared): what luabpf bundle --exe puts a bundle behind.
$(B)/luabpf-static: $(B)/obj/lua/host.o $(B)/obj/gen/host_lua.o $(RUNTIME_OBJS) $(BINDING_OBJS)
	$(CC) -s -o $@ $^ -Wl,-Bstatic -llua5.4 -ledit -lbsd -lmd -ltinfo -lbpf -lelf -lz -Wl,-Bdynamic -ldl -lm

DRIVER_SRCS := $(wildcard clang_driver/*.cc)
DRIVER_CXXFLAGS = -g -fPIC -Wall -Iclang_driver -Itools $(shell $(LLVM_CONFIG) --cxxflags) -fexceptions
DRIVER_LIBS = -L$(LLVM_PREFIX)/lib -Wl,-rpath,$(LLVM_PREFIX)/lib -lclang-cpp -lLLVM-$(LLVM_MAJOR)
$(B)/libluabpf-clang.so: $(DRIVER_SRCS) $(wildcard clang_driver/*.h) $(B)/gen/clang_headers.c
	@mkdir -p $(B)/obj/clang_driver
	$(CC) $(filter-out $(SAN_FLAGS),$(ALL_CFLAGS)) -c $(B)/gen/clang_headers.c -o $(B)/obj/clang_driver/headers.o
	$(CXX) -O2 $(DRIVER_CXXFLAGS) -shared -o $@ $(DRIVER_SRCS) $(B)/obj/clang_driver/headers.o \
		$(DRIVER_LIBS) -Wl,--no-undefined -Wl,--exclude-libs,ALL

# The fuzz harnesses take what they test from one archive of the runtime and binding.
$(B)/libluabpf.a: $(RUNTIME_OBJS) $(BINDING_OBJS)
	rm -f $@ && ar rcs $@ $^

$(B)/fuzz/%: tests/fuzz/%.c $(B)/libluabpf.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -o $@ $< $(B)/libluabpf.a $(RUNTIME_LIBS) -llua5.4 -lm

$(B)/fuzz/bcc_rewrite: tests/fuzz/bcc_rewrite.cc clang_driver/bcc_rewrite.cc clang_driver/bcc_rewrite.h
	@mkdir -p $(dir $@)
	$(CXX) -O1 $(DRIVER_CXXFLAGS) $(SAN_FLAGS) -fsanitize=fuzzer -o $@ $(filter %.cc,$^) $(DRIVER_LIBS)

fuzzers: $(FUZZERS:%=$(B)/fuzz/%)

fuzz:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory FUZZ=1 fuzzers
	@LUABPF_BUILD=build-fuzz tests/fuzz/run $(FUZZ_SECONDS) $(FUZZERS)

fixtures: $(FIXTURES)

$(B)/tests/uprobe_target: tests/fixtures/uprobe_target.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -o $@ $<

# PIE with frame pointers, so user stacks walk and symbols need the load address.
$(B)/tests/busy: tests/fixtures/busy.c
	@mkdir -p $(dir $@)
	$(CC) -O0 -g -fno-omit-frame-pointer -fPIE -pie -o $@ $<

# Static, so the only openat calls it makes are the ones the test counts.
$(B)/tests/opener: tests/fixtures/opener.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<

$(B)/tests/readsizes: tests/fixtures/readsizes.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<

$(B)/tests/getppid_loop: tests/fixtures/getppid_loop.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -static -o $@ $<

$(B)/tests/tcp_pair: tests/fixtures/tcp_pair.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

$(B)/tests/udp_count: tests/fixtures/udp_count.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

# Frame pointers, so the waiter's user stack walks to main.
$(B)/tests/pipe_wake: tests/fixtures/pipe_wake.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -fno-omit-frame-pointer -Wall -o $@ $<

# USDT probes from systemtap's sys/sdt.h.
$(B)/tests/usdt_target: tests/fixtures/usdt_target.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -g -o $@ $<

$(B)/tests/hog: tests/fixtures/hog.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

$(B)/tests/ptydrive: tests/fixtures/ptydrive.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -lutil

$(B)/bench/producer: bench/producer.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -lbpf

# Its name is its comm, which the traced program matches.
$(B)/bench/lbpf_gen: bench/gen.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -static -o $@ $<

# Unoptimized calls, so each of its 100 functions is entered once per run.
$(B)/bench/many_funcs: bench/many_funcs.c
	@mkdir -p $(dir $@)
	$(CC) -O1 -Wall -o $@ $<

$(B)/bench/measure: bench/measure.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

$(B)/bench/scraper: bench/scraper.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $<

$(B)/bench/c_consumer: bench/c_consumer.c
	@mkdir -p $(dir $@)
	$(CC) -O2 -Wall -o $@ $< -lbpf

# The suite twice (plain, then sanitized) and a short run of every fuzzer;
# tests/run tests/x_spec.lua runs one spec against build/.
test:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory SANITIZE=0 FUZZ=0 all fixtures
	@$(MAKE) --no-print-directory SANITIZE=1 FUZZ=0 all fixtures
	@$(MAKE) --no-print-directory SANITIZE=0 FUZZ=1 fuzzers
	@tests/all $(FUZZERS)

bench:
	@$(MAKE) --no-print-directory deps bench-deps
	@$(MAKE) --no-print-directory all fixtures $(BENCH_TOOLS)
	@bench/run

# Peers measured beside luabpf; only the benchmarks need them.
bench-deps:
	@dpkg-query -W -f='$${Status}\n' bpftrace 2>/dev/null | grep -q '^install ok installed' || \
		{ [ "$$(id -u)" = 0 ] && apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -q bpftrace; } || \
		echo "make bench: bpftrace is not installed; its column stays empty"

demo:
	@$(MAKE) --no-print-directory deps
	@$(MAKE) --no-print-directory all
	$(B)/luabpf scripts/syscount.lua -P -d 3

# The tools built on bpf.tool, installed as luabpf-NAME with a man page each.
TOOLS := $(basename $(notdir $(shell grep -l 'require "bpf.tool"' scripts/*.lua)))

# The runtime (host and module) runs bundles and compiled objects with no
# LLVM; the compiler (the clang driver library) is what compiling C needs.
install: install-runtime install-compiler install-tools

install-runtime: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/lib/lua/5.4 $(DESTDIR)$(PREFIX)/lib/luabpf
	install -m 755 $(B)/luabpf $(DESTDIR)$(PREFIX)/bin/luabpf
	install -m 644 $(B)/bpf.so $(DESTDIR)$(PREFIX)/lib/lua/5.4/bpf.so
	install -m 755 $(B)/luabpf-static $(DESTDIR)$(PREFIX)/lib/luabpf/luabpf-static

install-compiler: all
	install -d $(DESTDIR)$(PREFIX)/lib/luabpf
	install -m 644 $(B)/libluabpf-clang.so $(DESTDIR)$(PREFIX)/lib/luabpf/

install-tools: install-runtime
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8
	for t in $(TOOLS); do \
		install -m 755 scripts/$$t.lua $(DESTDIR)$(PREFIX)/bin/luabpf-$$t && \
		$(B)/luabpf scripts/$$t.lua -h | $(B)/luabpf tools/man.lua luabpf-$$t \
			> $(DESTDIR)$(PREFIX)/share/man/man8/luabpf-$$t.8 || exit 1; \
	done

clean:
	rm -rf $(B)
