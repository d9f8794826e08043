#!/usr/bin/env bash
# bench/hoststack: TCP through the host stack (mintflow with auto_route,
# every route to `direct`) against the kernel's own path, through the same
# two network namespaces (mfhs-app, mfhs-inet; one veth 198.18.0.1/30 <->
# 198.18.0.2/30 and 2001:db8:1::1/64 <-> ::2), back to back in one run:
# iperf3 TCP with 1 and 8 streams in both directions, connections per
# second (conn_load.c: connect, one byte each way, close), the daemon's CPU
# seconds per GB, its memory per idle TCP session (BENCH_IDLE connections
# held open) and its largest RSS under 8 streams; the ratios and goals.
#
# Usage: [BENCH_SECONDS=10] bench/hoststack/run.sh     (as root)
#   BENCH_IDLE=10000          idle connections for the memory figure
#   BENCH_PATHS=kernel,daemon the paths to run (kernel alone needs no build)
#   BENCH_FAMILY=4            4 or 6: the address family of every test
#   BENCH_BUILD=build         the daemon's build directory
# While the daemon has no TCP (src/daemon/daemon.c still says "not
# available yet"), the daemon path reports "skipped: daemon has no TCP yet".
# Figures vary from run to run on a shared machine: compare only figures
# of one run. Profiles, logs, iperf3 JSON and results.json stay in the
# directory printed at the start. Exits 1 if the root namespace's rules or
# routes are not as they were at the start.
set -euo pipefail
cd "$(dirname "$0")/../.."
secs=${BENCH_SECONDS:-10}
idle=${BENCH_IDLE:-10000}
paths=${BENCH_PATHS:-kernel,daemon}
family=${BENCH_FAMILY:-4}
build=${BENCH_BUILD:-build}

need=()
command -v iperf3 >/dev/null || need+=(iperf3)
command -v ss >/dev/null || need+=(iproute2)
command -v sysctl >/dev/null || need+=(procps)
command -v gcc >/dev/null || need+=(gcc)
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

mintflow=()
case ",$paths," in
  *,daemon,*)
    scripts/setup.sh build
    scripts/build.sh "$build" --buildtype=debugoptimized
    mintflow=(--mintflow "$(cd "$build" && pwd)/mintflow")
    ;;
esac

out=$(mktemp -d /tmp/mf-hs-bench.XXXXXX)
gcc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror \
  bench/hoststack/conn_load.c -o "$out/conn_load"

root_state() {
  { ip rule; ip -6 rule; ip route; ip -6 route; } 2>&1 | sed -E 's/ expires [^ ]+//'
}
root_state >"$out/root-before.txt"

# The Python driver stops what it starts and deletes the namespaces itself;
# this is the backstop for when it is killed outright: stop the pids it
# listed (only while they still are the programs it started), delete the
# namespaces, and check that the root namespace is as it was.
cleanup() {
  local rc=$?
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
  for ns in mfhs-app mfhs-inet; do
    if ip netns list | grep -qw "$ns"; then ip netns del "$ns" || true; fi
    rm -rf "/etc/netns/$ns"
  done
  if ! root_state | cmp -s - "$out/root-before.txt"; then
    echo "error: the root namespace's rules or routes changed:" >&2
    root_state | diff "$out/root-before.txt" - >&2 || true
    rc=1
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

/usr/bin/python3 bench/hoststack/hoststack_bench.py --out "$out" --seconds "$secs" \
  --idle "$idle" --paths "$paths" --family "$family" --src "$PWD" \
  --conn-load "$out/conn_load" "${mintflow[@]}"
