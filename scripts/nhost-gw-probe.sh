#!/usr/bin/env bash
# nhost-gw-probe.sh — the north-south data path by hand, with ovn-nbctl only,
# on a running scripts/nhost.sh (3+ hosts, outside network): a tenant switch
# with a port on host c, an external switch with a localnet port on physnet1,
# a router with SNAT and gateway chassis a=30, b=20, c=10; the port pings the
# outside through SNAT; then host a's ovn-controller and ovs-vswitchd are
# killed while the port pings every 10 ms, and the gap is measured.
#   QN_PROBE_BFD="min_rx min_tx mult" sets NB_Global bfd-min-rx/-min-tx/-mult
#   (default: OVN's own, 1000/1000/3 ms). QN_PROBE_KEEP=1 leaves the rows.
# Needs the env of nhost.sh (eval "$(scripts/nhost.sh env)").
set -euo pipefail
: "${QN_NB_REMOTE:?eval \"\$(scripts/nhost.sh env)\" first}"
DIR=${QN_NHOST_DIR:?}
NB=(ovn-nbctl --db="$QN_NB_REMOTE")
SB=(ovn-sbctl --db="$QN_SB_REMOTE")
W=${QN_NETNS_C}-w1
now_ms() { echo $(($(date +%s%N) / 1000000)); }

pp=
cleanup() {
	[[ -z $pp ]] || kill "$pp" 2>/dev/null || true
	ip netns del "$W" 2>/dev/null || true
	ip netns exec "$QN_NETNS_C" ovs-vsctl --db="$QN_OVS_REMOTE_C" --if-exists del-port br-int w1-host 2>/dev/null || true
	[[ ${QN_PROBE_KEEP:-0} == 1 ]] && return
	"${NB[@]}" --if-exists lr-del r1 -- --if-exists ls-del blue -- --if-exists ls-del ext \
		-- remove NB_Global . options bfd-min-rx -- remove NB_Global . options bfd-min-tx -- remove NB_Global . options bfd-mult
}
trap cleanup EXIT

if [[ -n ${QN_PROBE_BFD:-} ]]; then
	read -r rx tx mult <<<"$QN_PROBE_BFD"
	"${NB[@]}" set NB_Global . options:bfd-min-rx="$rx" options:bfd-min-tx="$tx" options:bfd-mult="$mult"
fi
"${NB[@]}" ls-add blue -- ls-add ext \
	-- lsp-add ext ln-ext -- lsp-set-type ln-ext localnet -- lsp-set-addresses ln-ext unknown \
	-- lsp-set-options ln-ext network_name="$QN_PHYSNET" \
	-- lsp-add blue w1 -- lsp-set-addresses w1 "50:54:00:00:01:10 10.0.1.10" \
	-- lr-add r1 -- lrp-add r1 r1-blue 00:00:00:00:01:01 10.0.1.1/24 \
	-- lrp-add r1 r1-ext 00:00:00:00:02:01 192.0.2.1/24 \
	-- lsp-add blue blue-r1 -- lsp-set-type blue-r1 router -- lsp-set-addresses blue-r1 router -- lsp-set-options blue-r1 router-port=r1-blue \
	-- lsp-add ext ext-r1 -- lsp-set-type ext-r1 router -- lsp-set-addresses ext-r1 router -- lsp-set-options ext-r1 router-port=r1-ext \
	-- lrp-set-gateway-chassis r1-ext "$QN_CHASSIS_A" 30 -- lrp-set-gateway-chassis r1-ext "$QN_CHASSIS_B" 20 \
	-- lrp-set-gateway-chassis r1-ext "$QN_CHASSIS_C" 10 -- lr-nat-add r1 snat 192.0.2.1 10.0.1.0/24

ip netns add "$W"
ip link add w1-host netns "$QN_NETNS_C" type veth peer name eth0 netns "$W"
ip -n "$W" link set eth0 address 50:54:00:00:01:10 mtu 1400 up
ip -n "$W" link set lo up
ip -n "$W" addr add 10.0.1.10/24 dev eth0
ip -n "$W" route add default via 10.0.1.1
ip netns exec "$W" ethtool -K eth0 tx off >/dev/null
ip netns exec "$QN_NETNS_C" ethtool -K w1-host tx off >/dev/null
ip -n "$QN_NETNS_C" link set w1-host mtu 1400 up
ip netns exec "$QN_NETNS_C" ovs-vsctl --db="$QN_OVS_REMOTE_C" add-port br-int w1-host -- set Interface w1-host external_ids:iface-id=w1

t0=$(now_ms)
until ip netns exec "$W" ping -c 1 -W 1 -q 192.0.2.10 >/dev/null 2>&1; do
	(($(now_ms) - t0 < 30000)) || { echo "no SNAT path to 192.0.2.10 in 30 s"; "${SB[@]}" show; exit 1; }
done
echo "SNAT path up after $(($(now_ms) - t0)) ms; cr-r1-ext on: $("${SB[@]}" --bare --columns=chassis find Port_Binding logical_port=cr-r1-ext | xargs -r "${SB[@]}" --bare get Chassis name 2>/dev/null || true)"
ip -n "$QN_OUTSIDE_NETNS" neigh show 192.0.2.1
# BFD state as seen from every host.
for H in A B C; do
	r=QN_OVS_REMOTE_$H
	echo "host $H BFD: $(ovs-vsctl --db="${!r}" --bare --columns=name,bfd,bfd_status find Interface type=geneve | tr '\n' ' ' | sed 's/  */ /g' | cut -c1-400)"
done

# Failover: a ping stream every 10 ms, then host a dies.
out=$(mktemp)
ip netns exec "$W" ping -D -i 0.01 -W 1 192.0.2.10 >"$out" 2>&1 &
pp=$!
sleep 1
kill_ms=$(now_ms)
kill -9 "$(cat "$DIR/a/ovn-controller.pid")" "$(cat "$DIR/a/ovs-vswitchd.pid")"
echo "killed host a's ovn-controller and ovs-vswitchd at $kill_ms"
t0=$(now_ms)
until [[ $("${SB[@]}" --bare --columns=chassis find Port_Binding logical_port=cr-r1-ext) == $("${SB[@]}" --bare --columns=_uuid find Chassis name="$QN_CHASSIS_B") ]]; do
	(($(now_ms) - t0 < 30000)) || break
	sleep 0.05
done
echo "SB: cr-r1-ext claimed by chassis-b after $(($(now_ms) - kill_ms)) ms"
sleep 3
kill -INT $pp
wait $pp || true
pp=
python3 - "$out" "$kill_ms" <<'PY'
import re, sys
ts = [float(m.group(1)) for m in re.finditer(r"^\[(\d+\.\d+)\] \d+ bytes from", open(sys.argv[1]).read(), re.M)]
kill = int(sys.argv[2]) / 1000
after = [t for t in ts if t > kill]
before = [t for t in ts if t <= kill]
tail = open(sys.argv[1]).read().strip().splitlines()[-2]
print("replies before kill %d, after %d; %s" % (len(before), len(after), tail))
# The outage: the longest gap between replies that ends after the kill.
gaps = [(b - a, a, b) for a, b in zip(ts, ts[1:]) if b > kill]
if gaps:
    g, a, b = max(gaps)
    print("outage: last reply %.0f ms after the kill, next %.0f ms after it (gap %.0f ms)" % ((a - kill) * 1000, (b - kill) * 1000, g * 1000))
else:
    print("no reply after the kill")
PY
rm -f "$out"
