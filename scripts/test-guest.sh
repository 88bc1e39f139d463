#!/usr/bin/env bash
# test-guest.sh — build a small Linux guest (kernel + initramfs) for tests
# that boot libvirt/QEMU VMs onto OVN networks.
#
# The kernel is Debian's cloud kernel (apt-get download, no install); the
# initramfs holds Debian's busybox (with its shared libraries), the virtio
# network modules and an /init that configures eth0 by DHCP (busybox udhcpc,
# answered by OVN native DHCP) and reports on the serial console. Nothing but
# Debian's apt repositories is contacted.
set -euo pipefail

PROG=${0##*/}
SELF=$(readlink -f -- "${BASH_SOURCE[0]}")
# One directory per version of this script (its first 12 hex digits of
# SHA-256): worktrees with different guests (say, one with a flag the other
# lacks) share the machine without rebuilding each other's guest.
DEFAULT_OUTDIR=/var/lib/quantumnet-test-guest/$(sha256sum "$SELF" | cut -c1-12)

# Modules for a virtio NIC, in load order. A module the kernel has built in
# is skipped; virtio_pci and virtio_net must be there in one form or another.
MODULES=(virtio_ring virtio virtio_pci_legacy_dev virtio_pci_modern_dev virtio_pci failover net_failover virtio_net evdev button)
REQUIRED_MODULES=(virtio_pci virtio_net)
KERNEL_META=linux-image-cloud-amd64
MAX_INITRD_BYTES=$((10 * 1024 * 1024))

usage() {
	cat <<EOF
Usage: $PROG build [--force] [OUTDIR]
       $PROG env [OUTDIR]

  build   build OUTDIR/vmlinuz and OUTDIR/initrd.img; does nothing when both
          exist and are newer than this script (--force: rebuild anyway)
  env     print export lines for eval: QN_GUEST_KERNEL, QN_GUEST_INITRD

OUTDIR defaults to \$QN_GUEST_DIR or $DEFAULT_OUTDIR.

Settings (environment):
  QN_GUEST_DIR         output directory (overridden by the OUTDIR argument)
  QN_GUEST_KERNEL_PKG  Debian kernel package to use (default: the one the
                       meta-package $KERNEL_META depends on)

The guest (boot it with <kernel>, <initrd> and e.g.
<cmdline>console=ttyS0 qnping=10.66.0.20</cmdline>, 128 MiB are enough):
  - loads the virtio network modules, brings up eth0, runs
    udhcpc -i eth0 -q -f -n -t 20 (OVN native DHCP answers it) and sets the
    address, default route and /etc/resolv.conf from the lease;
  - prints on the serial console, one line each (match 'QNGUEST .*' anywhere
    in a line: an interactive prompt or a kernel message may precede it):
      QNGUEST BOOT kernel=<release> up=<s>
      QNGUEST LINK eth0 mac=<mac> up=<s>
      QNGUEST IP=<addr>/<prefix> GW=<gateway or none> DNS=<servers or none> MTU=<mtu or none> DOMAIN=<domain or none>
      QNGUEST READY up=<s>             (lease configured)
      QNGUEST DHCP FAILED up=<s>       (no lease after 20 tries)
      QNGUEST ERROR <text>             (e.g. no eth0, insmod failed)
    up=<s> is the guest's uptime in seconds (/proc/uptime);
  - kernel command line qndhcp6=1 (needs ISC dhclient on the build host, as
    scripts/deps.sh installs it): after READY, gets the IPv6 address by
    DHCPv6 (dhclient -6) and waits for the default route of a router
    advertisement, then prints
      QNGUEST IP6=<addr or none> DNS6=<servers or none> RA=<default route or none> dhclient-tries=<n>
    (and QNGUEST DHCP6 FAILED <dhclient's last lines> when it got no lease)
  - kernel command line qnlookup=NAME[,NAME...]: after READY, resolves each
    NAME with nslookup (the lease's DNS server) every 0.5 s until it
    answers (at most 120 tries) and prints
      QNGUEST LOOKUP <name> OK <addresses> | FAIL
    (and, for the first two failed tries, QNGUEST LOOKUP <name> TRY <output>)
  - kernel command line qnping=IP[,IP...] (may repeat): after READY, pings
    each IP forever (ping -c 1 -W 1, then 0.2 s pause) and prints
      QNGUEST PING <ip> OK|FAIL seq=<n> up=<s>
  - kernel command line qntcp=PORT: after READY, a TCP server on PORT
    (busybox nc -ll -e, one process per connection) that answers every
    connection with one line and closes it:
      QNGUEST TCP host=<hostname> ip=<eth0's IPv4> up=<s>
    and prints QNGUEST TCP LISTEN port=<PORT> on the console;
  - reads commands from the serial console (virsh console, or the pty of a
    <serial type='pty'>): one per line, run by sh -c as root, no prompt,
    each followed by
      QNGUEST CMD rc=<exit status>
    (the tty echoes the input line to the console). With qnshell=1 on the
    kernel command line: an interactive busybox shell instead (its line
    editing writes escape sequences into the console log).
  Console lines end in CR LF. QEMU reads a pty only while its slave side is
  open, and notices that within about a second: keep it open before and
  after writing, e.g. (sleep 1.5; echo 'ip addr'; sleep 1) >"\$(virsh
  ttyconsole DOM)". A serial log file for the test to read:
    <serial type='pty'><log file='/path/console.log' append='off'/>
      <target port='0'/></serial>

Needs: apt-get (with Debian's lists; apt-get update is run once if the kernel
package is unknown), dpkg-deb, busybox, gzip; root for /dev/console in the
initramfs (without root the guest still works: /init reopens the console).
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

now_ms() { echo $(($(date +%s%N) / 1000000)); }

require_tools() {
	local c missing=()
	for c in apt-get apt-cache dpkg-deb busybox gzip ldd find sort flock; do
		command -v "$c" >/dev/null 2>&1 || missing+=("$c")
	done
	[[ ${#missing[@]} -eq 0 ]] || die "missing commands: ${missing[*]} (busybox: scripts/deps.sh; the others come with Debian)"
}

# kernel_package: print the kernel package to download.
kernel_package() {
	if [[ -n ${QN_GUEST_KERNEL_PKG:-} ]]; then
		echo "$QN_GUEST_KERNEL_PKG"
		return 0
	fi
	{ apt-cache depends "$KERNEL_META" 2>/dev/null |
		awk '$1 ~ /Depends:$/ && $2 ~ /^linux-image-.*-cloud-amd64$/ { print $2; exit }'; } || true
}

# apt_update_once: the package lists may be missing on a fresh machine.
APT_UPDATED=0
apt_update_once() {
	((APT_UPDATED == 0)) || return 1
	APT_UPDATED=1
	[[ $(id -u) -eq 0 ]] || return 1
	log "package lists do not know the kernel package; running apt-get update"
	DEBIAN_FRONTEND=noninteractive apt-get update >&2 || die "apt-get update failed"
}

# copy_libs BINARY ROOT: copy the shared libraries (and the ELF interpreter)
# BINARY needs into ROOT under the same paths.
copy_libs() {
	local bin=$1 root=$2 out line path
	if ! out=$(ldd "$bin" 2>&1); then
		# "not a dynamic executable": static, nothing to copy.
		[[ $out == *"not a dynamic executable"* || $out == *"statically linked"* ]] ||
			die "ldd $bin failed: $out"
		return 0
	fi
	[[ $out == *"statically linked"* ]] && return 0
	while IFS= read -r line; do
		path=
		if [[ $line =~ =\>\ (/[^ ]+) ]]; then
			path=${BASH_REMATCH[1]}
		elif [[ $line =~ ^[[:space:]]*(/[^ ]+)\ \( ]]; then
			path=${BASH_REMATCH[1]}
		elif [[ $line == *"=> not found"* ]]; then
			die "ldd $bin: a library is missing: $line"
		fi
		[[ -n $path ]] || continue
		mkdir -p "$root${path%/*}"
		cp -L -- "$path" "$root$path"
	done <<<"$out"
}

# install_module NAME MODDIR DEST: copy NAME's .ko (decompressed) to DEST;
# return 1 if the kernel package has no such module file.
install_module() {
	local name=$1 moddir=$2 dest=$3 f
	f=$(find "$moddir" -type f \( -name "$name.ko" -o -name "$name.ko.xz" -o -name "$name.ko.zst" -o -name "$name.ko.gz" \) -print -quit)
	[[ -n $f ]] || return 1
	case $f in
	*.ko) cp -- "$f" "$dest" ;;
	*.xz) xz -dc -- "$f" >"$dest" || die "cannot decompress $f (xz-utils installed?)" ;;
	*.zst) zstd -qdc -- "$f" >"$dest" || die "cannot decompress $f (zstd installed?)" ;;
	*.gz) gzip -dc -- "$f" >"$dest" || die "cannot decompress $f" ;;
	esac
}

# renumber_cpio FILE: make a newc archive independent of the build tree's
# inode numbers and device: entries get inodes 1, 2, ... and device 0:0
# (busybox cpio has no --reproducible). Perl is Essential in Debian.
renumber_cpio() {
	perl -e '
		use strict; use warnings;
		local $/; open(my $fh, "+<:raw", $ARGV[0]) or die "$ARGV[0]: $!\n";
		my $buf = <$fh>; my ($pos, $ino) = (0, 0);
		while (1) {
			my $h = substr($buf, $pos, 110);
			die "bad newc header at offset $pos\n" unless $h =~ /^070701/;
			my @f = map { hex } unpack("x6 (A8)13", $h);
			my ($size, $namesize) = @f[6, 11];
			my $name = substr($buf, $pos + 110, $namesize - 1);
			last if $name eq "TRAILER!!!";
			$f[0] = ++$ino; $f[7] = 0; $f[8] = 0;
			substr($buf, $pos, 110) = "070701" . join("", map { sprintf("%08X", $_) } @f);
			my $p = $pos + 110 + $namesize; $p += (4 - $p % 4) % 4;
			$p += $size; $p += (4 - $p % 4) % 4;
			$pos = $p;
		}
		seek($fh, 0, 0); print $fh $buf; close($fh) or die "$!\n";
	' "$1" || die "rewriting $1 failed"
}

write_init() {
	cat >"$1" <<'EOF'
#!/bin/sh
# /init of the QuantumNet test guest (busybox sh, PID 1: must never exit).
export PATH=/bin:/sbin:/usr/bin:/usr/sbin
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null || mount -t tmpfs tmpfs /dev
mkdir -p /dev/pts /run /tmp
mount -t devpts devpts /dev/pts 2>/dev/null
exec </dev/console >/dev/console 2>&1
# Keep kernel messages from splitting our console lines.
echo 1 >/proc/sys/kernel/printk
hostname qnguest

up() { read -r u _ </proc/uptime; echo "$u"; }
say() { echo "QNGUEST $*"; }

say "BOOT kernel=$(uname -r) up=$(up)"

for m in $(cat /etc/qn-modules); do
	insmod "/lib/modules/$m.ko" || say "ERROR insmod $m failed"
done

# virsh shutdown presses the ACPI power button: power off cleanly.
mkdir -p /etc/acpi/PWRF
printf '#!/bin/sh\necho "QNGUEST POWEROFF" >/dev/console\nsync\npoweroff -f\n' >/etc/acpi/PWRF/00000080
chmod +x /etc/acpi/PWRF/00000080
acpid -c /etc/acpi -l /dev/null 2>/dev/null || say "ERROR acpid failed"

targets=
lookups=
dhcp6=
tcpport=
for w in $(cat /proc/cmdline); do
	case $w in
	qnping=*) targets="$targets $(echo "${w#qnping=}" | tr ',' ' ')" ;;
	qnlookup=*) lookups="$lookups $(echo "${w#qnlookup=}" | tr ',' ' ')" ;;
	qndhcp6=1) dhcp6=1 ;;
	qntcp=*) tcpport=${w#qntcp=} ;;
	esac
done

lookup_loop() {
	n=0
	while [ $n -lt 120 ]; do
		n=$((n + 1))
		a=$(nslookup "$1" 2>/dev/null | awk '/^Name:/ { f = 1 } f && /^Address/ { printf "%s ", $2 }')
		if [ -n "$a" ]; then
			say "LOOKUP $1 OK $a"
			return
		fi
		[ $n -le 2 ] && say "LOOKUP $1 TRY $(nslookup "$1" 2>&1 | tr '\n' '|' | cut -c1-300)"
		sleep 0.5
	done
	say "LOOKUP $1 FAIL"
}

ping_loop() {
	n=0
	while :; do
		n=$((n + 1))
		if ping -c 1 -W 1 "$1" >/dev/null 2>&1; then r=OK; else r=FAIL; fi
		say "PING $1 $r seq=$n up=$(up)"
		sleep 0.2
	done
}

ip link set lo up
i=0
while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ ! -e /sys/class/net/eth0 ]; then
	say "ERROR no eth0 up=$(up)"
else
	# Addresses are unique by OVN's port security: no duplicate address
	# detection holding up the link-local address DHCPv6 needs.
	echo 0 >/proc/sys/net/ipv6/conf/eth0/accept_dad 2>/dev/null
	ip link set eth0 up
	say "LINK eth0 mac=$(cat /sys/class/net/eth0/address) up=$(up)"
	if udhcpc -i eth0 -q -f -n -t 20 -s /etc/udhcpc.script && [ -r /run/qn-lease ]; then
		. /run/qn-lease
		say "IP=$IP GW=$GW DNS=$DNS MTU=$MTU DOMAIN=$DOMAIN"
		say "READY up=$(up)"
		for t in $targets; do
			ping_loop "$t" &
		done
		if [ -n "$tcpport" ]; then
			nc -ll -p "$tcpport" -e /bin/qn-tcp-answer &
			say "TCP LISTEN port=$tcpport"
		fi
		if [ -n "$dhcp6" ]; then
			if command -v dhclient >/dev/null; then
				# Until the link-local address is usable dhclient cannot bind
				# its socket: it fails at once; try again a second later.
				for try in 1 2 3 4 5 6 7 8 9 10; do
					dhclient -6 -1 -v -sf /etc/dhclient6.script -cf /etc/dhclient.conf -lf /run/dhclient6.leases \
						-pf /run/dhclient6.pid eth0 >/run/dhclient6.log 2>&1 && break
					sleep 1
				done
				i=0
				until ip -6 route show default | grep -q 'via fe80::' || [ $i -ge 100 ]; do
					sleep 0.1
					i=$((i + 1))
				done
				[ -r /run/qn-lease6 ] && . /run/qn-lease6
				ra=$(ip -6 route show default | grep 'via fe80::' | awk '{ print $1, $2, $3 }')
				say "IP6=${IP6:-none} DNS6=${DNS6:-none} RA=${ra:-none} dhclient-tries=$try"
				[ -n "$IP6" ] || say "DHCP6 FAILED $(tail -3 /run/dhclient6.log | tr '\n' '|')"
			else
				say "ERROR qndhcp6=1 but the guest has no dhclient"
			fi
		fi
		for l in $lookups; do
			lookup_loop "$l" &
		done
	else
		say "DHCP FAILED up=$(up)"
	fi
fi

# The serial console takes commands: by default one command per line, no
# prompt and no line editing (which would write escape sequences into the
# console log), each followed by "QNGUEST CMD rc=<exit code>"; with qnshell=1
# on the kernel command line an interactive shell instead.
export PS1='qnguest# '
case " $(cat /proc/cmdline) " in
*" qnshell=1 "*)
	while :; do
		setsid cttyhack sh
		sleep 1
	done
	;;
esac
while :; do
	setsid cttyhack sh -c 'while IFS= read -r line; do
		[ -n "$line" ] || continue
		sh -c "$line"
		echo "QNGUEST CMD rc=$?"
	done'
	sleep 1
done
EOF
	chmod 0755 "$1"
}

