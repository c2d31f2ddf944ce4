#!/usr/bin/env bash
# The vhost-user port end to end, every switch in the same invocation, a fresh switch and peer
# for every measurement:
#
# 1. Synthetic, no VM: two virtio-net front ends at DPDK speed, DPDK's net_virtio_user PMD, as
#    two ports of one dpdk-testpmd (the peers) on PEER_CORE, through a switch on SWITCH_CORE:
#      vswitchd         --port vhost-user,path=SOCK twice (plugs/vhost, DPDK's vhost library)
#      vswitchd-devarg  --port dpdk,dev=net_vhostN,dev.iface=SOCK twice (DPDK's vhost PMD, the
#                       way before the vhost-user port)
#      ovs              Open vSwitch DPDK (Debian's openvswitch-switch-dpdk): a netdev bridge
#                       with two dpdkvhostuser ports and its NORMAL action, EAL --no-huge
#                       --legacy-mem, its PMD thread on SWITCH_CORE; ovsdb-server and
#                       ovs-vswitchd in a directory and a network namespace of the script's own
#      testpmd-io       dpdk-testpmd's io forwarding between two net_vhost ports (the ceiling:
#                       no switching at all)
#    Every switch runs the embedded EAL way: --no-huge, no NIC. The peers forward in io mode:
#    `start tx_first BURSTS` puts BURSTS bursts of 32 frames on each port (source the port's
#    MAC, destination the other port's: --eth-peer), and from then on what port 0 receives goes
#    out of port 1 unchanged and back: each frame crosses the switch from the same port to the
#    same address every time, learned unicast for the switches that learn. Mpps: what the peers
#    received from the switch, both ports summed, the median of the per-second rates of
#    SECONDS_PER_RUN seconds after WARMUP seconds of warm-up. Cycles per frame: the switch's CPU
#    time over the window (every thread of it, schedstat) at the TSC rate, over the frames it
#    switched (its own counters; testpmd-io: the peers' rate times the window); for OVS also its
#    own pmd-stats-show (avg cycles per packet, and processing cycles without the idle polls).
#    A measurement in which the switch or the peers ran less than 95 % of the window (another
#    process on their core) is shown and not counted. Ratios are taken within a run.
#
# 2. Guest to guest (scripts/guest, TCG), one guest serving a BYTES blob over HTTP and the other
#    downloading it (busybox wget, counted as it comes), through vswitchd on two paths with the
#    same guests (memory-backend-memfd shared memory and vectors=0 for both):
#      vhost-user       -netdev vhost-user on --port vhost-user,path=SOCK
#      vde              -netdev vde on vswitchd's VDE directory
#    MB/s from the client guest's own timing; CPU: vswitchd's run time per frame it switched and
#    per MB, and the QEMUs' threads (their vCPUs apart) over the same window. TCG guests are
#    slow: the switch's CPU per frame is what the guests do not limit.
#
#   bench/vhost_e2e.sh    RUNS=3 SECONDS_PER_RUN=10 WARMUP=3 SIZES="64 1500" BURSTS=4
#                         SWITCH_CORE=1 PEER_CORE=0 PARTS="synthetic guest" BYTES=67108864
#                         VARIANTS="vswitchd vswitchd-devarg ovs testpmd-io"
#                         GUEST_PATHS="vhost-user vde"
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-10}
WARMUP=${WARMUP:-3}
SIZES=${SIZES:-64 1500}
BURSTS=${BURSTS:-4}
SWITCH_CORE=${SWITCH_CORE:-1}
PEER_CORE=${PEER_CORE:-0}
PARTS=${PARTS:-synthetic guest}
BYTES=${BYTES:-67108864}
read -r -a variants <<<"${VARIANTS:-vswitchd vswitchd-devarg ovs testpmd-io}"
read -r -a guest_paths <<<"${GUEST_PATHS:-vhost-user vde}"
BUILD=${BUILD:-build-bench}
GUEST_TIMEOUT=240  # seconds for a boot, and again for a transfer
GUEST_MB=256
MAC_A=02:00:00:00:00:0a
MAC_B=02:00:00:00:00:0b
EAL_COMMON="--no-huge --no-pci --no-shconf --no-telemetry --log-level=4"

