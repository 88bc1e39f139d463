#!/usr/bin/env bash
# pki.sh — a certificate authority and certificates for OVSDB TLS, made by
# ovs-pki (Debian's openvswitch-common) in a directory of your choosing, as
# an OVN deployment makes them: a CN, no IP address (quantumnetd checks the
# chain against the CA as OVS does, not the host name).
#
#   scripts/pki.sh DIR NAME...   create DIR/pki (once) and, for each NAME,
#                                DIR/NAME-privkey.pem and DIR/NAME-cert.pem
#
# The CA certificate is DIR/pki/switchca/cacert.pem. Nothing is written
# outside DIR; keep DIR out of version control (it holds private keys).
set -euo pipefail
PROG=${0##*/}
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}
[[ $# -ge 2 ]] || die "usage: $PROG DIR NAME..."
command -v ovs-pki >/dev/null || die "ovs-pki is missing (apt-get install openvswitch-common)"
DIR=$1
shift
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
PKI=(ovs-pki "--dir=$DIR/pki" "--log=$DIR/ovs-pki.log")
if [[ ! -e $DIR/pki/switchca/cacert.pem ]]; then
	"${PKI[@]}" init >/dev/null || die "ovs-pki init failed (see $DIR/ovs-pki.log)"
fi
for name in "$@"; do
	[[ $name =~ ^[A-Za-z0-9_.-]+$ ]] || die "bad certificate name: $name"
	if [[ -e $DIR/$name-cert.pem ]]; then
		printf '%s: %s exists, kept\n' "$PROG" "$DIR/$name-cert.pem"
		continue
	fi
	(cd "$DIR" && "${PKI[@]}" req+sign "$name" switch >/dev/null) || die "ovs-pki req+sign $name failed"
	chmod 0600 "$DIR/$name-privkey.pem"
	printf 'key %s\ncert %s\n' "$DIR/$name-privkey.pem" "$DIR/$name-cert.pem"
done
printf 'ca %s\n' "$DIR/pki/switchca/cacert.pem"
