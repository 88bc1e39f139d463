#!/usr/bin/env bash
# stage.sh — lay out QuantumNet's installed files under a root directory: the
# one list of what is installed, shared by `make install` and `make deb`
# (which stages into a scratch root and packs it), so both install the same set.
#
#   scripts/package/stage.sh [--strict] ROOT PREFIX BIN
#
# ROOT is DESTDIR ("" or / for the live system), PREFIX the prefix (/usr for
# the package, /usr/local by default for make install), BIN the directory of
# the freshly built binaries. Paths outside PREFIX are fixed by what reads
# them: /etc/quantumnet (the daemon's and the qemu hook's default config),
# /etc/libvirt/hooks/qemu.d (libvirtd), /opt/cni/bin (containerd, CRI-O,
# nerdctl; Podman also reads PREFIX/lib/cni). An existing config is kept.
# The environment may move them (tests): SYSCONFDIR, CNI_LINK_DIR,
# LIBVIRT_HOOKS_DIR, UNIT_DIR (default PREFIX/lib/systemd/system).
#
# Shell completions and man pages come from the built qnetctl (`completion
# bash|zsh|fish`, `gen-man DIR`). A qnetctl without those commands is an
# error (QN_PKG_STRICT=0 makes it a warning and a tree without them, for a
# qnetctl of another build).
set -euo pipefail

PROG=${0##*/}
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)

strict=${QN_PKG_STRICT:-1}
if [[ ${1:-} == --strict ]]; then
	strict=1
	shift
fi
[[ $# -eq 3 ]] || {
	echo "usage: $PROG [--strict] ROOT PREFIX BIN" >&2
	exit 2
}
ROOT=${1%/}
PREFIX=$2
BIN=$3
SYSCONFDIR=${SYSCONFDIR:-/etc}
CNI_LINK_DIR=${CNI_LINK_DIR:-/opt/cni/bin}
LIBVIRT_HOOKS_DIR=${LIBVIRT_HOOKS_DIR:-/etc/libvirt/hooks}
UNIT_DIR=${UNIT_DIR:-$PREFIX/lib/systemd/system}

warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

for b in quantumnetd quantumnet qnetctl quantumnet-qemu-hook; do
	[[ -x $BIN/$b ]] || die "$BIN/$b missing (make build)"
done
[[ $PREFIX == /* ]] || die "PREFIX must be absolute: $PREFIX"

inst() { install -D -m "$1" "$2" "$ROOT$3"; }
link() { # link TARGET PATH: PATH -> TARGET (absolute, as installed)
	mkdir -p "$ROOT$(dirname "$2")"
	ln -sfn "$1" "$ROOT$2"
}

# Binaries. The CNI plugin lives where distribution plugins live and is
# linked from /opt/cni/bin; the qemu hook is a program, linked into libvirt's
# qemu.d (a file under /etc would be a conffile).
inst 0755 "$BIN/quantumnetd" "$PREFIX/sbin/quantumnetd"
inst 0755 "$BIN/qnetctl" "$PREFIX/bin/qnetctl"
inst 0755 "$BIN/quantumnet" "$PREFIX/lib/cni/quantumnet"
link "$PREFIX/lib/cni/quantumnet" "$CNI_LINK_DIR/quantumnet"
inst 0755 "$BIN/quantumnet-qemu-hook" "$PREFIX/libexec/quantumnet/quantumnet-qemu-hook"
link "$PREFIX/libexec/quantumnet/quantumnet-qemu-hook" "$LIBVIRT_HOOKS_DIR/qemu.d/quantumnet"

# The unit, its ExecStart following PREFIX and SYSCONFDIR.
mkdir -p "$ROOT$UNIT_DIR"
sed -e "s#/usr/sbin/quantumnetd#$PREFIX/sbin/quantumnetd#" -e "s# -config /etc/quantumnet/# -config $SYSCONFDIR/quantumnet/#" \
	"$HERE/quantumnetd.service" >"$ROOT$UNIT_DIR/quantumnetd.service"
chmod 0644 "$ROOT$UNIT_DIR/quantumnetd.service"

# The default config: the daemon's own commented example (every key with
# its default), so it cannot drift from the code.
cfg=$SYSCONFDIR/quantumnet/quantumnetd.toml
if [[ -e $ROOT$cfg ]]; then
	warn "$ROOT$cfg exists: kept (the default is quantumnetd -print-example-config)"
else
	mkdir -p "$ROOT$SYSCONFDIR/quantumnet"
	chmod 0755 "$ROOT$SYSCONFDIR/quantumnet"
	"$BIN/quantumnetd" -print-example-config >"$ROOT$cfg"
	chmod 0644 "$ROOT$cfg"
fi

doc=$PREFIX/share/doc/quantumnet
inst 0644 "$HERE/10-quantumnet.conflist" "$doc/examples/10-quantumnet.conflist"
inst 0644 "$REPO/README.md" "$doc/README.md"
if [[ -f $REPO/LICENSE ]]; then
	inst 0644 "$REPO/LICENSE" "$doc/copyright"
fi

# generated NAME OUT CMD...: run the built qnetctl, its stdout to OUT; a
# failure is a warning, or an error under --strict.
generated() {
	local what=$1 out=$2
	shift 2
	local err
	if err=$("$@" 2>&1 >"$out"); then
		return 0
	fi
	local msg="$what: '${*#"$BIN/"}' failed (qnetctl lacks the command?): ${err%%$'\n'*}"
	[[ $strict == 1 ]] && die "$msg"
	warn "$msg; staged without it"
	return 1
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
declare -A completion=(
	[bash]=$PREFIX/share/bash-completion/completions/qnetctl
	[zsh]=$PREFIX/share/zsh/vendor-completions/_qnetctl
	[fish]=$PREFIX/share/fish/vendor_completions.d/qnetctl.fish
)
for sh in bash zsh fish; do
	if generated "$sh completion" "$tmp/$sh" "$BIN/qnetctl" completion "$sh"; then
		[[ -s $tmp/$sh ]] || die "qnetctl completion $sh printed nothing"
		inst 0644 "$tmp/$sh" "${completion[$sh]}"
	fi
done
if generated "man pages" /dev/null "$BIN/qnetctl" gen-man "$tmp/man"; then
	shopt -s nullglob
	pages=("$tmp"/man/*.1)
	[[ ${#pages[@]} -gt 0 ]] || die "qnetctl gen-man wrote no *.1 page"
	for p in "${pages[@]}"; do
		gzip -9n <"$p" >"$p.gz"
		inst 0644 "$p.gz" "$PREFIX/share/man/man1/$(basename "$p").gz"
	done
fi
