#!/usr/bin/env bash
# vswitchd against dpdk-testpmd's io forwarding and Open vSwitch DPDK on the same devices, in the
# same run, one forwarding core each: two net_pcap ports replaying crafted 64-byte frames without
# end (infinite_rx), each side sending from MACS addresses to the other side's, transmit to the
# pcap PMD's drop sink. For vswitchd every frame is learned unicast through an FDB of 2 x MACS
# entries; Open vSwitch (Debian's openvswitch-switch-dpdk, e2e_lib.sh's ovs_start) runs a netdev
# bridge with the two net_pcap devices as `dpdk` ports and its default NORMAL flow (MAC
# learning), EAL --no-huge --legacy-mem, its PMD thread on CORE, its main thread on core 0, in a
# directory and network namespace of the script's own (so OVS=1 needs root).
# Mpps: testpmd's own Tx-pps; vswitchd's out_packets and OVS's datapath TX packets (dpctl/show
# -s), both ports summed, sampled once a second; the median of SECONDS_PER_RUN seconds after a
# warm-up. Cycles per frame: the TSC rate over that rate. After each OVS measurement a check
# line says what each port sent and dropped in the window and how the PMD found its flows.
#   bench/dpdk_e2e.sh            MACS=512 SECONDS_PER_RUN=10 RUNS=3 CORE=1 are the defaults;
#                                OVS=0 leaves Open vSwitch out (default 1 when its binary is
#                                there and the script runs as root)
set -euo pipefail
cd "$(dirname "$0")/.."
MACS=${MACS:-512}
SECS=${SECONDS_PER_RUN:-10}
RUNS=${RUNS:-3}
CORE=${CORE:-1}
BUILD=${BUILD:-build-bench}
# shellcheck source=bench/e2e_lib.sh
. bench/e2e_lib.sh
if [[ -z ${OVS:-} ]]; then
  OVS=0
  [[ -x $OVS_VSWITCHD ]] && ((EUID == 0)) && OVS=1
fi
if ((OVS)) && ((EUID != 0)); then
  echo "dpdk_e2e: Open vSwitch needs root (its network namespace); OVS=0 leaves it out" >&2
  exit 1
fi

scripts/deps.sh build bench
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j"$(nproc)" >/dev/null

work=$(mktemp -d)
pids=()
namespaces=()
cleanup() {
  local p n
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work" /var/run/dpdk/dpdkbench-$$-*
}
trap cleanup EXIT
"$BUILD"/bench/pcapgen "$work/a.pcap" "$work/b.pcap" "$MACS" 60

eal="--no-huge --no-pci --no-shconf --no-telemetry -m 1024 --log-level=4"
dev_a="net_pcap0,rx_pcap=$work/a.pcap,infinite_rx=1"
dev_b="net_pcap1,rx_pcap=$work/b.pcap,infinite_rx=1"
# The same devices in vswitchd's port syntax (dev.KEY=VALUE adds a devarg).
port_a="dpdk,name=a,dev=net_pcap0,dev.rx_pcap=$work/a.pcap,dev.infinite_rx=1"
port_b="dpdk,name=b,dev=net_pcap1,dev.rx_pcap=$work/b.pcap,dev.infinite_rx=1"

testpmd_mpps() {
  # Main lcore 0 only prints the statistics; forwarding runs on CORE alone.
  # shellcheck disable=SC2086
  dpdk-testpmd -l "0,$CORE" $eal --vdev "$dev_a" --vdev "$dev_b" -- \
    --forward-mode=io --nb-cores=1 --stats-period=1 --no-lsc-interrupt \
    --total-num-mbufs=16384 >"$work/testpmd.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  sleep $((SECS + 3))
  kill -INT "$pid"
  wait "$pid" || true
  # Each period prints Tx-pps per port; sum the two ports, skip the first periods (warm-up).
  grep -o 'Tx-pps: *[0-9]*' "$work/testpmd.log" | awk '{print $2}' | paste - - |
    awk '{print ($1+$2)/1e6}' | tail -n +3 | head -n "$SECS" | median
}

out_packets() {
  "$BUILD"/vswitchctl -s "$work/ctl" --json port list | grep -o '"out_packets":[0-9]*' |
    cut -d: -f2 | paste -sd+ | bc
}

vswitchd_mpps() {
  "$BUILD"/vswitchd --control "$work/ctl" --idle busy --log-level warn --mbufs 16383 \
    --eal "-l $CORE $eal" --port "$port_a" --port "$port_b" \
    >"$work/vswitchd.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  for _ in $(seq 50); do [[ -S $work/ctl ]] && break; sleep 0.1; done
  sleep 2  # warm-up: learning done, caches warm
  local samples=() before after
  for _ in $(seq "$SECS"); do
    before=$(out_packets)
    sleep 1
    after=$(out_packets)
    samples+=("$(echo "($after - $before) / 1000000" | bc -l)")
  done
  kill -TERM "$pid"
  wait "$pid" || true
  printf '%s\n' "${samples[@]}" | median
}