write_udhcpc_script() {
	cat >"$1" <<'EOF'
#!/bin/sh
# udhcpc event script of the QuantumNet test guest: $1 is the event; the lease
# comes in $interface $ip $mask (prefix length) $router $dns $domain $mtu.
case $1 in
deconfig)
	ip -4 addr flush dev "$interface"
	ip link set "$interface" up
	;;
bound | renew)
	[ "$1" = bound ] && ip -4 addr flush dev "$interface"
	ip addr replace "$ip/${mask:-32}" dev "$interface"
	[ -n "$mtu" ] && ip link set "$interface" mtu "$mtu"
	while ip route del default dev "$interface" 2>/dev/null; do :; done
	gw=
	for r in $router; do
		if ip route add default via "$r" dev "$interface"; then
			gw=$r
			break
		fi
	done
	: >/etc/resolv.conf
	[ -n "$domain" ] && echo "search $domain" >>/etc/resolv.conf
	for d in $dns; do echo "nameserver $d" >>/etc/resolv.conf; done
	dnslist=$(echo $dns | tr ' ' ',')
	printf 'IP=%s\nGW=%s\nDNS=%s\nMTU=%s\nDOMAIN=%s\n' "$ip/${mask:-32}" "${gw:-none}" "${dnslist:-none}" "${mtu:-none}" "${domain:-none}" >/run/qn-lease
	;;
