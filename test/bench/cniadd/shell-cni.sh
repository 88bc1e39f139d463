#!/usr/bin/env bash
# shell-cni.sh — the "shell baseline" of the CNI ADD benchmark (test/bench/cniadd):
# a CNI plugin (spec 1.1.0) written the way a naive OVN plugin is, one command
# per step:
#
#   ADD: pick an address (a counter file under a lock), ovn-nbctl lsp-add +
#        lsp-set-addresses, a veth pair into the netns with ip, ethtool -K tx
#        off on both ends, ovs-vsctl add-port br-int with iface-id, then
#        ovs-vsctl wait-until ovn-installed=true, and print the result.
#   DEL: ovs-vsctl del-port, ip link del, ovn-nbctl lsp-del (all idempotent).
#
# The harness installs it as plugin type "qnbench-shell". Every database is
# given explicitly in the network config; it never talks to a system OVS/OVN:
#
#   "nbDB":          "unix:/path/nb.sock"   OVN Northbound      (required, unix:)
#   "ovsDB":         "unix:/path/db.sock"   local OVS database  (required, unix:)
#   "logicalSwitch": "NAME"                 existing switch to add ports to
#   "stateDir":      "/dir"                 counter + lock file (must exist)
#   "subnet16":      "10.79"                first two octets of the /16 to use
#   "readyTimeout":  15                     seconds to wait for ovn-installed
#   "owner":         "TAG"                  stored in OVS external_ids:qnbench-owner
set -uo pipefail
PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
unset OVN_NB_DAEMON OVN_NB_DB OVN_SB_DB

# stdout is the CNI result channel: everything else goes to stderr.
exec 3>&1 1>&2

VERSION=1.1.0
fail() { # fail CODE MSG [DETAILS]
	jq -cn --arg v "$VERSION" --argjson c "$1" --arg m "$2" --arg d "${3:-}" \
		'{cniVersion:$v, code:$c, msg:$m, details:$d}' >&3
	exit 1
}

case ${CNI_COMMAND:-} in
VERSION)
	printf '{"cniVersion":"%s","supportedVersions":["1.0.0","1.1.0"]}\n' "$VERSION" >&3
	exit 0
	;;
ADD | DEL | CHECK | GC | STATUS) ;;
*) fail 4 "unknown CNI_COMMAND ${CNI_COMMAND:-<unset>}" ;;
esac

CONF=$(cat)
IFS=$'\t' read -r VERSION NB OVS SW STATE NET16 TIMEOUT OWNER < <(jq -r \
	'[.cniVersion, .nbDB, .ovsDB, .logicalSwitch, .stateDir, (.subnet16 // "10.79"), (.readyTimeout // 15), (.owner // "")] | @tsv' \
	<<<"$CONF") || fail 6 "config: cannot parse"
[[ $NB == unix:/* && $OVS == unix:/* ]] || fail 7 "config: nbDB and ovsDB must be explicit unix: sockets, got '$NB' '$OVS'"
[[ -n $SW && -d $STATE ]] || fail 7 "config: logicalSwitch and an existing stateDir are required"
case $CNI_COMMAND in CHECK | GC | STATUS) exit 0 ;; esac
[[ -n ${CNI_CONTAINERID:-} && -n ${CNI_IFNAME:-} ]] || fail 4 "CNI_CONTAINERID and CNI_IFNAME are required"

nbctl() { ovn-nbctl --db="$NB" --timeout=10 "$@"; }
vsctl() { ovs-vsctl --db="$OVS" --timeout=10 "$@"; }

# Names derived from the attachment: logical port and host veth (15 chars max).
HASH=$(printf '%s/%s' "$CNI_CONTAINERID" "$CNI_IFNAME" | sha256sum)
LSP=qnsh-${HASH:0:24}
HOST=qsh${HASH:0:12}

del() {
	vsctl --if-exists del-port br-int "$HOST" || return 1
	if ip link show "$HOST" >/dev/null 2>&1; then
		ip link del "$HOST" || return 1
	fi
	nbctl --if-exists lsp-del "$LSP" || return 1
}

if [[ $CNI_COMMAND == DEL ]]; then
	out=$(del 2>&1) || fail 999 "DEL failed" "$out"
	exit 0
fi

# ---- ADD
[[ -n ${CNI_NETNS:-} && -e $CNI_NETNS ]] || fail 4 "CNI_NETNS is missing or does not exist"
ERR=$(mktemp) || fail 999 "mktemp failed"
trap 'rm -f "$ERR"' EXIT
step() { # step WHAT CMD...: run, or undo everything and fail
	local what=$1
	shift
	if ! "$@" >/dev/null 2>"$ERR"; then
		local msg
		msg=$(<"$ERR")
		del >/dev/null 2>&1
		fail 999 "$what failed" "$msg"
	fi
}

# Address: the next counter value under a lock.
exec 9>"$STATE/lock"
flock 9 || fail 999 "flock failed"
N=$(cat "$STATE/counter" 2>/dev/null || echo 0)
echo $((N + 1)) >"$STATE/counter"
exec 9>&-
O3=$((N / 250)) O4=$((N % 250 + 2))
((O3 < 256)) || fail 999 "address counter exhausted"
IP=$NET16.$O3.$O4
GW=$NET16.0.1
MAC=$(printf '0a:58:%02x:%02x:%02x:%02x' "${NET16%%.*}" "${NET16#*.}" "$O3" "$O4")

step "ovn-nbctl lsp-add" nbctl lsp-add "$SW" "$LSP" -- lsp-set-addresses "$LSP" "$MAC $IP"
step "ip link add" ip link add "$HOST" mtu 1400 type veth peer name "$CNI_IFNAME" mtu 1400 netns "$CNI_NETNS"
step "ethtool (host)" ethtool -K "$HOST" tx off
step "ip link set up (host)" ip link set "$HOST" up
step "ip link set (container)" nsenter --net="$CNI_NETNS" ip link set "$CNI_IFNAME" address "$MAC" up
step "ethtool (container)" nsenter --net="$CNI_NETNS" ethtool -K "$CNI_IFNAME" tx off
step "ip addr add" nsenter --net="$CNI_NETNS" ip addr add "$IP/16" dev "$CNI_IFNAME"
step "ip route add" nsenter --net="$CNI_NETNS" ip route add default via "$GW" dev "$CNI_IFNAME"
step "ovs-vsctl add-port" vsctl add-port br-int "$HOST" -- set Interface "$HOST" \
	"external_ids:iface-id=$LSP" "external_ids:attached-mac=$MAC" "external_ids:qnbench-owner=$OWNER"
step "waiting for ovn-installed" ovs-vsctl --db="$OVS" --timeout="$TIMEOUT" \
	wait-until Interface "$HOST" external_ids:ovn-installed=true

jq -cn --arg v "$VERSION" --arg host "$HOST" --arg ifn "$CNI_IFNAME" --arg mac "$MAC" \
	--arg ns "$CNI_NETNS" --arg ip "$IP/16" --arg gw "$GW" \
	'{cniVersion:$v, interfaces:[{name:$host},{name:$ifn, mac:$mac, sandbox:$ns}],
	  ips:[{address:$ip, gateway:$gw, interface:1}], routes:[{dst:"0.0.0.0/0", gw:$gw}]}' >&3
