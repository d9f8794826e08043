#!/usr/bin/env bash
# bench/wireguard: WireGuard tunnels between two network namespaces
# (mfbench-a, mfbench-b, one veth 10.99.0.1/24 <-> 10.99.0.2/24), measured
# back to back in one run: mintflow<->mintflow, wireguard-go<->wireguard-go
# and mintflow(A)<->wireguard-go(B); iperf3 TCP 1 and 4 streams, both
# directions; throughput, retransmits, tunnel CPU seconds per GB; the
# ratios against wireguard-go and whether the goal (3x the throughput at
# half the CPU per GB) is met. Then the data path's cipher alone
# (encrypt_bench.c) against `openssl speed`.
#
# Usage: [BENCH_SECONDS=10] bench/wireguard/run.sh     (as root)
#   BENCH_PAIRS=mf,wg,mixed  the pairs to run (default all three)
#   BENCH_TUN_MTU=1420       the daemon's TUN MTU; above its wireguard mtu
#                            (1420 by default) full-size TCP segments are
#                            dropped as too-big and TCP stalls
#   BENCH_BUILD=build        the build directory to build and use
#   BENCH_MINTFLOW=PATH      a mintflow binary to measure instead of the
#                            build's (an older build, for before/after)
# Figures vary from run to run on a shared machine: compare only figures
# of one run. Profiles, logs, iperf3 JSON and results.json stay in the
# directory printed at the start.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-10}

need=()
command -v wireguard-go >/dev/null || need+=(wireguard-go)
command -v wg >/dev/null || need+=(wireguard-tools)
command -v iperf3 >/dev/null || need+=(iperf3)
command -v openssl >/dev/null || need+=(openssl)
command -v ping >/dev/null || need+=(iputils-ping)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

build=${BENCH_BUILD:-build}
scripts/setup.sh build
scripts/build.sh "$build" --buildtype=debugoptimized
mintflow=${BENCH_MINTFLOW:-$(realpath "$build")/mintflow}

out=$(mktemp -d /tmp/mf-wg-bench.XXXXXX)
gcc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Isrc \
  bench/wireguard/encrypt_bench.c "$build/libmintflow.a" \
  $(pkg-config --libs libcrypto libfyaml libmnl libpcap) -lpthread \
  -o "$out/encrypt_bench"

# The Python driver stops what it starts and deletes the namespaces itself;
# this is the backstop for when it is killed outright: stop the pids it
# listed (only while they still are the programs it started), then delete
# the namespaces.
cleanup() {
  if [ -f "$out/pids" ]; then
    while read -r pid comm; do
      if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
        kill -TERM "$pid" 2>/dev/null || true
      fi
    done <"$out/pids"
    sleep 1
    while read -r pid comm; do
      if [ "$(cat "/proc/$pid/comm" 2>/dev/null)" = "$comm" ]; then
        kill -KILL "$pid" 2>/dev/null || true
      fi
    done <"$out/pids"
  fi
  for ns in mfbench-a mfbench-b; do
    if ip netns list | grep -qw "$ns"; then ip netns del "$ns" || true; fi
    rm -rf "/etc/netns/$ns"
  done
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 bench/wireguard/tunnel_bench.py --out "$out" --seconds "$secs" \
  --mintflow "$mintflow" --encrypt-bench "$out/encrypt_bench"
