#!/usr/bin/env bash
# Every test: unit tests in a normal and an ASan+UBSan build, each fuzz
# target for a short run, then the integration suite (network namespaces)
# against both builds of the daemon.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
fuzz_seconds=${MINTFLOW_FUZZ_SECONDS:-20}

scripts/setup.sh test

step() { printf '\n=== %s\n' "$*"; }

step "build (debugoptimized) and unit tests"
scripts/build.sh build --buildtype=debugoptimized
meson test -C build --print-errorlogs

step "build (ASan+UBSan) and unit tests"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
scripts/build.sh build-asan --buildtype=debug -Db_sanitize=address,undefined -Db_lundef=false
meson test -C build-asan --print-errorlogs

step "fuzz targets, ${fuzz_seconds}s each"
CC=clang scripts/build.sh build-fuzz --buildtype=debugoptimized -Dtests=false -Dfuzz=true \
  -Db_sanitize=address,undefined -Db_lundef=false -Dc_args=-fsanitize=fuzzer-no-link
for t in build-fuzz/fuzz/fuzz_*; do
  [ -f "$t" ] && [ -x "$t" ] || continue
  name=$(basename "$t")
  corpus=fuzz/corpus/${name#fuzz_}
  work=$(mktemp -d)
  [ -d "$corpus" ] && cp -r "$corpus"/. "$work"/
  echo "$name"
  "$t" -max_total_time="$fuzz_seconds" -print_final_stats=1 "$work" 2>&1 | tail -n 4
  rm -rf "$work"
done

step "integration tests against build/mintflow"
MINTFLOW_BIN=$root/build/mintflow /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration

step "integration tests against build-asan/mintflow"
MINTFLOW_BIN=$root/build-asan/mintflow /usr/bin/python3 -m pytest -q -p no:cacheprovider tests/integration
