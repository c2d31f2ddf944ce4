#!/usr/bin/env bash
# The host's own port end to end, everything in network namespaces of the script's own (one per
# run, removed after it), in the same invocation:
#
# 1. Synthetic, no VM: frames between the host's kernel and a VDE endpoint through vswitchd's
#    host port, for two host ports:
#      tap      --port tap,ifname=vs0 (plugs/tap: /dev/net/tun, one readv/writev a frame)
#      net_tap  --port dpdk,dev=net_tap0,dev.iface=vs0,role=host (DPDK's tap PMD)
#    in both directions, with bench/vdeload's numbered frames (ethertype 0x88b5):
#      to-vde   the host's kernel to the VDE side: vdeload sends on a packet socket on vs0 (through
#               the qdisc, as the IP stack's frames go) to the MAC of a vdeload sink on the VDE
#               directory, which counts what arrives
#      to-host  the VDE side to the host's kernel: vdeload sends on the VDE directory to the tap's
#               MAC; delivered is what the tap's rx_packets counter took
#    generator at its maximum, and paced at PACED_PPS (64-byte frames) for the CPU per frame at
#    the same load. Switch CPU: its utime+stime while the generator sent, per delivered frame.
#
# 2. A real guest (scripts/guest, TCG: KVM is not used), TCP between the host's namespace and
#    the guest, for these paths, a fresh namespace, switch and guest every run:
#      vswitchd        guest -netdev vde -> vswitchd -> its tap port (10.9.0.1) -> the host
#      qemu-tap        QEMU's own -netdev tap, the host's address on that tap (the reference)
#      qemu-tap-plain  the same with vnet_hdr=off: no offloads, as a VDE guest has none
#      bridge          QEMU's tap and one end of a veth pair in a Linux bridge, the host's
#                      address on the other end
#    and, with the guest's peer on a "LAN" (a second namespace at the far end of a veth pair,
#    holding the peer's address) instead of in the host's namespace:
#      uplink          guest -netdev vde -> vswitchd --segment lan,network=bridged,uplink=vu0
#                      (the uplink port, AF_PACKET) -> the veth -> the LAN
#      lan-bridge      QEMU's own tap and the veth's end vu0 in a Linux bridge (the reference)
#      lan-bridge-plain  the same with vnet_hdr=off: no offloads, the fair match for a VDE guest
#    The uplink path turns off what the uplink port cannot take (README, "Bridged networking"):
#    receive merging on vu0, and TSO on the LAN's end, whose 64 KB segments would otherwise
#    cross the veth whole and be dropped as oversize. The bridges keep every offload: a veth
#    carrying whole segments stands for a NIC doing TSO and GRO in hardware, their best case.
#    guest->peer: the guest serves a BLOB_BYTES blob (busybox httpd); curl in the peer's
#    namespace fetches it again and again for FETCH_SECONDS; MB/s from curl's own timing.
#    peer->guest: another guest downloads BYTES from bench/httpblob on the peer's address and
#    counts them (vsw.check=size); MB/s from the guest's timing.
#    CPU per MB: the run time of each process on the path (QEMU's vCPU threads apart from its
#    other threads, vswitchd, curl or httpblob) over the transfer, and the machine's busy time in
#    /proc/stat over the same window (softirq work charged to no process shows there, and so
#    does anything else the machine ran).
#
#   bench/tap_e2e.sh    RUNS=3 SECONDS_PER_RUN=3 SIZES="64 1500" PACED_PPS=50000
#                       FETCH_SECONDS=4 BLOB_BYTES=33554432 BYTES=67108864
#                       PARTS="synthetic guest" GUEST_PATHS="vswitchd qemu-tap qemu-tap-plain bridge"
#                       (GUEST_PATHS may add net_tap: the vswitchd path on DPDK's tap PMD, and
#                       uplink lan-bridge lan-bridge-plain: PARTS=guest GUEST_PATHS="uplink
#                       lan-bridge lan-bridge-plain" runs only the LAN's)
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-3}
SIZES=${SIZES:-64 1500}
PACED_PPS=${PACED_PPS:-50000}
FETCH_SECONDS=${FETCH_SECONDS:-4}
BLOB_BYTES=${BLOB_BYTES:-33554432}
BYTES=${BYTES:-67108864}
PARTS=${PARTS:-synthetic guest}
read -r -a guest_paths <<<"${GUEST_PATHS:-vswitchd qemu-tap qemu-tap-plain bridge}"
TXQUEUELEN=${TXQUEUELEN:-}  # set on the host port's interface when given (the kernel's: 1000)
BUILD=${BUILD:-build-bench}
GUEST_TIMEOUT=180  # seconds for a boot, and again for a transfer
DRAIN=0.5          # a sink stops after this much silence once frames have come
IFACE=vs0
UPLINK_IF=vu0     # the switch's end of the LAN's veth (LAN paths)
LAN_IF=vl0        # the LAN's end, holding the peer's address
PEER_IP=10.9.0.1  # the guest's peer: in the host's namespace, or the LAN's device
GUEST_IP=10.9.0.2
MAC_GEN=02:00:00:00:00:01
MAC_SINK=02:00:00:00:01:01
synth_ports=(tap net_tap)

