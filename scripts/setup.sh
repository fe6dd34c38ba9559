#!/usr/bin/env bash
# Installs the Debian packages baton needs to build and test. Quick when
# they are all present already: apt-get runs only for missing ones.
set -euo pipefail

packages=(
    build-essential  # gcc, make
    clang            # second compiler; sanitizer build
    libclang-rt-14-dev  # clang's ASan/UBSan/libFuzzer runtimes (only
                        # recommended by clang, so never implied here)
    cmake            # build system, ctest
    ninja-build      # fast builds
    pkg-config       # finds the libraries below
    libcmocka-dev    # unit tests
    libmsgpack-dev   # message bodies on the wire
    libsodium-dev    # HMAC-SHA-256, AEAD, SHA-256, random nonces
    libuv1-dev       # event loop, TCP, timers, signals, Unix sockets
    libinih-dev      # INI config files
    libcjson-dev     # JSON on the control socket, --json output
    iproute2         # ip netns, veth, bridge: the cluster suite (test/cluster)
    nftables         # partitions inside those namespaces (test/cluster)
    python3          # the cluster suite's orchestrator and checks (stdlib only)
    libmicrohttpd-dev  # the Prometheus endpoint (metrics_listen, docs/metrics.md)
    curl             # test_metrics.sh scrapes that endpoint as Prometheus would
    groff-base       # formats the man pages: their test (test/package)
    file             # cpack -G DEB's dependency scan (dpkg-shlibdeps) needs it
    redis-server     # examples/redis runs it as an app (test_redis.sh)
    redis-tools      # redis-cli: that example's checks, state export, test
)

missing=()
for p in "${packages[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
        missing+=("$p")
    fi
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "setup: all ${#packages[@]} packages present"
    exit 0
fi

echo "setup: installing ${missing[*]}"
sudo=()
if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null; then
        sudo=(sudo)
    else
        echo "setup: need root (or sudo) to install: ${missing[*]}" >&2
        exit 1
    fi
fi
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
