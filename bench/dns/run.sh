#!/usr/bin/env bash
# bench/dns: our DNS server against dnsmasq (the resolver Pi-hole builds
# on), both holding the same block list of a million names, with dnsperf on
# the same machine, in one run: queries per second for cached answers, for
# blocked names and (optional) for names forwarded upstream; latency, lost
# queries, CPU per query; resident memory with the list loaded and the time
# to load it; the ratios and whether the goal (2x dnsmasq's queries per
# second at no more than half its memory) is met. Topology and fairness
# choices: the top of dns_bench.py. Runs only in its own two network
# namespaces (mfbd-cli, mfbd-up).
#
# Usage: bench/dns/run.sh     (as root)
#   BENCH_SECONDS=10       dnsperf -l, per test and server
#   BENCH_NAMES=1000000    names in the block list
#   BENCH_CACHED=1000      names answered from the caches
#   BENCH_OUTSTANDING=100  dnsperf -q: queries in flight
#   BENCH_CLIENTS=1        dnsperf -c
#   BENCH_REPEAT=1         runs of each test per server (the median counts)
#   BENCH_COLD=1           0: no run of names forwarded upstream
#   BENCH_PERF=0           1: perf record -g of the daemon in extra runs
#   BENCH_BUILD=build-release  the daemon's build directory (release)
#   BENCH_MINTFLOW=PATH    a daemon binary to use as it is (no build)
# Installs dnsperf (and dnsmasq-base, linux-perf with BENCH_PERF=1) when
# missing. Figures vary from run to run on a shared machine: compare only
# figures of one run. Logs, dnsperf outputs, profiles and results.json stay
# in the directory printed at the start. Exits 1 if the root namespace's
# rules or routes are not as they were at the start.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${BENCH_BUILD:-build-release}

need=()
command -v dnsperf >/dev/null || need+=(dnsperf)
command -v dnsmasq >/dev/null || need+=(dnsmasq-base)
if [ "${BENCH_PERF:-0}" = 1 ]; then
  command -v perf >/dev/null || need+=(linux-perf)
fi
if [ ${#need[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

out=$(mktemp -d /tmp/mf-dns-bench.XXXXXX)

if [ -n "${BENCH_MINTFLOW:-}" ]; then
  mintflow=$(realpath "$BENCH_MINTFLOW")
else
  scripts/setup.sh build
  # Release, as shipped, and only the daemon.
  if [ ! -f "$build/build.ninja" ]; then
    meson setup "$build" --buildtype=release -Dtests=false >"$out/build.log"
  fi
  if ! ninja -C "$build" mintflow >>"$out/build.log" 2>&1; then
    tail -20 "$out/build.log" >&2
    echo "error: the daemon does not build (log: $out/build.log)" >&2
    exit 1
  fi
  mintflow=$(realpath "$build/mintflow")
fi

root_state() {
  { ip rule; ip -6 rule; ip route; ip -6 route; } 2>&1 | sed -E 's/ expires [^ ]+//'
}
root_state >"$out/root-before.txt"

# The Python driver stops what it starts and deletes the namespaces itself;
# this is the backstop for when it is killed outright: stop the pids it
# listed (only while they still are the programs it started), delete the
# namespaces and their /etc/netns folders, and check the root namespace.
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
  for ns in mfbd-cli mfbd-up; do
    if ip netns list | grep -qw "$ns"; then ip netns del "$ns" || true; fi
    rm -rf "/etc/netns/$ns"
  done
  rm -f "$out/blocklist.txt" "$out/cold.txt"
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

/usr/bin/python3 bench/dns/dns_bench.py --out "$out" \
  --mintflow "$mintflow" --probe "$PWD/bench/dns/dns_probe.py" \
  --seconds "${BENCH_SECONDS:-10}" --names "${BENCH_NAMES:-1000000}" \
  --cached "${BENCH_CACHED:-1000}" --outstanding "${BENCH_OUTSTANDING:-100}" \
  --clients "${BENCH_CLIENTS:-1}" --repeat "${BENCH_REPEAT:-1}" \
  --cold "${BENCH_COLD:-1}" --perf "${BENCH_PERF:-0}"
