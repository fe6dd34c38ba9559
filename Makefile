# baton's entry points. `make test` takes a fresh Debian 12 machine to a
# full test run; see README.md.

BUILD      ?= build
ASAN_BUILD ?= build-asan
SEEDS      ?= 1000
JOBS       ?= $(shell nproc)
CMAKE_GEN  := -G Ninja

.PHONY: all setup build build-asan test sim cluster bench demo clean

all: build

setup:
	@scripts/setup.sh

# Release-style build with gcc, warnings as errors.
build: setup
	@cmake -S . -B $(BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	    -DCMAKE_C_COMPILER=gcc -DBATON_WERROR=ON >/dev/null
	@cmake --build $(BUILD)

# Debug build with clang under AddressSanitizer + UndefinedBehaviorSanitizer.
build-asan: setup
	@cmake -S . -B $(ASAN_BUILD) $(CMAKE_GEN) -DCMAKE_BUILD_TYPE=Debug \
	    -DCMAKE_C_COMPILER=clang -DBATON_WERROR=ON \
	    -DBATON_SANITIZE=address,undefined >/dev/null
	@cmake --build $(ASAN_BUILD)

# Every test, in both builds.
test: build build-asan
	@echo "== tests: gcc build =="
	@ctest --test-dir $(BUILD) --output-on-failure -j $(JOBS)
	@echo "== tests: clang + ASan + UBSan build =="
	@ctest --test-dir $(ASAN_BUILD) --output-on-failure -j $(JOBS)

# N simulator seeds with every workload (apps, global names and a quorum
# app's Raft group); the last line reads "N passed, M failed".
sim: build
	@$(BUILD)/test/sim/baton-sim --names --quorum --seeds $(SEEDS) --jobs $(JOBS)

# The cluster suite's long nemesis, as root (docs/design/cluster.md): 5
# batond in network namespaces, random partitions of every kind for
# MINUTES; SEED=S replays a schedule (the run prints its seed).
MINUTES ?= 5
SEED    ?=
cluster: build
	@BUILD=$(BUILD) test/cluster/run.sh nemesis --nodes 5 --minutes $(MINUTES) \
	    $(if $(SEED),--seed $(SEED))

# A 3-node cluster on loopback telling the seed story: failover and
# takeover with the state handed over (README).
demo: build
	@scripts/demo.sh

# Benchmarks: figures printed and written to build/bench/results.json.
bench: build
	@bench/run.sh

clean:
	rm -rf $(BUILD) $(ASAN_BUILD)