((EUID == 0)) || { echo "vhost_e2e: needs root (Open vSwitch's network namespace)" >&2; exit 1; }
scripts/deps.sh build bench vm
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target vswitchd vswitchctl >/dev/null
[[ $PARTS == *guest* ]] && kit=$(scripts/guest/build.sh | tail -n 1)

work=$(mktemp -d /tmp/vhost_e2e.XXXXXX)
prefix=vhostbench-$$  # EAL file prefixes, and the namespaces
pids=()
namespaces=()
cleanup() {
  local p n
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.5
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work" /var/run/dpdk/"$prefix"-*
}
trap cleanup EXIT
# shellcheck source=bench/e2e_lib.sh
. bench/e2e_lib.sh
e2e_open_nap "$work"

mhz=$(awk -F: '/cpu MHz/ {print $2 + 0; exit}' /proc/cpuinfo)
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }
count_lines() {
  local n
  n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
  echo "${n:-0}"
}
cell() {  # FORMAT VALUE [WIDTH]: the number, or a dash for none
  local w=${3:-12}
  if [[ $2 == nan || -z $2 ]]; then printf "%${w}s" -; else printf "%${w}$1" "$2"; fi
}
# The time the hypervisor gave this machine's CPUs to others (steal, every CPU), in ms.
steal_ms() { awk -v tick=$((1000 / $(getconf CLK_TCK))) '/^cpu / {print $9 * tick; exit}' /proc/stat; }
# Sums a counter of every vswitchd port (in_packets, dropped...) from the control socket CTL.
ports_sum() {
  "$BUILD"/vswitchctl -s "$1" --json port list | grep -o "\"$2\":[0-9]*" | cut -d: -f2 | paste -sd+ | bc
}

# ---- 1. synthetic -----------------------------------------------------------------------------

# Starts the switch VARIANT with its two vhost-user sockets in RUN: sets SW (the PID to stop and
# to measure), SOCK_A, SOCK_B; for vswitchd CTL, for OVS what ovs_start sets.
start_switch() {
  local variant=$1 run=$2 ports=()
  SW="" OVSDB="" CTL="" SOCK_A=$run/a.sock SOCK_B=$run/b.sock
  case $variant in
    vswitchd | vswitchd-devarg)
      if [[ $variant == vswitchd ]]; then
        ports=(--port "vhost-user,name=a,path=$SOCK_A" --port "vhost-user,name=b,path=$SOCK_B")
      else
        ports=(--port "dpdk,name=a,dev=net_vhost0,dev.iface=$SOCK_A,dev.queues=1"
          --port "dpdk,name=b,dev=net_vhost1,dev.iface=$SOCK_B,dev.queues=1")
      fi
      CTL=$run/ctl
      # The embedded EAL default (no hugepages), its one lcore on the core taskset leaves it.
      taskset -c "$SWITCH_CORE" "$BUILD"/vswitchd --control "$CTL" --idle busy --log-level warn \
        "${ports[@]}" >"$run/switch.log" 2>&1 &
      SW=$!
      pids+=("$SW")
      await_socket "$CTL" 20 || return 1 ;;
    testpmd-io)
      # shellcheck disable=SC2086
      taskset -c "$SWITCH_CORE" dpdk-testpmd --lcores "0@$SWITCH_CORE,1@$SWITCH_CORE" $EAL_COMMON -m 1024 \
        --file-prefix "$prefix-sw" --vdev "net_vhost0,iface=$SOCK_A,queues=1" \
        --vdev "net_vhost1,iface=$SOCK_B,queues=1" -- --forward-mode=io --nb-cores=1 \
        --stats-period=1 --no-lsc-interrupt --total-num-mbufs=16384 --record-core-cycles \
        </dev/null >"$run/switch.log" 2>&1 &
      SW=$!
      pids+=("$SW") ;;
    ovs) start_ovs "$run" || return 1 ;;
  esac
  if ! { await_socket "$SOCK_A" 30 && await_socket "$SOCK_B" 30; }; then
    echo "vhost_e2e: $variant did not start: $(tail -n 5 "$run/switch.log")" >&2
    return 1
  fi
}

