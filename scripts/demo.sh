#!/usr/bin/env bash
# demo.sh — QuantumNet end to end on one machine: a local OVN deployment,
# quantumnetd, a network, and two "containers" (network namespaces) attached
# by the quantumnet CNI plugin through cnitool exactly as a runtime does,
# pinging each other through OVN, a security group, and the way in and out:
# a router with a gateway on an external network (an "outside" namespace
# stands for the datacenter network) gives SNAT out and a floating IP in.
# Cleans up after itself unless
# QN_DEMO_KEEP=1 (then: scripts/demo.sh down).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH=$PATH:/usr/local/go/bin:/usr/sbin:/sbin

export QN_SANDBOX_DIR=${QN_SANDBOX_DIR:-/tmp/quantumnet-demo}
export QN_CHASSIS=${QN_CHASSIS:-chassis-demo}
export QN_NETNS=${QN_NETNS:-qn-demo-host} # the chassis' "host" namespace
DIR=$QN_SANDBOX_DIR
BIN=$PWD/bin
NET=demo
SUBNET=10.250.0.0/24
CTRS=(qn-demo-a qn-demo-b)
OUT=qn-demo-out          # the outside (physical) network's host
OUT_IP=192.0.2.10
SOCK=$DIR/quantumnetd.sock
export QUANTUMNET_SOCKET=$SOCK
export CNI_PATH=$BIN NETCONFPATH=$DIR/net.d
NB="ovn-nbctl --db=unix:$DIR/nb.sock"
SB="ovn-sbctl --db=unix:$DIR/sb.sock"

step() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

down() {
	set +e
	for c in "${CTRS[@]}"; do
		if [[ -e /var/run/netns/$c ]]; then
			"$BIN/cnitool" del "$NET" "/var/run/netns/$c" >/dev/null 2>&1
			ip netns del "$c"
		fi
	done
	if [[ -S $SOCK ]]; then
		for f in $("$BIN/qnetctl" -o json fip list 2>/dev/null | sed -n 's/.*"address": *"\([0-9.]*\)".*/\1/p'); do
			"$BIN/qnetctl" fip delete "$f" >/dev/null 2>&1
		done
		"$BIN/qnetctl" router clear-gateway r1 >/dev/null 2>&1
		"$BIN/qnetctl" router detach r1 "$NET" >/dev/null 2>&1
		"$BIN/qnetctl" router delete r1 >/dev/null 2>&1
		"$BIN/qnetctl" sg delete demo-iso >/dev/null 2>&1
		"$BIN/qnetctl" network delete "$NET" >/dev/null 2>&1
		"$BIN/qnetctl" network delete ext >/dev/null 2>&1
	fi
	[[ -e /var/run/netns/$OUT ]] && ip netns del "$OUT"
	if [[ -f $DIR/quantumnetd.pid ]]; then
		kill "$(cat "$DIR/quantumnetd.pid")" 2>/dev/null
		for _ in $(seq 50); do kill -0 "$(cat "$DIR/quantumnetd.pid")" 2>/dev/null || break; sleep 0.1; done
		rm -f "$DIR/quantumnetd.pid"
	fi
	[[ -d $DIR ]] && scripts/sandbox.sh down >/dev/null
	set -e
}

if [[ ${1:-} == down ]]; then
	down
	echo "demo: cleaned up"
	exit 0
fi
[[ $(id -u) -eq 0 ]] || { echo "demo: must run as root (network namespaces, OVS)" >&2; exit 1; }
[[ -x $BIN/quantumnetd && -x $BIN/quantumnet && -x $BIN/qnetctl ]] || { echo "demo: run 'make build' first" >&2; exit 1; }
go build -o "$BIN/cnitool" github.com/containernetworking/cni/cnitool

fail() {
	echo "demo: FAILED: $*" >&2
	[[ -f $DIR/quantumnetd.log ]] && { echo "--- quantumnetd.log (tail)"; tail -20 "$DIR/quantumnetd.log"; } >&2
	exit 1
}
if [[ ${QN_DEMO_KEEP:-0} != 1 ]]; then
	trap down EXIT