((EUID == 0)) || { echo "tap_e2e: needs root (network namespaces, taps)" >&2; exit 1; }
scripts/deps.sh build bench vm
cmake -S . -B "$BUILD" -DCMAKE_BUILD_TYPE=Release -DVSWITCH_TESTS=OFF -DVSWITCH_BENCH=ON >/dev/null
cmake --build "$BUILD" -j2 --target vswitchd vswitchctl vdeload httpblob >/dev/null
[[ $PARTS == *guest* ]] && kit=$(scripts/guest/build.sh | tail -n 1)
LOAD=$BUILD/bench/vdeload

work=$(mktemp -d /tmp/tap_e2e.XXXXXX)
pids=()
namespaces=()
cleanup() {
  local p n
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  sleep 0.2
  for p in "${pids[@]}"; do kill -KILL "$p" 2>/dev/null || true; done
  for p in "${pids[@]}"; do wait "$p" 2>/dev/null || true; done
  for n in "${namespaces[@]}"; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$work"
}
trap cleanup EXIT
# shellcheck source=bench/e2e_lib.sh
. bench/e2e_lib.sh
e2e_open_nap "$work"

# The namespaces of the current run: NS (the switch's and the host's), made by ns_up, and on
# the LAN paths LAN (the peer's), made by lan_up; ns_down removes both. PEER_NS is where the
# guest's peer lives: NS, or LAN.
NS="" LAN="" PEER_NS=""
ns_count=0
ns_make() {
  ip netns add "$1"
  namespaces+=("$1")
  ip -n "$1" link set lo up
  # No IPv6 chatter (router solicitations, DAD) among the counted frames.
  ip netns exec "$1" sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
}
ns_up() {
  ns_count=$((ns_count + 1))
  NS=tapbench-$$-$ns_count LAN="" PEER_NS=$NS
  ns_make "$NS"
}
# The LAN: its namespace and a veth pair, UPLINK_IF (down) in NS, LAN_IF up with the peer's
# address in LAN.
lan_up() {
  LAN=$NS-lan PEER_NS=$NS-lan
  ns_make "$LAN"
  ip link add "$UPLINK_IF" netns "$NS" type veth peer name "$LAN_IF" netns "$LAN"
  ip -n "$LAN" addr add "$PEER_IP/24" dev "$LAN_IF"
  ip -n "$LAN" link set "$LAN_IF" up
}
ns_down() {
  local n keep=()
  for n in "${namespaces[@]}"; do
    if [[ $n == "$NS" || $n == "$LAN" ]]; then ip netns del "$n"; else keep+=("$n"); fi
  done
  namespaces=("${keep[@]}")
}
# Background jobs call `ip netns exec` itself: a function started with & runs in a subshell,
# whose PID is not the program's.
in_ns() { ip netns exec "$NS" "$@"; }
in_peer() { ip netns exec "$PEER_NS" "$@"; }
link_stat() { in_ns cat "/sys/class/net/$1/statistics/$2"; }
await_link() {  # IFNAME SECONDS
  local ticks=$(($2 * 20))
  until ip -n "$NS" link show "$1" >/dev/null 2>&1; do
    ((ticks > 0)) || { echo "tap_e2e: no interface $1" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}
count_lines() {
  local n
  n=$(grep -c -- "$2" "$1" 2>/dev/null) || true
  echo "${n:-0}"
}
await_lines() {  # FILE REGEX COUNT SECONDS
  local ticks=$(($4 * 20))
  while (($(count_lines "$1" "$2") < $3)); do
    ((ticks > 0)) || { echo "tap_e2e: timeout waiting for '$2' in $1" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}
field() { grep -o "\b$1=[^ ]*" <<<"$2" | head -1 | cut -d= -f2; }
# The machine's busy time in ms (user, nice, system, irq, softirq of every CPU).
machine_busy_ms() {
  awk -v tick="$tick_ms" '/^cpu / {print ($2 + $3 + $4 + $7 + $8) * tick; exit}' /proc/stat
}
tick_ms=$((1000 / $(getconf CLK_TCK)))

# vswitchd in NS serving the VDE directory DIR with host port KIND (tap | net_tap) or, for
# uplink, a bridged segment on UPLINK_IF; control socket CTL; sets VS. ADDRESS, when given,
# goes on the host's interface.
start_vswitchd() {
  local kind=$1 dir=$2 ctl=$3 log=$4 address=${5:-} args
  case $kind in
    tap) args=(--port "tap,ifname=$IFACE${address:+,address=$address}") ;;
    net_tap) args=(--port "dpdk,name=$IFACE,dev=net_tap0,dev.iface=$IFACE,role=host") ;;
    # README's one line for a guest on the LAN: the segment, its policy and its uplink port.
    uplink) args=(--segment "lan,network=bridged,uplink=$UPLINK_IF") ;;
  esac
  ip netns exec "$NS" "$BUILD"/vswitchd --vde "$dir" --control "$ctl" --log-level warn "${args[@]}" >"$log" 2>&1 &
  VS=$!
  pids+=("$VS")
  if ! { await_socket "$ctl" 20 && await_socket "$dir/ctl" 20 &&
    { [[ $kind == uplink ]] || await_link "$IFACE" 10; }; }; then
    echo "tap_e2e: vswitchd did not start: $(tail -n 5 "$log")" >&2
    return 1
  fi
  [[ $kind == uplink ]] && return
  [[ -n $TXQUEUELEN ]] && ip -n "$NS" link set "$IFACE" txqueuelen "$TXQUEUELEN"
  if [[ $kind == net_tap ]]; then
    # The PMD brings its link up; the address is ours to add.
    [[ -n $address ]] && ip -n "$NS" addr add "$address" dev "$IFACE"
    ip -n "$NS" link set "$IFACE" up
  fi
}

