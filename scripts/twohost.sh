#!/usr/bin/env bash
# twohost.sh — two simulated hosts on one machine, for tests of cross-host
# traffic and of live migration: one central OVN (NB, SB, northd) and two
# "hosts", each a network namespace with its own OVS (userspace datapath),
# ovn-controller and libvirtd (own mount and UTS namespace). It never touches
# a system-wide OVS/OVN/libvirt: every daemon has its sockets, databases and
# pid files under QN_TWOHOST_DIR.
#
#   central   $DIR/central: NB, SB, ovn-northd        (scripts/sandbox.sh, role central)
#   host A    netns qn-host-a, $DIR/a: ovsdb-server, ovs-vswitchd, ovn-controller
#             (scripts/sandbox.sh, role chassis), chassis-a, encap 192.168.250.1;
#             libvirtd with private /etc/libvirt, /run/libvirt, /var/lib/libvirt,
#             /var/log/libvirt, /var/cache/libvirt (from $DIR/a/libvirt/*),
#             hostname host-a, migration address 192.168.251.1
#   host B    the same with b, chassis-b, .2
#
#   underlay  veth ul0 (qn-host-a) <-> ul0 (qn-host-b), each a port of the
#             netdev bridge br-phy, whose internal port has the encap IP
#             (the userspace datapath routes Geneve through it)
#   migration veth mig0 <-> mig0, plain kernel link with the migration IPs
set -euo pipefail

