#!/usr/bin/env bash
# deb.sh — build quantumnet_<version>_<arch>.deb with dpkg-deb from the tree
# stage.sh lays out (PREFIX=/usr), so the package and `make install` hold
# the same files.
#
#   scripts/package/deb.sh [--strict] BIN OUTDIR VERSION
#
# VERSION is the build's version (git describe); the Debian version is made
# from it: v1.2.3 -> 1.2.3, v1.2.3-4-gabc -> 1.2.3+4.gabc, a bare commit ->
# 0.0~gitYYYYMMDDhhmmss.abc (the commit's time, so later builds sort later);
# -dirty becomes +dirty. DEB_VERSION overrides it.
# Depends: the packages owning the shared libraries the binaries link
# (libc6, libvirt0: the client library only, not libvirtd), and OVS, OVN's
# host part and iptables, which the daemon drives.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

strict=()
if [[ ${1:-} == --strict ]]; then
	strict=(--strict)
	shift
fi
[[ $# -eq 3 ]] || {
	echo "usage: $PROG [--strict] BIN OUTDIR VERSION" >&2
	exit 2
}
BIN=$1 OUT=$2 VERSION=$3
command -v dpkg-deb >/dev/null || die "dpkg-deb not found (Debian's dpkg)"

# debversion GIT-DESCRIBE: a Debian version (digits first, no '-').
debversion() {
	local v=${1#v} dirty=""
	if [[ $v == *-dirty ]]; then
		v=${v%-dirty}
		dirty=+dirty
	fi
	if [[ $v =~ ^[0-9]+\.[0-9] ]]; then
		if [[ $v =~ ^(.*)-([0-9]+)-g([0-9a-f]+)$ ]]; then
			v="${BASH_REMATCH[1]}+${BASH_REMATCH[2]}.g${BASH_REMATCH[3]}"
		fi
		v=${v//-/\~}
	else
		local when
		when=$(git -C "$HERE" log -1 --format=%cd --date=format:%Y%m%d%H%M%S 2>/dev/null || date -u +%Y%m%d%H%M%S)
		v="0.0~git$when.${v//-/.}"
	fi
	printf '%s%s\n' "$v" "$dirty"
}

version=${DEB_VERSION:-$(debversion "$VERSION")}
[[ $version =~ ^[0-9][A-Za-z0-9.+~]*$ ]] || die "bad Debian version $version (from $VERSION)"
arch=$(dpkg --print-architecture)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$work/root
"$HERE/stage.sh" "${strict[@]}" "$root" /usr "$BIN"

# Packages owning the libraries the binaries link directly (dpkg knows a
# path as the package shipped it: /lib or /usr/lib on a merged-/usr host).
owner() {
	local p
	for p in "$1" "/usr$1" "${1#/usr}"; do
		dpkg-query -S "$p" 2>/dev/null | sed -n '1s/:.*//p' | grep . && return 0
	done
	return 1
}
shlibdeps() {
	local f lib path
	for f in "$root"/usr/sbin/* "$root"/usr/bin/* "$root"/usr/lib/cni/* "$root"/usr/libexec/quantumnet/*; do
		for lib in $(readelf -d "$f" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
			path=$(ldconfig -p | awk -v l="$lib" '!found && $1 == l && /x86-64/ {print $NF; found = 1}')
			[[ -n $path ]] || die "$f links $lib, which ldconfig does not know"
			owner "$path" || die "no package owns $path ($lib)"
		done
	done
}
shlibdeps >"$work/libpkgs"
mapfile -t libpkgs < <(sort -u "$work/libpkgs")
[[ ${#libpkgs[@]} -gt 0 ]] || die "no shared library dependency found (readelf missing?)"
depends=$(printf '%s, ' "${libpkgs[@]}" openvswitch-switch ovn-host iptables)
depends=${depends%, }

mkdir -p "$root/DEBIAN"
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
cat >"$root/DEBIAN/control" <<CONTROL
Package: quantumnet
Version: $version
Architecture: $arch
Maintainer: QuantumNet developers <quantumnet@localhost>
Installed-Size: $size
Depends: $depends
Suggests: libvirt-daemon-system, containernetworking-plugins
Section: net
Priority: optional
Homepage: https://github.com/quantumnet/quantumnet
Description: OVN networking for containers and libvirt VMs
 QuantumNet puts containers (any CNI runtime: containerd, CRI-O, Podman,
 nerdctl) and libvirt VMs, on many hosts, onto the same OVN overlay
 networks, without Kubernetes or OpenStack: IP management, security groups,
 DHCP and DNS, routers and floating IPs, load balancers, live migration.
 .
 This package holds the per-host daemon quantumnetd (a systemd unit), the
 CNI plugin quantumnet, the libvirt qemu hook and the qnetctl CLI.
 libvirt's daemon is needed for VMs only.
CONTROL
(cd "$root" && find etc -type f | sed 's#^#/#' | sort) >"$root/DEBIAN/conffiles"
(cd "$root" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | sort -z | xargs -0 md5sum) >"$root/DEBIAN/md5sums"
install -m 0755 "$HERE/postinst" "$HERE/prerm" "$HERE/postrm" "$root/DEBIAN/"

mkdir -p "$OUT"
deb=$OUT/quantumnet_${version}_$arch.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