# ---- 1. synthetic -----------------------------------------------------------------------------

# One measurement: PORT DIRECTION WIRE_BYTES RATE(0 = max) -> one line of key=value results.
synth_once() {
  local kind=$1 dir=$2 wire=$3 rate=$4 size=$(($3 - 4)) run="$work/synth.$RANDOM$RANDOM"
  mkdir -p "$run"
  ns_up
  if ! start_vswitchd "$kind" "$run/sw" "$run/ctl" "$run/vswitchd.log"; then
    stop_pid "$VS"
    ns_down
    echo failed=1
    return
  fi
  local tapmac common=(--seconds "$SECS" --size "$size") gen sink="" result=failed=1
  tapmac=$(in_ns cat "/sys/class/net/$IFACE/address")
  local tx_drop0 rx0
  tx_drop0=$(link_stat "$IFACE" tx_dropped)
  rx0=$(link_stat "$IFACE" rx_packets)
  if [[ $dir == to-vde ]]; then
    ip netns exec "$NS" "$LOAD" recv "$run/sw" "${common[@]}" --src "$MAC_SINK" --drain "$DRAIN" \
      --wait $((SECS + 20)) --hold 60 >"$run/sink.out" 2>>"$run/err" &
    sink=$!
    pids+=("$sink")
    await_lines "$run/sink.out" '^ready' 1 10 || true
    sleep 0.2
    ip netns exec "$NS" "$LOAD" send --iface "$IFACE" "${common[@]}" --src "$MAC_GEN" --dst "$MAC_SINK" \
      --rate "$rate" --watch-pid "$VS" --hold 60 >"$run/gen.out" 2>>"$run/err" &
  else
    ip netns exec "$NS" "$LOAD" send "$run/sw" "${common[@]}" --src "$MAC_GEN" --dst "$tapmac" \
      --rate "$rate" --watch-pid "$VS" --hold 60 >"$run/gen.out" 2>>"$run/err" &
  fi
  gen=$!
  pids+=("$gen")
  if await_lines "$run/gen.out" role=send 1 $((SECS + 15)); then
    local delivered line sent
    if [[ -n $sink ]]; then
      await_lines "$run/sink.out" role=recv 1 $((SECS + 15)) || true
      delivered=$(grep -o 'role=recv received=[0-9]*' "$run/sink.out" | cut -d= -f3 || true)
    else
      sleep 0.3  # what the switch still had queued
      delivered=$(($(link_stat "$IFACE" rx_packets) - rx0))
    fi
    line=$(grep role=send "$run/gen.out")
    sent=$(field sent "$line")
    if [[ -n $delivered ]]; then
      result="sent=$sent delivered=$delivered seconds=$(field seconds "$line")"
      result+=" cpu=$(field watch_cpu_s "$line") gen_cpu=$(field cpu_self_s "$line")"
      result+=" kernel_dropped=$(($(link_stat "$IFACE" tx_dropped) - tx_drop0))"
      result+=" switch_dropped=$(ports_dropped "$run/ctl")"
    fi
  fi
  [[ $result == failed=1 ]] && echo "tap_e2e: $kind $dir $wire B: no result: $(cat "$run/err" 2>/dev/null)" >&2
  stop_pid "$gen"
  [[ -n $sink ]] && stop_pid "$sink"
  stop_pid "$VS"
  ns_down
  echo "$result"
}

