# scorecam — build, test, demo, bench.
#   make demo    build the library and run the C example
#   make test    build and run every test (Swift, C, C++), plain and under sanitizers
#   make bench   engine-only throughput
#   make install PREFIX=/usr/local

VERSION    := 0.1.0
SOVERSION  := 0
PREFIX     ?= /usr/local
BUILD      := build
LIBDIR     := $(BUILD)/lib
LIB        := $(LIBDIR)/libscorecam.so.$(VERSION)
SWIFT_SRC  := Package.swift include/scorecam.h Sources/ScoreCAM/exports.map $(shell find Sources -name '*.swift' -o -name '*.c')

CC         ?= cc
CXX        ?= c++
STRICT_C   := -std=c99 -Wall -Wextra -pedantic -Werror
STRICT_CXX := -std=c++17 -Wall -Wextra -pedantic -Werror
SANITIZE   := -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LINK       := -L$(LIBDIR) -lscorecam -Wl,-rpath,$(abspath $(LIBDIR)) -lm -lpthread

C_TESTS    := $(patsubst Tests/c/%.c,%,$(wildcard Tests/c/test_*.c))

.PHONY: all lib demo test test-swift test-c test-c-asan check-exports bench install clean

all: lib

lib: $(LIB)

# The Swift standard library is linked statically: the .so needs only libc, libm and libstdc++.
$(LIB): $(SWIFT_SRC)
	swift build -c release -Xswiftc -static-stdlib
	@mkdir -p $(LIBDIR)
	cp .build/release/libscorecam.so $@
	ln -sf libscorecam.so.$(VERSION) $(LIBDIR)/libscorecam.so.$(SOVERSION)
	ln -sf libscorecam.so.$(SOVERSION) $(LIBDIR)/libscorecam.so

demo: lib
	@mkdir -p $(BUILD)/examples
	$(CC) $(STRICT_C) -O2 -Iinclude examples/c/explain_blob.c -o $(BUILD)/examples/explain_blob $(LINK)
	$(BUILD)/examples/explain_blob

test: test-swift test-c test-c-asan check-exports
	@echo "all tests passed"

test-swift:
	swift test --sanitize=address --disable-xctest

$(BUILD)/tests/%: Tests/c/%.c Tests/c/test_util.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) -O1 -Iinclude $< -o $@ $(LINK)

$(BUILD)/tests-asan/%: Tests/c/%.c Tests/c/test_util.h $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) $(SANITIZE) -Iinclude $< -o $@ $(LINK)

$(BUILD)/tests/test_header_cpp: Tests/c/test_header.cpp include/scorecam.h $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -Iinclude $< -o $@ $(LINK)

$(BUILD)/tests/explain_blob: examples/c/explain_blob.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) -Iinclude $< -o $@ $(LINK)

test-c: $(addprefix $(BUILD)/tests/,$(C_TESTS) test_header_cpp explain_blob)
	@set -e; for t in $(C_TESTS) test_header_cpp; do $(BUILD)/tests/$$t; done
	@# The example must run and explain each class where its object is.
	$(BUILD)/tests/explain_blob | scripts/check_blob_example.sh

test-c-asan: $(addprefix $(BUILD)/tests-asan/,$(C_TESTS))
	@set -e; for t in $(C_TESTS); do echo "[asan] $$t"; ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests-asan/$$t; done

check-exports: lib
	scripts/check_exports.sh $(LIBDIR)/libscorecam.so

bench: lib
	@mkdir -p $(BUILD)/bench
	$(CC) $(STRICT_C) -O2 -Iinclude bench/engine_bench.c -o $(BUILD)/bench/engine_bench $(LINK)
	$(BUILD)/bench/engine_bench 5

install: lib
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib
	install -m 644 include/scorecam.h $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libscorecam.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libscorecam.so.$(SOVERSION)
	ln -sf libscorecam.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libscorecam.so

clean:
	rm -rf $(BUILD) .build
