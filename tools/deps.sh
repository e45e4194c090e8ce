#!/bin/sh
# Installs the Debian packages scratchnet needs: to build and run it, or,
# with the argument "test", also what the test suites use (promtool to check
# /metrics, sqlite3 for inspecting test databases, clang 14 with its
# libFuzzer runtime for the fuzzers, valgrind for make valgrind), or with "bench" what
# `make bench` uses (zlib for the IDX reader, the Fashion-MNIST data set,
# PyTorch and numpy with OpenBLAS to compare against, wrk and curl for /predict).
# As root it runs apt-get for whatever is missing; otherwise it names them.
PKGS="build-essential pkg-config libmicrohttpd-dev libcjson-dev libsqlite3-dev"
TEST_PKGS="check libcurl4-openssl-dev prometheus sqlite3"
TEST_PKGS="$TEST_PKGS clang-14 libclang-rt-14-dev valgrind"
BENCH_PKGS="zlib1g-dev dataset-fashion-mnist python3-torch python3-numpy libopenblas0-pthread wrk curl"
# The browser tests (make test-browser) use Debian's Chromium and Node.js 18 with
# npm; a Node.js installed another way (e.g. NodeSource's, which carries npm) is kept.
TEST_PKGS="$TEST_PKGS chromium"
command -v node >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS nodejs"
command -v npm >/dev/null 2>&1 || TEST_PKGS="$TEST_PKGS npm"
[ "${1:-}" = test ] && PKGS="$PKGS $TEST_PKGS"
[ "${1:-}" = bench ] && PKGS="$PKGS $BENCH_PKGS"
missing=""
for p in $PKGS; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
    echo "installing:$missing"
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends $missing >/dev/null
else
    echo "missing Debian packages:$missing"
    echo "install them with: sudo apt-get install$missing"
    exit 1
fi
