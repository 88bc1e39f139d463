# nhost-libvirt.sh — the libvirtd part of scripts/nhost.sh, sourced by it:
# one libvirtd per host that needs one, inside the host's network namespace,
# in its own mount and UTS namespace with private libvirt directories.
# Uses nhost.sh's settings and helpers (DIR, NETNS, MIG_IP, HOSTNAME_OF,
# LIBVIRT_HOSTS, PRIVATE_DIRS, HOOK, TIMEOUT, log, warn, die, now_ms).

# The private libvirt directories: mount point -> subdirectory of $DIR/<h>/libvirt.
LV_MOUNTS=(/etc/libvirt:etc /run/libvirt:run /var/lib/libvirt:lib /var/log/libvirt:log /var/cache/libvirt:cache)
SYS_PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

lvdir() { echo "$DIR/$1/libvirt"; }
uri() { echo "qemu+unix:///system?socket=$(lvdir "$1")/run/libvirt-sock"; }
# migrate_uri H: host H's libvirtd as another host's libvirtd reaches it.
migrate_uri() { echo "qemu+tcp://${MIG_IP[$1]}/system"; }

# ---------------------------------------------------------------- pids
# pid_of PIDFILE COMM: the pid in PIDFILE if that process runs as COMM, is no
# zombie and names PIDFILE on its command line; else return 1.
pid_of() {
	local pidfile=$1 comm=$2 pid cmdline stat
	pid=$(cat -- "$pidfile" 2>/dev/null) || return 1
	pid=${pid//[[:space:]]/}
	[[ $pid =~ ^[0-9]+$ ]] || return 1
	[[ $(cat "/proc/$pid/comm" 2>/dev/null) == "$comm" ]] || return 1
	cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline") || return 1
	[[ " $cmdline " == *" $pidfile "* ]] || return 1
	stat=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]] || return 1
	echo "$pid"
}

libvirtd_pid() { pid_of "$(lvdir "$1")/libvirtd.pid" libvirtd; }