leasefail | nak)
	echo "udhcpc: $1 ${message:-}"
	;;
esac
exit 0
EOF
	chmod 0755 "$1"
}

# up_to_date OUTDIR: both outputs exist and are newer than this script.
up_to_date() {
	local d=$1
	[[ -s $d/vmlinuz && -s $d/initrd.img && $d/vmlinuz -nt $SELF && $d/initrd.img -nt $SELF ]] || return 1
	# An explicitly requested kernel package must be the one built.
	if [[ -n ${QN_GUEST_KERNEL_PKG:-} ]]; then
		[[ $(cat "$d/kernel-package" 2>/dev/null) == "$QN_GUEST_KERNEL_PKG "* ]] || return 1
	fi
	return 0
}

WORK=
cleanup() {
	if [[ -n $WORK && -d $WORK ]]; then
		rm -rf -- "$WORK"
	fi
}

cmd_build() {
	local force=0 outdir=
	while [[ $# -gt 0 ]]; do
		case $1 in
		--force) force=1 ;;
		-*)
			usage >&2
			die "unknown option: $1"
			;;
		*)
			[[ -z $outdir ]] || die "more than one OUTDIR given"
			outdir=$1
			;;
		esac
		shift
	done
	outdir=${outdir:-${QN_GUEST_DIR:-$DEFAULT_OUTDIR}}
	[[ $outdir == /* ]] || outdir=$PWD/$outdir
	outdir=${outdir%/}
	[[ -n $outdir ]] || die "OUTDIR must not be /"

	if ((force == 0)) && up_to_date "$outdir"; then
		log "up to date: $outdir/vmlinuz $outdir/initrd.img ($(cat "$outdir/kernel-package" 2>/dev/null || echo 'kernel package unknown'))"
		return 0
	fi
	require_tools
	mkdir -p -- "$outdir" || die "cannot create $outdir (run as root or pass a writable OUTDIR)"
	[[ -w $outdir ]] || die "$outdir is not writable (run as root or pass a writable OUTDIR)"

	# One build at a time per OUTDIR; a waiting second build finds the
	# result up to date.
	exec {lockfd}>"$outdir/.lock"
	flock "$lockfd"
	if ((force == 0)) && up_to_date "$outdir"; then
		log "up to date: $outdir/vmlinuz $outdir/initrd.img (built meanwhile)"
		return 0
	fi

	umask 022
	local t0 pkg
	t0=$(now_ms)
	pkg=$(kernel_package)
	if [[ -z $pkg ]] || ! apt-cache show "$pkg" >/dev/null 2>&1; then
		apt_update_once || true
		pkg=$(kernel_package)
	fi
	[[ -n $pkg ]] || die "cannot find the kernel package: apt-cache depends $KERNEL_META names no linux-image-*-cloud-amd64 (apt-get update? or set QN_GUEST_KERNEL_PKG)"
	apt-cache show "$pkg" >/dev/null 2>&1 || die "apt does not know package $pkg (apt-get update? or set QN_GUEST_KERNEL_PKG)"

	WORK=$(mktemp -d "${TMPDIR:-/tmp}/qn-test-guest.XXXXXX")
	trap cleanup EXIT
	local dl=$WORK/download kx=$WORK/kernel root=$WORK/initramfs
	mkdir -p "$dl" "$kx" "$root"
	log "downloading $pkg"
	local apt_opts=()
	# As root apt drops to the _apt user for downloads, which cannot write
	# into our private temporary directory.
	[[ $(id -u) -ne 0 ]] || apt_opts=(-o APT::Sandbox::User=root)
	(cd "$dl" && apt-get "${apt_opts[@]}" download "$pkg") >"$WORK/apt.log" 2>&1 ||
		{
			cat "$WORK/apt.log" >&2
			die "apt-get download $pkg failed"
		}
	local deb
	deb=$(find "$dl" -maxdepth 1 -name '*.deb' -print -quit)
	[[ -n $deb ]] || die "apt-get download $pkg produced no .deb"
	local pkgver
	pkgver=$(dpkg-deb -f "$deb" Version)
	dpkg-deb -x "$deb" "$kx" || die "dpkg-deb -x $deb failed"

	local vmlinuz kver moddir config
	vmlinuz=$(find "$kx/boot" -maxdepth 1 -name 'vmlinuz-*' -print -quit 2>/dev/null) || true
	[[ -n $vmlinuz ]] || die "$pkg has no /boot/vmlinuz-*"
	kver=${vmlinuz##*/vmlinuz-}
	moddir=
	local d
	for d in "$kx/lib/modules/$kver" "$kx/usr/lib/modules/$kver"; do
		[[ -d $d ]] && moddir=$d && break
	done
	[[ -n $moddir ]] || die "$pkg has no lib/modules/$kver"
	config=$kx/boot/config-$kver
	if [[ -r $config ]]; then
		local opt
		for opt in CONFIG_BLK_DEV_INITRD CONFIG_RD_GZIP CONFIG_SERIAL_8250_CONSOLE CONFIG_PACKET CONFIG_DEVTMPFS; do
			grep -qx "$opt=y" "$config" || die "kernel $kver lacks $opt=y, the test guest needs it"
		done
	fi

	# ---- initramfs tree
	mkdir -p "$root"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,run,tmp,etc,root,lib/modules}
	cp -- "$(readlink -f "$(command -v busybox)")" "$root/bin/busybox"
	chmod 0755 "$root/bin/busybox"
	copy_libs "$root/bin/busybox" "$root"
	local applet
	while IFS= read -r applet; do
		# Skip bin/busybox itself and linuxrc (no directory: we have /init).
		[[ $applet == */* && $applet != bin/busybox ]] || continue
		mkdir -p "$root/${applet%/*}"
		ln -sf /bin/busybox "$root/$applet"
	done < <("$root/bin/busybox" --list-full)
	for applet in sh insmod ip udhcpc ping setsid cttyhack cpio acpid poweroff nslookup awk nc; do
		[[ -L $root/bin/$applet || -L $root/sbin/$applet || -L $root/usr/bin/$applet || -L $root/usr/sbin/$applet ]] ||
			die "busybox lacks the applet $applet"
	done

	local m loaded=() builtin=() missing=()
	for m in "${MODULES[@]}"; do
		if install_module "$m" "$moddir" "$root/lib/modules/$m.ko"; then
			loaded+=("$m")
		elif grep -q "/$m\.ko$" "$moddir/modules.builtin" 2>/dev/null; then
			builtin+=("$m")
		else
			missing+=("$m")
		fi
	done
	for m in "${REQUIRED_MODULES[@]}"; do
		[[ " ${missing[*]} " != *" $m "* ]] || die "kernel $kver has $m neither as a module nor built in"
	done
	[[ ${#missing[@]} -eq 0 ]] || warn "kernel $kver has neither a module nor a built-in for: ${missing[*]} (skipped)"
	# Each module's dependencies must be built in or loaded before it.
	if command -v modinfo >/dev/null 2>&1; then
		local i j dep deps ok
		for ((i = 0; i < ${#loaded[@]}; i++)); do
			deps=$(modinfo -F depends "$root/lib/modules/${loaded[i]}.ko" 2>/dev/null) || continue
			for dep in ${deps//,/ }; do
				ok=0
				for ((j = 0; j < i; j++)); do [[ ${loaded[j]} == "$dep" ]] && ok=1; done
				[[ " ${builtin[*]} " == *" $dep "* ]] && ok=1
				grep -q "/$dep\.ko$" "$moddir/modules.builtin" 2>/dev/null && ok=1
				((ok == 1)) || die "module ${loaded[i]} of kernel $kver needs $dep, which is not loaded before it"
			done
		done
	fi
	printf '%s\n' "${loaded[@]}" >"$root/etc/qn-modules"

	write_init "$root/init"
	write_udhcpc_script "$root/etc/udhcpc.script"
	# qntcp=PORT's answer: one line per connection.
	cat >"$root/bin/qn-tcp-answer" <<'EOFTCP'
#!/bin/sh
read -r u _ </proc/uptime
a=$(ip -4 -o addr show dev eth0 | awk '{ print $4 }')
echo "QNGUEST TCP host=$(hostname) ip=${a%/*} up=$u"
EOFTCP
	chmod 0755 "$root/bin/qn-tcp-answer"
	if command -v dhclient >/dev/null 2>&1; then
		mkdir -p "$root/sbin"
		cp -- "$(command -v dhclient)" "$root/sbin/dhclient"
		copy_libs "$root/sbin/dhclient" "$root"
		printf 'request dhcp6.name-servers, dhcp6.domain-search;\n' >"$root/etc/dhclient.conf"
		cat >"$root/etc/dhclient6.script" <<'EOF6'
#!/bin/sh
# dhclient -6 script of the QuantumNet test guest.
case $reason in
BOUND6 | RENEW6 | REBIND6)
	[ -n "$new_ip6_address" ] && ip -6 addr replace "$new_ip6_address/${new_ip6_prefixlen:-128}" dev "$interface"
	printf 'IP6=%s\nDNS6=%s\n' "${new_ip6_address:-none}" "$(echo ${new_dhcp6_name_servers:-none} | tr ' ' ',')" >/run/qn-lease6
	;;
esac
exit 0
EOF6
		chmod 0755 "$root/etc/dhclient6.script"
	else
		warn "dhclient not found: the guest cannot do DHCPv6 (qndhcp6=1)"
	fi
	mkdir -p "$root/etc/udhcpc"
	ln -sf /etc/udhcpc.script "$root/etc/udhcpc/default.script"
	printf 'root:x:0:0:root:/root:/bin/sh\n' >"$root/etc/passwd"
	printf 'root:x:0:\n' >"$root/etc/group"
	: >"$root/etc/resolv.conf"
	if [[ $(id -u) -eq 0 ]]; then
		mknod -m 0600 "$root/dev/console" c 5 1
		mknod -m 0666 "$root/dev/null" c 1 3
	fi

	# Reproducible archive: sorted names, fixed mtimes, gzip without name/time.
	find "$root" -exec touch -h -d @1 {} +
	(cd "$root" && find . -mindepth 1 -printf '%P\n' | LC_ALL=C sort |
		busybox cpio -o -H newc 2>"$WORK/cpio.log") >"$WORK/initrd.cpio" ||
		die "busybox cpio failed: $(cat "$WORK/cpio.log")"
	renumber_cpio "$WORK/initrd.cpio"
	gzip -n -9 <"$WORK/initrd.cpio" >"$WORK/initrd.img"
	local size
	size=$(stat -c %s "$WORK/initrd.img")
	((size < MAX_INITRD_BYTES)) || die "initramfs is $size bytes, more than $MAX_INITRD_BYTES"

	cp -- "$vmlinuz" "$outdir/vmlinuz.tmp"
	cp -- "$WORK/initrd.img" "$outdir/initrd.img.tmp"
	printf '%s %s %s\n' "$pkg" "$pkgver" "$kver" >"$outdir/kernel-package.tmp"
	mv -f -- "$outdir/vmlinuz.tmp" "$outdir/vmlinuz"
	mv -f -- "$outdir/initrd.img.tmp" "$outdir/initrd.img"
	mv -f -- "$outdir/kernel-package.tmp" "$outdir/kernel-package"
	log "kernel $pkg $pkgver ($kver); modules: ${loaded[*]:-none}${builtin[*]:+; built in: ${builtin[*]}}"
	log "built $outdir/vmlinuz ($(stat -c %s "$outdir/vmlinuz") bytes) and $outdir/initrd.img ($size bytes) in $(($(now_ms) - t0)) ms"
}

cmd_env() {
	[[ $# -le 1 ]] || die "env takes at most one OUTDIR"
	local outdir=${1:-${QN_GUEST_DIR:-$DEFAULT_OUTDIR}}
	[[ $outdir == /* ]] || outdir=$PWD/$outdir
	outdir=${outdir%/}
	[[ -s $outdir/vmlinuz && -s $outdir/initrd.img ]] || die "no guest in $outdir: run $PROG build${1:+ $1}"
	printf 'export QN_GUEST_KERNEL=%q\n' "$outdir/vmlinuz"
	printf 'export QN_GUEST_INITRD=%q\n' "$outdir/initrd.img"
}

[[ $# -ge 1 ]] || {
	usage >&2
	exit 2
}
verb=$1
shift
case $verb in
build) cmd_build "$@" ;;
env) cmd_env "$@" ;;
-h | --help | help) usage ;;
*)
	usage >&2
	die "unknown command: $verb"
	;;
esac