# Open vSwitch (e2e_lib.sh's ovs_start), two dpdkvhostuser ports on its netdev bridge. Without
# hugepages a 1500-byte port's shared pool (262144 mbufs) needs about 2 GB.
start_ovs() {
  local run=$1
  # The main thread and its helpers beside the peers; the PMD thread goes to SWITCH_CORE.
  ovs_start "$prefix-ovs-$RANDOM" "$run/ovs" "$PEER_CORE" "$SWITCH_CORE" \
    "-m 2048 --no-pci --no-telemetry" "$run/switch.log" || return 1
  SW=$OVS_PID
  ovs_vsctl --timeout=60 add-port vb0 vha -- set Interface vha type=dpdkvhostuser \
    -- add-port vb0 vhb -- set Interface vhb type=dpdkvhostuser || return 1
  SOCK_A=$OVS_DIR/vha SOCK_B=$OVS_DIR/vhb
}

stop_switch() {
  if [[ -n $OVSDB ]]; then
    ovs_stop
  elif [[ -n $SW ]]; then
    stop_pid "$SW"
  fi
  rm -rf /var/run/dpdk/"$prefix"-sw
}

# The peers: one dpdk-testpmd, two net_virtio_user ports on SOCK_A and SOCK_B, io forwarding
# started with BURSTS bursts of LEN-byte frames on each port; sets PEER.
start_peer() {
  local run=$1 len=$2
  echo "start tx_first $BURSTS" >"$run/peer.cmds"
  # shellcheck disable=SC2086
  taskset -c "$PEER_CORE" dpdk-testpmd --lcores "0@$PEER_CORE,1@$PEER_CORE" $EAL_COMMON -m 1024 \
    --file-prefix "$prefix-peer" --vdev "net_virtio_user0,path=$SOCK_A,queues=1,mac=$MAC_A" \
    --vdev "net_virtio_user1,path=$SOCK_B,queues=1,mac=$MAC_B" -- --forward-mode=io --nb-cores=1 \
    --stats-period=1 --cmdline-file="$run/peer.cmds" --txpkts="$len" --no-lsc-interrupt \
    --total-num-mbufs=16384 --eth-peer="0,$MAC_B" --eth-peer="1,$MAC_A" --record-core-cycles \
    </dev/null >"$run/peer.log" 2>&1 &
  PEER=$!
  pids+=("$PEER")
}
# The peers' per-second received rates (both ports summed, frames/s), one line per period.
peer_rates() {
  grep -o 'Rx-pps: *[0-9]*' "$1" 2>/dev/null | awk '{print $2}' | paste - - | awk '{print $1 + $2}'
}
# What testpmd says at its end of the cycles it spent per frame in the bursts that moved some
# (--record-core-cycles: its polls that found nothing are left out).
busy_cycles() { grep -o 'CPU cycles/packet=[0-9.]*' "$1" | tail -n 1 | cut -d= -f2; }
# The engine's rounds and frames so far: "ROUNDS FRAMES".
engine_counts() {
  "$BUILD"/vswitchctl -s "$1" --json show | grep -o '"engine":{[^}]*}' |
    awk '{match($0, /"rounds":[0-9]+/); r = substr($0, RSTART + 9, RLENGTH - 9)
          match($0, /"frames":[0-9]+/); f = substr($0, RSTART + 9, RLENGTH - 9); print r, f}'
}
# Waits up to SECONDS for a period in which frames came back.
await_flow() {
  local ticks=$(($2 * 10))
  until peer_rates "$1" | awk '$1 > 0 {found = 1} END {exit !found}'; do
    ((ticks > 0)) || return 1
    alive "$PEER" || return 1
    sleep 0.1
    ticks=$((ticks - 1))
  done
}

