#!/usr/bin/env bash
# sandbox.sh — a complete local OVN deployment (NB, SB, northd, OVS with the
# userspace datapath, ovn-controller) without systemd, entirely inside one run
# directory. It never touches a system-wide OVS/OVN: every daemon and every
# ctl call gets explicit socket/db/pidfile paths, and OVS_*/OVN_* directory
# variables point into the run directory.
set -euo pipefail

# The daemons started below must not inherit the caller's descriptors: a
# lock held by `flock LOCK sandbox.sh up` would stay held by ovsdb-server & co.
# (No redirection on the loop: bash would save stderr on a descriptor the
# loop then closes.)
for fd in /proc/$$/fd/*; do
	fd=${fd##*/}
	[[ $fd =~ ^[0-9]+$ ]] && ((fd > 2 && fd != 255)) || continue
	eval "exec $fd>&-"
done
unset fd

PROG=${0##*/}

usage() {
	cat <<EOF
Usage: $PROG {up|down|status|env}

  up      create the databases and start every daemon that is not running yet,
          configure br-int, wait until the chassis is registered in SB
  down    stop every daemon this sandbox started (pidfiles in the run dir),
          then remove the run dir
  status  one line per component; exit 0 if all run and the chassis is
          registered in SB, 3 otherwise
  env     print export lines for eval: eval "\$($PROG env)"

Settings (environment):
  QN_SANDBOX_DIR  run directory      (default /tmp/quantumnet-sandbox, now: $DIR)
  QN_CHASSIS      OVN chassis name   (default chassis-local, now: $CHASSIS)
  QN_ENCAP_IP     Geneve encap IP    (default 127.0.0.1, now: $ENCAP_IP)
  QN_UP_TIMEOUT   seconds to wait for the chassis in SB (default 20)
  QN_NETNS        run ovs-vswitchd and ovn-controller in this network namespace
                  (created by up, deleted by down if up created it; default: none)
  QN_SANDBOX_ROLE all (default): NB, SB, northd and one chassis;
                  central: only NB, SB and northd (no chassis);
                  chassis: only OVS and ovn-controller, using the NB/SB of the
                  central sandbox in QN_CENTRAL_DIR (now: $ROLE)
  QN_CENTRAL_DIR  run directory of the central sandbox (role chassis; setting
                  it alone implies role chassis; now: ${CENTRAL_DIR:-none})
  QN_CLUSTER      3: NB and SB are 3-member Raft clusters (ovsdb-tool
                  create-cluster / join-cluster), each member an ovsdb-server
                  on its own unix socket; northd, ovn-controller and the env
                  remotes list all members (roles all and central; now: ${CLUSTER:-off})
  QN_SSL          1: NB, SB and the local OVS database also listen with TLS on
                  127.0.0.1 (pssl:), with certificates made by ovs-pki in
                  \$DIR/pki (scripts/pki.sh); ovn-northd and ovn-controller use
                  ssl:; env prints QN_*_SSL remotes and QN_SSL_KEY/CERT/CA for a
                  client (role all; now: ${SSL:-off})
                  With QN_NETNS the databases and northd run in that namespace
                  too (127.0.0.1 is its loopback).
  QN_SSL_PORT     NB's TLS port; SB PORT+1, OVS PORT+2 (default 16651, now: $SSL_PORT)
  QN_CLUSTER_PORT first of the six Raft ports on 127.0.0.1 (NB members
                  PORT..PORT+2, SB PORT+3..PORT+5; default 16641, now: $CLUSTER_PORT)

Sockets: NB unix:\$DIR/nb.sock, SB unix:\$DIR/sb.sock, OVS unix:\$DIR/db.sock;
clustered: NB unix:\$DIR/nb1.sock,...,nb3.sock, SB sb1.sock,...,sb3.sock, each
member's control socket \$DIR/ovsdb-server-nbN.ctl (cluster/status OVN_Northbound).
Needs root and the packages installed by scripts/deps.sh.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- settings
DIR=${QN_SANDBOX_DIR:-/tmp/quantumnet-sandbox}
CHASSIS=${QN_CHASSIS:-chassis-local}
ENCAP_IP=${QN_ENCAP_IP:-127.0.0.1}
UP_TIMEOUT=${QN_UP_TIMEOUT:-20}
# Optional network namespace for ovs-vswitchd and ovn-controller (the chassis'
# "host"): created by up if missing, deleted by down if up created it. The
# daemon and workloads' host ends then live in it too (ip netns exec).
NETNS=${QN_NETNS:-}
NS=()
[[ -z $NETNS ]] || NS=(ip netns exec "$NETNS")

[[ -n $DIR ]] || die "QN_SANDBOX_DIR is empty"
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
[[ -n $DIR && $DIR != / ]] || die "QN_SANDBOX_DIR must not be /"
# Unix socket paths are limited to 107 bytes; the longest one we create is
# $DIR/ovn-controller.<pid>.ctl.
((${#DIR} + 32 <= 107)) || die "QN_SANDBOX_DIR too long for unix socket paths (${#DIR} chars, max 75): $DIR"
[[ $UP_TIMEOUT =~ ^[0-9]+$ ]] || die "QN_UP_TIMEOUT must be a number of seconds, got: $UP_TIMEOUT"
[[ -n $CHASSIS ]] || die "QN_CHASSIS is empty"

# Roles let several sandboxes share one NB/SB (e.g. scripts/twohost.sh: a
# central sandbox and one chassis sandbox per simulated host).
CENTRAL_DIR=${QN_CENTRAL_DIR:-}
if [[ -n $CENTRAL_DIR ]]; then
	ROLE=${QN_SANDBOX_ROLE:-chassis}
else
	ROLE=${QN_SANDBOX_ROLE:-all}
fi
case $ROLE in
all | central) [[ -z $CENTRAL_DIR ]] || die "QN_CENTRAL_DIR is only for QN_SANDBOX_ROLE=chassis (role is $ROLE)" ;;
chassis)
	[[ -n $CENTRAL_DIR ]] || die "QN_SANDBOX_ROLE=chassis needs QN_CENTRAL_DIR (the central sandbox's run dir)"
	[[ $CENTRAL_DIR == /* ]] || CENTRAL_DIR=$PWD/$CENTRAL_DIR
	CENTRAL_DIR=${CENTRAL_DIR%/}
	[[ $CENTRAL_DIR != "$DIR" ]] || die "QN_CENTRAL_DIR must differ from QN_SANDBOX_DIR"
	;;
*) die "QN_SANDBOX_ROLE must be all, central or chassis, got: $ROLE" ;;
esac
[[ $ROLE != central || -z $NETNS ]] || die "QN_NETNS makes no sense with QN_SANDBOX_ROLE=central"
CLUSTER=${QN_CLUSTER:-}
CLUSTER_PORT=${QN_CLUSTER_PORT:-16641}
case $CLUSTER in
"" | 1) CLUSTER= ;;
3) [[ $ROLE != chassis ]] || die "QN_CLUSTER is for the roles that run NB and SB (all, central)" ;;
*) die "QN_CLUSTER must be 3 (or empty), got: $CLUSTER" ;;
esac
SSL=${QN_SSL:-}
SSL_PORT=${QN_SSL_PORT:-16651}
case $SSL in
"" | 0) SSL= ;;
1) [[ $ROLE == all && -z $CLUSTER ]] || die "QN_SSL=1 is for role all without QN_CLUSTER" ;;
*) die "QN_SSL must be 1 (or empty), got: $SSL" ;;
esac
[[ $SSL_PORT =~ ^[0-9]+$ ]] && ((SSL_PORT > 0 && SSL_PORT < 65530)) || die "QN_SSL_PORT must be a port, got: $SSL_PORT"
[[ $CLUSTER_PORT =~ ^[0-9]+$ ]] && ((CLUSTER_PORT > 0 && CLUSTER_PORT < 65530)) || die "QN_CLUSTER_PORT must be a port, got: $CLUSTER_PORT"

MARKER=$DIR/.quantumnet-sandbox
NB_SOCK=${CENTRAL_DIR:-$DIR}/nb.sock
SB_SOCK=${CENTRAL_DIR:-$DIR}/sb.sock
OVS_SOCK=$DIR/db.sock
NB_DB=$DIR/ovnnb_db.db
SB_DB=$DIR/ovnsb_db.db
OVS_DB=$DIR/conf.db
NB_SCHEMA=/usr/share/ovn/ovn-nb.ovsschema
SB_SCHEMA=/usr/share/ovn/ovn-sb.ovsschema
OVS_SCHEMA=/usr/share/openvswitch/vswitch.ovsschema
# Client remotes of NB and SB: one socket, or every member of a cluster.
NB_REMOTE=unix:$NB_SOCK
SB_REMOTE=unix:$SB_SOCK
if [[ -n $CLUSTER ]]; then
	NB_REMOTE=unix:$DIR/nb1.sock,unix:$DIR/nb2.sock,unix:$DIR/nb3.sock
	SB_REMOTE=unix:$DIR/sb1.sock,unix:$DIR/sb2.sock,unix:$DIR/sb3.sock
	SB_SOCK=$DIR/sb1.sock
fi
PKI_DIR=$DIR/pki
# ssl_args NAME: the TLS options of a component with its own certificate.
ssl_args() { echo "--private-key=$PKI_DIR/$1-privkey.pem --certificate=$PKI_DIR/$1-cert.pem --ca-cert=$PKI_DIR/pki/switchca/cacert.pem"; }
# ssl_listen NAME OFFSET: the TLS listener of a database server (QN_SSL=1).
ssl_listen() {
	[[ -n $SSL ]] || return 0
	echo "$(ssl_args "$1") --remote=pssl:$((SSL_PORT + $2)):127.0.0.1"
}
if [[ -n $SSL ]]; then
	NB_SSL=ssl:127.0.0.1:$SSL_PORT SB_SSL=ssl:127.0.0.1:$((SSL_PORT + 1)) OVS_SSL=ssl:127.0.0.1:$((SSL_PORT + 2))
fi

# Every daemon and ctl call below inherits these.
export OVS_RUNDIR=$DIR OVS_LOGDIR=$DIR OVS_DBDIR=$DIR OVS_SYSCONFDIR=$DIR
export OVN_RUNDIR=$DIR OVN_LOGDIR=$DIR OVN_DBDIR=$DIR OVN_SYSCONFDIR=$DIR
PATH=$PATH:/usr/sbin:/sbin

# Components in start order. Each NAME has $DIR/NAME.pid and $DIR/NAME.log.
CENTRAL=(ovsdb-server-nb ovsdb-server-sb ovn-northd)
[[ -z $CLUSTER ]] || CENTRAL=(ovsdb-server-nb1 ovsdb-server-nb2 ovsdb-server-nb3
	ovsdb-server-sb1 ovsdb-server-sb2 ovsdb-server-sb3 ovn-northd)
SB_FIRST=ovsdb-server-sb
[[ -z $CLUSTER ]] || SB_FIRST=ovsdb-server-sb1
COMPONENTS=("${CENTRAL[@]}" ovsdb-server ovs-vswitchd ovn-controller)
case $ROLE in
central) COMPONENTS=("${CENTRAL[@]}") ;;
chassis) COMPONENTS=(ovsdb-server ovs-vswitchd ovn-controller) ;;
esac
HAS_CHASSIS=1
[[ $ROLE != central ]] || HAS_CHASSIS=0

# binary NAME: the executable of a component (also its /proc comm).
binary() {
	case $1 in
	ovsdb-server-nb* | ovsdb-server-sb* | ovsdb-server) echo ovsdb-server ;;
	*) echo "$1" ;;
	esac
}

# ctl_path NAME PID: the component's unixctl socket.
ctl_path() {
	if [[ $1 == ovn-controller ]]; then
		# ovn-controller 23.03 rejects --unixctl: it uses $OVS_RUNDIR/ovn-controller.<pid>.ctl.
		echo "$DIR/ovn-controller.$2.ctl"
	else
		echo "$DIR/$1.ctl"
	fi
}

# running_pid NAME: print the pid of NAME if it is running and was started by
# this sandbox (its command line names our pidfile); else return 1.
running_pid() {
	local name=$1 pidfile=$DIR/$1.pid pid cmdline
	[[ -r $pidfile ]] || return 1
	pid=$(cat -- "$pidfile" 2>/dev/null) || return 1
	pid=${pid//[[:space:]]/}
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	# A zombie or a reused pid has another (or an empty) command line.
	cmdline=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null) || return 1
	[[ $cmdline == *"--pidfile=$pidfile "* ]] || return 1
	[[ $(<"/proc/$pid/comm") == "$(binary "$name")" ]] || return 1
	echo "$pid"
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

tail_log() {
	local f=$DIR/$1.log
	if [[ -r $f ]]; then
		printf -- '--- last lines of %s ---\n' "$f" >&2
		tail -n "${2:-20}" "$f" >&2
		printf -- '---\n' >&2
	else
		printf -- '(no log file %s)\n' "$f" >&2
	fi
}

require_tools() {
	local c missing=()
	for c in ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-appctl ovn-northd ovn-controller ovn-sbctl ovn-nbctl; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[[ ${#missing[@]} -eq 0 ]] || die "missing commands: ${missing[*]} (run scripts/deps.sh)"
	local f
	for f in "$NB_SCHEMA" "$SB_SCHEMA" "$OVS_SCHEMA"; do
		[[ -r $f ]] || die "schema file missing: $f (run scripts/deps.sh)"
	done
}

require_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (ovs-vswitchd creates tap devices for br-int)"
}

vsctl() { ovs-vsctl --db="unix:$OVS_SOCK" --timeout=20 "$@"; }
sbctl() { ovn-sbctl --db="$SB_REMOTE" --timeout=3 "$@"; }

chassis_registered() {
	local out
	out=$(sbctl --bare --columns=name find Chassis "name=\"$CHASSIS\"" 2>/dev/null) || return 1
	[[ $out == "$CHASSIS" ]]
}

create_db() {
	local db=$1 schema=$2
	[[ -e $db ]] && return 0
	ovsdb-tool create "$db" "$schema" || die "ovsdb-tool create $db $schema failed"
}

# create_member KIND N: the database file of member N (1-3) of the NB or SB
# cluster; member 1 creates the cluster, the others join it.
create_member() {
	local kind=$1 n=$2 db=$DIR/${1}$2.db schema=$NB_SCHEMA name=OVN_Northbound base=$CLUSTER_PORT
	[[ -e $db ]] && return 0
	if [[ $kind == sb ]]; then
		schema=$SB_SCHEMA name=OVN_Southbound base=$((CLUSTER_PORT + 3))
	fi
	local self=tcp:127.0.0.1:$((base + n - 1)) first=tcp:127.0.0.1:$base
	if ((n == 1)); then
		ovsdb-tool create-cluster "$db" "$schema" "$self" || die "ovsdb-tool create-cluster $db failed"
	else
		ovsdb-tool join-cluster "$db" "$name" "$self" "$first" || die "ovsdb-tool join-cluster $db failed"
	fi
}

# start NAME: start one component (it is known not to run).
start() {
	local name=$1
	local common=(--detach --no-chdir "--pidfile=$DIR/$name.pid" "--log-file=$DIR/$name.log")
	local cmd
	case $name in
	ovsdb-server-nb)
		create_db "$NB_DB" "$NB_SCHEMA"
		# shellcheck disable=SC2046 # word splitting of the TLS options is wanted
		cmd=(ovsdb-server "${common[@]}" "--unixctl=$DIR/$name.ctl" "--remote=punix:$NB_SOCK" $(ssl_listen nb 0) "$NB_DB")
		;;
	ovsdb-server-sb)
		create_db "$SB_DB" "$SB_SCHEMA"
		# shellcheck disable=SC2046
		cmd=(ovsdb-server "${common[@]}" "--unixctl=$DIR/$name.ctl" "--remote=punix:$SB_SOCK" $(ssl_listen sb 1) "$SB_DB")
		;;
	ovsdb-server-nb[123] | ovsdb-server-sb[123])
		local kind=${name#ovsdb-server-}
		create_member "${kind:0:2}" "${kind:2}"
		cmd=(ovsdb-server "${common[@]}" "--unixctl=$DIR/$name.ctl" "--remote=punix:$DIR/$kind.sock" "$DIR/$kind.db")
		;;
	ovn-northd)
		cmd=(ovn-northd "${common[@]}" "--unixctl=$DIR/$name.ctl" "--ovnnb-db=$NB_REMOTE" "--ovnsb-db=$SB_REMOTE")
		# shellcheck disable=SC2046
		[[ -z $SSL ]] || cmd=(ovn-northd "${common[@]}" "--unixctl=$DIR/$name.ctl" "--ovnnb-db=$NB_SSL" "--ovnsb-db=$SB_SSL" $(ssl_args northd))
		;;
	ovsdb-server)
		create_db "$OVS_DB" "$OVS_SCHEMA"
		# shellcheck disable=SC2046
		cmd=(ovsdb-server "${common[@]}" "--unixctl=$DIR/$name.ctl" "--remote=punix:$OVS_SOCK"
			"--remote=db:Open_vSwitch,Open_vSwitch,manager_options" $(ssl_listen ovs 2) "$OVS_DB")
		;;
	ovs-vswitchd)
		# A netdev bridge is a tap device in this network namespace: a second
		# OVS with a br-int here would collide with ours. Taps left behind by
		# our own vswitchd (killed without cleanup) are removed first.
		remove_stale_taps
		if "${NS[@]}" ip link show br-int >/dev/null 2>&1; then
			die "a network device br-int already exists in this network namespace: another OVS with a netdev br-int runs here, or one was killed without cleanup (then: ip link del br-int; ip link del ovs-netdev)"
		fi
		cmd=("${NS[@]}" ovs-vswitchd "unix:$OVS_SOCK" "${common[@]}" "--unixctl=$DIR/$name.ctl")
		;;
	ovn-controller)
		# No --unixctl: ovn-controller 23.03 rejects it.
		# shellcheck disable=SC2046
		cmd=("${NS[@]}" ovn-controller "unix:$OVS_SOCK" "${common[@]}" $([[ -z $SSL ]] || ssl_args controller))
		;;
	*) die "internal: unknown component $name" ;;
	esac
	# With TLS the databases and northd run in QN_NETNS too: their TCP
	# listeners on 127.0.0.1 must be the loopback ovn-controller and the
	# daemon (run there) reach; unix sockets work from anywhere.
	if [[ -n $SSL && ${#NS[@]} -gt 0 && ${cmd[0]} != ip ]]; then
		cmd=("${NS[@]}" "${cmd[@]}")
	fi
	# With --detach the daemon returns once it is ready and has pointed its
	# stdio at /dev/null, so capturing its output cannot block.
	local out
	if ! out=$("${cmd[@]}" 2>&1); then
		printf '%s: error: starting %s failed: %s\n%s\n' "$PROG" "$name" "${cmd[*]}" "$out" >&2
		tail_log "$name"
		exit 1
	fi
	local pid
	pid=$(running_pid "$name") || {
		printf '%s: error: %s exited right after starting\n' "$PROG" "$name" >&2
		tail_log "$name"
		exit 1
	}
	log "started $name (pid $pid)"
}

configure_ovs() {
	# Initialise the Open_vSwitch row (first run) and the chassis settings.
	vsctl --no-wait init || { tail_log ovsdb-server; die "ovs-vsctl init failed"; }
	vsctl set Open_vSwitch . \
		"external_ids:system-id=\"$CHASSIS\"" \
		"external_ids:ovn-remote=\"${SB_SSL:-$SB_REMOTE}\"" \
		external_ids:ovn-encap-type=geneve \
		"external_ids:ovn-encap-ip=\"$ENCAP_IP\"" \
		external_ids:ovn-bridge-datapath-type=netdev ||
		die "ovs-vsctl set Open_vSwitch failed"
	vsctl --may-exist add-br br-int \
		-- set Bridge br-int datapath_type=netdev fail-mode=secure other-config:disable-in-band=true ||
		{
			tail_log ovs-vswitchd
			die "creating br-int failed"
		}
}

# The userspace datapath's tap devices (created by our ovs-vswitchd) are
# recorded with their ifindex, so that down can remove them if vswitchd died
# without cleaning up, and never removes a device someone else created.
TAPS_FILE=$DIR/taps
record_taps() {
	local dev idx
	: >"$TAPS_FILE.tmp"
	for dev in br-int ovs-netdev; do
		idx=$("${NS[@]}" cat "/sys/class/net/$dev/ifindex" 2>/dev/null) || continue
		printf '%s %s\n' "$dev" "$idx" >>"$TAPS_FILE.tmp"
	done
	mv -f "$TAPS_FILE.tmp" "$TAPS_FILE"
}

remove_stale_taps() {
	local dev idx
	[[ -r $TAPS_FILE ]] || return 0
	while read -r dev idx; do
		[[ -n $dev ]] || continue
		if [[ $("${NS[@]}" cat "/sys/class/net/$dev/ifindex" 2>/dev/null) == "$idx" ]]; then
			if "${NS[@]}" ip link del "$dev" 2>/dev/null; then
				log "removed leftover device $dev"
			fi
		fi
	done <"$TAPS_FILE"
	return 0
}

cmd_up() {
	require_root
	require_tools
	if [[ -e $DIR && ! -e $MARKER ]]; then
		if [[ -n $(ls -A "$DIR" 2>/dev/null) ]]; then
			die "$DIR exists, is not empty and is not a sandbox run dir (no $MARKER); choose another QN_SANDBOX_DIR"
		fi
	fi
	if [[ $ROLE == chassis && ! -S $SB_SOCK ]]; then
		die "no SB socket $SB_SOCK: start the central sandbox first (QN_SANDBOX_DIR=$CENTRAL_DIR QN_SANDBOX_ROLE=central $PROG up)"
	fi
	mkdir -p "$DIR"
	chmod 0755 "$DIR"
	: >"$MARKER"
	if [[ -n $SSL ]]; then
		"$(dirname "$0")/pki.sh" "$PKI_DIR" nb sb ovs northd controller client >/dev/null 2>&1 ||
			die "scripts/pki.sh $PKI_DIR failed"
	fi
	if [[ -n $NETNS && ! -e /var/run/netns/$NETNS ]]; then
		ip netns add "$NETNS" || die "ip netns add $NETNS failed"
		ip -n "$NETNS" link set lo up
		: >"$DIR/netns-created"
		log "created network namespace $NETNS"
	fi

	local t0 name pid started=0
	t0=$(now_ms)
	for name in "${COMPONENTS[@]}"; do
		if pid=$(running_pid "$name"); then
			log "$name already running (pid $pid)"
		else
			start "$name"
			started=$((started + 1))
		fi
		# br-int must exist (with netdev type) before ovn-controller starts.
		if [[ $name == ovs-vswitchd ]]; then
			configure_ovs
			record_taps
		fi
	done
	if pid=$(running_pid ovn-controller); then
		ln -sfn "ovn-controller.$pid.ctl" "$DIR/ovn-controller.ctl"
	fi

	if ((HAS_CHASSIS == 0)); then
		if ((started > 0)); then
			log "up: started $started component(s) after $(($(now_ms) - t0)) ms (role $ROLE)"
		else
			log "up: already running (role $ROLE)"
		fi
		log "use: eval \"\$($0 env)\""
		return 0
	fi
	local deadline=$(($(now_ms) + UP_TIMEOUT * 1000))
	until chassis_registered; do
		if (($(now_ms) >= deadline)); then
			printf '%s: error: chassis %s did not appear in SB (%s) within %ss\n' \
				"$PROG" "$CHASSIS" "$SB_REMOTE" "$UP_TIMEOUT" >&2
			tail_log ovn-controller 30
			tail_log "$SB_FIRST" 10
			tail_log ovn-northd 10
			exit 1
		fi
		[[ -S $SB_SOCK ]] || die "the SB socket $SB_SOCK went away while waiting for the chassis"
		for name in "$SB_FIRST" ovn-controller; do
			[[ " ${COMPONENTS[*]} " == *" $name "* ]] || continue
			running_pid "$name" >/dev/null || {
				printf '%s: error: %s died while waiting for the chassis\n' "$PROG" "$name" >&2
				tail_log "$name" 30
				exit 1
			}
		done
		sleep 0.1
	done
	if ((started > 0)); then
		log "up: started $started component(s), chassis $CHASSIS registered in SB after $(($(now_ms) - t0)) ms"
	else
		log "up: already running; chassis $CHASSIS registered in SB"
	fi
	log "use: eval \"\$($0 env)\""
}

# stop NAME: graceful exit via unixctl, then SIGTERM, then SIGKILL.
stop() {
	local name=$1 pid ctl i
	pid=$(running_pid "$name") || return 0
	ctl=$(ctl_path "$name" "$pid")
	local exit_cmd=(exit)
	# --cleanup: vswitchd deletes its datapath, so the netdev tap devices
	# (br-int, ovs-netdev) go too; without it they outlive the process.
	[[ $name == ovs-vswitchd ]] && exit_cmd=(exit --cleanup)
	if [[ -S $ctl ]]; then
		ovs-appctl --timeout=5 -t "$ctl" "${exit_cmd[@]}" >/dev/null 2>&1 || true
	fi
	for ((i = 0; i < 50; i++)); do
		running_pid "$name" >/dev/null || {
			log "stopped $name (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 30; i++)); do
		running_pid "$name" >/dev/null || {
			log "stopped $name (pid $pid, SIGTERM)"
			return 0
		}
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.2
	if running_pid "$name" >/dev/null; then
		warn "$name (pid $pid) did not stop"
		return 1
	fi
	log "stopped $name (pid $pid, SIGKILL)"
}

cmd_down() {
	if [[ ! -e $DIR ]]; then
		log "down: nothing to do ($DIR does not exist)"
		return 0
	fi
	[[ -e $MARKER ]] || die "$DIR is not a sandbox run dir (no $MARKER); not touching it"
	local i failed=0
	# Reverse order: ovn-controller first, while SB is still there to
	# receive its chassis cleanup.
	for ((i = ${#COMPONENTS[@]} - 1; i >= 0; i--)); do
		stop "${COMPONENTS[i]}" || failed=1
	done
	[[ $failed -eq 0 ]] || die "some components did not stop; leaving $DIR in place"
	remove_stale_taps
	if [[ -n $NETNS && -e $DIR/netns-created ]]; then
		ip netns del "$NETNS" 2>/dev/null && log "deleted network namespace $NETNS"
	fi
	rm -rf -- "$DIR"
	log "down: removed $DIR"
}

cmd_status() {
	local name pid all=0
	for name in "${COMPONENTS[@]}"; do
		if pid=$(running_pid "$name"); then
			printf '%-16s running (pid %s)\n' "$name" "$pid"
		else
			printf '%-16s not running\n' "$name"
			all=3
		fi
	done
	((HAS_CHASSIS == 1)) || return "$all"
	if [[ $ROLE == chassis ]] && ! [[ -S $SB_SOCK ]]; then
		printf '%-16s %s: no central SB at %s\n' chassis "$CHASSIS" "$SB_SOCK"
		all=3
	elif { [[ $ROLE == chassis ]] || running_pid "$SB_FIRST" >/dev/null; } && chassis_registered; then
		printf '%-16s %s registered in SB\n' chassis "$CHASSIS"
	else
		printf '%-16s %s not registered in SB\n' chassis "$CHASSIS"
		all=3
	fi
	return "$all"
}

cmd_env() {
	local v
	for v in \
		"QN_SANDBOX_DIR=$DIR" \
		"QN_NB_REMOTE=$NB_REMOTE" \
		"QN_SB_REMOTE=$SB_REMOTE" \
		"QN_OVS_REMOTE=unix:$OVS_SOCK" \
		"QN_NB_SSL=${NB_SSL:-}" "QN_SB_SSL=${SB_SSL:-}" "QN_OVS_SSL=${OVS_SSL:-}" \
		"QN_SSL_KEY=${SSL:+$PKI_DIR/client-privkey.pem}" "QN_SSL_CERT=${SSL:+$PKI_DIR/client-cert.pem}" \
		"QN_SSL_CA=${SSL:+$PKI_DIR/pki/switchca/cacert.pem}" \
		"QN_CHASSIS=$CHASSIS" \
		"QN_ENCAP_IP=$ENCAP_IP" \
		"QN_NETNS=$NETNS" \
		"OVN_NB_DB=$NB_REMOTE" \
		"OVN_SB_DB=$SB_REMOTE" \
		"OVS_RUNDIR=$DIR" "OVS_LOGDIR=$DIR" "OVS_DBDIR=$DIR" "OVS_SYSCONFDIR=$DIR" \
		"OVN_RUNDIR=$DIR" "OVN_LOGDIR=$DIR" "OVN_DBDIR=$DIR" "OVN_SYSCONFDIR=$DIR"; do
		printf 'export %s=%q\n' "${v%%=*}" "${v#*=}"
	done
}

[[ $# -eq 1 ]] || {
	usage >&2
	exit 2
}
case $1 in
up) cmd_up ;;
down) cmd_down ;;
status) cmd_status ;;
env) cmd_env ;;
-h | --help | help) usage ;;
*)
	usage >&2
	die "unknown command: $1"
	;;
esac