# Open vSwitch's rate, set in OVS_MPPS (not a $(...) subshell: the cleanup trap must know its
# processes and namespace); OVS_CHECK says what each port sent and dropped in the window.
ovs_tx() { echo $(($(ovs_port_counter a "TX packets") + $(ovs_port_counter b "TX packets"))); }
ovs_drops() {  # PORT: everything it lost or failed, receiving or sending (DPDK ports count no more)
  local c sum=0
  for c in "RX dropped" "RX errors" "TX dropped" "TX errors"; do
    sum=$((sum + $(ovs_port_counter "$1" "$c")))
  done
  echo "$sum"
}
ovs_measure() {
  OVS_MPPS=nan OVS_CHECK="ovs run $1: did not start, see $work/ovs.log"
  if ovs_start "dpdkbench-$$-ovs$1" "$work/ovs$1" 0 "$CORE" "-m 1024 --no-pci --no-telemetry --log-level=4" \
    "$work/ovs.log" && ovs_vsctl --timeout=60 \
    add-port vb0 a -- set Interface a type=dpdk "options:dpdk-devargs=$dev_a" -- \
    add-port vb0 b -- set Interface b type=dpdk "options:dpdk-devargs=$dev_b" &&
    [[ $(ovs_get Interface a ofport) =~ ^[1-9] && $(ovs_get Interface b ofport) =~ ^[1-9] ]]; then
    sleep 2  # warm-up: learning done, flows in the datapath
    ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null
    local samples=() before after a0 b0 da0 db0 stats
    a0=$(ovs_port_counter a "TX packets") b0=$(ovs_port_counter b "TX packets")
    da0=$(ovs_drops a) db0=$(ovs_drops b)
    for _ in $(seq "$SECS"); do
      before=$(ovs_tx)
      sleep 1
      after=$(ovs_tx)
      samples+=("$(echo "($after - $before) / 1000000" | bc -l)")
    done
    stats=$(ovs_appctl dpif-netdev/pmd-stats-show | awk '/^pmd thread/ {p = 1; next} /^main thread/ {p = 0} p')
    OVS_MPPS=$(printf '%s\n' "${samples[@]}" | median)
    OVS_CHECK="ovs run $1: TX a +$(($(ovs_port_counter a "TX packets") - a0)) b +$(($(ovs_port_counter b "TX packets") - b0))"
    OVS_CHECK+=", dropped a +$(($(ovs_drops a) - da0)) b +$(($(ovs_drops b) - db0)); PMD received"
    OVS_CHECK+=" $(awk '/packets received:/ {print $3}' <<<"$stats"), megaflow hits"
    OVS_CHECK+=" $(awk '/megaflow hits:/ {print $3}' <<<"$stats"), emc hits $(awk '/emc hits:/ {print $3}' <<<"$stats"),"
    OVS_CHECK+=" upcalls $(awk '/miss with success upcall:/ {print $5}' <<<"$stats")"
    OVS_CHECK+=" (failed $(awk '/miss with failed upcall:/ {print $5}' <<<"$stats"))"
  fi
  ovs_stop
}

ghz=$(awk -F: '/cpu MHz/ {print $2/1000; exit}' /proc/cpuinfo)
cycles() { awk -v ghz="$ghz" -v mpps="$1" 'BEGIN {print (mpps == "nan" || mpps == 0) ? "nan" : ghz * 1000 / mpps}'; }
echo "machine: $(nproc) x $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo | sed 's/^ //') at ${ghz} GHz"
echo "frames: 64 bytes on the wire (60 + FCS), $MACS addresses a side; $RUNS runs of $SECS s, core $CORE"
((OVS)) && echo "ovs: Open vSwitch $(dpkg-query -W -f='${Version}' openvswitch-switch-dpdk 2>/dev/null || echo '?'), NORMAL action"
printf '%-4s %14s %14s %10s %8s %12s %16s %12s\n' run testpmd_Mpps vswitchd_Mpps ovs_Mpps ratio \
  vswitchd/ovs vswitchd_cycles ovs_cycles
ratios=()
ovs_ratios=()
checks=()
for r in $(seq "$RUNS"); do
  t=$(testpmd_mpps)
  v=$(vswitchd_mpps)
  o=nan
  if ((OVS)); then
    ovs_measure "$r"
    o=$OVS_MPPS
    checks+=("$OVS_CHECK")
  fi
  ratios+=("$(ratio "$v" "$t")")
  ovs_ratios+=("$(ratio "$v" "$o")")
  printf '%-4s %14.2f %14.2f %10.2f %8.3f %12.3f %16.0f %12.0f\n' "$r" "$t" "$v" "$o" "${ratios[-1]}" \
    "${ovs_ratios[-1]}" "$(cycles "$v")" "$(cycles "$o")"
done
printf 'median ratio vswitchd/testpmd: %.3f\n' "$(printf '%s\n' "${ratios[@]}" | median)"
((OVS)) && printf 'median ratio vswitchd/ovs: %.3f\n' "$(printf '%s\n' "${ovs_ratios[@]}" | median)"
for c in "${checks[@]}"; do echo "$c"; done