declare -A synth  # "port dir wire rate" -> result lines, one per run
synth_record() {
  local key="$1 $2 $3 $4" line=$5
  printf '  %-8s %-8s %4s B %-6s ' "$1" "$2" "$3" "$([[ $4 == 0 ]] && echo max || echo "$4/s")"
  if [[ $line == failed=1 ]]; then
    echo "run failed (not counted)"
    return
  fi
  synth[$key]+="$line"$'\n'
  awk -v d="$(field delivered "$line")" -v s="$(field seconds "$line")" -v c="$(field cpu "$line")" \
    -v n="$(field sent "$line")" 'BEGIN {printf "%7.3f Mpps  switch %5.2f us/frame  sent %9d  lost %9d", d / s / 1e6, d ? c * 1e6 / d : 0, n, n - d}'
  echo "  (kernel dropped $(field kernel_dropped "$line"), switch dropped $(field switch_dropped "$line"); cpu s: switch $(field cpu "$line") generator $(field gen_cpu "$line"))"
}
# Median of WHAT (mpps, us) or sum (lost, kdrop, sdrop; loss_pct of the sums) over the runs of
# one cell: PORT DIRECTION WIRE RATE WHAT.
synth_stat() {
  local lines=${synth["$1 $2 $3 $4"]:-} what=$5
  [[ -n $lines ]] || { echo nan; return; }
  local per_run
  per_run=$(awk -v what="$what" '
    { for (i = 1; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
      if (what == "mpps") print f["delivered"] / f["seconds"] / 1e6
      else if (what == "us") print f["delivered"] ? f["cpu"] * 1e6 / f["delivered"] : "nan"
      lost += f["sent"] - f["delivered"]; sent += f["sent"]
      kd += f["kernel_dropped"]; sd += f["switch_dropped"] }
    END {
      if (what == "lost") print lost
      else if (what == "loss_pct") printf "%.2f\n", sent ? 100 * lost / sent : 0
      else if (what == "kdrop") print kd
      else if (what == "sdrop") print sd }' <<<"${lines%$'\n'}")
  case $what in
    mpps | us) median <<<"$per_run" ;;
    *) echo "$per_run" ;;
  esac
}
cell() {  # FORMAT VALUE [WIDTH]: the number, or a dash for none
  local w=${3:-12}
  if [[ $2 == nan || -z $2 ]]; then printf "%${w}s" -; else printf "%${w}$1" "$2"; fi
}

synth_row() {  # DIRECTION WIRE RATE LABEL
  local dir=$1 wire=$2 rate=$3 mt mn ut un
  mt=$(synth_stat tap "$dir" "$wire" "$rate" mpps)
  mn=$(synth_stat net_tap "$dir" "$wire" "$rate" mpps)
  ut=$(synth_stat tap "$dir" "$wire" "$rate" us)
  un=$(synth_stat net_tap "$dir" "$wire" "$rate" us)
  printf '%-16s' "$4"
  cell .3f "$mt"
  cell .3f "$mn"
  cell .2f "$(ratio "$mt" "$mn")"
  cell .2f "$ut"
  cell .2f "$un"
  cell .2f "$(ratio "$ut" "$un")"
  local k
  for k in tap net_tap; do
    printf '   %s: %s %% (%s / %s)' "$k" "$(synth_stat "$k" "$dir" "$wire" "$rate" loss_pct)" \
      "$(synth_stat "$k" "$dir" "$wire" "$rate" kdrop)" "$(synth_stat "$k" "$dir" "$wire" "$rate" sdrop)"
  done
  echo
}
synth_tables() {
  local dir wire title
  for dir in to-vde to-host; do
    [[ $dir == to-vde ]] && title="host kernel -> VDE (packet socket on $IFACE -> vswitchd -> vdeload recv)"
    [[ $dir == to-host ]] && title="VDE -> host kernel (vdeload send -> vswitchd -> $IFACE rx_packets)"
    echo
    echo "== $title; medians of $RUNS runs of $SECS s"
    printf '%-16s%12s%12s%12s%12s%12s%12s   %s\n' frames "tap Mpps" "net_tap" tap/net_tap \
      "tap us/fr" "net_tap" tap/net_tap "loss, summed (of it dropped at the kernel's tap queue / by vswitchd)"
    for wire in $SIZES; do synth_row "$dir" "$wire" 0 "$wire B, max"; done
    ((PACED_PPS > 0)) && synth_row "$dir" 64 "$PACED_PPS" "64 B, $PACED_PPS/s"
  done
  return 0
}