# The pid file disappears early in libvirtd's shutdown: wait on the pid.
pid_alive() {
	local stat
	[[ $(cat "/proc/$1/comm" 2>/dev/null) == "$2" ]] || return 1
	stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
	stat=${stat##*) }
	[[ ${stat%% *} != Z ]]
}

virsh_h() {
	local h=$1
	shift
	timeout 60 virsh -q -c "$(uri "$h")" "$@"
}

virsh_ok() { timeout 10 virsh -c "$(uri "$1")" version >/dev/null 2>&1; }

ensure_accounts() {
	# libvirt's QEMU driver resolves its built-in default user/group
	# (libvirt-qemu) at start, before qemu.conf's user = "root" applies.
	local g
	for g in kvm libvirt-qemu; do
		getent group "$g" >/dev/null || groupadd --system "$g" || die "groupadd --system $g failed"
	done
	if ! getent passwd libvirt-qemu >/dev/null; then
		useradd --system --gid libvirt-qemu --groups kvm --home-dir /var/lib/libvirt --no-create-home \
			--shell /usr/sbin/nologin --comment "Libvirt Qemu" libvirt-qemu || die "useradd libvirt-qemu failed"
		log "created user libvirt-qemu"
	fi
}

write_libvirt_conf() {
	local h=$1 L uuid
	L=$(lvdir "$h")
	mkdir -p "$L"/{etc,run,lib,log,cache} "$L"/etc/hooks/qemu.d "$L"/lib/qemu "$L"/log/qemu "$L"/cache/qemu
	# The real /etc/libvirt's configuration files, but none of its state:
	# not its domains (qemu/*.xml), networks, storage pools, secrets or hooks.
	local f
	for f in /etc/libvirt/*.conf; do
		[[ -e $f ]] || continue
		case ${f##*/} in libvirtd.conf | qemu.conf) continue ;; esac
		[[ -e $L/etc/${f##*/} ]] || cp -p -- "$f" "$L/etc/"
	done
	if [[ -d /etc/libvirt/nwfilter && ! -e $L/etc/nwfilter ]]; then
		cp -a /etc/libvirt/nwfilter "$L/etc/"
	fi
	if [[ -s $L/host-uuid ]]; then
		uuid=$(cat "$L/host-uuid")
	else
		uuid=$(cat /proc/sys/kernel/random/uuid)
		echo "$uuid" >"$L/host-uuid"
	fi
	cat >"$L/etc/libvirtd.conf.tmp" <<EOF
# written by QuantumNet scripts/nhost.sh (host $h)
host_uuid = "$uuid"
unix_sock_dir = "/run/libvirt"
auth_unix_ro = "none"
auth_unix_rw = "none"
# For peer-to-peer migration from the other host: TCP without
# authentication, on the migration link only (started with --listen).
listen_tls = 0
listen_tcp = 1
listen_addr = "${MIG_IP[$h]}"
auth_tcp = "none"
EOF
	cat >"$L/etc/qemu.conf.tmp" <<EOF
# written by QuantumNet scripts/nhost.sh (host $h)
user = "root"
group = "root"
dynamic_ownership = 0
remember_owner = 0
security_driver = "none"
cgroup_controllers = [ ]
# No virtlogd: QEMU's stdout/stderr go to /var/log/libvirt/qemu/DOM.log.
stdio_handler = "file"
# The migration stream goes over the plain migration link.
migration_address = "${MIG_IP[$h]}"
migration_host = "${MIG_IP[$h]}"
EOF
	# Prints "conf" if a configuration file changed (libvirtd must restart),
	# "hook" if only the hook did (SIGHUP is enough).
	local changed='' f
	write_start_script "$h"
	for f in "$L/etc/libvirtd.conf" "$L/etc/qemu.conf" "$L/start.sh"; do
		if cmp -s "$f.tmp" "$f"; then
			rm -f "$f.tmp"
		else
			mv -f "$f.tmp" "$f"
			changed=conf
		fi
	done
	# The hook: a symlink, so that a rebuilt binary is used as it is.
	local link=$L/etc/hooks/qemu.d/quantumnet
	if [[ -n $HOOK ]]; then
		[[ -x $HOOK && -f $HOOK ]] || die "QN_NHOST_HOOK=$HOOK is not an executable file"
		if [[ $(readlink "$link" 2>/dev/null) != "$HOOK" ]]; then
			ln -sfn "$HOOK" "$link"
			changed=${changed:-hook}
		fi
	elif [[ -L $link || -e $link ]]; then
		rm -f "$link"
		changed=${changed:-hook}
	fi
	local d
	for d in $PRIVATE_DIRS; do
		[[ $d == /* ]] || die "QN_NHOST_PRIVATE_DIRS: not an absolute path: $d"
		mkdir -p "$DIR/$h/root$d"
	done
	echo "$changed"
}

# write_start_script H: $L/start.sh.tmp (write_libvirt_conf installs it as
# start.sh), run in host H's netns: a new mount and UTS namespace with the
# private directories, then libvirtd.
write_start_script() {
	local h=$1 L m d
	L=$(lvdir "$h")
	{
		echo '#!/bin/sh'
		echo "# written by QuantumNet scripts/nhost.sh: started as ip netns exec ${NETNS[$h]} unshare -m -u --propagation private sh $L/start.sh"
		echo 'set -e'
		for m in "${LV_MOUNTS[@]}"; do
			printf 'mount --bind %q %q\n' "$L/${m#*:}" "${m%%:*}"
		done
		for d in $PRIVATE_DIRS; do
			printf 'mount --bind %q %q\n' "$DIR/$h/root$d" "$d"
		done
		printf 'hostname %q\n' "${HOSTNAME_OF[$h]}"
		printf 'exec env -i PATH=%q HOME=/root LC_ALL=C LIBVIRT_LOG_OUTPUTS=%q OVS_RUNDIR=%q OVS_DBDIR=%q OVS_LOGDIR=%q OVS_SYSCONFDIR=%q libvirtd -d --listen -p %q\n' \
			"$SYS_PATH" "3:file:$L/libvirtd.log" "$DIR/$h" "$DIR/$h" "$DIR/$h" "$DIR/$h" "$L/libvirtd.pid"
	} >"$L/start.sh.tmp"
}

# seed_caps_cache H: probing QEMU's capabilities takes libvirtd ~8 s under
# TCG; the cache (validated by libvirtd against the QEMU binary, libvirt
# version and host CPU) of the other host or of the real /var/cache/libvirt
# is just as good on the same machine.
seed_caps_cache() {
	local h=$1 dst src f
	dst=$(lvdir "$h")/cache/qemu/capabilities
	[[ -z $(ls -A "$dst" 2>/dev/null) ]] || return 0
	local srcs=() o
	for o in "${LIBVIRT_HOSTS[@]}"; do
		[[ $o == "$h" ]] || srcs+=("$(lvdir "$o")/cache/qemu/capabilities")
	done
	for src in "${srcs[@]}" /var/cache/libvirt/qemu/capabilities; do
		[[ -n $(ls -A "$src" 2>/dev/null) ]] || continue
		mkdir -p "$dst"
		for f in "$src"/*.xml; do
			[[ -f $f ]] && cp -p -- "$f" "$dst/"
		done
		return 0
	done
}

start_libvirtd() {
	local h=$1 L pid out m d
	L=$(lvdir "$h")
	# Mount points must exist in the real tree (empty directories).
	for m in "${LV_MOUNTS[@]}"; do mkdir -p "${m%%:*}"; done
	for d in $PRIVATE_DIRS; do mkdir -p "$d"; done
	[[ -s $L/start.sh ]] || die "internal: no $L/start.sh"
	seed_caps_cache "$h"
	rm -f "$L/libvirtd.pid"
	if ! out=$(ip netns exec "${NETNS[$h]}" unshare -m -u --propagation private sh "$L/start.sh" 2>&1); then
		printf '%s\n' "$out" >&2
		[[ -r $L/libvirtd.log ]] && tail -n 20 "$L/libvirtd.log" >&2
		die "starting libvirtd of host $h failed"
	fi
	local t0 deadline
	t0=$(now_ms)
	deadline=$((t0 + TIMEOUT * 1000))
	until virsh_ok "$h"; do
		# libvirtd -d returns once daemonized; its pid file follows shortly.
		if ! libvirtd_pid "$h" >/dev/null && (($(now_ms) - t0 > 3000)); then
			[[ -r $L/libvirtd.log ]] && tail -n 30 "$L/libvirtd.log" >&2
			die "libvirtd of host $h is not running"
		fi
		(($(now_ms) < deadline)) || {
			[[ -r $L/libvirtd.log ]] && tail -n 30 "$L/libvirtd.log" >&2
			die "libvirtd of host $h does not answer on $(uri "$h") within ${TIMEOUT}s"
		}
		sleep 0.2
	done
	log "started libvirtd of host $h (pid $(libvirtd_pid "$h"), hostname ${HOSTNAME_OF[$h]}, $(uri "$h"))"
}

reload_libvirtd() {
	local h=$1 pid
	pid=$(libvirtd_pid "$h") || return 0
	kill -HUP "$pid"
	sleep 0.3
	local deadline=$(($(now_ms) + TIMEOUT * 1000))
	until virsh_ok "$h"; do
		(($(now_ms) < deadline)) || die "libvirtd of host $h does not answer after SIGHUP"
		sleep 0.2
	done
	log "reloaded libvirtd of host $h (pid $pid): hook changed"
}

destroy_domains() {
	local h=$1 dom failed=0 doms
	# qn-test-* first, then whatever else this private libvirtd has.
	doms=$({ virsh_h "$h" list --all --name 2>/dev/null | sed "/^$/d" | awk '/^qn-test-/ { print; next } { rest[++n] = $0 } END { for (i = 1; i <= n; i++) print rest[i] }'; } || true)
	while IFS= read -r dom; do
		[[ -n $dom ]] || continue
		if [[ $(virsh_h "$h" domstate "$dom" 2>/dev/null) != "shut off" ]]; then
			virsh_h "$h" destroy "$dom" >/dev/null 2>&1 || true
		fi
		if virsh_h "$h" dominfo "$dom" >/dev/null 2>&1; then
			virsh_h "$h" undefine --nvram "$dom" >/dev/null 2>&1 || virsh_h "$h" undefine "$dom" >/dev/null || {
				warn "host $h: virsh undefine $dom failed"
				failed=1
			}
		fi
		log "host $h: removed domain $dom"
	done <<<"$doms"
	return "$failed"
}

stop_libvirtd() {
	local h=$1 pid i
	pid=$(libvirtd_pid "$h") || return 0
	kill -TERM "$pid" 2>/dev/null || true
	for ((i = 0; i < 150; i++)); do
		pid_alive "$pid" libvirtd || {
			log "stopped libvirtd of host $h (pid $pid)"
			return 0
		}
		sleep 0.1
	done
	kill -KILL "$pid" 2>/dev/null || true
	sleep 0.3
	pid_alive "$pid" libvirtd && {
		warn "libvirtd of host $h (pid $pid) did not stop"
		return 1
	}
	log "stopped libvirtd of host $h (pid $pid, SIGKILL)"
}

# kill_leftovers H: processes still in host H's network namespace (a QEMU
# whose libvirtd died, a workload started by a test) would keep the
# namespace, its veths and the mounts alive.

# libvirt_up H: host H's libvirtd running with the current configuration and
# hook (started, restarted or reloaded as needed).
libvirt_up() {
	local h=$1 pid changed
	changed=$(write_libvirt_conf "$h")
	if pid=$(libvirtd_pid "$h"); then
		if ! virsh_ok "$h"; then
			die "libvirtd of host $h (pid $pid) runs but does not answer on $(uri "$h")"
		fi
		if [[ $changed == conf ]]; then
			# libvirtd reads qemu.conf and libvirtd.conf only at start;
			# running domains survive (it reconnects to their QEMU).
			log "configuration of host $h changed: restarting its libvirtd"
			stop_libvirtd "$h" || die "libvirtd of host $h did not stop"
			start_libvirtd "$h"
		elif [[ $changed == hook ]]; then
			reload_libvirtd "$h"
		else
			log "libvirtd of host $h already running (pid $pid)"
		fi
	else
		start_libvirtd "$h"
	fi
}

# libvirt_down H: host H's domains destroyed and undefined (qn-test-* first),
# its libvirtd stopped; returns 1 if something could not be removed.
libvirt_down() {
	local h=$1 failed=0
	libvirtd_pid "$h" >/dev/null || return 0
	if virsh_ok "$h"; then
		destroy_domains "$h" || failed=1
	else
		warn "libvirtd of host $h does not answer: its domains are not destroyed cleanly"
	fi
	stop_libvirtd "$h" || failed=1
	return "$failed"
}

# libvirt_status H: one line about host H's libvirtd; returns 3 if it is not
# running or does not answer.
libvirt_status() {
	local h=$1 pid doms
	if pid=$(libvirtd_pid "$h"); then
		if virsh_ok "$h"; then
			doms=$({ virsh_h "$h" list --all --name 2>/dev/null | sed '/^$/d' | tr '\n' ' '; } || true)
			printf 'host %s %-15s running (pid %s), %s answers; domains: %s\n' "$h" libvirtd "$pid" "$(uri "$h")" "${doms:-none}"
			return 0
		fi
		printf 'host %s %-15s running (pid %s) but %s does not answer\n' "$h" libvirtd "$pid" "$(uri "$h")"
		return 3
	fi
	printf 'host %s %-15s not running\n' "$h" libvirtd
	return 3
}