# One measurement: VARIANT LEN -> one line of key=value results.
synth_once() {
  local variant=$1 len=$2 run="$work/synth.$1.$2.$RANDOM$RANDOM" result=failed=1
  mkdir -p "$run"
  PEER=""
  if start_switch "$variant" "$run"; then
    start_peer "$run" "$len"
    if await_flow "$run/peer.log" 60; then
      sleep "$WARMUP"
      local p0 p1 c0 c1 pc0 pc1 st0 st1 t0 t1 in0 in1 drop0 drop1 e0 e1 frames mpps stats="" extra=""
      [[ $variant == ovs ]] && ovs_appctl dpif-netdev/pmd-stats-clear >/dev/null
      [[ -n $CTL ]] && in0=$(ports_sum "$CTL" in_packets) drop0=$(ports_sum "$CTL" dropped) e0=$(engine_counts "$CTL")
      p0=$(peer_rates "$run/peer.log" | wc -l)
      c0=$(cpu_us_of "$SW") pc0=$(cpu_us_of "$PEER") st0=$(steal_ms)
      t0=$(date +%s%N)
      sleep "$SECS"
      c1=$(cpu_us_of "$SW") pc1=$(cpu_us_of "$PEER") st1=$(steal_ms)
      t1=$(date +%s%N)
      [[ $variant == ovs ]] && stats=$(ovs_appctl dpif-netdev/pmd-stats-show)
      [[ -n $CTL ]] && in1=$(ports_sum "$CTL" in_packets) drop1=$(ports_sum "$CTL" dropped) e1=$(engine_counts "$CTL")
      p1=$(peer_rates "$run/peer.log" | wc -l)
      mpps=$(peer_rates "$run/peer.log" | sed -n "$((p0 + 1)),${p1}p" | awk '{print $1 / 1e6}' | median)
      if [[ -n $CTL ]]; then
        frames=$((in1 - in0))
        extra=" dropped=$((drop1 - drop0))"
        # Frames a round (at most 64: a burst of 32 from each port): how full the switch is.
        extra+=" per_round=$(awk -v a="$e0" -v b="$e1" 'BEGIN {split(a, x, " "); split(b, y, " ")
          printf "%.1f", (y[1] > x[1]) ? (y[2] - x[2]) / (y[1] - x[1]) : 0}')"
      elif [[ $variant == ovs ]]; then
        frames=$(awk '/pmd thread/ {p = 1} p && /packets received:/ {print $3; exit}' <<<"$stats")
        extra=" ovs_cycles=$(awk '/pmd thread/ {p = 1} p && /avg cycles per packet:/ {print $5; exit}' <<<"$stats")"
        extra+=" ovs_proc_cycles=$(awk '/pmd thread/ {p = 1} p && /avg processing cycles per packet:/ {print $6; exit}' <<<"$stats")"
        extra+=" ovs_idle_pct=$(awk '/pmd thread/ {p = 1} p && /idle cycles:/ {gsub(/[()%]/, "", $4); print $4; exit}' <<<"$stats")"
      else
        frames=$(awk -v m="$mpps" -v ns=$((t1 - t0)) 'BEGIN {printf "%d", m * 1e6 * ns / 1e9}')
      fi
      if [[ $mpps != nan ]] && ((frames > 0)); then
        result="mpps=$mpps frames=$frames cpu_us=$((c1 - c0)) peer_us=$((pc1 - pc0)) window_us=$(((t1 - t0) / 1000))"
        result+=" steal_ms=$((st1 - st0))$extra"
        # Both cores must have been ours: a switch or peers that ran less than 95 % of the window
        # shared their core with some other process, and the cell says nothing of the switch.
        (((c1 - c0) * 100 < 95 * (t1 - t0) / 1000 || (pc1 - pc0) * 100 < 95 * (t1 - t0) / 1000)) &&
          result+=" contended=1"
        result+=" cycles=$(awk -v c=$((c1 - c0)) -v f="$frames" -v mhz="$mhz" 'BEGIN {printf "%.0f", c * mhz / f}')"
      fi
    else
      echo "vhost_e2e: $variant $len B: no frames came back: $(tail -n 3 "$run/peer.log")" >&2
    fi
  fi
  [[ -n $PEER ]] && stop_pid "$PEER"
  rm -rf /var/run/dpdk/"$prefix"-peer
  stop_switch
  if [[ $result != failed=1 ]]; then
    result+=" peer_busy_cycles=$(busy_cycles "$run/peer.log")"
    [[ $variant == testpmd-io ]] && result+=" testpmd_busy_cycles=$(busy_cycles "$run/switch.log")"
  fi
  echo "$result"
}

