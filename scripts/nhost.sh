#!/usr/bin/env bash
# nhost.sh — N simulated hosts on one machine, for tests of cross-host
# traffic, gateway failover and live migration: one central OVN (NB, SB,
# northd) and hosts a, b, c, ... (QN_HOSTS, default 3), each a network
# namespace with its own OVS (userspace datapath) and ovn-controller, and on
# the hosts that need one (QN_NHOST_LIBVIRT, default a and b) a libvirtd in
# its own mount and UTS namespace. An "outside" namespace stands for the
# physical (provider) network. It never touches a system-wide
# OVS/OVN/libvirt: every daemon has its sockets, databases and pid files
# under QN_NHOST_DIR. scripts/twohost.sh is this script with two hosts and
# no outside network.
#
#   central   $DIR/central: NB, SB, ovn-northd        (scripts/sandbox.sh, role central)
#   host H    netns <prefix>-H, $DIR/H: ovsdb-server, ovs-vswitchd, ovn-controller
#             (scripts/sandbox.sh, role chassis), chassis-H, encap 192.168.250.N
#             (N = 1 for a, 2 for b, ...); with libvirt: libvirtd with private
#             /etc/libvirt, /run/libvirt, /var/lib/libvirt, /var/log/libvirt,
#             /var/cache/libvirt (from $DIR/H/libvirt/*), hostname host-H,
#             migration address 192.168.251.N
#   switch    netns <prefix>-sw: Linux bridges br-ul (underlay) and br-mig
#             (migration); veth ul0 / mig0 in each host, ul-H / mg-H here.
#             ul0 is a port of the host's netdev bridge br-phy, whose internal
#             port has the encap IP (the userspace datapath routes Geneve
#             through it); mig0 is a plain kernel link with the migration IP
#   outside   netns <prefix>-out (QN_NHOST_OUTSIDE=1): Linux bridge br-out
#             with 192.0.2.10/24 and 2001:db8:ff::10/64 and no route beyond;
#             veth ex-H here <-> ex0 in each host, a port of the host's OVS
#             bridge br-ex (datapath netdev, TX checksum off on both ends);
#             each chassis has ovn-bridge-mappings=physnet1:br-ex
set -euo pipefail

# The daemons started below must not inherit the caller's descriptors: a
# lock held by `flock LOCK nhost.sh up` would stay held by ovsdb-server & co.
# (No redirection on the loop: bash would save stderr on a descriptor the
# loop then closes.)
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd != 255)) || continue
	eval "exec $fd>&-"
done
unset fd

