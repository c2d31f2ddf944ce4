#!/usr/bin/env bash
# Installs the Debian packages a task needs, and nothing when they are all there (then it says
# nothing either). Usage: scripts/deps.sh [build] [test] [bench_build] [bench] [vm] [fuzz]
set -euo pipefail

declare -A sets=(
  [build]="cmake g++ make pkg-config dpdk-dev libdpdk-dev libboost-program-options-dev libpcap-dev libslirp-dev"
  # prometheus for its promtool (the metrics' checker), graphviz for dot (show --dot), groff-base
  # for groff (the manual pages' checker), systemd for systemd-analyze (the unit's), jq for
  # scripts/soak.sh's reading of `vswitchctl --json stats`.
  [test]="libgtest-dev libgmock-dev iproute2 iputils-ping vde2 libvdeplug-dev tshark dpdk prometheus graphviz curl groff-base systemd jq"
  # Compiling bench/ (scripts/test.sh's normal build does); running it needs all of bench.
  [bench_build]="libbenchmark-dev libpcap-dev libvdeplug-dev"
  [bench]="libbenchmark-dev dpdk vde2 libvdeplug-dev bc vdeplug libvdeplug-slirp iproute2 curl ethtool openvswitch-switch-dpdk"
  [vm]="qemu-system-x86 busybox-static cpio kmod xz-utils"
  # clang alone cannot link -fsanitize=fuzzer: libFuzzer and the sanitizer runtimes are in
  # libclang-rt-dev, only a recommendation of clang's headers (and we install none).
  [fuzz]="clang libclang-rt-dev"
)

wanted=()
for set in "${@:-build}"; do
  [[ -n "${sets[$set]:-}" ]] || { echo "deps.sh: unknown set '$set' (build test bench_build bench vm fuzz)" >&2; exit 2; }
  read -ra pkgs <<<"${sets[$set]}"
  wanted+=("${pkgs[@]}")
done

missing=()
for p in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
((${#missing[@]} == 0)) && exit 0

sudo=()
if ((EUID != 0)); then
  command -v sudo >/dev/null || { echo "deps.sh: need root (or sudo) to install: ${missing[*]}" >&2; exit 1; }
  sudo=(sudo)
fi
echo "deps.sh: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
# A fresh machine may have no package lists yet: update only when the install needs it.
if ! "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${sudo[@]}" apt-get update -qq >/dev/null
  "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