declare -A synth      # "variant len" -> result lines, one per run
declare -A synth_run  # "variant len run" -> Mpps of that run
# The median over the runs of the ratio of VARIANT's Mpps to REF's in the same run (the same
# minutes of the machine): LEN VARIANT REF.
run_ratio() {
  local r a b
  for r in $(seq "$RUNS"); do
    a=${synth_run["$2 $1 $r"]:-} b=${synth_run["$3 $1 $r"]:-}
    [[ -n $a && -n $b ]] && ratio "$a" "$b"
  done | median
}
synth_stat() {    # VARIANT LEN FIELD: the median over the runs
  local lines=${synth["$1 $2"]:-} f
  [[ -n $lines ]] || { echo nan; return; }
  while read -r f; do field "$3" "$f"; done <<<"${lines%$'\n'}" | median
}
synth_range() {   # VARIANT LEN FIELD: "min-max" over the runs
  local lines=${synth["$1 $2"]:-} f
  [[ -n $lines ]] || { echo -; return; }
  while read -r f; do field "$3" "$f"; done <<<"${lines%$'\n'}" |
    sort -g | awk 'NR == 1 {lo = $1} {hi = $1} END {printf "%.2f-%.2f", lo, hi}'
}
synth_tables() {
  local len v m own busy
  for len in $SIZES; do
    echo
    echo "== $len-byte frames, peers in io forwarding (tx_first $BURSTS), switch on core $SWITCH_CORE, peers on core $PEER_CORE; medians of $RUNS runs of $SECS s"
    printf '%-16s%8s%13s%12s%8s%10s%11s%11s%11s%11s\n' switch Mpps "(runs)" /testpmd-io /ovs \
      "cyc/frame" "own cyc/fr" "OVS idle%" frames/rnd "peer busy%"
    for v in "${variants[@]}"; do
      m=$(synth_stat "$v" "$len" mpps)
      printf '%-16s' "$v"
      cell .2f "$m" 8
      printf '%13s' "$(synth_range "$v" "$len" mpps)"
      cell .3f "$(run_ratio "$len" "$v" testpmd-io)" 12
      cell .3f "$(run_ratio "$len" "$v" ovs)" 8
      cell .0f "$(synth_stat "$v" "$len" cycles)" 10
      own=nan
      [[ $v == ovs ]] && own=$(synth_stat ovs "$len" ovs_proc_cycles)
      [[ $v == testpmd-io ]] && own=$(synth_stat testpmd-io "$len" testpmd_busy_cycles)
      cell .0f "$own" 11
      cell .1f "$([[ $v == ovs ]] && synth_stat ovs "$len" ovs_idle_pct || echo nan)" 11
      cell .1f "$([[ $v == vswitchd* ]] && synth_stat "$v" "$len" per_round || echo nan)" 11
      busy=$(awk -v c="$(synth_stat "$v" "$len" peer_busy_cycles)" -v m="$m" -v mhz="$mhz" \
        'BEGIN {if (c == "nan" || m == "nan") print "nan"; else print 100 * c * m / mhz}')
      cell .0f "$busy" 11
      echo
    done
  done
  echo
  echo "/testpmd-io, /ovs: the median of the runs' ratios, each between measurements of the same run."
  echo "cyc/frame: the switch's CPU time (every thread) at $mhz MHz over the frames it switched. own cyc/fr:"
  echo "the switch's own count of the cycles it spent on frames, its empty polls left out (OVS: pmd-stats-show's"
  echo "processing cycles per packet; testpmd: --record-core-cycles). frames/rnd: vswitchd's frames per engine"
  echo "round (at most 64, a full burst from each port). peer busy%: the peers' core in bursts that moved frames."
}