PROG=${QN_NHOST_PROG:-${0##*/}}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SANDBOX=$HERE/sandbox.sh

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- settings
DIR=${QN_NHOST_DIR:-/tmp/quantumnet-nhost}
[[ -n $DIR ]] || die "QN_NHOST_DIR is empty"
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
TIMEOUT=${QN_NHOST_TIMEOUT:-30}
HOOK=${QN_NHOST_HOOK:-}
# Directories each host's libvirtd (and the hooks it runs) sees privately,
# backed by $DIR/<h>/root/<path>: a per-host quantumnetd puts its socket in
# $DIR/<h>/root/run/quantumnet/ and the hook inside host <h> finds it at
# /run/quantumnet/ (libvirt runs hooks with a cleared environment, so
# QUANTUMNET_SOCKET cannot reach them).
PRIVATE_DIRS=${QN_NHOST_PRIVATE_DIRS-/run/quantumnet}
NHOSTS=${QN_HOSTS:-3}
[[ $NHOSTS =~ ^[2-9]$ ]] || die "QN_HOSTS must be 2 to 9, got: $NHOSTS"
LETTERS=(a b c d e f g h i)
HOSTS=("${LETTERS[@]:0:NHOSTS}")
read -r -a LIBVIRT_HOSTS <<<"${QN_NHOST_LIBVIRT-a b}"
OUTSIDE=${QN_NHOST_OUTSIDE:-1}
[[ $OUTSIDE == [01] ]] || die "QN_NHOST_OUTSIDE must be 0 or 1, got: $OUTSIDE"
PREFIX_NS=${QN_NHOST_NETNS_PREFIX:-qn-nh}
OUT_IP4=${QN_NHOST_OUTSIDE_IP4:-192.0.2.10/24}
OUT_IP6=${QN_NHOST_OUTSIDE_IP6:-2001:db8:ff::10/64}
PHYSNET=${QN_NHOST_PHYSNET:-physnet1}

declare -A NETNS CHASSIS ENCAP_IP MIG_IP HOSTNAME_OF
for i in "${!HOSTS[@]}"; do
	h=${HOSTS[$i]}
	H=${h^^}
	v=QN_NHOST_NETNS_$H && NETNS[$h]=${!v:-$PREFIX_NS-$h}
	v=QN_NHOST_CHASSIS_$H && CHASSIS[$h]=${!v:-chassis-$h}
	v=QN_NHOST_ENCAP_IP_$H && ENCAP_IP[$h]=${!v:-192.168.250.$((i + 1))}
	v=QN_NHOST_MIGRATION_IP_$H && MIG_IP[$h]=${!v:-192.168.251.$((i + 1))}
	HOSTNAME_OF[$h]=host-$h
done
unset i h H v
# The switch and outside namespaces are named after host a's (qn-nh-a ->
# qn-nh-sw, qn-nh-out) so that run dirs with other host names never share them.
NS_BASE=${NETNS[a]%-a}
NETNS[sw]=${QN_NHOST_NETNS_SWITCH:-$NS_BASE-sw}
NETNS[out]=${QN_NHOST_NETNS_OUTSIDE:-$NS_BASE-out}
PREFIX=24
UL_DEV=ul0   # underlay veth end in each host netns
MIG_DEV=mig0 # migration veth end in each host netns
EX_DEV=ex0   # outside veth end in each host netns (a port of br-ex)
EX_BR=br-ex

usage() {
	cat <<EOF2
Usage: $PROG {up|down|status|env}
       $PROG exec {HOST|out} COMMAND [ARG...]

  up      start whatever is not running yet: central NB/SB/northd, the host,
          switch and outside namespaces and their links, each host's OVS +
          ovn-controller (chassis registered in SB) and, where wanted,
          libvirtd (answering); idempotent
  down    destroy and undefine every domain of the libvirtds (qn-test-*
          first), stop everything up started, delete the namespaces (and with
          them the veths) and remove the run dir
  status  one line per component; exit 0 if everything runs, 3 otherwise
  env     print export lines for eval: eval "\$($PROG env)"
  exec    run COMMAND inside a host (its network, mount and UTS namespaces:
          those of its libvirtd; only the network namespace without one),
          with OVS_RUNDIR etc. of that host; "out": the outside namespace

Settings (environment; now: hosts ${HOSTS[*]}, libvirt on ${LIBVIRT_HOSTS[*]:-none}):
  QN_NHOST_DIR            run directory (default /tmp/quantumnet-nhost, now: $DIR)
  QN_HOSTS                number of hosts, 2 to 9 (default 3)
  QN_NHOST_LIBVIRT        hosts running a libvirtd (default "a b"; "" none)
  QN_NHOST_OUTSIDE        1 (default): the outside namespace, br-ex on every
                          host and the bridge mapping $PHYSNET:$EX_BR; 0: none
  QN_NHOST_OUTSIDE_IP4/6  the outside's addresses (default 192.0.2.10/24,
                          2001:db8:ff::10/64); QN_NHOST_PHYSNET (physnet1)
  QN_NHOST_HOOK           executable installed (symlinked) as
                          /etc/libvirt/hooks/qemu.d/quantumnet in the hosts'
                          private /etc/libvirt (default: no hook). up re-links
                          it and reloads libvirtd when it changed.
  QN_NHOST_PRIVATE_DIRS   directories private per host in the libvirtd mount
                          namespace, backed by \$DIR/<h>/root/<dir>
                          (default /run/quantumnet, now: ${PRIVATE_DIRS:-none})
  QN_NHOST_TIMEOUT        seconds to wait for each daemon (default 30)
  QN_NHOST_NETNS_PREFIX   namespaces PREFIX-a, ... (default qn-nh); per host
                          QN_NHOST_NETNS_<H>; QN_NHOST_NETNS_SWITCH and
                          _OUTSIDE (default: host a's name with -sw / -out
                          for its -a, now ${NETNS[sw]}, ${NETNS[out]})
  QN_NHOST_CHASSIS_<H>, QN_NHOST_ENCAP_IP_<H>, QN_NHOST_MIGRATION_IP_<H>
                          (defaults chassis-<h>, 192.168.250.N, 192.168.251.N)

libvirt URIs (from the root namespace, any process):
  qemu+unix:///system?socket=\$DIR/<h>/libvirt/run/libvirt-sock
Live migration (peer to peer, run from the source): the destination URI as
  seen by the source libvirtd is QN_LIBVIRT_MIGRATE_URI_<H> from env, e.g.
  virsh -c "\$QN_LIBVIRT_URI_A" migrate --live --p2p --persistent \\
      --undefinesource DOM "\$QN_LIBVIRT_MIGRATE_URI_B"
  (qemu+tcp://<migration IP>/system: libvirtd listens on TCP, no auth, on the
  migration link only). QEMU's migration stream uses the migration link too.
EOF2
}

[[ $DIR != / ]] || die "QN_NHOST_DIR must not be /"
# sandbox.sh: $DIR/<h>/ovn-controller.<pid>.ctl must fit a unix socket path.
((${#DIR} + 34 <= 107)) || die "QN_NHOST_DIR too long for unix socket paths (${#DIR} chars, max 73): $DIR"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "QN_NHOST_TIMEOUT must be a number of seconds, got: $TIMEOUT"
for h in "${LIBVIRT_HOSTS[@]}"; do
	[[ -n ${NETNS[$h]:-} && $h != sw && $h != out ]] || die "QN_NHOST_LIBVIRT: no host $h (hosts: ${HOSTS[*]})"
done
[[ $(printf '%s\n' "${NETNS[@]}" | sort -u | wc -l) -eq ${#NETNS[@]} ]] || die "the namespaces must be distinct: ${NETNS[*]}"
[[ $(printf '%s\n' "${CHASSIS[@]}" | sort -u | wc -l) -eq ${#CHASSIS[@]} ]] || die "the chassis names must be distinct: ${CHASSIS[*]}"
if [[ -n $HOOK ]]; then
	[[ $HOOK == /* ]] || HOOK=$PWD/$HOOK
fi

MARKER=$DIR/.quantumnet-nhost
OLD_MARKER=$DIR/.quantumnet-twohost # run dirs of the former twohost.sh
CENTRAL=$DIR/central
PATH=$PATH:/usr/sbin:/sbin

now_ms() { echo $(($(date +%s%N) / 1000000)); }
hdir() { echo "$DIR/$1"; }
ovs_sock() { echo "$DIR/$1/db.sock"; }
has_libvirt() { [[ " ${LIBVIRT_HOSTS[*]} " == *" $1 "* ]]; }
is_ours() { [[ -e $MARKER || -e $OLD_MARKER ]]; }

# shellcheck source=scripts/nhost-libvirt.sh
. "$HERE/nhost-libvirt.sh"

# sandbox H ARGS: scripts/sandbox.sh for the central (H=central) or a host.
sandbox() {
	local h=$1
	shift
	if [[ $h == central ]]; then
		env -u QN_NETNS -u QN_CENTRAL_DIR QN_SANDBOX_DIR="$CENTRAL" QN_SANDBOX_ROLE=central \
			QN_UP_TIMEOUT="$TIMEOUT" "$SANDBOX" "$@"
	else
		env QN_SANDBOX_DIR="$(hdir "$h")" QN_SANDBOX_ROLE=chassis QN_CENTRAL_DIR="$CENTRAL" \
			QN_NETNS="${NETNS[$h]}" QN_CHASSIS="${CHASSIS[$h]}" QN_ENCAP_IP="${ENCAP_IP[$h]}" \
			QN_UP_TIMEOUT="$TIMEOUT" "$SANDBOX" "$@"
	fi
}

vsctl() {
	local h=$1
	shift
	ovs-vsctl --db="unix:$(ovs_sock "$h")" --timeout=10 "$@"
}

nsx() {
	local h=$1
	shift
	ip netns exec "${NETNS[$h]}" "$@"
}

netns_exists() { [[ -e /var/run/netns/$1 ]]; }

require_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root"
}

require_tools() {
	local c missing=() need=(ip unshare nsenter ethtool mount hostname ovs-vsctl ovn-nbctl ovn-sbctl ping)
	[[ ${#LIBVIRT_HOSTS[@]} -eq 0 ]] || need+=(libvirtd virsh qemu-system-x86_64)
	for c in "${need[@]}"; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[[ ${#missing[@]} -eq 0 ]] || die "missing commands: ${missing[*]} (scripts/deps.sh --with-libvirt; iputils-ping, ethtool)"
	[[ -x $SANDBOX ]] || die "$SANDBOX not found"
}

# ---------------------------------------------------------------- up
# ensure_netns K: the namespace NETNS[K] (a host, sw or out).
ensure_netns() {
	local k=$1 ns=${NETNS[$1]}
	if ! netns_exists "$ns"; then
		ip netns add "$ns" || die "ip netns add $ns failed"
		: >"$DIR/netns-created-$k"
		log "created network namespace $ns"
	fi
	ip -n "$ns" link set lo up
}

# ensure_bridge K BR: a Linux bridge BR, up, in namespace NETNS[K].
ensure_bridge() {
	local ns=${NETNS[$1]} br=$2
	ip -n "$ns" link show "$br" >/dev/null 2>&1 ||
		ip -n "$ns" link add "$br" type bridge || die "creating bridge $br in $ns failed"
	ip -n "$ns" link set "$br" up
}

# ensure_cable K BR PORT H DEV: a veth PORT, a port of bridge BR in
# namespace NETNS[K], <-> DEV in host H's namespace; TX checksum off on both.
ensure_cable() {
	local k=$1 br=$2 port=$3 h=$4 dev=$5 ns=${NETNS[$1]} nh=${NETNS[$4]} in1 in2
	in1=$(ip -n "$ns" -o link show "$port" 2>/dev/null) || in1=
	in2=$(ip -n "$nh" -o link show "$dev" 2>/dev/null) || in2=
	if [[ -z $in1 || -z $in2 ]]; then
		[[ -z $in1 ]] || ip -n "$ns" link del "$port"
		[[ -z $in2 ]] || ip -n "$nh" link del "$dev"
		ip -n "$ns" link add "$port" type veth peer name "$dev" netns "$nh" ||
			die "creating veth $port ($ns) <-> $dev ($nh) failed"
		log "created veth $port ($ns, $br) <-> $dev ($nh)"
	fi
	ip -n "$ns" link set "$port" master "$br" up
	ip netns exec "$ns" ethtool -K "$port" tx off >/dev/null 2>&1 || warn "ethtool -K $port tx off failed in $ns"
	ip netns exec "$nh" ethtool -K "$dev" tx off >/dev/null 2>&1 || warn "ethtool -K $dev tx off failed in $nh"
}

# setup_links H: addresses and offloads of host H's links (OVS must run for br-phy).
setup_links() {
	local h=$1 ns=${NETNS[$1]}
	# Migration link: a plain kernel link.
	ip -n "$ns" addr replace "${MIG_IP[$h]}/$PREFIX" dev "$MIG_DEV"
	ip -n "$ns" link set "$MIG_DEV" up
	# Underlay: ul0 is a port of the netdev bridge br-phy; the encap IP is on
	# br-phy's internal port. The userspace datapath does not fill in
	# checksums a veth left to offload: TX checksum offload off.
	ip -n "$ns" addr flush dev "$UL_DEV"
	ip -n "$ns" link set "$UL_DEV" up
	vsctl "$h" --may-exist add-br br-phy -- set Bridge br-phy datapath_type=netdev \
		other-config:disable-in-band=true -- --may-exist add-port br-phy "$UL_DEV" ||
		die "creating br-phy in host $h failed"
	local i
	for ((i = 0; i < 50; i++)); do
		ip -n "$ns" link show br-phy >/dev/null 2>&1 && break
		sleep 0.1
	done
	ip -n "$ns" addr replace "${ENCAP_IP[$h]}/$PREFIX" dev br-phy || die "cannot set ${ENCAP_IP[$h]} on br-phy in $ns"
	ip -n "$ns" link set br-phy up
	nsx "$h" ethtool -K br-phy tx off >/dev/null 2>&1 || true
}

# setup_outside H: host H's br-ex (netdev) with ex0, and the bridge mapping.
setup_outside() {
	local h=$1 ns=${NETNS[$1]}
	ip -n "$ns" link set "$EX_DEV" up
	vsctl "$h" --may-exist add-br "$EX_BR" -- set Bridge "$EX_BR" datapath_type=netdev \
		other-config:disable-in-band=true -- --may-exist add-port "$EX_BR" "$EX_DEV" \
		-- set Open_vSwitch . "external_ids:ovn-bridge-mappings=\"$PHYSNET:$EX_BR\"" ||
		die "creating $EX_BR in host $h failed"
}

# setup_outside_ns: br-out with the outside's addresses.
setup_outside_ns() {
	local ns=${NETNS[out]}
	ip -n "$ns" addr replace "$OUT_IP4" dev br-out
	ip -n "$ns" addr replace "$OUT_IP6" dev br-out nodad
}

# wait_underlay: each host reaches the next one's encap IP (via br-phy) and
# migration IP (via mig0).
wait_underlay() {
	local h i n deadline=$(($(now_ms) + TIMEOUT * 1000)) ok
	while :; do
		ok=1
		for i in "${!HOSTS[@]}"; do
			h=${HOSTS[$i]}
			n=${HOSTS[$(((i + 1) % ${#HOSTS[@]}))]}
			nsx "$h" ping -c 1 -W 1 -q "${ENCAP_IP[$n]}" >/dev/null 2>&1 || ok=0
			nsx "$h" ping -c 1 -W 1 -q "${MIG_IP[$n]}" >/dev/null 2>&1 || ok=0
		done
		((ok == 1)) && return 0
		(($(now_ms) < deadline)) || die "the underlay (${ENCAP_IP[*]}) or migration links (${MIG_IP[*]}) do not answer ping"
		sleep 0.2
	done
}

cmd_up() {
	require_root
	require_tools
	local t0 h
	t0=$(now_ms)
	if [[ -e $DIR ]] && ! is_ours && [[ -n $(ls -A "$DIR" 2>/dev/null) ]]; then
		die "$DIR exists, is not empty and is not a $PROG run dir (no $MARKER); choose another QN_NHOST_DIR"
	fi
	mkdir -p "$DIR"
	chmod 0755 "$DIR"
	: >"$MARKER"
	[[ ${#LIBVIRT_HOSTS[@]} -eq 0 ]] || ensure_accounts

	sandbox central up | sed -e '/: use: eval/d' -e 's/^/  central: /' ||
		die "central NB/SB/northd did not come up"
	ensure_netns sw
	ensure_bridge sw br-ul
	ensure_bridge sw br-mig
	if ((OUTSIDE)); then
		ensure_netns out
		ensure_bridge out br-out
		setup_outside_ns
	fi
	for h in "${HOSTS[@]}"; do
		ensure_netns "$h"
		ensure_cable sw br-ul "ul-$h" "$h" "$UL_DEV"
		ensure_cable sw br-mig "mg-$h" "$h" "$MIG_DEV"
		((OUTSIDE == 0)) || ensure_cable out br-out "ex-$h" "$h" "$EX_DEV"
	done
	for h in "${HOSTS[@]}"; do
		sandbox "$h" up | sed -e '/: use: eval/d' -e "s/^/  host $h: /" ||
			die "OVS/ovn-controller of host $h did not come up"
		setup_links "$h"
		((OUTSIDE == 0)) || setup_outside "$h"
	done
	wait_underlay
	for h in "${LIBVIRT_HOSTS[@]}"; do libvirt_up "$h"; done
	log "up: ${#HOSTS[@]} hosts ready after $(($(now_ms) - t0)) ms ($(for h in "${HOSTS[@]}"; do printf '%s in %s, ' "${CHASSIS[$h]}" "${NETNS[$h]}"; done)libvirt on ${LIBVIRT_HOSTS[*]:-none}$( ((OUTSIDE)) && echo ", outside ${NETNS[out]} ${OUT_IP4%/*}"))"
	log "use: eval \"\$($0 env)\""
}

# ---------------------------------------------------------------- down
# kill_leftovers K: processes still in namespace NETNS[K] (a QEMU whose
# libvirtd died, a workload started by a test) would keep the namespace, its
# veths and the mounts alive.
kill_leftovers() {
	local k=$1 ns=${NETNS[$1]} pids pid i
	netns_exists "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=
	[[ -n ${pids// /} ]] || return 0
	for pid in $pids; do
		warn "$k: killing process $pid left in $ns: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
		kill -TERM "$pid" 2>/dev/null || true
	done
	for ((i = 0; i < 30; i++)); do
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=
		[[ -n ${pids// /} ]] || return 0
		sleep 0.1
	done
	for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
	sleep 0.2
}

# del_netns K: namespace NETNS[K] deleted if up created it.
del_netns() {
	local k=$1 ns=${NETNS[$1]}
	kill_leftovers "$k"
	netns_exists "$ns" || return 0
	if [[ -e $DIR/netns-created-$k ]]; then
		ip netns del "$ns" && log "deleted network namespace $ns (and its veths)"
	else
		warn "network namespace $ns was not created by $PROG: left in place"
	fi
}

cmd_down() {
	local h k failed=0
	if [[ ! -e $DIR ]]; then
		local left=()
		for k in "${!NETNS[@]}"; do netns_exists "${NETNS[$k]}" && left+=("${NETNS[$k]}"); done
		[[ ${#left[@]} -eq 0 ]] || warn "$DIR does not exist but namespaces ${left[*]} do: not created by this run dir, left alone"
		log "down: nothing to do ($DIR does not exist)"
		return 0
	fi
	is_ours || die "$DIR is not a $PROG run dir (no $MARKER); not touching it"
	require_root
	# Hosts an earlier up made with a larger QN_HOSTS go down too.
	local l v
	for l in "${LETTERS[@]:${#HOSTS[@]}}"; do
		[[ -d $DIR/$l ]] || continue
		HOSTS+=("$l")
		v=QN_NHOST_NETNS_${l^^} && NETNS[$l]=${!v:-$PREFIX_NS-$l}
	done
	# Every host that ever had a libvirt dir, not only those wanted now.
	for h in "${HOSTS[@]}"; do
		[[ -e $(lvdir "$h") ]] || continue
		libvirt_down "$h" || failed=1
	done
	((failed == 0)) || die "some domains or a libvirtd could not be removed; leaving $DIR in place"
	for h in "${HOSTS[@]}"; do
		if [[ -e $(hdir "$h") ]]; then
			sandbox "$h" down | sed "s/^/  host $h: /" ||
				die "stopping OVS/ovn-controller of host $h failed; leaving $DIR in place"
		fi
		del_netns "$h"
	done
	del_netns out
	del_netns sw
	if [[ -e $CENTRAL ]]; then
		sandbox central down | sed 's/^/  central: /' ||
			die "stopping the central NB/SB/northd failed; leaving $DIR in place"
	fi
	rm -rf -- "$DIR"
	log "down: removed $DIR"
}

# ---------------------------------------------------------------- status
# status_host H I: the lines of host H (index I); returns 3 if something is off.
status_host() {
	local h=$1 i=$2 rc=0 out line n peer
	local ns=${NETNS[$h]}
	peer=${HOSTS[$(((i + 1) % ${#HOSTS[@]}))]}
	if ! netns_exists "$ns"; then
		printf 'host %s %-15s %s missing\n' "$h" netns "$ns"
		return 3
	fi
	printf 'host %s %-15s %s\n' "$h" netns "$ns"
	if out=$(sandbox "$h" status 2>&1); then :; else rc=3; fi
	while IFS= read -r line; do printf 'host %s %s\n' "$h" "$line"; done <<<"$out"
	if nsx "$h" ping -c 1 -W 1 -q "${ENCAP_IP[$peer]}" >/dev/null 2>&1; then
		printf 'host %s %-15s br-phy %s reaches %s\n' "$h" underlay "${ENCAP_IP[$h]}" "${ENCAP_IP[$peer]}"
	else
		printf 'host %s %-15s br-phy %s does not reach %s\n' "$h" underlay "${ENCAP_IP[$h]}" "${ENCAP_IP[$peer]}"
		rc=3
	fi
	if nsx "$h" ping -c 1 -W 1 -q "${MIG_IP[$peer]}" >/dev/null 2>&1; then
		printf 'host %s %-15s %s %s reaches %s\n' "$h" migration "$MIG_DEV" "${MIG_IP[$h]}" "${MIG_IP[$peer]}"
	else
		printf 'host %s %-15s %s %s does not reach %s\n' "$h" migration "$MIG_DEV" "${MIG_IP[$h]}" "${MIG_IP[$peer]}"
		rc=3
	fi
	n=$(vsctl "$h" --bare --columns=name find Interface type=geneve 2>/dev/null | sed '/^$/d' | wc -l) || n=0
	printf 'host %s %-15s %s Geneve tunnel port(s) on br-int\n' "$h" tunnels "$n"
	((n > 0)) || rc=3
	if ((OUTSIDE)); then
		out=$(vsctl "$h" --if-exists get Open_vSwitch . external_ids:ovn-bridge-mappings 2>/dev/null) || out=
		if vsctl "$h" port-to-br "$EX_DEV" 2>/dev/null | grep -qx "$EX_BR"; then
			printf 'host %s %-15s %s on %s, mappings %s\n' "$h" outside "$EX_DEV" "$EX_BR" "${out:-none}"
		else
			printf 'host %s %-15s %s is not on %s\n' "$h" outside "$EX_DEV" "$EX_BR"
			rc=3
		fi
	fi
	if has_libvirt "$h"; then
		libvirt_status "$h" || rc=3
	fi
	return "$rc"
}

cmd_status() {
	local rc=0 i out line
	printf '%-22s %s\n' "run dir" "$DIR$(is_ours || echo ' (missing)')"
	if out=$(sandbox central status 2>&1); then :; else rc=3; fi
	while IFS= read -r line; do printf 'central %s\n' "$line"; done <<<"$out"
	for i in "${!HOSTS[@]}"; do
		status_host "${HOSTS[$i]}" "$i" || rc=3
	done
	if ((OUTSIDE)); then
		if netns_exists "${NETNS[out]}" && ip -n "${NETNS[out]}" -o addr show dev br-out 2>/dev/null | grep -q "${OUT_IP4%/*}/"; then
			printf 'outside %-12s %s, br-out %s %s\n' netns "${NETNS[out]}" "$OUT_IP4" "$OUT_IP6"
		else
			printf 'outside %-12s %s missing or without %s\n' netns "${NETNS[out]}" "$OUT_IP4"
			rc=3
		fi
	fi
	return "$rc"
}

# ---------------------------------------------------------------- env
cmd_env() {
	local v h H d
	local vars=(
		"QN_NB_REMOTE=unix:$CENTRAL/nb.sock"
		"QN_SB_REMOTE=unix:$CENTRAL/sb.sock"
		"OVN_NB_DB=unix:$CENTRAL/nb.sock"
		"OVN_SB_DB=unix:$CENTRAL/sb.sock"
		"QN_HOST_NAMES=${HOSTS[*]}"
		"QN_LIBVIRT_HOSTS=${LIBVIRT_HOSTS[*]}"
		"QN_NETNS_SWITCH=${NETNS[sw]}"
	)
	if [[ $PROG == twohost.sh ]]; then
		vars=("QN_TWOHOST_DIR=$DIR" "${vars[@]}")
	else
		vars=("QN_NHOST_DIR=$DIR" "${vars[@]}")
	fi
	if ((OUTSIDE)); then
		vars+=(
			"QN_OUTSIDE_NETNS=${NETNS[out]}" "QN_OUTSIDE_IP4=$OUT_IP4" "QN_OUTSIDE_IP6=$OUT_IP6"
			"QN_PHYSNET=$PHYSNET" "QN_BRIDGE_MAPPINGS=$PHYSNET:$EX_BR"
		)
	fi
	for h in "${HOSTS[@]}"; do
		H=${h^^}
		vars+=(
			"QN_NETNS_$H=${NETNS[$h]}"
			"QN_CHASSIS_$H=${CHASSIS[$h]}"
			"QN_HOSTNAME_$H=${HOSTNAME_OF[$h]}"
			"QN_ENCAP_IP_$H=${ENCAP_IP[$h]}"
			"QN_MIGRATION_IP_$H=${MIG_IP[$h]}"
			"QN_OVS_REMOTE_$H=unix:$(ovs_sock "$h")"
			"QN_OVS_RUNDIR_$H=$DIR/$h"
		)
		if has_libvirt "$h"; then
			vars+=(
				"QN_LIBVIRT_URI_$H=$(uri "$h")"
				"QN_LIBVIRT_MIGRATE_URI_$H=$(migrate_uri "$h")"
				"QN_LIBVIRT_DIR_$H=$(lvdir "$h")"
			)
			for d in $PRIVATE_DIRS; do
				if [[ $d == /run/quantumnet ]]; then
					vars+=("QN_QUANTUMNETD_SOCKET_$H=$DIR/$h/root/run/quantumnet/quantumnetd.sock")
				fi
			done
		else
			# No private mount namespace: the daemon's socket is in the run dir.
			vars+=("QN_QUANTUMNETD_SOCKET_$H=$DIR/$h/quantumnetd.sock")
		fi
	done
	for v in "${vars[@]}"; do
		printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"
	done
}

# ---------------------------------------------------------------- exec
cmd_exec() {
	[[ $# -ge 2 ]] || die "usage: $PROG exec {${HOSTS[*]}|out} COMMAND [ARG...]"
	local h=$1 pid
	shift
	if [[ $h == out ]]; then
		((OUTSIDE)) && netns_exists "${NETNS[out]}" || die "the outside is not up (no namespace ${NETNS[out]})"
		exec ip netns exec "${NETNS[out]}" "$@"
	fi
	[[ -n ${ENCAP_IP[$h]:-} ]] || die "exec: host must be one of ${HOSTS[*]} or out, got: $h"
	netns_exists "${NETNS[$h]}" || die "host $h is not up (no namespace ${NETNS[$h]})"
	export OVS_RUNDIR=$DIR/$h OVS_DBDIR=$DIR/$h OVS_LOGDIR=$DIR/$h OVS_SYSCONFDIR=$DIR/$h
	export OVN_RUNDIR=$DIR/$h OVN_DBDIR=$DIR/$h OVN_LOGDIR=$DIR/$h OVN_SYSCONFDIR=$DIR/$h
	if has_libvirt "$h" && pid=$(libvirtd_pid "$h"); then
		exec nsenter -t "$pid" -n -m -u -- "$@"
	fi
	exec ip netns exec "${NETNS[$h]}" "$@"
}

[[ $# -ge 1 ]] || {
	usage >&2
	exit 2
}
verb=$1
shift
case $verb in
up | down | status | env)
	[[ $# -eq 0 ]] || die "$verb takes no arguments"
	"cmd_$verb"
	;;
exec) cmd_exec "$@" ;;
-h | --help | help) usage ;;
*)
	usage >&2
	die "unknown command: $verb"
	;;
esac