else
	trap 'echo; echo "demo: left running (QN_DEMO_KEEP=1); clean up with: scripts/demo.sh down"' EXIT
fi
down # leftovers of an interrupted run

step "Starting a local OVN deployment (NB, SB, northd, OVS userspace datapath, ovn-controller) in $DIR"
scripts/sandbox.sh up | sed 's/^/    /'

step "Starting quantumnetd (chassis $QN_CHASSIS, socket $SOCK)"
cat >"$DIR/quantumnetd.toml" <<EOT
[ovn]
nb_remotes = ["unix:$DIR/nb.sock"]
sb_remotes = ["unix:$DIR/sb.sock"]
[chassis]
name = "$QN_CHASSIS"
ovs_remote = "unix:$DIR/db.sock"
datapath_type = "netdev"
bridge_mappings = ["physnet1:br-ex"]
create_mapped_bridges = true
[daemon]
socket = "$SOCK"
EOT
ip netns exec "$QN_NETNS" "$BIN/quantumnetd" -config "$DIR/quantumnetd.toml" >"$DIR/quantumnetd.log" 2>&1 &
echo $! >"$DIR/quantumnetd.pid"
for _ in $(seq 100); do "$BIN/qnetctl" status >/dev/null 2>&1 && break; sleep 0.1; done
"$BIN/qnetctl" status | sed 's/^/    /' || fail "quantumnetd is not ready"

step "Cabling an outside host ($OUT, $OUT_IP) to the chassis' br-ex (physnet1, created by quantumnetd)"
eval "$(scripts/sandbox.sh env)"
for _ in $(seq 50); do ovs-vsctl br-exists br-ex && break; sleep 0.1; done
ovs-vsctl br-exists br-ex || fail "quantumnetd did not create br-ex"
ip netns add "$OUT"
ip link add qn-demo-ex type veth peer name eth0 netns "$OUT"
ip link set qn-demo-ex netns "$QN_NETNS"
ip -n "$QN_NETNS" link set qn-demo-ex up
ip netns exec "$QN_NETNS" ethtool -K qn-demo-ex tx off >/dev/null
ip netns exec "$OUT" ethtool -K eth0 tx off >/dev/null
ip -n "$OUT" addr add "$OUT_IP/24" dev eth0
ip -n "$OUT" link set eth0 up
ip -n "$OUT" link set lo up
ovs-vsctl add-port br-ex qn-demo-ex
echo "    $OUT: eth0 $OUT_IP/24 <-> br-ex (ovn-bridge-mappings physnet1:br-ex)"

step "Creating network '$NET' ($SUBNET)"
"$BIN/qnetctl" network create "$NET" --subnet4 "$SUBNET" --dns-domain demo.internal | sed 's/^/    /'

step "Attaching two containers with the quantumnet CNI plugin (cnitool, CNI 1.1.0)"
mkdir -p "$NETCONFPATH"
cat >"$NETCONFPATH/10-$NET.conflist" <<EOT
{
  "cniVersion": "1.1.0",
  "name": "$NET",
  "plugins": [ { "type": "quantumnet", "network": "$NET" } ]
}
EOT
declare -A IP
for c in "${CTRS[@]}"; do
	ip netns add "$c"
	ip -n "$c" link set lo up
	t0=$(date +%s%N)
	res=$(CNI_ARGS="IgnoreUnknown=1;NAME=$c" "$BIN/cnitool" add "$NET" "/var/run/netns/$c") || fail "cnitool add $c: $res"
	ms=$((($(date +%s%N) - t0) / 1000000))
	IP[$c]=$(sed -n 's/.*"address": "\([0-9.]*\)\/.*/\1/p' <<<"$res" | head -1)
	echo "    $c: eth0 ${IP[$c]} (ADD took ${ms} ms, including the wait for ovn-controller's flows)"
