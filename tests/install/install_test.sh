#!/usr/bin/env bash
# `cmake --install` puts every file where Debian expects it and keeps an admin's config; the
# installed unit passes `systemd-analyze verify` and rates no worse than README.md says.
# Usage: install_test.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
  echo "FAIL: $*" >&2
  exit 1
}
prefix=$tmp/prefix
install_it() { timeout 60 cmake --install "$build" --prefix "$prefix" >"$tmp/install.log"; }

install_it || fail "cmake --install: $(cat "$tmp/install.log")"
for f in sbin/vswitchd bin/vswitchctl share/man/man8/vswitchd.8 share/man/man8/vswitchctl.8 \
  lib/systemd/system/vswitchd.service lib/sysusers.d/vswitchd.conf \
  share/doc/vswitchd/vswitchd.conf etc/vswitchd/vswitchd.conf; do
  [[ -f $prefix/$f ]] || fail "$f was not installed"
done
timeout 10 "$prefix/sbin/vswitchd" --version | grep -q '^vswitchd ' || fail "installed vswitchd"
timeout 10 "$prefix/bin/vswitchctl" --help | grep -q '^Usage: vswitchctl' || fail "installed vswitchctl"

# An admin's config survives the next install.
echo "# the admin's own" >"$prefix/etc/vswitchd/vswitchd.conf"
install_it || fail "second cmake --install"
grep -qx "# the admin's own" "$prefix/etc/vswitchd/vswitchd.conf" || fail "the config was overwritten"

# The unit names the configured paths; checked with them pointing into this tree.
unit=$prefix/lib/systemd/system/vswitchd.service
grep -Eqx 'ExecStart=/.*/sbin/vswitchd --config /.*/vswitchd/vswitchd\.conf' "$unit" ||
  fail "unexpected $(grep '^ExecStart=' "$unit")"
sed "s|^ExecStart=.*|ExecStart=$prefix/sbin/vswitchd --config $prefix/etc/vswitchd/vswitchd.conf|" \
  "$unit" >"$tmp/vswitchd.service"
out=$(timeout 60 systemd-analyze verify --man=no "$tmp/vswitchd.service" 2>&1) ||
  fail "systemd-analyze verify: $out"
[[ -z $out ]] || fail "systemd-analyze verify says: $out"

score=$(timeout 60 systemd-analyze security --offline=yes "$tmp/vswitchd.service" 2>/dev/null |
  sed -n 's/.*Overall exposure level for vswitchd.service: \([0-9.]*\).*/\1/p')
readme=$(sed -n 's/.*exposure level of \([0-9.]*\).*/\1/p' "$src/README.md" | head -1)
[[ -n $score && -n $readme ]] || fail "no exposure figure (unit: '$score', README: '$readme')"
awk -v s="$score" -v r="$readme" 'BEGIN { exit !(s <= r) }' ||
  fail "systemd-analyze security rates the unit $score, worse than README's $readme"
echo "installed, config kept, unit verified, exposure $score (README: $readme)"