# ---- 2. with a real guest ---------------------------------------------------------------------

# Sets up PATH's plumbing in NS (and LAN on the LAN paths), the peer's address included,
# before QEMU starts; sets NETDEV (QEMU's -netdev) and VS. QEMU's tap is made here, persistent,
# so that it has its address and bridge before the guest boots; QEMU opens it by name as it
# would one it made itself.
guest_net() {
  local path=$1 run=$2
  VS=""
  is_lan_path "$path" && lan_up
  case $path in
    vswitchd | net_tap)
      start_vswitchd "$([[ $path == vswitchd ]] && echo tap || echo net_tap)" "$run/sw" "$run/ctl" \
        "$run/vswitchd.log" "$PEER_IP/24" || return 1
      NETDEV="vde,sock=$run/sw"
      return ;;
    uplink)
      uplink_offloads_off || return 1
      ip -n "$NS" link set "$UPLINK_IF" up
      start_vswitchd uplink "$run/sw" "$run/ctl" "$run/vswitchd.log" || return 1
      NETDEV="vde,sock=$run/sw"
      return ;;
  esac
  ip -n "$NS" tuntap add dev qt0 mode tap
  NETDEV="tap,ifname=qt0,script=no,downscript=no"
  [[ $path == *-plain ]] && NETDEV+=",vnet_hdr=off"
  case $path in
    qemu-tap | qemu-tap-plain) ip -n "$NS" addr add "$PEER_IP/24" dev qt0 ;;
    bridge)
      ip -n "$NS" link add vh0 type veth peer name vb0
      ip -n "$NS" addr add "$PEER_IP/24" dev vh0
      ip -n "$NS" link set vh0 up
      bridge_up vb0 ;;
    lan-bridge | lan-bridge-plain) bridge_up "$UPLINK_IF" ;;
  esac
  ip -n "$NS" link set qt0 up
}
is_lan_path() { [[ $1 == uplink || $1 == lan-bridge* ]]; }
# A Linux bridge br0 in NS holding QEMU's tap and PORT, with the kernel's defaults.
bridge_up() {
  ip -n "$NS" link add br0 type bridge
  ip -n "$NS" link set qt0 master br0
  ip -n "$NS" link set "$1" master br0
  ip -n "$NS" link set "$1" up
  ip -n "$NS" link set br0 up
}
# What the uplink port asks of its interface: no merged frames handed to its packet socket.
# GRO on vu0 would merge the LAN's frames; TSO on the LAN's end would send 64 KB segments
# across the veth whole (on a wire the NIC cuts them). Both are counted oversize and dropped.
uplink_offloads_off() {
  in_ns ethtool -K "$UPLINK_IF" gro off lro off
  ip netns exec "$LAN" ethtool -K "$LAN_IF" tso off
}

# CPU (us) of every part in the caller's `parts` (PID or PID:vcpu|io) appended to the array
# named $1; fails when one has ended.
sample_cpu() {
  local -n us=$1
  local p
  for p in "${parts[@]}"; do
    alive "${p%%:*}" || return 1
    us+=("$(cpu_us_of "${p%%:*}" "$([[ $p == *:* ]] && echo "${p#*:}")")")
  done
}