done

step "Ping through OVN"
ip netns exec qn-demo-a ping -c 3 -i 0.2 -W 2 "${IP[qn-demo-b]}" | sed 's/^/    /' || fail "qn-demo-a cannot reach qn-demo-b"
ip netns exec qn-demo-b ping -c 3 -i 0.2 -W 2 "${IP[qn-demo-a]}" | sed 's/^/    /' || fail "qn-demo-b cannot reach qn-demo-a"

step "Magic DNS: names from the network's resolver (and OVN native DNS)"
RESOLVER=$(sed -n 's/.*"nameservers": \[ *"\([0-9.]*\)".*/\1/p' <<<"$(tr -d '\n' <<<"$res")" | head -1)
[[ -n $RESOLVER ]] || RESOLVER=$("$BIN/qnetctl" network show "$NET" | awk '/^resolver:/ {print $2}' | tr -d ,)
echo "    the CNI result names the resolver $RESOLVER"
for q in qn-demo-b.demo.internal qn-demo-a.demo.internal; do
	got=
	for _ in 1 2 3 4 5; do
		got=$(ip netns exec qn-demo-a dig +short +tries=1 +time=1 "@$RESOLVER" "$q") && [[ -n $got ]] && break
		sleep 0.2
	done
	[[ -n $got ]] || fail "$q does not resolve"
	echo "    qn-demo-a: dig $q -> $got"
done
rev=$(ip netns exec qn-demo-a dig +short +tries=1 +time=2 "@$RESOLVER" -x "${IP[qn-demo-b]}")
echo "    qn-demo-a: dig -x ${IP[qn-demo-b]} -> $rev"

step "CNI CHECK"
for c in "${CTRS[@]}"; do "$BIN/cnitool" check "$NET" "/var/run/netns/$c" && echo "    $c: OK"; done

step "Security groups: isolate qn-demo-b, then allow ICMP to it"
PORT_B=$("$BIN/qnetctl" port list --network "$NET" | awk -v ip="${IP[qn-demo-b]}" '$5 == ip {print $2}')
[[ -n $PORT_B ]] || fail "no port with address ${IP[qn-demo-b]}"
"$BIN/qnetctl" sg create demo-iso --description "demo: nothing comes in" | sed 's/^/    /'
"$BIN/qnetctl" port set-security-groups "$PORT_B" demo-iso | sed 's/^/    /'
# OVN installs the new ACLs within milliseconds, asynchronously: allow a moment.
dropped=0
for _ in 1 2 3 4 5 6; do
	if ! ip netns exec qn-demo-a ping -c 1 -W 1 "${IP[qn-demo-b]}" >/dev/null 2>&1; then
		dropped=1
		break
	fi
	sleep 0.3
done
((dropped)) || fail "qn-demo-b is still reachable in a group without rules"
echo "    qn-demo-a -> qn-demo-b: dropped (no rule allows it)"
ip netns exec qn-demo-b ping -c 1 -W 2 "${IP[qn-demo-a]}" >/dev/null || fail "qn-demo-b cannot reach out"
echo "    qn-demo-b -> qn-demo-a: OK (egress is open, replies pass)"
"$BIN/qnetctl" sg preset add demo-iso icmp | sed 's/^/    /'
ip netns exec qn-demo-a ping -c 3 -i 0.2 -W 2 "${IP[qn-demo-b]}" | sed 's/^/    /' || fail "ICMP still dropped after the icmp preset"

step "Out and in: router r1 with a gateway on the external network 'ext'"
"$BIN/qnetctl" network create ext --external --physnet physnet1 --subnet4 192.0.2.0/24 --gateway4 192.0.2.1 \
	--fip-range 192.0.2.100-192.0.2.150 | sed 's/^/    /'
