#!/usr/bin/env bash
# test-sandbox.sh — smoke test of the local OVN sandbox (scripts/sandbox.sh):
# brings the sandbox up, creates a logical switch with two ports, two network
# namespaces wired into br-int by veth pairs, waits for ovn-controller to
# install the ports, and pings between the namespaces. Everything it creates
# is removed again by a trap, also on failure or interrupt. Exit 0 on success.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
SANDBOX=$HERE/sandbox.sh

usage() {
	cat <<EOF
Usage: $PROG [--keep-sandbox] [-h|--help]

Smoke test of scripts/sandbox.sh: up, two namespaces on one logical switch,
ping between them, clean up. Needs root and the packages of scripts/deps.sh.

  --keep-sandbox  leave the sandbox running afterwards (by default it is
                  stopped again if this test started it; a sandbox that was
                  already running is always left running)

Settings (environment): QN_SANDBOX_DIR, QN_CHASSIS, QN_ENCAP_IP as for
sandbox.sh; QN_PORT_TIMEOUT (seconds to wait for ovn-installed, default 15),
QN_PING_TIMEOUT (seconds to wait for the first ping reply, default 15).
Only addresses inside the namespaces this test creates are used
(10.99.0.2/24, 10.99.0.3/24).
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
fail() {
	printf '%s: FAIL: %s\n' "$PROG" "$*" >&2
	diagnostics
	exit 1
}

keep=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--keep-sandbox) keep=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		printf '%s: error: unknown argument: %s\n' "$PROG" "$1" >&2
		exit 2
		;;
	esac
	shift
done

PORT_TIMEOUT=${QN_PORT_TIMEOUT:-15}
PING_TIMEOUT=${QN_PING_TIMEOUT:-15}
[[ $PORT_TIMEOUT =~ ^[0-9]+$ && $PING_TIMEOUT =~ ^[0-9]+$ ]] ||
	{
		printf '%s: error: QN_PORT_TIMEOUT and QN_PING_TIMEOUT must be whole seconds\n' "$PROG" >&2
		exit 2
	}
[[ $(id -u) -eq 0 ]] || {
	printf '%s: error: must run as root (network namespaces, veths, OVS)\n' "$PROG" >&2
	exit 2
}
[[ -x $SANDBOX ]] || {
	printf '%s: error: %s not found or not executable\n' "$PROG" "$SANDBOX" >&2
	exit 2
}
PATH=$PATH:/usr/sbin:/sbin
for c in ip ethtool ping ovs-vsctl ovn-nbctl ovn-sbctl; do
	command -v "$c" >/dev/null 2>&1 || {
		printf '%s: error: command %s missing (run scripts/deps.sh)\n' "$PROG" "$c" >&2
		exit 2
	}
done

# The sandbox's settings (QN_NB_REMOTE, OVS_RUNDIR, ...).
eval "$("$SANDBOX" env)"

# Unique names per run (interface names: at most 15 characters).
ID=$$
LS=qnsbx-ls-$ID
NAMES=(a b)
declare -A NS HOSTDEV LSP MAC IP
NS=([a]=qnsbx-$ID-a [b]=qnsbx-$ID-b)
HOSTDEV=([a]=qnsbx-a$ID [b]=qnsbx-b$ID)
LSP=([a]=qnsbx-$ID-a [b]=qnsbx-$ID-b)
MAC=([a]=02:00:0a:63:00:02 [b]=02:00:0a:63:00:03)
IP=([a]=10.99.0.2 [b]=10.99.0.3)

nbctl() { ovn-nbctl --db="$QN_NB_REMOTE" --timeout=10 "$@"; }
sbctl() { ovn-sbctl --db="$QN_SB_REMOTE" --timeout=10 "$@"; }
vsctl() { ovs-vsctl --db="$QN_OVS_REMOTE" --timeout=10 "$@"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }

sandbox_was_up=0
sandbox_started=0

