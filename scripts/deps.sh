#!/usr/bin/env bash
# deps.sh — install the system packages QuantumNet's tests and sandbox need.
#
# Idempotent: checks what is installed and runs apt-get only when something is
# missing. While installing, a temporary /usr/sbin/policy-rc.d keeps Debian's
# maintainer scripts from starting the system-wide OVS/OVN services (the
# sandbox runs its own daemons in a private run directory).
set -euo pipefail

PROG=${0##*/}

BASE_PACKAGES=(
	openvswitch-switch
	ovn-central
	ovn-host
	iproute2
	iptables
	ethtool
	iputils-ping
	busybox
	dnsutils
	isc-dhcp-client
	procps
	protobuf-compiler
	libvirt-dev
	pkg-config
	prometheus # promtool (check metrics); its server is not started (policy-rc.d) nor needed
	systemd
	binutils
	chromium # the web console's browser tests (test/console), driven headless by chromedp
	fonts-dejavu-core # a font for the pages chromium renders (screenshots of failed tests)
	frr # bgpd and vtysh: the top-of-rack router of test/bgp (one bgpd per test; the frr service is not started)
	wireguard-tools # wg: the WireGuard bastion tests' independent peer (configured with wg setconf)
	dnsperf dnsmasq-base # test/bench/dns: the load generator, and dnsmasq as the peer resolver and the upstream (run by the bench; no service)
)

LIBVIRT_PACKAGES=(
	libvirt-daemon
	libvirt-daemon-driver-qemu
	libvirt-clients
	libvirt-dev
	qemu-system-x86
)

# Commands that must exist once the base packages are installed.
BASE_COMMANDS=(
	ovsdb-tool ovsdb-server ovs-vswitchd ovs-vsctl ovs-appctl ovs-ofctl
	ovn-northd ovn-controller ovn-nbctl ovn-sbctl ovn-appctl
	ip iptables ethtool ping busybox dig pgrep dhclient getent promtool
	systemd-analyze readelf setpriv dpkg-deb chromium vtysh wg
	dnsperf dnsmasq
)
LIBVIRT_COMMANDS=(libvirtd virsh qemu-system-x86_64)

# Files the sandbox needs.
BASE_FILES=(
	/usr/share/openvswitch/vswitch.ovsschema
	/usr/share/ovn/ovn-nb.ovsschema
	/usr/share/ovn/ovn-sb.ovsschema
	/usr/lib/frr/bgpd
)

POLICY_RC=/usr/sbin/policy-rc.d
POLICY_RC_OURS=0
SUDO=()

usage() {
	cat <<EOF
Usage: $PROG [--with-libvirt] [-h|--help]

Installs (only if missing) the Debian packages QuantumNet needs:
  ${BASE_PACKAGES[*]}

Options:
  --with-libvirt  also install: ${LIBVIRT_PACKAGES[*]}
  -h, --help      show this help

Runs apt-get (as root, or via sudo) only when a package is missing; a second
run is a fast no-op. System-wide OVS/OVN services are NOT started by the
install (a temporary $POLICY_RC denies service starts).
Also checks that a Go toolchain is available.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

cleanup() {
	if [[ $POLICY_RC_OURS -eq 1 ]]; then
		"${SUDO[@]}" rm -f -- "$POLICY_RC" || true
		POLICY_RC_OURS=0
	fi
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

with_libvirt=0
while [[ $# -gt 0 ]]; do
	case $1 in
	--with-libvirt) with_libvirt=1 ;;
	-h | --help)
		usage
		exit 0
		;;
	*)
		usage >&2
		die "unknown argument: $1"
		;;
	esac
	shift
done

packages=("${BASE_PACKAGES[@]}")
commands=("${BASE_COMMANDS[@]}")
if [[ $with_libvirt -eq 1 ]]; then
	packages+=("${LIBVIRT_PACKAGES[@]}")
	commands+=("${LIBVIRT_COMMANDS[@]}")
fi

command -v dpkg-query >/dev/null 2>&1 ||
	die "dpkg-query not found: this script supports Debian/Ubuntu only; install by hand: ${packages[*]}"

# is_installed PKG: true when dpkg says the package is fully installed.
is_installed() {
	local status
	status=$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null) || return 1
	[[ $status == "install ok installed" ]]
}

missing=()
for p in "${packages[@]}"; do
	is_installed "$p" || missing+=("$p")
done

if [[ ${#missing[@]} -eq 0 ]]; then
	log "all ${#packages[@]} packages present"
else
	log "missing packages: ${missing[*]}"
	command -v apt-get >/dev/null 2>&1 || die "apt-get not found; install by hand: ${missing[*]}"
	if [[ $(id -u) -ne 0 ]]; then
		command -v sudo >/dev/null 2>&1 ||
			die "not root and sudo not found; run this script as root"
		SUDO=(sudo)
	fi
	# Keep postinst from starting system-wide ovsdb-server/ovs-vswitchd/northd.
	if [[ ! -e $POLICY_RC ]]; then
		"${SUDO[@]}" sh -c "printf '#!/bin/sh\n# temporary, written by QuantumNet scripts/deps.sh\nexit 101\n' >'$POLICY_RC' && chmod 0755 '$POLICY_RC'" ||
			die "cannot write $POLICY_RC"
		POLICY_RC_OURS=1
	else
		log "$POLICY_RC already exists; leaving it as it is"
	fi
	log "running apt-get update"
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update ||
		die "apt-get update failed"
	log "installing: ${missing[*]}"
	"${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}" ||
		die "apt-get install failed for: ${missing[*]}"
	cleanup
	for p in "${missing[@]}"; do
		is_installed "$p" || die "package $p still not installed after apt-get install"
	done
	log "installed: ${missing[*]}"
fi

# Sanity: the commands and schema files the sandbox uses.
# /usr/sbin and /sbin are not on every user's PATH.
PATH=$PATH:/usr/sbin:/sbin
missing_cmds=()
for c in "${commands[@]}"; do
	command -v "$c" >/dev/null 2>&1 || missing_cmds+=("$c")
done
[[ ${#missing_cmds[@]} -eq 0 ]] ||
	die "packages are installed but these commands are missing: ${missing_cmds[*]}"
for f in "${BASE_FILES[@]}"; do
	[[ -r $f ]] || die "schema file missing: $f (reinstall openvswitch-common / ovn-common)"
done
log "all ${#commands[@]} commands and ${#BASE_FILES[@]} schema files present"

# Go toolchain: not installed from apt (Debian 12's Go is too old for go.mod).
if command -v go >/dev/null 2>&1; then
	log "go: $(command -v go) ($(go version 2>/dev/null || echo 'version unknown'))"
elif [[ -x /usr/local/go/bin/go ]]; then
	log "go: /usr/local/go/bin/go ($(/usr/local/go/bin/go version 2>/dev/null || echo 'version unknown')) is not on PATH"
	log "  add it: export PATH=\$PATH:/usr/local/go/bin"
else
	die "go not found on PATH nor at /usr/local/go/bin/go: install the Go toolchain named in go.mod and put its bin/ on PATH"
fi

log "everything is present"