# Boots the guest in NS with the vsw.* settings APPEND; sets QEMU and CON (its console, open).
boot_guest() {
  local run=$1 append=$2
  ip netns exec "$NS" qemu-system-x86_64 -name tapbench,debug-threads=on -accel tcg -nodefaults -display none \
    -no-reboot -m 256 -serial "file:$run/console" -kernel "$kit/vmlinux" -initrd "$kit/initrd.gz" \
    -append "console=ttyS0 quiet panic=-1 vsw.ip=$GUEST_IP/24 $append" \
    -netdev "$NETDEV,id=n0" -device virtio-net-pci,netdev=n0,mac=52:54:00:12:34:56 \
    </dev/null >"$run/qemu.log" 2>&1 &
  QEMU=$!
  pids+=("$QEMU")
  local ticks=100
  until [[ -e $run/console ]] || ((ticks == 0)); do sleep 0.05; ticks=$((ticks - 1)); done
  [[ -e $run/console ]] || { echo "tap_e2e: QEMU did not start: $(cat "$run/qemu.log")" >&2; return 1; }
  exec {CON}<"$run/console"
}

# curl in the peer's namespace fetching the guest's blob again and again for FETCH_SECONDS: sets FETCHED (bytes),
# FETCH_MS (curl's own transfer times, summed) and CLIENT_US (curl's user+system CPU).
fetch_loop() {
  local run=$1 until=$((SECONDS + FETCH_SECONDS)) got secs
  FETCHED=0 FETCH_MS=0 CLIENT_US=0
  local TIMEFORMAT='%3U %3S'
  while ((SECONDS < until)); do
    { time in_peer curl -s --max-time 120 -o /dev/null -w '%{size_download} %{time_total}\n' \
      "http://$GUEST_IP/blob" >"$run/curl.out"; } 2>"$run/curl.time" || return 1
    read -r got secs <"$run/curl.out"
    ((got == BLOB_BYTES)) || { echo "tap_e2e: curl got $got of $BLOB_BYTES bytes" >&2; return 1; }
    FETCHED=$((FETCHED + got))
    FETCH_MS=$(awk -v a="$FETCH_MS" -v t="$secs" 'BEGIN {printf "%.3f", a + t * 1000}')
    CLIENT_US=$(awk -v a="$CLIENT_US" '{printf "%d", a + ($1 + $2) * 1e6}' "$run/curl.time")
  done
}