PROG=${0##*/}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SANDBOX=$HERE/sandbox.sh

# ---------------------------------------------------------------- settings
DIR=${QN_TWOHOST_DIR:-/tmp/quantumnet-twohost}
[[ -n $DIR ]] || { echo "$PROG: error: QN_TWOHOST_DIR is empty" >&2; exit 1; }
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
TIMEOUT=${QN_TWOHOST_TIMEOUT:-30}
HOOK=${QN_TWOHOST_HOOK:-}
# Directories each host's libvirtd (and the hooks it runs) sees privately,
# backed by $DIR/<h>/root/<path>: a per-host quantumnetd puts its socket in
# $DIR/<h>/root/run/quantumnet/ and the hook inside host <h> finds it at
# /run/quantumnet/ (libvirt runs hooks with a cleared environment, so
# QUANTUMNET_SOCKET cannot reach them).
PRIVATE_DIRS=${QN_TWOHOST_PRIVATE_DIRS-/run/quantumnet}

HOSTS=(a b)
declare -A NETNS CHASSIS ENCAP_IP MIG_IP HOSTNAME_OF PEER
NETNS[a]=${QN_TWOHOST_NETNS_A:-qn-host-a}
NETNS[b]=${QN_TWOHOST_NETNS_B:-qn-host-b}
CHASSIS[a]=${QN_TWOHOST_CHASSIS_A:-chassis-a}
CHASSIS[b]=${QN_TWOHOST_CHASSIS_B:-chassis-b}
ENCAP_IP[a]=${QN_TWOHOST_ENCAP_IP_A:-192.168.250.1}
ENCAP_IP[b]=${QN_TWOHOST_ENCAP_IP_B:-192.168.250.2}
MIG_IP[a]=${QN_TWOHOST_MIGRATION_IP_A:-192.168.251.1}
MIG_IP[b]=${QN_TWOHOST_MIGRATION_IP_B:-192.168.251.2}
HOSTNAME_OF[a]=host-a
HOSTNAME_OF[b]=host-b
PEER[a]=b
PEER[b]=a
PREFIX=24
UL_DEV=ul0  # underlay veth end in each host netns
MIG_DEV=mig0 # migration veth end in each host netns

usage() {
	cat <<EOF
Usage: $PROG {up|down|status|env}
       $PROG exec {a|b} COMMAND [ARG...]

  up      start whatever is not running yet: central NB/SB/northd, the two
          host namespaces and links, each host's OVS + ovn-controller (chassis
          registered in SB) and libvirtd (answering); idempotent
  down    destroy and undefine every domain of the two libvirtds (qn-test-*
          first), stop everything up started, delete the namespaces (and with
          them the veths) and remove the run dir
  status  one line per component; exit 0 if everything runs, 3 otherwise
  env     print export lines for eval: eval "\$($PROG env)"
  exec    run COMMAND inside host a or b: its network, mount and UTS
          namespaces (those of its libvirtd; only the network namespace if
          libvirtd is not running), with OVS_RUNDIR etc. of that host

Settings (environment):
  QN_TWOHOST_DIR          run directory (default /tmp/quantumnet-twohost, now: $DIR)
  QN_TWOHOST_HOOK         executable installed (symlinked) as
                          /etc/libvirt/hooks/qemu.d/quantumnet in both hosts'
                          private /etc/libvirt (default: no hook; the real
                          /etc/libvirt/hooks is never used). up re-links it and
                          reloads libvirtd when it changed.
  QN_TWOHOST_PRIVATE_DIRS directories private per host in the libvirtd mount
                          namespace, backed by \$DIR/<h>/root/<dir>
                          (default /run/quantumnet, now: ${PRIVATE_DIRS:-none})
  QN_TWOHOST_TIMEOUT      seconds to wait for each daemon (default 30)
  QN_TWOHOST_NETNS_A/_B, QN_TWOHOST_CHASSIS_A/_B, QN_TWOHOST_ENCAP_IP_A/_B,
  QN_TWOHOST_MIGRATION_IP_A/_B   (defaults qn-host-a/b, chassis-a/b,
                          192.168.250.1/.2, 192.168.251.1/.2)

libvirt URIs (from the root namespace, any process):
  qemu+unix:///system?socket=\$DIR/<h>/libvirt/run/libvirt-sock
Live migration (peer to peer, run from the source): the destination URI as
  seen by the source libvirtd is QN_LIBVIRT_MIGRATE_URI_<H> from env, e.g.
  virsh -c "\$QN_LIBVIRT_URI_A" migrate --live --p2p --persistent \\
      --undefinesource DOM "\$QN_LIBVIRT_MIGRATE_URI_B"
  (qemu+tcp://<migration IP>/system: libvirtd listens on TCP, no auth, on the
  migration link only). QEMU's migration stream uses the migration link too
  (qemu.conf migration_host/migration_address).
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

[[ $DIR != / ]] || die "QN_TWOHOST_DIR must not be /"
# sandbox.sh: $DIR/<h>/ovn-controller.<pid>.ctl must fit a unix socket path.
((${#DIR} + 34 <= 107)) || die "QN_TWOHOST_DIR too long for unix socket paths (${#DIR} chars, max 73): $DIR"
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "QN_TWOHOST_TIMEOUT must be a number of seconds, got: $TIMEOUT"
[[ ${NETNS[a]} != "${NETNS[b]}" ]] || die "the two hosts need distinct network namespaces"
[[ ${CHASSIS[a]} != "${CHASSIS[b]}" ]] || die "the two hosts need distinct chassis names"
if [[ -n $HOOK ]]; then
	[[ $HOOK == /* ]] || HOOK=$PWD/$HOOK
fi

MARKER=$DIR/.quantumnet-twohost
CENTRAL=$DIR/central
PATH=$PATH:/usr/sbin:/sbin
SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
# The private libvirt directories: mount point -> subdirectory of $DIR/<h>/libvirt.
LV_MOUNTS=(/etc/libvirt:etc /run/libvirt:run /var/lib/libvirt:lib /var/log/libvirt:log /var/cache/libvirt:cache)

now_ms() { echo $(($(date +%s%N) / 1000000)); }

hdir() { echo "$DIR/$1"; }
lvdir() { echo "$DIR/$1/libvirt"; }
uri() { echo "qemu+unix:///system?socket=$(lvdir "$1")/run/libvirt-sock"; }
# migrate_uri H: host H's libvirtd as the other host's libvirtd reaches it.
migrate_uri() { echo "qemu+tcp://${MIG_IP[$1]}/system"; }
ovs_sock() { echo "$DIR/$1/db.sock"; }

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
	local c missing=()
	for c in ip unshare nsenter ethtool mount hostname libvirtd virsh qemu-system-x86_64 ovs-vsctl ovn-nbctl ovn-sbctl ping; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[[ ${#missing[@]} -eq 0 ]] || die "missing commands: ${missing[*]} (scripts/deps.sh --with-libvirt; iputils-ping, ethtool)"
	[[ -x $SANDBOX ]] || die "$SANDBOX not found"
}

# ---------------------------------------------------------------- pids
# pid_of PIDFILE COMM: the pid in PIDFILE if that process runs as COMM, is no
# zombie and names PIDFILE on its command line; else return 1.
pid_of() {
	local pidfile=$1 comm=$2 pid cmdline stat
	pid=$(cat -- "$pidfile" 2>/dev/null) || return 1
	pid=${pid//[[:space:]]/}
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ " $cmdline " == *" $pidfile "* ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]] || return 1
	echo "$pid"
}

libvirtd_pid() { pid_of "$(lvdir "$1")/libvirtd.pid" libvirtd; }

# The pid file disappears early in libvirtd's shutdown: wait on the pid.
pid_alive() {
	local stat
	[[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

virsh_h() {
	local h=$1
	shift
	timeout 60 virsh -q -c "$(uri "$h")" "$@"
}

virsh_ok() { timeout 10 virsh -c "$(uri "$1")" version >/dev/null 2>&1; }

# ---------------------------------------------------------------- up
ensure_accounts() {
	# libvirt's QEMU driver resolves its built-in default user/group
	# (libvirt-qemu) at start, before qemu.conf's user = "root" applies.
	local g
	for g in kvm libvirt-qemu; do
		getent group "$g" >/dev/null || groupadd --system "$g" || die "groupadd --system $g failed"
	done
	if ! getent passwd libvirt-qemu >/dev/null; then
		useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt --no-create-home \
			--shell /usr/sbin/nologin --comment "Libvirt Qemu" libvirt-qemu || die "useradd libvirt-qemu failed"
		log "created user libvirt-qemu"
	fi
}

ensure_netns() {
	local h=$1 ns=${NETNS[$1]}
	if ! netns_exists "$ns"; then
		ip netns add "$ns" || die "ip netns add $ns failed"
		: >"$DIR/netns-created-$h"
		log "created network namespace $ns"
	fi
	ip -n "$ns" link set lo up
}

# ensure_veth DEV: the veth pair DEV (qn-host-a) <-> DEV (qn-host-b).
ensure_veth() {
	local dev=$1 na=${NETNS[a]} nb=${NETNS[b]} ina inb
	ina=$(ip -n "$na" -o link show "$dev" 2>/dev/null) || ina=
	inb=$(ip -n "$nb" -o link show "$dev" 2>/dev/null) || inb=
	if [[ -n $ina && -n $inb ]]; then
		return 0
	fi
	# Half a pair (cannot happen with veths, but a device of that name may
	# be something else): start over.
	[[ -z $ina ]] || ip -n "$na" link del "$dev"
	[[ -z $inb ]] || ip -n "$nb" link del "$dev"
	ip -n "$na" link add "$dev" type veth peer name "$dev" netns "$nb" ||
		die "creating veth $dev between $na and $nb failed"
	log "created veth $dev: $na <-> $nb"
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
	nsx "$h" ethtool -K "$UL_DEV" tx off >/dev/null 2>&1 || warn "ethtool -K $UL_DEV tx off failed in $ns"
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

# wait_underlay: each encap IP reaches the other (via br-phy) and each
# migration IP the other (via mig0).
wait_underlay() {
	local h deadline=$(($(now_ms) + TIMEOUT * 1000)) ok
	while :; do
		ok=1
		for h in "${HOSTS[@]}"; do
			nsx "$h" ping -c 1 -W 1 -q "${ENCAP_IP[${PEER[$h]}]}" >/dev/null 2>&1 || ok=0
			nsx "$h" ping -c 1 -W 1 -q "${MIG_IP[${PEER[$h]}]}" >/dev/null 2>&1 || ok=0
		done
		((ok == 1)) && return 0
		(($(now_ms) < deadline)) || die "the underlay (${ENCAP_IP[a]} <-> ${ENCAP_IP[b]}) or migration link (${MIG_IP[a]} <-> ${MIG_IP[b]}) does not answer ping"
		sleep 0.2
	done
}

write_libvirt_conf() {
	local h=$1 L uuid
	L=$(lvdir "$h")
	mkdir -p "$L"/{etc,run,lib,log,cache} "$L"/etc/hooks/qemu.d "$L"/lib/qemu "$L"/log/qemu "$L"/cache/qemu
	# The real /etc/libvirt's configuration files, but none of its state:
	# not its domains (qemu/*.xml), networks, storage pools, secrets or hooks.
	local f
	for f in /etc/libvirt/*.conf; do
		[[ -e $f ]] || continue
		case ${f##*/} in libvirtd.conf | qemu.conf) continue ;; esac
		[[ -e $L/etc/${f##*/} ]] || cp -p -- "$f" "$L/etc/"
	done
	if [[ -d /etc/libvirt/nwfilter && ! -e $L/etc/nwfilter ]]; then
		cp -a /etc/libvirt/nwfilter "$L/etc/"
	fi
	if [[ -s $L/host-uuid ]]; then
		uuid=$(cat "$L/host-uuid")
	else
		uuid=$(cat /proc/sys/kernel/random/uuid)
		echo "$uuid" >"$L/host-uuid"
	fi
	cat >"$L/etc/libvirtd.conf.tmp" <<EOF
# written by QuantumNet scripts/twohost.sh (host $h)
host_uuid = "$uuid"
unix_sock_dir = "/run/libvirt"
auth_unix_ro = "none"
auth_unix_rw = "none"
# For peer-to-peer migration from the other host: TCP without
# authentication, on the migration link only (started with --listen).
listen_tls = 0
listen_tcp = 1
listen_addr = "${MIG_IP[$h]}"
auth_tcp = "none"
EOF
	cat >"$L/etc/qemu.conf.tmp" <<EOF
# written by QuantumNet scripts/twohost.sh (host $h)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
# No virtlogd: QEMU's stdout/stderr go to /var/log/libvirt/qemu/DOM.log.
stdio_handler = "file"
# The migration stream goes over the plain migration link.
migration_address = "${MIG_IP[$h]}"
migration_host = "${MIG_IP[$h]}"
EOF
	# Prints "conf" if a configuration file changed (libvirtd must restart),
	# "hook" if only the hook did (SIGHUP is enough).
	local changed='' f
	write_start_script "$h"
	for f in "$L/etc/libvirtd.conf" "$L/etc/qemu.conf" "$L/start.sh"; do
		if cmp -s "$f.tmp" "$f"; then
			rm -f "$f.tmp"
		else
			mv -f "$f.tmp" "$f"
			changed=conf
		fi
	done
	# The hook: a symlink, so that a rebuilt binary is used as it is.
	local link=$L/etc/hooks/qemu.d/quantumnet
	if [[ -n $HOOK ]]; then
		[[ -x $HOOK && -f $HOOK ]] || die "QN_TWOHOST_HOOK=$HOOK is not an executable file"
		if [[ $(readlink "$link" 2>/dev/null) != "$HOOK" ]]; then
			ln -sfn "$HOOK" "$link"
			changed=${changed:-hook}
		fi
	elif [[ -L $link || -e $link ]]; then
		rm -f "$link"
		changed=${changed:-hook}
	fi
	local d
	for d in $PRIVATE_DIRS; do
		[[ $d == /* ]] || die "QN_TWOHOST_PRIVATE_DIRS: not an absolute path: $d"
		mkdir -p "$DIR/$h/root$d"
	done
	echo "$changed"
}

# write_start_script H: $L/start.sh.tmp (write_libvirt_conf installs it as
# start.sh), run in host H's netns: a new mount and UTS namespace with the
# private directories, then libvirtd.
write_start_script() {
	local h=$1 L m d
	L=$(lvdir "$h")
	{
		echo '#!/bin/sh'
		echo "# written by QuantumNet scripts/twohost.sh: started as ip netns exec ${NETNS[$h]} unshare -m -u --propagation private sh $L/start.sh"
		echo 'set -e'
		for m in "${LV_MOUNTS[@]}"; do
			printf 'mount --bind %q %q\n' "$L/${m#*:}" "${m%%:*}"
		done
		for d in $PRIVATE_DIRS; do
			printf 'mount --bind %q %q\n' "$DIR/$h/root$d" "$d"
		done
		printf 'hostname %q\n' "${HOSTNAME_OF[$h]}"
		printf 'exec env -i PATH=%q HOME=/root LC_ALL=C LIBVIRT_LOG_OUTPUTS=%q OVS_RUNDIR=%q OVS_DBDIR=%q OVS_LOGDIR=%q OVS_SYSCONFDIR=%q libvirtd -d --listen -p %q\n' \
			"$SYS_PATH" "3:file:$L/libvirtd.log" "$DIR/$h" "$DIR/$h" "$DIR/$h" "$DIR/$h" "$L/libvirtd.pid"
	} >"$L/start.sh.tmp"
}

# seed_caps_cache H: probing QEMU's capabilities takes libvirtd ~8 s under
# TCG; the cache (validated by libvirtd against the QEMU binary, libvirt
# version and host CPU) of the other host or of the real /var/cache/libvirt
# is just as good on the same machine.
seed_caps_cache() {
	local h=$1 dst src f
	dst=$(lvdir "$h")/cache/qemu/capabilities
	[[ -z $(ls -A "$dst" 2>/dev/null) ]] || return 0
	for src in "$(lvdir "${PEER[$h]}")/cache/qemu/capabilities" /var/cache/libvirt/qemu/capabilities; do
		[[ -n $(ls -A "$src" 2>/dev/null) ]] || continue
		mkdir -p "$dst"
		for f in "$src"/*.xml; do
			[[ -f $f ]] && cp -p -- "$f" "$dst/"
		done
		return 0
	done
}

start_libvirtd() {
	local h=$1 L pid out m d
	L=$(lvdir "$h")
	# Mount points must exist in the real tree (empty directories).
	for m in "${LV_MOUNTS[@]}"; do mkdir -p "${m%%:*}"; done
	for d in $PRIVATE_DIRS; do mkdir -p "$d"; done
	[[ -s $L/start.sh ]] || die "internal: no $L/start.sh"
	seed_caps_cache "$h"
	rm -f "$L/libvirtd.pid"
	if ! out=$(ip netns exec "${NETNS[$h]}" unshare -m -u --propagation private sh "$L/start.sh" 2>&1); then
		printf '%s\n' "$out" >&2
		[[ -r $L/libvirtd.log ]] && tail -n 20 "$L/libvirtd.log" >&2
		die "starting libvirtd of host $h failed"
	fi
	local t0 deadline
	t0=$(now_ms)
	deadline=$((t0 + TIMEOUT * 1000))
	until virsh_ok "$h"; do
		# libvirtd -d returns once daemonized; its pid file follows shortly.
		if ! libvirtd_pid "$h" >/dev/null && (($(now_ms) - t0 > 3000)); then
			[[ -r $L/libvirtd.log ]] && tail -n 30 "$L/libvirtd.log" >&2
			die "libvirtd of host $h is not running"
		fi
		(($(now_ms) < deadline)) || {
			[[ -r $L/libvirtd.log ]] && tail -n 30 "$L/libvirtd.log" >&2
			die "libvirtd of host $h does not answer on $(uri "$h") within ${TIMEOUT}s"
		}
		sleep 0.2
	done
	log "started libvirtd of host $h (pid $(libvirtd_pid "$h"), hostname ${HOSTNAME_OF[$h]}, $(uri "$h"))"
}

reload_libvirtd() {
	local h=$1 pid
	pid=$(libvirtd_pid "$h") || return 0
	kill -HUP "$pid"
	sleep 0.3
	local deadline=$(($(now_ms) + TIMEOUT * 1000))
	until virsh_ok "$h"; do
		(($(now_ms) < deadline)) || die "libvirtd of host $h does not answer after SIGHUP"
		sleep 0.2
	done
	log "reloaded libvirtd of host $h (pid $pid): hook changed"
}

cmd_up() {
	require_root
	require_tools
	local t0 h pid changed
	t0=$(now_ms)
	if [[ -e $DIR && ! -e $MARKER && -n $(ls -A "$DIR" 2>/dev/null) ]]; then
		die "$DIR exists, is not empty and is not a $PROG run dir (no $MARKER); choose another QN_TWOHOST_DIR"
	fi
	mkdir -p "$DIR"
	chmod 0755 "$DIR"
	: >"$MARKER"
	ensure_accounts

	sandbox central up | sed -e '/: use: eval/d' -e 's/^/  central: /' ||
		die "central NB/SB/northd did not come up"
	for h in "${HOSTS[@]}"; do ensure_netns "$h"; done
	ensure_veth "$UL_DEV"
	ensure_veth "$MIG_DEV"
	for h in "${HOSTS[@]}"; do
		sandbox "$h" up | sed -e '/: use: eval/d' -e "s/^/  host $h: /" ||
			die "OVS/ovn-controller of host $h did not come up"
		setup_links "$h"
	done
	wait_underlay
	for h in "${HOSTS[@]}"; do
		changed=$(write_libvirt_conf "$h")
		if pid=$(libvirtd_pid "$h"); then
			if ! virsh_ok "$h"; then
				die "libvirtd of host $h (pid $pid) runs but does not answer on $(uri "$h")"
			fi
			if [[ $changed == conf ]]; then
				# libvirtd reads qemu.conf and libvirtd.conf only at start;
				# running domains survive (it reconnects to their QEMU).
				log "configuration of host $h changed: restarting its libvirtd"
				stop_libvirtd "$h" || die "libvirtd of host $h did not stop"
				start_libvirtd "$h"
			elif [[ $changed == hook ]]; then
				reload_libvirtd "$h"
			else
				log "libvirtd of host $h already running (pid $pid)"
			fi
		else
			start_libvirtd "$h"
		fi
	done
	log "up: two hosts ready after $(($(now_ms) - t0)) ms (${CHASSIS[a]} in ${NETNS[a]}, ${CHASSIS[b]} in ${NETNS[b]})"
	log "use: eval \"\$($0 env)\""
}

# ---------------------------------------------------------------- down
destroy_domains() {
	local h=$1 dom failed=0 doms
	# qn-test-* first, then whatever else this private libvirtd has.
	doms=$({ virsh_h "$h" list --all --name 2>/dev/null | sed "/^$/d" | awk '/^qn-test-/ { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }'; } || true)
	while IFS= read -r dom; do
		[[ -n $dom ]] || continue
		if [[ $(virsh_h "$h" domstate "$dom" 2>/dev/null) != "shut off" ]]; then
			virsh_h "$h" destroy "$dom" >/dev/null 2>&1 || true
		fi
		if virsh_h "$h" dominfo "$dom" >/dev/null 2>&1; then
			virsh_h "$h" undefine --nvram "$dom" >/dev/null 2>&1 || virsh_h "$h" undefine "$dom" >/dev/null || {
				warn "host $h: virsh undefine $dom failed"
				failed=1
			}
		fi
		log "host $h: removed domain $dom"
	done <<<"$doms"
	return "$failed"
}

stop_libvirtd() {
	local h=$1 pid i
	pid=$(libvirtd_pid "$h") || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		pid_alive "$pid" libvirtd || {
			log "stopped libvirtd of host $h (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.3
	pid_alive "$pid" libvirtd && {
		warn "libvirtd of host $h (pid $pid) did not stop"
		return 1
	}
	log "stopped libvirtd of host $h (pid $pid, SIGKILL)"
}

# kill_leftovers H: processes still in host H's network namespace (a QEMU
# whose libvirtd died, a workload started by a test) would keep the
# namespace, its veths and the mounts alive.
kill_leftovers() {
	local h=$1 ns=${NETNS[$1]} pids pid i
	netns_exists "$ns" || return 0
	pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ') || pids=
	[[ -n ${pids// /} ]] || return 0
	for pid in $pids; do
		warn "host $h: killing process $pid left in $ns: $(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | cut -c1-120)"
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

cmd_down() {
	if [[ ! -e $DIR ]]; then
		local h left=0
		for h in "${HOSTS[@]}"; do netns_exists "${NETNS[$h]}" && left=1; done
		((left == 0)) || warn "$DIR does not exist but namespace ${NETNS[a]} or ${NETNS[b]} does: not created by this run dir, left alone"
		log "down: nothing to do ($DIR does not exist)"
		return 0
	fi
	[[ -e $MARKER ]] || die "$DIR is not a $PROG run dir (no $MARKER); not touching it"
	require_root
	local h failed=0
	for h in "${HOSTS[@]}"; do
		if libvirtd_pid "$h" >/dev/null; then
			if virsh_ok "$h"; then
				destroy_domains "$h" || failed=1
			else
				warn "libvirtd of host $h does not answer: its domains are not destroyed cleanly"
			fi
			stop_libvirtd "$h" || failed=1
		fi
	done
	((failed == 0)) || die "some domains or a libvirtd could not be removed; leaving $DIR in place"
	for h in "${HOSTS[@]}"; do
		if [[ -e $(hdir "$h") ]]; then
			sandbox "$h" down | sed "s/^/  host $h: /" ||
				die "stopping OVS/ovn-controller of host $h failed; leaving $DIR in place"
		fi
		kill_leftovers "$h"
		if netns_exists "${NETNS[$h]}"; then
			if [[ -e $DIR/netns-created-$h ]]; then
				ip netns del "${NETNS[$h]}" && log "deleted network namespace ${NETNS[$h]} (and its veths)"
			else
				warn "network namespace ${NETNS[$h]} was not created by $PROG: left in place"
			fi
		fi
	done
	if [[ -e $CENTRAL ]]; then
		sandbox central down | sed 's/^/  central: /' ||
			die "stopping the central NB/SB/northd failed; leaving $DIR in place"
	fi
	rm -rf -- "$DIR"
	log "down: removed $DIR"
}

# ---------------------------------------------------------------- status
cmd_status() {
	local rc=0 h out pid line n
	printf '%-22s %s\n' "run dir" "$DIR$([[ -e $MARKER ]] || echo ' (missing)')"
	if out=$(sandbox central status 2>&1); then :; else rc=3; fi
	while IFS= read -r line; do printf 'central %s\n' "$line"; done <<<"$out"
	for h in "${HOSTS[@]}"; do
		local ns=${NETNS[$h]} peer=${PEER[$h]}
		if ! netns_exists "$ns"; then
			printf 'host %s %-15s %s missing\n' "$h" netns "$ns"
			rc=3
			continue
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
		if pid=$(libvirtd_pid "$h"); then
			if virsh_ok "$h"; then
				local doms
				doms=$({ virsh_h "$h" list --all --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; } || true)
				printf 'host %s %-15s running (pid %s), %s answers; domains: %s\n' "$h" libvirtd "$pid" "$(uri "$h")" "${doms:-none}"
			else
				printf 'host %s %-15s running (pid %s) but %s does not answer\n' "$h" libvirtd "$pid" "$(uri "$h")"
				rc=3
			fi
		else
			printf 'host %s %-15s not running\n' "$h" libvirtd
			rc=3
		fi
	done
	return "$rc"
}

# ---------------------------------------------------------------- env
cmd_env() {
	local v h H
	local vars=(
		"QN_TWOHOST_DIR=$DIR"
		"QN_NB_REMOTE=unix:$CENTRAL/nb.sock"
		"QN_SB_REMOTE=unix:$CENTRAL/sb.sock"
		"OVN_NB_DB=unix:$CENTRAL/nb.sock"
		"OVN_SB_DB=unix:$CENTRAL/sb.sock"
	)
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
			"QN_LIBVIRT_URI_$H=$(uri "$h")"
			"QN_LIBVIRT_MIGRATE_URI_$H=$(migrate_uri "$h")"
			"QN_LIBVIRT_DIR_$H=$(lvdir "$h")"
		)
		local d
		for d in $PRIVATE_DIRS; do
			if [[ $d == /run/quantumnet ]]; then
				vars+=("QN_QUANTUMNETD_SOCKET_$H=$DIR/$h/root/run/quantumnet/quantumnetd.sock")
			fi
		done
	done
	for v in "${vars[@]}"; do
		printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"
	done
}

# ---------------------------------------------------------------- exec
cmd_exec() {
	[[ $# -ge 2 ]] || die "usage: $PROG exec {a|b} COMMAND [ARG...]"
	local h=$1 pid
	shift
	[[ $h == a || $h == b ]] || die "exec: host must be a or b, got: $h"
	netns_exists "${NETNS[$h]}" || die "host $h is not up (no namespace ${NETNS[$h]})"
	export OVS_RUNDIR=$DIR/$h OVS_DBDIR=$DIR/$h OVS_LOGDIR=$DIR/$h OVS_SYSCONFDIR=$DIR/$h
	export OVN_RUNDIR=$DIR/$h OVN_DBDIR=$DIR/$h OVN_LOGDIR=$DIR/$h OVN_SYSCONFDIR=$DIR/$h
	if pid=$(libvirtd_pid "$h"); then
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
