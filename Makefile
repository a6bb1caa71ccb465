# stockpipe — the README's commands.  CMake does the building; this file only names
# the steps.  `make run` and `make test` install dependencies first (idempotent).
BUILD      ?= build
ASAN_BUILD ?= build-asan
JOBS       ?= $(shell nproc 2>/dev/null || echo 2)
PREFIX     ?= /usr/local
CTEST_ARGS ?= --output-on-failure --no-tests=error -j $(JOBS)

.PHONY: all deps build build-asan run test test-fast test-asan bench demo install clean

all: build

deps:
	bash scripts/install-deps.sh

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=RelWithDebInfo

build: $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j $(JOBS)

$(ASAN_BUILD)/CMakeCache.txt:
	cmake -S . -B $(ASAN_BUILD) -DCMAKE_BUILD_TYPE=Debug -DSTOCKPIPE_SANITIZE=ON

build-asan: $(ASAN_BUILD)/CMakeCache.txt
	cmake --build $(ASAN_BUILD) -j $(JOBS)

# The main job on the default config, storing Parquet under ./data, in the
# foreground: Ctrl-C drains the channels and stops it.  Health: http://127.0.0.1:8765/health.
run: deps build
	./$(BUILD)/stockpipe run

# One round of the whole default pipeline against the bundled fake API (no network,
# no keys), then the stored files, a summary and two queries.
demo: build
	bash scripts/demo.sh $(BUILD)

# Every test, then every test again under AddressSanitizer + UBSan.
test: deps build build-asan
	cd $(BUILD) && ctest $(CTEST_ARGS)
	cd $(ASAN_BUILD) && ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1 ctest $(CTEST_ARGS)

# Only the normal build's tests (for quick iterations while developing).
test-fast: build
	cd $(BUILD) && ctest $(CTEST_ARGS)

bench: deps build
	bash bench/run.sh $(BUILD)

# Configured with PREFIX so paths derived from it (the systemd unit's, /etc for /usr)
# are right; DESTDIR stages the whole tree elsewhere (packaging).
install: build
	cmake -S . -B $(BUILD) -DCMAKE_INSTALL_PREFIX=$(PREFIX)
	DESTDIR=$(DESTDIR) cmake --install $(BUILD)

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
