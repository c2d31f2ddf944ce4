# shellcheck shell=bash
# Shell helpers of the end-to-end benchmarks that start guests and switches (nat_e2e.sh,
# tap_e2e.sh), sourced by them. The script keeps the PIDs it started in the array `pids`, which
# its cleanup trap stops, and sets BUILD; await_line needs a descriptor `nap` open on a FIFO
# nobody writes (e2e_open_nap); ovs_start needs an array `namespaces`, which the cleanup trap
# deletes (ip netns del).

# True while PID runs; a zombie does not count.
alive() { [[ -r /proc/$1/stat ]] && [[ $(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) != Z ]]; }

# Drops PID from `pids`: once it has ended its number may be reused.
forget() {
  local q keep=()
  for q in "${pids[@]}"; do [[ $q == "$1" ]] || keep+=("$q"); done
  pids=("${keep[@]}")
}

# Stops PID: waits up to SECONDS (default 0) for it to end by itself, then SIGTERM, then
# SIGKILL after 5 s; reaps it and forgets it.
stop_pid() {
  local pid=$1 ticks=$((${2:-0} * 10))
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  kill -TERM "$pid" 2>/dev/null || true
  ticks=50
  while alive "$pid" && ((ticks > 0)); do sleep 0.1; ticks=$((ticks - 1)); done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  forget "$pid"
}

# Waits up to SECONDS for the Unix socket PATH.
await_socket() {
  local ticks=$(($2 * 20))
  while [[ ! -S $1 ]]; do
    ((ticks > 0)) || { echo "$(basename "$0"): no socket $1" >&2; return 1; }
    sleep 0.05
    ticks=$((ticks - 1))
  done
}