# ---- 2. guest to guest ------------------------------------------------------------------------

# Boots guest NAME (its MAC's last byte N) on PATH (vhost-user: the socket RUN/NAME.sock; vde:
# the directory RUN/sw) with the vsw.* settings APPEND; sets QEMU_<NAME> and CON_<NAME>.
boot_guest() {
  local path=$1 run=$2 name=$3 n=$4 append=$5 net=()
  if [[ $path == vhost-user ]]; then
    # shellcheck disable=SC2054  # QEMU's option values, commas and all
    net=(-chardev "socket,id=c0,path=$run/$name.sock" -netdev vhost-user,id=n0,chardev=c0)
  else
    net=(-netdev "vde,id=n0,sock=$run/sw")
  fi
  qemu-system-x86_64 -name "vhostbench-$name,debug-threads=on" -accel tcg -nodefaults -display none \
    -no-reboot -m "$GUEST_MB" -object "memory-backend-memfd,id=mem,size=${GUEST_MB}M,share=on" \
    -numa node,memdev=mem -serial "file:$run/$name.console" -kernel "$kit/vmlinux" \
    -initrd "$kit/initrd.gz" -append "console=ttyS0 quiet panic=-1 $append" "${net[@]}" \
    -device "virtio-net-pci,netdev=n0,mac=52:54:00:12:34:$n,vectors=0" \
    </dev/null >"$run/$name.qemu.log" 2>&1 &
  local pid=$!
  pids+=("$pid")
  printf -v "QEMU_$name" %s "$pid"
  local ticks=100
  until [[ -e $run/$name.console ]] || ((ticks == 0)); do sleep 0.05; ticks=$((ticks - 1)); done
  [[ -e $run/$name.console ]] || { echo "vhost_e2e: QEMU did not start: $(cat "$run/$name.qemu.log")" >&2; return 1; }
  local fd
  exec {fd}<"$run/$name.console"
  printf -v "CON_$name" %s "$fd"
}

# CPU (us) of vswitchd, of both QEMUs' vCPU threads and of their other threads, appended to
# the array named $1; fails when one has ended.
sample_cpu() {
  local -n us=$1
  alive "$VS" && alive "$QEMU_srv" && alive "$QEMU_cli" || return 1
  # shellcheck disable=SC2034  # the caller's array
  us=("$(cpu_us_of "$VS")" $(($(cpu_us_of "$QEMU_srv" vcpu) + $(cpu_us_of "$QEMU_cli" vcpu)))
    $(($(cpu_us_of "$QEMU_srv" io) + $(cpu_us_of "$QEMU_cli" io))))
}