# One transfer of DIRECTION (from-guest | to-guest) on PATH -> one line of key=value results:
# bytes, ms, the CPU (us) of each part (NAME_us), machine_ms, and for vswitchd frames (its ports'
# in_packets) and dropped.
guest_once() {
  local path=$1 dir=$2 run="$work/guest.$1.$2.$RANDOM$RANDOM" result=failed=1
  mkdir -p "$run"
  ns_up
  QEMU="" CON="" VS=""
  local server="" parts=() names=() c0=() c1=() m0 m1 in0=0 in1=0 bytes=0 ms=0 extra=""
  if guest_net "$path" "$run"; then
    local append="vsw.role=server vsw.bytes=$BLOB_BYTES"
    if [[ $dir == to-guest ]]; then
      mkdir -p "$run/www"
      ln -s "$work/blob" "$run/www/blob"
      md5sum "$work/blob" | cut -d' ' -f1 >"$run/www/blob.md5"
      ip netns exec "$PEER_NS" "$BUILD"/bench/httpblob "$run/www" "$PEER_IP" >"$run/httpblob.out" 2>&1 &
      server=$!
      pids+=("$server")
      await_lines "$run/httpblob.out" port= 1 10 || true
      append="vsw.role=client vsw.peer=$PEER_IP vsw.check=size vsw.bytes=$BYTES vsw.hold=2"
      append+=" vsw.url=http://$PEER_IP:$(grep -o 'port=[0-9]*' "$run/httpblob.out" | cut -d= -f2)"
    fi
    if boot_guest "$run" "$append"; then
      parts=("$QEMU:vcpu" "$QEMU:io") names=(vcpu qemu_io)
      [[ -n $VS ]] && parts+=("$VS") && names+=(vswitchd)
      [[ -n $server ]] && parts+=("$server") && names+=(httpblob)
      if ! await_line "$CON" VSW-READY "$GUEST_TIMEOUT"; then
        echo "tap_e2e: $path: the guest did not come up: $(tr -d '\r' <"$run/console" | tail -n 3)" >&2
      elif [[ $dir == from-guest ]]; then
        # The first fetch learns the way (ARP, the switch's FDB) outside the measured window.
        in_peer curl -s --max-time 30 -o /dev/null "http://$GUEST_IP/blob.md5" || true
        sample_cpu c0
        m0=$(machine_busy_ms)
        [[ -n $VS ]] && in0=$(ports_in "$run/ctl")
        if fetch_loop "$run" && sample_cpu c1; then
          m1=$(machine_busy_ms)
          bytes=$FETCHED ms=$FETCH_MS extra=" curl_us=$CLIENT_US"
        fi
      else
        sample_cpu c0
        m0=$(machine_busy_ms)
        [[ -n $VS ]] && in0=$(ports_in "$run/ctl")
        if ! await_line "$CON" VSW-XFER- "$GUEST_TIMEOUT"; then
          echo "tap_e2e: $path: no transfer result in $GUEST_TIMEOUT s" >&2
        elif [[ $CONSOLE_LINE != VSW-XFER-OK* ]]; then
          echo "tap_e2e: $path: $CONSOLE_LINE" >&2
        elif sample_cpu c1; then
          m1=$(machine_busy_ms)
          bytes=$(field bytes "$CONSOLE_LINE") ms=$(field ms "$CONSOLE_LINE")
        fi
      fi
      if ((bytes > 0)) && ((${#c1[@]} == ${#parts[@]})); then
        result="bytes=$bytes ms=$ms machine_ms=$((m1 - m0))$extra"
        local i
        for i in "${!parts[@]}"; do result+=" ${names[$i]}_us=$((c1[i] - c0[i]))"; done
        if [[ -n $VS ]]; then
          in1=$(ports_in "$run/ctl")
          result+=" frames=$((in1 - in0)) dropped=$(ports_dropped "$run/ctl")"
        fi
      fi
      exec {CON}<&-
    fi
  fi
  [[ -n $QEMU ]] && stop_pid "$QEMU" "$([[ $dir == to-guest ]] && echo 10 || echo 0)"
  [[ -n $server ]] && stop_pid "$server"
  [[ -n $VS ]] && stop_pid "$VS"
  ns_down
  echo "$result"
}

declare -A guest  # "path dir" -> result lines
# Per-run figure WHAT of the lines on stdin: mbps | cpu_ms_mb (every part) | net_ms_mb (all but
# the vCPU) | machine_ms_mb | NAME_ms_mb | vsw_us_frame.
guest_derived() {
  awk -v what="$1" '{
      for (i = 1; i <= NF; ++i) { split($i, kv, "="); f[kv[1]] = kv[2] }
      mb = f["bytes"] / 1e6
      cpu = 0
      for (k in f) if (k ~ /_us$/) cpu += f[k]
      if (what == "mbps") print mb / (f["ms"] / 1000)
      else if (what == "cpu_ms_mb") print cpu / 1000 / mb
      else if (what == "net_ms_mb") print (cpu - f["vcpu_us"]) / 1000 / mb
      else if (what == "machine_ms_mb") print f["machine_ms"] / mb
      else if (what == "vsw_us_frame") { if (f["frames"] > 0) print f["vswitchd_us"] / f["frames"] }
      else if (what == "frames") { if ("frames" in f) print f["frames"] }
      else if (what == "dropped") { if ("dropped" in f) print f["dropped"] }
      else { name = what; sub(/_ms_mb$/, "_us", name); if (name in f) print f[name] / 1000 / mb }
      delete f }'
}
guest_stat() {
  local lines=${guest["$1 $2"]:-}
  [[ -n $lines ]] || { echo nan; return; }
  guest_derived "$3" <<<"${lines%$'\n'}" | median
}

# Who the guest talks to in the tables' titles: the host, the LAN, or either (mixed paths).
peer_name() {
  local p lan=0
  for p in "${guest_paths[@]}"; do is_lan_path "$p" && lan=$((lan + 1)); done
  if ((lan == 0)); then echo host; elif ((lan == ${#guest_paths[@]})); then echo LAN; else echo peer; fi
}
# A column wide enough for its heading: 15, or the heading and two spaces.
col_width() { local w=$((${#1} + 2)); echo $((w > 15 ? w : 15)); }

guest_tables() {
  local dir row label what fmt p first=${guest_paths[0]:0:3}
  for dir in from-guest to-guest; do
    echo
    if [[ $dir == from-guest ]]; then
      echo "== guest -> $(peer_name): curl in the $(peer_name)'s namespace fetching the guest's $((BLOB_BYTES / 1048576)) MiB blob for $FETCH_SECONDS s; medians of $RUNS runs"
    else
      echo "== $(peer_name) -> guest: the guest downloading $((BYTES / 1048576)) MiB from httpblob on the $(peer_name)'s address; medians of $RUNS runs"
    fi
    printf '%-26s' metric
    for p in "${guest_paths[@]}"; do printf '%*s' "$(col_width "$p")" "$p"; done
    for p in "${guest_paths[@]:1}"; do printf '%*s' "$(col_width "$first/$p")" "$first/$p"; done
    echo
    for row in "MB/s:mbps:.1f" "CPU ms/MB, every part:cpu_ms_mb:.2f" "  QEMU's vCPU (the guest):vcpu_ms_mb:.2f" \
      "  all but the vCPU:net_ms_mb:.2f" "    QEMU's other threads:qemu_io_ms_mb:.2f" "    vswitchd:vswitchd_ms_mb:.2f" \
      "    curl:curl_ms_mb:.2f" "    httpblob:httpblob_ms_mb:.2f" "machine busy ms/MB:machine_ms_mb:.2f" \
      "frames switched:frames:.0f" "vswitchd CPU us/frame:vsw_us_frame:.2f" "vswitchd drop counters:dropped:.0f"; do
      IFS=: read -r label what fmt <<<"$row"
      [[ $dir == from-guest && $what == httpblob_ms_mb ]] && continue
      [[ $dir == to-guest && $what == curl_ms_mb ]] && continue
      printf '%-26s' "$label"
      local v=()
      for p in "${guest_paths[@]}"; do
        v+=("$(guest_stat "$p" "$dir" "$what")")
        cell "$fmt" "${v[-1]}" "$(col_width "$p")"
      done
      if [[ $what == mbps || $what == *_ms_mb ]]; then
        local i
        for ((i = 1; i < ${#guest_paths[@]}; ++i)); do
          cell .3f "$(ratio "${v[0]}" "${v[i]}")" "$(col_width "$first/${guest_paths[i]}")"
        done
      fi
      echo
    done
  done
}

# ---- the runs ---------------------------------------------------------------------------------

echo "machine: $(nproc) x $(lscpu | awk -F: '/Model name/ {sub(/^ */, "", $2); print $2; exit}'), kernel $(uname -r)," \
  "$(qemu-system-x86_64 --version | head -n 1) (TCG), DPDK $(dpkg-query -W -f='${Version}' dpdk 2>/dev/null || echo '?')"
echo "command: RUNS=$RUNS SECONDS_PER_RUN=$SECS SIZES=\"$SIZES\" PACED_PPS=$PACED_PPS FETCH_SECONDS=$FETCH_SECONDS" \
  "BLOB_BYTES=$BLOB_BYTES BYTES=$BYTES PARTS=\"$PARTS\" GUEST_PATHS=\"${guest_paths[*]}\" bench/tap_e2e.sh"
echo "vswitchd: git $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- switch plugs include 2>/dev/null || echo '+dirty'); load average at the start: $(cut -d" " -f1-3 /proc/loadavg)"
start=$SECONDS
if [[ $PARTS == *synthetic* ]]; then
  echo
  echo "synthetic runs:"
  for _ in $(seq "$RUNS"); do
    for wire in $SIZES; do
      for dir in to-vde to-host; do
        for kind in "${synth_ports[@]}"; do
          synth_once "$kind" "$dir" "$wire" 0 >"$work/result"
          synth_record "$kind" "$dir" "$wire" 0 "$(<"$work/result")"
        done
      done
    done
    if ((PACED_PPS > 0)); then
      for dir in to-vde to-host; do
        for kind in "${synth_ports[@]}"; do
          synth_once "$kind" "$dir" 64 "$PACED_PPS" >"$work/result"
          synth_record "$kind" "$dir" 64 "$PACED_PPS" "$(<"$work/result")"
        done
      done
    fi
  done
fi
if [[ $PARTS == *guest* ]]; then
  head -c "$BYTES" /dev/urandom >"$work/blob"
  echo
  echo "guest runs:"
  for r in $(seq "$RUNS"); do
    for dir in from-guest to-guest; do
      for path in "${guest_paths[@]}"; do
        guest_once "$path" "$dir" >"$work/result"
        line=$(<"$work/result")
        printf '  %-16s %-10s run %d: %s\n' "$path" "$dir" "$r" "$line"
        [[ $line == failed=1 ]] || guest["$path $dir"]+="$line"$'\n'
      done
    done
  done
fi
[[ $PARTS == *synthetic* ]] && synth_tables
[[ $PARTS == *guest* ]] && guest_tables
echo
echo "total time: $((SECONDS - start)) s; load average at the end: $(cut -d" " -f1-3 /proc/loadavg)"
