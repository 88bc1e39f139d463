#!/usr/bin/env bash
# twohost.sh — scripts/nhost.sh with two hosts (a and b, both running
# libvirtd) and no outside network, under its former names: run dir
# QN_TWOHOST_DIR (default /tmp/quantumnet-twohost), namespaces qn-host-a and
# qn-host-b (and qn-host-sw, the underlay's switch), every QN_TWOHOST_X
# setting passed on as nhost.sh's QN_NHOST_X (QN_TWOHOST_NETNS_A,
# QN_TWOHOST_HOOK, ...). `twohost.sh help` lists them.
set -euo pipefail

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
# Nothing of an nhost.sh environment (eval "$(nhost.sh env)") leaks in.
for v in ${!QN_NHOST_@}; do unset "$v"; done
for v in ${!QN_TWOHOST_@}; do export "QN_NHOST_${v#QN_TWOHOST_}=${!v}"; done
export QN_NHOST_DIR=${QN_TWOHOST_DIR:-/tmp/quantumnet-twohost}
export QN_NHOST_NETNS_PREFIX=qn-host QN_HOSTS=2 QN_NHOST_LIBVIRT="a b" QN_NHOST_OUTSIDE=0 QN_NHOST_PROG=twohost.sh
exec "$HERE/nhost.sh" "$@"