cleanup() {
	local rc=$? n
	trap - EXIT INT TERM
	set +e
	for n in "${NAMES[@]}"; do
		vsctl --if-exists del-port br-int "${HOSTDEV[$n]}" >/dev/null 2>&1
		ip link del "${HOSTDEV[$n]}" >/dev/null 2>&1
		ip netns del "${NS[$n]}" >/dev/null 2>&1
	done
	nbctl --if-exists ls-del "$LS" >/dev/null 2>&1
	if [[ $sandbox_started -eq 1 && $keep -eq 0 ]]; then
		"$SANDBOX" down >/dev/null || printf '%s: warning: sandbox down failed\n' "$PROG" >&2
	fi
	for n in "${NAMES[@]}"; do
		if ip netns list 2>/dev/null | grep -qw -- "${NS[$n]}"; then
			printf '%s: warning: namespace %s still exists\n' "$PROG" "${NS[$n]}" >&2
		fi
	done
	if [[ $rc -eq 0 ]]; then
		log "PASS"
	else
		printf '%s: FAILED (exit %s)\n' "$PROG" "$rc" >&2
	fi
	exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

diagnostics() {
	set +e
	{
		echo "===== diagnostics ====="
		"$SANDBOX" status
		echo "--- ovn-nbctl show"
		nbctl show
		echo "--- ovn-sbctl show"
		sbctl show
		echo "--- ovs-vsctl show"
		vsctl show
		local n
		for n in "${NAMES[@]}"; do
			echo "--- Interface ${HOSTDEV[$n]}"
			vsctl --if-exists --columns=name,ofport,error,external_ids list Interface "${HOSTDEV[$n]}"
			echo "--- ip addr in ${NS[$n]}"
			ip -n "${NS[$n]}" addr show
		done
		echo "--- tail of ovn-controller.log"
		tail -n 20 "$QN_SANDBOX_DIR/ovn-controller.log"
		echo "--- tail of ovs-vswitchd.log"
		tail -n 20 "$QN_SANDBOX_DIR/ovs-vswitchd.log"
		echo "======================="
	} >&2
	set -e
}

# 1. Sandbox.
if "$SANDBOX" status >/dev/null 2>&1; then
	sandbox_was_up=1
	log "sandbox already running in $QN_SANDBOX_DIR"
else
	# Stop it again at the end only if this test creates it from scratch.
	[[ -e $QN_SANDBOX_DIR ]] || sandbox_started=1
	t0=$(now_ms)
	"$SANDBOX" up || fail "sandbox.sh up failed"
	log "sandbox up in $(($(now_ms) - t0)) ms"
fi
[[ $sandbox_was_up -eq 1 ]] || "$SANDBOX" status >/dev/null || fail "sandbox status not OK after up"

# 2. Logical topology.
nbctl ls-add "$LS" || fail "ovn-nbctl ls-add $LS failed"
for n in "${NAMES[@]}"; do
	nbctl lsp-add "$LS" "${LSP[$n]}" -- lsp-set-addresses "${LSP[$n]}" "${MAC[$n]} ${IP[$n]}" ||
		fail "ovn-nbctl lsp-add ${LSP[$n]} failed"
done

# 3. Namespaces with veths into br-int.
for n in "${NAMES[@]}"; do
	ns=${NS[$n]} dev=${HOSTDEV[$n]}
	ip netns add "$ns" || fail "ip netns add $ns failed"
	ip link add "$dev" type veth peer name eth0 netns "$ns" || fail "creating veth $dev failed"
	ip -n "$ns" link set lo up
	ip -n "$ns" link set eth0 address "${MAC[$n]}"
	ip -n "$ns" addr add "${IP[$n]}/24" dev eth0
	ip -n "$ns" link set eth0 up
	ip link set "$dev" up
	# Userspace datapath: TX checksum offload off on both ends, or stateful
	# ACLs see bad checksums.
	ethtool -K "$dev" tx off >/dev/null || fail "ethtool -K $dev tx off failed"
	ip netns exec "$ns" ethtool -K eth0 tx off >/dev/null || fail "ethtool -K eth0 tx off in $ns failed"
	vsctl add-port br-int "$dev" -- set Interface "$dev" "external_ids:iface-id=${LSP[$n]}" ||
		fail "ovs-vsctl add-port br-int $dev failed"
done

# 4. Wait until ovn-controller has installed both ports.
t0=$(now_ms)
deadline=$((t0 + PORT_TIMEOUT * 1000))
for n in "${NAMES[@]}"; do
	dev=${HOSTDEV[$n]}
	until [[ $(vsctl --if-exists get Interface "$dev" external_ids:ovn-installed 2>/dev/null) == '"true"' ]]; do
		(($(now_ms) < deadline)) || fail "Interface $dev: external_ids:ovn-installed not true after ${PORT_TIMEOUT}s"
		sleep 0.05
	done
done
log "both ports ovn-installed after $(($(now_ms) - t0)) ms"

# 5. Ping both ways: wait for a first reply (bounded), then require 3 of 3.
ping_check() {
	local from=$1 to=$2 t0 deadline
	t0=$(now_ms)
	deadline=$((t0 + PING_TIMEOUT * 1000))
	until ip netns exec "${NS[$from]}" ping -n -q -c 1 -W 1 "${IP[$to]}" >/dev/null 2>&1; do
		(($(now_ms) < deadline)) || fail "no ping reply from ${IP[$to]} (${NS[$to]}) to ${NS[$from]} within ${PING_TIMEOUT}s"
	done
	log "first reply ${NS[$from]} -> ${IP[$to]} after $(($(now_ms) - t0)) ms"
	ip netns exec "${NS[$from]}" ping -n -q -c 3 -i 0.2 -W 1 "${IP[$to]}" ||
		fail "ping ${NS[$from]} -> ${IP[$to]}: packets lost"
}
ping_check a b
ping_check b a

log "data path through br-int works"