"$BIN/qnetctl" router create r1 | sed 's/^/    /'
"$BIN/qnetctl" router attach r1 "$NET" | sed 's/^/    /'
"$BIN/qnetctl" router set-gateway r1 ext | sed 's/^/    /'
ok=0
for _ in $(seq 20); do
	ip netns exec qn-demo-a ping -c 1 -W 1 "$OUT_IP" >/dev/null 2>&1 && { ok=1; break; }
	sleep 0.2
done
((ok)) || fail "qn-demo-a cannot reach the outside host $OUT_IP"
ip netns exec "$OUT" bash -c 'sleep 4 | busybox timeout 5 busybox nc -l -p 7000' >/dev/null 2>&1 &
srv=$!
sleep 0.2
sleep 3 | ip netns exec qn-demo-a busybox timeout 5 busybox nc "$OUT_IP" 7000 >/dev/null 2>&1 &
cli=$!
peer=
for _ in $(seq 20); do
	peer=$(ip netns exec "$OUT" ss -Htn state established '( sport = :7000 )' | awk '{print $4}' | head -1 |
		sed 's/^\[::ffff://; s/\]//; s/:[0-9]*$//')
	[[ -n $peer ]] && break
	sleep 0.1
done
kill "$srv" "$cli" 2>/dev/null || true
wait "$srv" "$cli" 2>/dev/null || true
GW=$("$BIN/qnetctl" -o json router show r1 | tr -d '\n' | sed -n 's/.*"addresses": *\[ *"\([0-9.]*\)\/.*/\1/p')
[[ -n $peer && $peer == "$GW" ]] || fail "the outside saw the TCP connection from '${peer}', not from r1's address $GW"
echo "    qn-demo-a (${IP[qn-demo-a]}) -> $OUT_IP: ping OK; the outside sees the TCP connection from $peer (SNAT to r1's address)"
FIP=$("$BIN/qnetctl" -o json fip create ext | sed -n 's/.*"address": *"\([0-9.]*\)".*/\1/p' | head -1)
[[ -n $FIP ]] || fail "fip create gave no address"
PORT_A=$("$BIN/qnetctl" port list --network "$NET" | awk -v ip="${IP[qn-demo-a]}" '$5 == ip {print $2}')
"$BIN/qnetctl" fip associate "$FIP" "$PORT_A" | sed 's/^/    /'
ip netns exec qn-demo-a busybox timeout 10 busybox nc -ll -p 7001 -e echo "hello from qn-demo-a" >/dev/null 2>&1 &
srv=$!
got=
for _ in $(seq 20); do
	got=$(ip netns exec "$OUT" busybox timeout 2 busybox nc "$FIP" 7001 </dev/null 2>/dev/null) && [[ -n $got ]] && break
	sleep 0.2
done
kill "$srv" 2>/dev/null || true
wait "$srv" 2>/dev/null || true
[[ -n $got ]] || fail "the outside host cannot reach qn-demo-a through the floating IP $FIP"
echo "    $OUT -> $FIP:7001 (floating IP of qn-demo-a): \"$got\""

step "What was created"
echo "--- qnetctl network show $NET"
"$BIN/qnetctl" network show "$NET" | sed 's/^/    /'
echo "--- qnetctl sg show demo-iso"
"$BIN/qnetctl" sg show demo-iso | sed 's/^/    /'
echo "--- qnetctl port list"
"$BIN/qnetctl" port list | sed 's/^/    /'
echo "--- qnetctl router show r1"
"$BIN/qnetctl" router show r1 | sed 's/^/    /'
echo "--- qnetctl fip list"
"$BIN/qnetctl" fip list | sed 's/^/    /'
echo "--- OVN Northbound (ovn-nbctl show qn-$NET)"
$NB show "qn-$NET" | sed 's/^/    /'
echo "--- OVN Southbound chassis and bindings (ovn-sbctl show)"
$SB show | sed 's/^/    /'
echo
echo "demo: OK — two containers on OVN network '$NET' reach each other; a security group decides what reaches one of them;"
echo "      they reach the outside through SNAT on router r1, and the outside reaches qn-demo-a through floating IP $FIP."
