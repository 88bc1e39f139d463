#!/usr/bin/env bash
# libvirt-sandbox.sh — run libvirtd (QEMU driver, TCG) without systemd for
# QuantumNet's tests, wired to the OVS of the OVN sandbox (scripts/sandbox.sh).
#
# libvirt adds a VM's tap to br-int by running ovs-vsctl itself; ovs-vsctl
# finds the database at $OVS_RUNDIR/db.sock, so libvirtd is started with the
# sandbox's OVS_RUNDIR (and the other OVS_* directories) in its environment.
#
# It only ever stops the virtlogd/libvirtd it started itself (pid files in its
# run directory); a libvirtd that was already running is used as it is.
set -euo pipefail

PROG=${0##*/}
HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)

usage() {
	cat <<EOF
Usage: $PROG {up|down|status|env|reload}

  up      install libvirt if missing (scripts/deps.sh --with-libvirt), make
          sure the libvirt-qemu user and the libvirt-qemu and kvm groups
          exist, configure $QEMU_CONF for running QEMU as
          root without cgroups or a security driver (original backed up
          once to $QEMU_CONF_BACKUP), start virtlogd and libvirtd (unless running)
          and wait until qemu:///system answers. If a libvirtd that this
          script did not start is running, it is left alone: up exits 0 if
          it answers, 1 if not.
  down    destroy and undefine the domains named qn-test-*, then stop the
          libvirtd and virtlogd this script started, and remove the run dir.
          Never touches a libvirtd (nor its domains) it did not start.
  status  one line per daemon; exit 0 if qemu:///system answers, 3 otherwise
  env     print export lines for eval: eval "\$($PROG env)"
  reload  send SIGHUP to the libvirtd this script started (needed after a
          hook script was added under /etc/libvirt/hooks: libvirtd only
          looks for hooks at start and on SIGHUP)

Settings (environment):
  QN_LIBVIRT_DIR         run directory: pid files and logs
                         (default /tmp/quantumnet-libvirt, now: $DIR)
  QN_LIBVIRT_OVS_RUNDIR  OVS_RUNDIR given to libvirtd, where its ovs-vsctl
                         finds db.sock (default: the OVN sandbox's, from
                         scripts/sandbox.sh env, i.e. \$QN_SANDBOX_DIR or
                         /tmp/quantumnet-sandbox; now: ${OVS_DIR:-?})
  QN_LIBVIRT_TIMEOUT     seconds to wait for libvirtd to answer (default 30)

URI: qemu:///system (socket /run/libvirt/libvirt-sock). Needs root.
Domains: <domain type='qemu'> (TCG, no KVM); an OVN port is
  <interface type='bridge'><source bridge='br-int'/>
    <virtualport type='openvswitch'><parameters interfaceid='LSP'/></virtualport>
    <mac address='...'/><model type='virtio'/><driver name='qemu'><host csum='off'/></driver></interface>
  where LSP, the logical switch port's name, must be a UUID (libvirt: "XML
  error: cannot parse interfaceid parameter as a uuid"). libvirt then runs
  ovs-vsctl --timeout=5 -- --may-exist add-port br-int vnetN -- set Interface
  vnetN external-ids:iface-id=LSP (also attached-mac, vm-id, iface-status),
  which needs the sandbox up: else "Unable to add port vnetN to OVS bridge
  br-int". Logs: \$QN_LIBVIRT_DIR/libvirtd.log, /var/log/libvirt/qemu/DOM.log.
EOF
}

log() { printf '%s: %s\n' "$PROG" "$*"; }
warn() { printf '%s: warning: %s\n' "$PROG" "$*" >&2; }
die() {
	printf '%s: error: %s\n' "$PROG" "$*" >&2
	exit 1
}

