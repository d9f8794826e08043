#!/bin/sh
# FIB lookups against DPDK's rte_lpm (IPv4) and rte_lpm6 (IPv6) on the same
# tables and the same addresses, with each engine's memory. Needs
# libdpdk-dev, installed here if missing; the main build never depends on
# DPDK. Takes several minutes: rte_lpm_add alone needs one to two minutes
# for a million IPv4 routes.
#   bench/fib/run.sh
#   CC=clang FIB_BENCH_OUT=/tmp/x bench/fib/run.sh
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=${FIB_BENCH_OUT:-/tmp/mf-fib-bench}
cc=${CC:-gcc}

if ! pkg-config --exists libdpdk; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends libdpdk-dev
fi

mkdir -p "$out"
# -march=native for both sides alike: DPDK's lookups are inline functions
# compiled into this binary too.
"$cc" -std=c11 -D_GNU_SOURCE -O3 -march=native -Wall -Wextra -Werror \
  -Wno-unused-parameter -I"$top/src" \
  "$here/fib_bench.c" "$top"/src/fib/*.c \
  $(pkg-config --cflags --libs libdpdk) -o "$out/fib_bench"

# Arguments: family, prefixes, [addresses], [seed]. EAL memory (MiB) for
# DPDK's tables, without hugepages: FIB_BENCH_EAL_MB, default 4096.
for run in "4 1000000" "4 100000" "6 1000000" "6 100000"; do
  # shellcheck disable=SC2086
  "$out/fib_bench" $run
  echo
done
