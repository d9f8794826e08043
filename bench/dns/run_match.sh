#!/usr/bin/env bash
# bench/dns: the domain-set matcher with a million names, and dnsmasq
# holding the same names, in the same run.
#
#   ours     match_bench, linked against libmintflow.a of BUILD_DIR: load
#            time (list parse + build + compile), bytes held, lookups per
#            second for hits, near misses and misses.
#   dnsmasq  (when installed) started on the same names written as
#            "server=/NAME/192.0.2.1" lines (split DNS, what a domain set
#            does), in a network namespace of its own; its resident memory
#            over an empty start is what the names cost it, and the time
#            until it listens is its load time.
#
# Usage: bench/dns/run_match.sh [BUILD_DIR] [NAMES] [LOOKUPS]
#   BUILD_DIR defaults to build; NAMES to 1000000; LOOKUPS to 2000000.
set -euo pipefail
cd "$(dirname "$0")/../.."
build=${1:-build}
names=${2:-1000000}
lookups=${3:-2000000}

out=$(mktemp -d)
ns=mf-dnsm-bench-$$
dnsmasq_pid=
cleanup() {
  if [ -n "$dnsmasq_pid" ]; then
    kill "$dnsmasq_pid" 2>/dev/null || true
    wait "$dnsmasq_pid" 2>/dev/null || true
  fi
  ip netns del "$ns" 2>/dev/null || true
  rm -rf "/etc/netns/$ns" "$out"
}
trap cleanup EXIT

# The library from the build dir; if the tree does not build right now
# (other parts in progress), the matcher's own sources instead.
link=()
if scripts/build.sh "$build" --buildtype=debugoptimized 2>"$out/build.log" &&
  [ -f "$build/libmintflow.a" ]; then
  link=("$build/libmintflow.a")
else
  echo "note: $build did not build; compiling src/dns/domain_*.c directly" >&2
  tail -5 "$out/build.log" >&2 || true
  link=(src/dns/domain_match.c src/dns/domain_lists.c)
fi
gcc -std=c11 -D_GNU_SOURCE -O2 -g -Isrc bench/dns/match_bench.c "${link[@]}" \
  -o "$out/match_bench"

echo "== mintflow domain matcher: $names names, $lookups lookups of each kind"
"$out/match_bench" "$names" "$lookups" "$out/names.txt" | tee "$out/ours.txt"

if ! command -v dnsmasq >/dev/null; then
  echo "== dnsmasq not installed: no comparison"
  exit 0
fi

# Resident kB of dnsmasq once it listens (it reads its configuration before
# it opens a socket), and the seconds it took to get there: "KB SECONDS".
# Runs in this shell (never in a subshell), so cleanup knows the pid.
dnsmasq_rss() {
  local conf=$1 result=$2 t0 t1 i kb
  printf '%s\n' "port=15353" "listen-address=127.0.0.1" "bind-interfaces" \
    "no-resolv" "no-hosts" "no-poll" "pid-file=$out/dnsmasq.pid" \
    "user=root" "log-facility=$out/dnsmasq.log" "conf-file=$conf" \
    >"$out/dnsmasq.conf"
  t0=$(date +%s.%N)
  ip netns exec "$ns" dnsmasq -k --conf-file="$out/dnsmasq.conf" \
    >>"$out/dnsmasq.log" 2>&1 &
  dnsmasq_pid=$!
  for ((i = 0; i < 6000; i++)); do # at most 10 minutes
    if ip netns exec "$ns" ss -Hlun 'sport = :15353' | grep -q .; then
      break
    fi
    if ! kill -0 "$dnsmasq_pid" 2>/dev/null; then
      dnsmasq_pid=
      echo "dnsmasq exited early:" >&2
      tail -5 "$out/dnsmasq.log" >&2
      return 1
    fi
    sleep 0.1
  done
  t1=$(date +%s.%N)
  sleep 1
  kb=$(awk '/^VmRSS:/ { print $2 }' "/proc/$dnsmasq_pid/status")
  kill "$dnsmasq_pid"
  wait "$dnsmasq_pid" 2>/dev/null || true
  dnsmasq_pid=
  awk -v kb="$kb" -v a="$t0" -v b="$t1" \
    'BEGIN { printf "%d %.2f\n", kb, b - a }' >"$result"
}

field() { awk -v k="$1:" '$1 == k { print $2 }' "$out/ours.txt"; }

# Its own resolv.conf (ip netns exec mounts it over /etc/resolv.conf), as
# every namespace of ours has, so nothing inside can touch the machine's.
mkdir -p "/etc/netns/$ns"
echo "nameserver 127.0.0.1" >"/etc/netns/$ns/resolv.conf"
ip netns add "$ns"
ip netns exec "$ns" ip link set lo up
: >"$out/empty.conf"
sed 's|.*|server=/&/192.0.2.1|' "$out/names.txt" >"$out/names.conf"
dnsmasq_rss "$out/empty.conf" "$out/base.txt"
dnsmasq_rss "$out/names.conf" "$out/full.txt"
read -r base_kb base_s <"$out/base.txt"
read -r full_kb full_s <"$out/full.txt"

echo "== dnsmasq $(dnsmasq --version | awk 'NR == 1 { print $3 }'):" \
  "the same names as server=/NAME/192.0.2.1"
awk -v base="$base_kb" -v full="$full_kb" -v bs="$base_s" -v fs="$full_s" \
  -v n="$names" -v ours_rss="$(field rss_growth_kb)" \
  -v ours_bytes="$(field matcher_bytes)" -v ours_ms="$(field load_total_ms)" '
BEGIN {
  d = full - base
  printf "dnsmasq_rss_growth_kb: %d (empty start: %d kB)\n", d, base
  printf "dnsmasq_bytes_per_name: %.1f\n", d * 1024 / n
  printf "dnsmasq_load_s: %.2f (until it listens, over the empty start)\n", fs - bs
  printf "== ratio\n"
  printf "ours_rss_growth_over_dnsmasq: %.3f (goal: at most 0.5)\n", ours_rss / d
  printf "ours_bytes_over_dnsmasq: %.3f\n", ours_bytes / 1024 / d
  printf "ours_load_s: %.2f\n", ours_ms / 1000
}'