# ---------------------------------------------------------------- settings
DIR=${QN_LIBVIRT_DIR:-/tmp/quantumnet-libvirt}
[[ -n $DIR ]] || die "QN_LIBVIRT_DIR is empty"
[[ $DIR == /* ]] || DIR=$PWD/$DIR
DIR=${DIR%/}
[[ -n $DIR && $DIR != / ]] || die "QN_LIBVIRT_DIR must not be /"
TIMEOUT=${QN_LIBVIRT_TIMEOUT:-30}
[[ $TIMEOUT =~ ^[0-9]+$ ]] || die "QN_LIBVIRT_TIMEOUT must be a number of seconds, got: $TIMEOUT"

URI=qemu:///system
MARKER=$DIR/.quantumnet-libvirt
QEMU_CONF=/etc/libvirt/qemu.conf
QEMU_CONF_BACKUP=$QEMU_CONF.qn-orig
BLOCK_BEGIN='# >>> QuantumNet scripts/libvirt-sandbox.sh: do not edit inside this block'
BLOCK_END='# <<< QuantumNet scripts/libvirt-sandbox.sh'
# Settings for QEMU as root, no cgroups (no systemd/cgroup delegation here),
# no SELinux/AppArmor driver.
QEMU_SETTINGS=(
	'user = "root"'
	'group = "root"'
	'dynamic_ownership = 0'
	'remember_owner = 0'
	'security_driver = "none"'
	'cgroup_controllers = [ ]'
)
PATH=$PATH:/usr/sbin:/sbin
DOMAIN_PREFIX=qn-test-

# ovs_rundir: the OVS_RUNDIR for libvirtd.
ovs_rundir() {
	if [[ -n ${QN_LIBVIRT_OVS_RUNDIR:-} ]]; then
		echo "$QN_LIBVIRT_OVS_RUNDIR"
	elif [[ -x $HERE/sandbox.sh ]]; then
		# sandbox.sh env prints only export lines (quoted with %q).
		(
			eval "$("$HERE/sandbox.sh" env)"
			echo "$OVS_RUNDIR"
		)
	else
		echo "${QN_SANDBOX_DIR:-/tmp/quantumnet-sandbox}"
	fi
}
OVS_DIR=$(ovs_rundir) || die "cannot determine the sandbox's OVS_RUNDIR (scripts/sandbox.sh env failed)"
[[ -n $OVS_DIR ]] || die "empty OVS_RUNDIR for libvirtd"

now_ms() { echo $(($(date +%s%N) / 1000000)); }

# running_pid NAME: the pid of NAME (libvirtd|virtlogd) if it runs and this
# script started it (its command line names our pid file); else return 1.
running_pid() {
	local name=$1 pidfile=$DIR/$1.pid pid cmdline
	# Not $(<file): bash 5.2 with set -e exits the whole script when that
	# file vanishes (libvirtd deletes its pid file while shutting down).
	pid=$(cat -- "$pidfile" 2>/dev/null) || return 1
	pid=${pid//[[:space:]]/}
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ " $cmdline " == *" $pidfile "* ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$name" ]] || return 1
	echo "$pid"
}

# alive PID NAME: process PID still exists as NAME and is not a zombie.
# (libvirtd removes its pid file early in its shutdown, so the pid file
# cannot tell whether it has exited.)
alive() {
	local stat
	[[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

# foreign_pids NAME: pids of NAME processes this script did not start.
# A daemon whose /run/libvirt is another directory (a private mount, as the
# per-host libvirtds of scripts/twohost.sh have) does not own qemu:///system
# here and does not count.
foreign_pids() {
	local name=$1 ours pid out=() here there
	ours=$(running_pid "$name") || ours=
	here=$(stat -L -c %d:%i /run/libvirt 2>/dev/null) || here=
	for pid in $(pgrep -x "$name" || true); do
		# Zombies (pid 1 may be slow to reap them) do not count.
		if [[ $pid == "$ours" ]] || ! alive "$pid" "$name"; then
			continue
		fi
		there=$(stat -L -c %d:%i "/proc/$pid/root/run/libvirt" 2>/dev/null) || there=
		[[ -n $here && -n $there && $here != "$there" ]] && continue
		out+=("$pid")
	done
	echo "${out[*]}"
}

virsh_ok() { timeout 10 virsh -c "$URI" version >/dev/null 2>&1; }

# env_of PID VAR: VAR from the environment of process PID (empty if unset).
env_of() {
	{ tr '\0' '\n' 2>/dev/null <"/proc/$1/environ" | sed -n "s/^$2=//p" | head -n 1; } || true
}

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

require_root() {
	[[ $(id -u) -eq 0 ]] || die "must run as root (libvirtd runs QEMU as root, creates taps)"
}

have_commands() {
	local c
	for c in libvirtd virtlogd virsh qemu-system-x86_64 ovs-vsctl; do
		command -v "$c" >/dev/null 2>&1 || return 1
	done
}

ensure_packages() {
	have_commands && return 0
	log "libvirt/QEMU commands missing: running scripts/deps.sh --with-libvirt"
	[[ -x $HERE/deps.sh ]] || die "scripts/deps.sh not found next to $PROG"
	# deps.sh also insists on a Go toolchain; what matters here is that the
	# packages got installed.
	"$HERE/deps.sh" --with-libvirt || warn "scripts/deps.sh --with-libvirt failed (checking the commands anyway)"
	have_commands || die "still missing one of: libvirtd virtlogd virsh qemu-system-x86_64 ovs-vsctl (see the output of scripts/deps.sh --with-libvirt)"
}

# libvirt's QEMU driver resolves its built-in default user and group (Debian:
# libvirt-qemu, libvirt-qemu) at start, before qemu.conf's user = "root" is
# applied ("Failed to parse user 'libvirt-qemu'", then "... group ..."); the
# package that would create them (libvirt-daemon-system) wants systemd.
ensure_accounts() {
	local g
	for g in kvm libvirt-qemu; do
		if ! getent group "$g" >/dev/null; then
			groupadd --system "$g" || die "groupadd --system $g failed"
			log "created group $g"
		fi
	done
	if ! getent passwd libvirt-qemu >/dev/null; then
		useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt --no-create-home \
			--shell /usr/sbin/nologin --comment "Libvirt Qemu" libvirt-qemu ||
			die "useradd libvirt-qemu failed"
		log "created user libvirt-qemu"
	fi
}

# ensure_qemu_conf: our settings in a marked block at the end of qemu.conf,
# uncommented earlier settings of the same keys removed. Prints "changed"
# when the file was rewritten.
ensure_qemu_conf() {
	mkdir -p "${QEMU_CONF%/*}"
	if [[ -e $QEMU_CONF && ! -e $QEMU_CONF_BACKUP ]] && ! grep -qxF "$BLOCK_BEGIN" "$QEMU_CONF"; then
		cp -p -- "$QEMU_CONF" "$QEMU_CONF_BACKUP" || die "cannot back up $QEMU_CONF"
		log "backed up $QEMU_CONF to $QEMU_CONF_BACKUP" >&2
	fi
	local tmp=$QEMU_CONF.qn-tmp
	{
		if [[ -e $QEMU_CONF ]]; then
			awk -v begin="$BLOCK_BEGIN" -v end="$BLOCK_END" '
				$0 == begin { inblock = 1; next }
				$0 == end { inblock = 0; next }
				inblock { next }
				# A multi-line list value of a key we set: skip to its "]".
				inlist { if ($0 ~ /\]/) inlist = 0; next }
				/^[ \t]*(user|group|dynamic_ownership|remember_owner|security_driver|cgroup_controllers)[ \t]*=/ {
					if ($0 ~ /\[/ && $0 !~ /\]/) inlist = 1
					next
				}
				{ print }
			' "$QEMU_CONF"
		else
			printf '# libvirt QEMU driver configuration (created by QuantumNet scripts/libvirt-sandbox.sh)\n'
		fi
		printf '%s\n' "$BLOCK_BEGIN" "${QEMU_SETTINGS[@]}" "$BLOCK_END"
	} >"$tmp" || die "cannot write $tmp"
	if [[ -e $QEMU_CONF ]] && cmp -s "$tmp" "$QEMU_CONF"; then
		rm -f -- "$tmp"
		return 0
	fi
	chmod 0644 "$tmp"
	mv -f -- "$tmp" "$QEMU_CONF" || die "cannot replace $QEMU_CONF"
	log "wrote QuantumNet settings into $QEMU_CONF" >&2
	echo changed
}

ensure_dirs() {
	mkdir -p /run/libvirt /var/log/libvirt/qemu /var/lib/libvirt/qemu /var/cache/libvirt/qemu /etc/libvirt/hooks ||
		die "cannot create libvirt's directories"
}

# start_daemon NAME: start virtlogd or libvirtd with a clean environment.
start_daemon() {
	local name=$1 pidfile=$DIR/$1.pid out pid
	local envv=(PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LC_ALL=C
		"LIBVIRT_LOG_OUTPUTS=3:file:$DIR/$name.log")
	if [[ $name == libvirtd ]]; then
		envv+=("OVS_RUNDIR=$OVS_DIR" "OVS_DBDIR=$OVS_DIR" "OVS_LOGDIR=$OVS_DIR" "OVS_SYSCONFDIR=$OVS_DIR")
	fi
	rm -f -- "$pidfile"
	if ! out=$(env -i "${envv[@]}" "$name" -d -p "$pidfile" 2>&1); then
		printf '%s: error: starting %s failed: %s\n' "$PROG" "$name" "$out" >&2
		tail_log "$name"
		exit 1
	fi
	local i
	for ((i = 0; i < 50; i++)); do
		pid=$(running_pid "$name") && break
		sleep 0.1
	done
	[[ -n ${pid:-} ]] || {
		printf '%s: error: %s did not stay up (no live pid in %s)\n' "$PROG" "$name" "$pidfile" >&2
		tail_log "$name"
		exit 1
	}
	log "started $name (pid $pid)"
}

cmd_up() {
	require_root
	local pid foreign
	if pid=$(running_pid libvirtd); then
		virsh_ok || {
			tail_log libvirtd
			die "libvirtd (pid $pid, started by $PROG) runs but $URI does not answer"
		}
		local have
		have=$(env_of "$pid" OVS_RUNDIR)
		[[ $have == "$OVS_DIR" ]] ||
			warn "libvirtd (pid $pid) has OVS_RUNDIR=${have:-unset}, not $OVS_DIR: run $PROG down, then up"
		log "up: already running (libvirtd pid $pid, OVS_RUNDIR=${have:-unset})"
		return 0
	fi
	foreign=$(foreign_pids libvirtd)
	if [[ -n $foreign ]] || { [[ -S /run/libvirt/libvirt-sock ]] && virsh_ok; }; then
		log "a libvirtd not started by $PROG is running (pid ${foreign:-unknown}); leaving it alone"
		if ! virsh_ok; then
			die "that libvirtd does not answer on $URI"
		fi
		local p have
		for p in $foreign; do
			have=$(env_of "$p" OVS_RUNDIR)
			[[ $have == "$OVS_DIR" ]] ||
				warn "libvirtd pid $p has OVS_RUNDIR=${have:-unset}: its ovs-vsctl calls will not reach $OVS_DIR/db.sock"
		done
		log "up: using it ($URI answers)"
		return 0
	fi

	ensure_packages
	ensure_accounts
	ensure_dirs
	ensure_qemu_conf >/dev/null
	if [[ -e $DIR && ! -e $MARKER && -n $(ls -A "$DIR" 2>/dev/null) ]]; then
		die "$DIR exists, is not empty and is not a run dir of $PROG (no $MARKER); choose another QN_LIBVIRT_DIR"
	fi
	mkdir -p "$DIR"
	: >"$MARKER"
	[[ -S $OVS_DIR/db.sock ]] ||
		warn "no OVS database socket at $OVS_DIR/db.sock yet: libvirt cannot plug VMs into br-int until scripts/sandbox.sh up"

	local t0
	t0=$(now_ms)
	if pid=$(running_pid virtlogd); then
		log "virtlogd already running (pid $pid)"
	elif foreign=$(foreign_pids virtlogd) && [[ -n $foreign ]]; then
		log "using the virtlogd not started by $PROG (pid $foreign)"
	else
		start_daemon virtlogd
	fi
	start_daemon libvirtd
	echo "$OVS_DIR" >"$DIR/ovs-rundir"
	local deadline=$(($(now_ms) + TIMEOUT * 1000))
	until virsh_ok; do
		running_pid libvirtd >/dev/null || {
			printf '%s: error: libvirtd died while starting\n' "$PROG" >&2
			tail_log libvirtd 30
			exit 1
		}
		if (($(now_ms) >= deadline)); then
			tail_log libvirtd 30
			die "$URI did not answer within ${TIMEOUT}s"
		fi
		sleep 0.2
	done
	log "up: $URI answers after $(($(now_ms) - t0)) ms (libvirtd OVS_RUNDIR=$OVS_DIR)"
	log "use: eval \"\$($0 env)\""
}

# stop_daemon NAME: SIGTERM, then SIGKILL, only if we started it.
stop_daemon() {
	local name=$1 pid i
	pid=$(running_pid "$name") || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		alive "$pid" "$name" || {
			log "stopped $name (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	for ((i = 0; i < 20; i++)); do
		alive "$pid" "$name" || {
			log "stopped $name (pid $pid, SIGKILL)"
			return 0
		}
		sleep 0.1
	done
	warn "$name (pid $pid) did not stop"
	return 1
}

# test_domains: names of all domains (running or defined) named qn-test-*.
test_domains() {
	{ timeout 20 virsh -c "$URI" list --all --name 2>/dev/null | sed -n "/^$DOMAIN_PREFIX/p"; } || true
}

cmd_down() {
	local pid foreign
	foreign=$(foreign_pids libvirtd)
	if ! pid=$(running_pid libvirtd); then
		if [[ -n $foreign ]]; then
			log "libvirtd pid $foreign was not started by $PROG: not touching it nor its domains"
		fi
	else
		require_root
		local dom failed=0
		while IFS= read -r dom; do
			[[ -n $dom ]] || continue
			if [[ $(virsh -c "$URI" domstate "$dom" 2>/dev/null) != "shut off" ]]; then
				virsh -c "$URI" destroy "$dom" >/dev/null 2>&1 || true
			fi
			# Transient domains are gone after destroy.
			if virsh -c "$URI" dominfo "$dom" >/dev/null 2>&1; then
				virsh -c "$URI" undefine "$dom" >/dev/null || {
					warn "virsh undefine $dom failed"
					failed=1
				}
			fi
			log "removed domain $dom"
		done < <(test_domains)
		local others
		others=$({ timeout 20 virsh -c "$URI" list --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; } || true)
		[[ -z $others ]] ||
			warn "domains still running: ${others}(their QEMU processes outlive libvirtd)"
		stop_daemon libvirtd || failed=1
		[[ $failed -eq 0 ]] || die "some domains or libvirtd could not be removed; leaving $DIR in place"
	fi
	stop_daemon virtlogd || die "virtlogd did not stop; leaving $DIR in place"
	if [[ -e $DIR ]]; then
		[[ -e $MARKER ]] || die "$DIR is not a run dir of $PROG (no $MARKER); not removing it"
		rm -rf -- "$DIR"
		log "down: removed $DIR"
	else
		log "down: nothing to do ($DIR does not exist)"
	fi
}

cmd_status() {
	local name pid foreign rc=0
	for name in virtlogd libvirtd; do
		if pid=$(running_pid "$name"); then
			if [[ $name == libvirtd ]]; then
				printf '%-9s running (pid %s, started by %s, OVS_RUNDIR=%s)\n' "$name" "$pid" "$PROG" "$(env_of "$pid" OVS_RUNDIR)"
			else
				printf '%-9s running (pid %s, started by %s)\n' "$name" "$pid" "$PROG"
			fi
		else
			foreign=$(foreign_pids "$name")
			if [[ -n $foreign ]]; then
				printf '%-9s running (pid %s, not started by %s)\n' "$name" "$foreign" "$PROG"
			else
				printf '%-9s not running\n' "$name"
			fi
		fi
	done
	if virsh_ok; then
		printf '%-9s %s answers\n' virsh "$URI"
		local doms
		doms=$(test_domains | tr '\n' ' ')
		printf '%-9s %s\n' domains "${doms:-no ${DOMAIN_PREFIX}* domains}"
	else
		printf '%-9s %s does not answer\n' virsh "$URI"
		rc=3
	fi
	return "$rc"
}

cmd_env() {
	printf 'export %s=%q\n' LIBVIRT_DEFAULT_URI "$URI" QN_LIBVIRT_URI "$URI" QN_LIBVIRT_DIR "$DIR"
}

cmd_reload() {
	require_root
	local pid
	pid=$(running_pid libvirtd) || die "no libvirtd started by $PROG is running (a foreign one is never signalled)"
	kill -HUP "$pid" || die "kill -HUP $pid failed"
	# The reload runs in a thread of libvirtd; wait until it answers again.
	local deadline=$(($(now_ms) + TIMEOUT * 1000))
	sleep 0.2
	until virsh_ok; do
		(($(now_ms) < deadline)) || die "libvirtd did not answer within ${TIMEOUT}s after SIGHUP"
		sleep 0.2
	done
	log "reload: sent SIGHUP to libvirtd (pid $pid)"
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
reload) cmd_reload ;;
-h | --help | help) usage ;;
*)
	usage >&2
	die "unknown command: $1"
	;;
esac