# One transfer on PATH (vhost-user | vde) -> one line of key=value results.
guest_once() {
  local path=$1 run="$work/guest.$1.$RANDOM$RANDOM" result=failed=1 ports=()
  mkdir -p "$run"
  QEMU_srv="" QEMU_cli="" CON_srv="" CON_cli=""
  if [[ $path == vhost-user ]]; then
    ports=(--port "vhost-user,name=srv,path=$run/srv.sock" --port "vhost-user,name=cli,path=$run/cli.sock")
  else
    ports=(--vde "$run/sw")
  fi
  "$BUILD"/vswitchd --control "$run/ctl" --log-level warn "${ports[@]}" >"$run/vswitchd.log" 2>&1 &
  VS=$!
  pids+=("$VS")
  local c0=() c1=() in0 in1 drop0
  if await_socket "$run/ctl" 20 && boot_guest "$path" "$run" srv 02 "vsw.ip=10.9.0.2/24 vsw.role=server vsw.bytes=$BYTES"; then
    if ! await_line "$CON_srv" VSW-READY "$GUEST_TIMEOUT"; then
      echo "vhost_e2e: $path: the server guest did not come up: $(tr -d '\r' <"$run/srv.console" | tail -n 3)" >&2
    elif boot_guest "$path" "$run" cli 03 "vsw.ip=10.9.0.3/24 vsw.role=client vsw.peer=10.9.0.2 vsw.check=size vsw.bytes=$BYTES vsw.hold=2"; then
      if ! await_line "$CON_cli" VSW-READY "$GUEST_TIMEOUT"; then
        echo "vhost_e2e: $path: the client guest did not come up: $(tr -d '\r' <"$run/cli.console" | tail -n 3)" >&2
      else
        sample_cpu c0 || true
        in0=$(ports_sum "$run/ctl" in_packets) drop0=$(ports_sum "$run/ctl" dropped)
        if ! await_line "$CON_cli" VSW-XFER- "$GUEST_TIMEOUT"; then
          echo "vhost_e2e: $path: no transfer result in $GUEST_TIMEOUT s" >&2
        elif [[ $CONSOLE_LINE != VSW-XFER-OK* ]]; then
          echo "vhost_e2e: $path: $CONSOLE_LINE" >&2
        elif ((${#c0[@]} == 3)) && sample_cpu c1; then
          in1=$(ports_sum "$run/ctl" in_packets)
          result="bytes=$(field bytes "$CONSOLE_LINE") ms=$(field ms "$CONSOLE_LINE") frames=$((in1 - in0))"
          result+=" vswitchd_us=$((c1[0] - c0[0])) vcpu_us=$((c1[1] - c0[1])) qemu_io_us=$((c1[2] - c0[2]))"
          result+=" dropped=$(($(ports_sum "$run/ctl" dropped) - drop0))"
        fi
      fi
    fi
  fi
  [[ -n $CON_srv ]] && exec {CON_srv}<&-
  [[ -n $CON_cli ]] && exec {CON_cli}<&-
  [[ -n $QEMU_cli ]] && stop_pid "$QEMU_cli"
  [[ -n $QEMU_srv ]] && stop_pid "$QEMU_srv"
  stop_pid "$VS"
  echo "$result"
}

declare -A guest  # path -> result lines
guest_stat() {    # PATH WHAT: mbps | frames | vsw_us_frame | vsw_ms_mb | qemu_io_ms_mb | vcpu_ms_mb | dropped
  local lines=${guest["$1"]:-}
  [[ -n $lines ]] || { echo nan; return; }
  awk -v what="$2" '{
      for (i = 1; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
      mb = f["bytes"] / 1e6
      if (what == "mbps") print mb / (f["ms"] / 1000)
      else if (what == "frames") print f["frames"]
      else if (what == "vsw_us_frame") { if (f["frames"] > 0) print f["vswitchd_us"] / f["frames"] }
      else if (what == "vsw_ms_mb") print f["vswitchd_us"] / 1000 / mb
      else if (what == "qemu_io_ms_mb") print f["qemu_io_us"] / 1000 / mb
      else if (what == "vcpu_ms_mb") print f["vcpu_us"] / 1000 / mb
      else if (what == "dropped") print f["dropped"]
      delete f }' <<<"${lines%$'\n'}" | median
}
guest_tables() {
  local row label what fmt p v
  echo
  echo "== guest -> guest: wget of a $((BYTES / 1048576)) MiB blob from the other guest's busybox httpd, TCG guests; medians of $RUNS runs"
  printf '%-32s' metric
  for p in "${guest_paths[@]}"; do printf '%14s' "$p"; done
  ((${#guest_paths[@]} > 1)) && printf '%14s' "${guest_paths[0]:0:6}/${guest_paths[1]:0:6}"
  echo
  for row in "MB/s (the client's timing):mbps:.2f" "frames switched:frames:.0f" \
    "vswitchd CPU us/frame:vsw_us_frame:.2f" "vswitchd CPU ms/MB:vsw_ms_mb:.2f" \
    "QEMUs' other threads ms/MB:qemu_io_ms_mb:.2f" "QEMUs' vCPUs ms/MB:vcpu_ms_mb:.1f" \
    "vswitchd drops in the window:dropped:.0f"; do
    IFS=: read -r label what fmt <<<"$row"
    printf '%-32s' "$label"
    v=()
    for p in "${guest_paths[@]}"; do
      v+=("$(guest_stat "$p" "$what")")
      cell "$fmt" "${v[-1]}" 14
    done
    ((${#guest_paths[@]} > 1)) && [[ $what != frames && $what != dropped ]] && cell .3f "$(ratio "${v[0]}" "${v[1]}")" 14
    echo
  done
}

# ---- the runs ---------------------------------------------------------------------------------

echo "machine: $(nproc) x $(lscpu | awk -F: '/Model name/ {sub(/^ */, "", $2); print $2; exit}') at $mhz MHz, kernel $(uname -r)," \
  "$(qemu-system-x86_64 --version | head -n 1) (TCG), DPDK $(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || echo '?')," \
  "Open vSwitch $(dpkg-query -W -f='${Version}' openvswitch-switch-dpdk 2>/dev/null || echo '?')"
echo "command: RUNS=$RUNS SECONDS_PER_RUN=$SECS WARMUP=$WARMUP SIZES=\"$SIZES\" BURSTS=$BURSTS SWITCH_CORE=$SWITCH_CORE" \
  "PEER_CORE=$PEER_CORE PARTS=\"$PARTS\" BYTES=$BYTES VARIANTS=\"${variants[*]}\" GUEST_PATHS=\"${guest_paths[*]}\" bench/vhost_e2e.sh"
echo "vswitchd: git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- switch plugs include 2>/dev/null || echo '+dirty'); load average at the start: $(cut -d" " -f1-3 /proc/loadavg)"
start=$SECONDS
if [[ $PARTS == *synthetic* ]]; then
  echo
  echo "synthetic runs:"
  for r in $(seq "$RUNS"); do
    for len in $SIZES; do
      for v in "${variants[@]}"; do
        synth_once "$v" "$len" >"$work/result"
        line=$(<"$work/result")
        printf '  %-16s %5s B run %d: %s\n' "$v" "$len" "$r" "$line"
        [[ $line == *contended=1* ]] && echo "    (not counted: another process had part of a core)"
        if [[ $line != failed=1 && $line != *contended=1* ]]; then
          synth["$v $len"]+="$line"$'\n'
          synth_run["$v $len $r"]=$(field mpps "$line")
        fi
      done
    done
  done
fi
if [[ $PARTS == *guest* ]]; then
  echo
  echo "guest runs:"
  for r in $(seq "$RUNS"); do
    for path in "${guest_paths[@]}"; do
      guest_once "$path" >"$work/result"
      line=$(<"$work/result")
      printf '  %-11s run %d: %s\n' "$path" "$r" "$line"
      [[ $line == failed=1 ]] || guest["$path"]+="$line"$'\n'
    done
  done
fi
[[ $PARTS == *synthetic* ]] && synth_tables
[[ $PARTS == *guest* ]] && guest_tables
echo
echo "total time: $((SECONDS - start)) s; load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
