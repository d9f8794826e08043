#!/usr/bin/env bash
# Installs, by Debian package name, everything the build and the test suite need.
# Usage: scripts/setup.sh [build|test]   (default: test, which includes build)
set -euo pipefail

what=${1:-test}

build_pkgs=(
  gcc meson ninja-build pkg-config
  libssl-dev libfyaml-dev libmnl-dev libpcap-dev
  libqrencode-dev libzbar-dev libpng-dev
  iproute2
)
test_pkgs=(
  libcmocka-dev clang libclang-rt-14-dev
  python3 python3-pytest python3-scapy
  tshark iputils-ping curl socat netcat-openbsd procps
  wireguard-go wireguard-tools iperf3 dnsmasq-base bind9-dnsutils nftables
  zbar-tools
)

pkgs=("${build_pkgs[@]}")
[ "$what" = test ] && pkgs+=("${test_pkgs[@]}")

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "setup: need root to install: ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}"
