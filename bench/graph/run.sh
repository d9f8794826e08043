#!/usr/bin/env bash
# bench/graph: the graph fed from memory (no I/O) through
#   ip4-input -> ip4-lookup -> interface-drop -> error-drop
# Prints packets per second and clocks per packet (noisy machines: compare
# within one run), then instructions per packet under callgrind (repeatable),
# twice: for the rounds as a whole (the bench's stand-in for an input node,
# taking buffers from the pool and setting their length, included) and for
# the graph alone (mf_graph_run: the four nodes, the dispatcher and the
# buffers' return to the pool).
# Usage: bench/graph/run.sh [ROUNDS] [ROUTES]; MF_BUILD=DIR picks the build
# directory (default: build).
set -euo pipefail
cd "$(dirname "$0")/../.."
rounds=${1:-40000}
routes=${2:-10000}
build=${MF_BUILD:-build}
scripts/setup.sh build
command -v valgrind >/dev/null || apt-get install -y -qq --no-install-recommends valgrind
scripts/build.sh "$build" --buildtype=debugoptimized
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
gcc -std=c11 -D_GNU_SOURCE -O2 -g -Isrc bench/graph/graph_bench.c "$build/libmintflow.a" \
  $(pkg-config --libs libcrypto libfyaml libmnl libpcap libqrencode zbar libpng) -lpthread \
  -o "$out/graph_bench"

"$out/graph_bench" "$rounds" "$routes"

cg_rounds=400
pkts=$((cg_rounds * 256))
for fn in run_rounds mf_graph_run; do
  valgrind --tool=callgrind --toggle-collect="$fn" --callgrind-out-file="$out/cg" \
    "$out/graph_bench" "$cg_rounds" "$routes" >/dev/null 2>"$out/cg.log"
  ir=$(sed -n 's/.*Collected : \([0-9]*\).*/\1/p' "$out/cg.log")
  awk -v ir="$ir" -v p="$pkts" -v fn="$fn" 'BEGIN {
    printf "callgrind (%s): %.1f instructions/packet over %d packets\n", fn, ir / p, p }'
done