# CPU time of PID in microseconds: the run time of its threads (schedstat), finer than the 10 ms
# ticks of /proc/PID/stat; with `vcpu`, of QEMU's vCPU threads only, with `io` of all the others
# (its main loop: the device backends). QEMU must run with -name ...,debug-threads=on.
cpu_us_of() {
  local t comm ns vcpu sum=0
  for t in /proc/"$1"/task/*; do
    { read -r comm <"$t/comm" && read -r ns _ <"$t/schedstat"; } 2>/dev/null || continue
    vcpu=0
    [[ $comm == "CPU "* ]] && vcpu=1  # "CPU 0/TCG"
    case ${2:-all} in
      vcpu) ((vcpu)) || continue ;;
      io) ((!vcpu)) || continue ;;
    esac
    sum=$((sum + ns))
  done
  echo $((sum / 1000))
}
ticks_of() { awk '{print $14 + $15}' "/proc/$1/stat"; }

median() { sort -g | awk '{v[NR]=$1} END {if (NR == 0) print "nan"; else print (NR%2) ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2}'; }
ratio() {
  awk -v a="$1" -v b="$2" 'BEGIN {if (a == "nan" || b == "nan" || a == "" || b == "" || b == 0) print "nan"; else print a / b}'
}

# Sums of vswitchd's ports' in_packets, and of their drops, from the control socket CTL.
ports_in() {
  "$BUILD"/vswitchctl -s "$1" --json port list | grep -o '"in_packets":[0-9]*' | cut -d: -f2 | paste -sd+ | bc
}
ports_dropped() {
  "$BUILD"/vswitchctl -s "$1" --json port list | grep -o '"dropped":[0-9]*' | cut -d: -f2 | paste -sd+ | bc
}

# Opens descriptor `nap` on a FIFO in DIR that nobody writes: `read -t` on it waits without a
# process a poll.
e2e_open_nap() {
  mkfifo "$1/nap"
  exec {nap}<>"$1/nap"
}

# Reads the guest console on fd CON until a line starting with PREFIX, for up to SECONDS;
# sets CONSOLE_LINE. Lines end in \r\n (the serial tty's), and may come in pieces.
await_line() {
  local con=$1 prefix=$2 ticks=$(($3 * 50)) line part=""
  while ((ticks > 0)); do
    if IFS= read -r -u "$con" line; then
      line=$part$line
      part=""
      line=${line%$'\r'}
      if [[ $line == "$prefix"* ]]; then
        # shellcheck disable=SC2034  # the caller reads it
        CONSOLE_LINE=$line
        return 0
      fi
    else
      part+=$line
      read -r -t 0.02 -u "$nap" _ || true
      ticks=$((ticks - 1))
    fi
  done
  return 1
}

# ---- Open vSwitch DPDK as a reference switch ----------------------------------------------------

OVS_VSWITCHD=/usr/lib/openvswitch-switch-dpdk/ovs-vswitchd-dpdk

# Starts Open vSwitch DPDK (Debian's openvswitch-switch-dpdk) with a database, run directory,
# control sockets and network namespace of its own (its bridge's internal tap goes there), so
# nothing of the system's Open vSwitch is touched, and a netdev bridge vb0 with the default
# NORMAL flow (MAC learning); the caller adds the ports (ovs_vsctl add-port vb0 ...).
#   ovs_start NAME DIR CORES PMD_CORE EAL LOG
# NAME: the namespace and the EAL file prefix; CORES: where ovsdb-server and ovs-vswitchd's
# main thread and helpers may run; PMD_CORE: its one PMD thread; EAL: dpdk-extra beyond
# --no-huge --legacy-mem --no-shconf (-m, --no-pci...); LOG: ovs-vswitchd's stdout and stderr.
# Sets OVS_PID (ovs-vswitchd's PID), OVSDB (ovsdb-server's), OVS_DIR and OVS_NS.
ovs_start() {
  local name=$1 cores=$3 pmd_core=$4 eal=$5 log=$6
  OVS_DIR=$2 OVS_NS=$name OVS_PID="" OVSDB=""
  mkdir -p "$OVS_DIR"
  ip netns add "$OVS_NS"
  namespaces+=("$OVS_NS")
  export OVS_RUNDIR=$OVS_DIR OVS_LOGDIR=$OVS_DIR OVS_DBDIR=$OVS_DIR OVS_SYSCONFDIR=$OVS_DIR
  ovsdb-tool create "$OVS_DIR/conf.db" /usr/share/openvswitch/vswitch.ovsschema
  taskset -c "$cores" ovsdb-server "$OVS_DIR/conf.db" --remote="punix:$OVS_DIR/db.sock" \
    --pidfile="$OVS_DIR/ovsdb.pid" --unixctl="$OVS_DIR/ovsdb.ctl" --log-file="$OVS_DIR/ovsdb.log" \
    >/dev/null 2>&1 &
  OVSDB=$!
  pids+=("$OVSDB")
  await_socket "$OVS_DIR/db.sock" 20 || return 1
  ovs_vsctl --no-wait init
  ovs_vsctl --no-wait set Open_vSwitch . other_config:dpdk-init=true \
    "other_config:dpdk-extra=--no-huge --legacy-mem --no-shconf --file-prefix=$name $eal" \
    "other_config:pmd-cpu-mask=$(printf '0x%x' $((1 << pmd_core)))"
  ip netns exec "$OVS_NS" taskset -c "$cores,$pmd_core" "$OVS_VSWITCHD" "unix:$OVS_DIR/db.sock" \
    --pidfile="$OVS_DIR/ovs.pid" --unixctl="$OVS_DIR/ovs.ctl" --log-file="$OVS_DIR/ovs.log" \
    >"$log" 2>&1 &
  OVS_PID=$!
  pids+=("$OVS_PID")
  ovs_vsctl --timeout=60 add-br vb0 -- set bridge vb0 datapath_type=netdev
}
ovs_vsctl() { ovs-vsctl --db="unix:$OVS_DIR/db.sock" "$@" >/dev/null; }
ovs_get() { ovs-vsctl --db="unix:$OVS_DIR/db.sock" get "$@"; }
ovs_appctl() { ovs-appctl -t "$OVS_DIR/ovs.ctl" "$@"; }

# A counter of the datapath's port PORT as the datapath has it now (dpctl/show -s; the
# database's statistics column lags by up to 5 s): COUNTER is "RX packets", "TX packets",
# "TX dropped"... Prints nothing for a port that is not there.
ovs_port_counter() {
  local kind=${2%% *} key=${2#* }
  ovs_appctl dpctl/show -s | awk -v port="$1" -v kind="$kind" -v key="$key" '
    /^ *port [0-9]+: / {p = ($3 == port)}
    p && $1 == kind {for (i = 2; i <= NF; ++i) if ($i ~ "^" key ":") {sub(/^[^:]*:/, "", $i); print $i; exit}}'
}

# Stops what ovs_start started and deletes its namespace and EAL files.
ovs_stop() {
  [[ -n ${OVS_PID:-} ]] && stop_pid "$OVS_PID"
  [[ -n ${OVSDB:-} ]] && stop_pid "$OVSDB"
  ip netns del "$OVS_NS" 2>/dev/null || true
  local n keep=()
  for n in "${namespaces[@]}"; do [[ $n == "$OVS_NS" ]] || keep+=("$n"); done
  namespaces=("${keep[@]}")
  rm -rf /var/run/dpdk/"$OVS_NS"
  unset OVS_RUNDIR OVS_LOGDIR OVS_DBDIR OVS_SYSCONFDIR
  OVS_PID="" OVSDB=""
}
