#!/usr/bin/env bash
# suite-podman.sh: podman (Debian's 4.3, with conmon) drives hako, as root
# and rootless (user hakopod, made here when missing and removed after).
# Run by test/clients/run.sh (HAKO and CLIENTS_WORK set).
#
# Nothing of the host's podman state is used or touched:
# - every podman command runs in a private mount namespace (held by a
#   bind mount of its nsfs file, $W/mnt.ns) with cgroup2 mounted on
#   /sys/fs/cgroup (so podman sees cgroup v2 and its cgroupfs manager works
#   in the unified hierarchy, never in the host's v1 controllers), a tmpfs
#   on /run and /var/lib (/run/hako, /run/containers, /run/netns,
#   /var/lib/containers/cache are podman's and hako's root defaults there)
#   and a private copy of /etc/containers;
# - private storage and run dirs (--root/--runroot), a private
#   containers.conf (CONTAINERS_CONF: cgroupfs, events to a file, no
#   network, no pids limit, ulimits within this machine's hard limits,
#   podman's tmp and network dirs under $W);
# - rootless: HOME and XDG_RUNTIME_DIR are private 0700 directories of the
#   user under $W.
# On exit: podman rm -af (both), cgroup.kill and rmdir of podman's
# libpod_parent cgroup, the user's processes killed by PID, the namespace
# released, $W removed, the user removed if this suite made it.
set -uo pipefail
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PUSER=hakopod
W=$CLIENTS_WORK/podman
NS=$W/mnt.ns
UCG=/sys/fs/cgroup/unified # the host's cgroup2 (the namespace's /sys/fs/cgroup)

if ! need_packages podman conmon slirp4netns fuse-overlayfs catatonit netavark aardvark-dns uidmap \
	util-linux bsdutils gcc libc6-dev jq; then
	fail "podman: packages" "apt-get install failed"
	exit 1
fi
echo "== $(podman --version), conmon $(conmon --version 2>/dev/null | awk '/version/ {print $3; exit}'), runtime $("$HAKO" --version | head -n1)"

# What the host has of podman's default state; compared at the end.
host_state() {
	local d
	for d in /var/lib/containers /run/containers /run/libpod /etc/containers; do
		echo "$d: $(ls -A "$d" 2>&1 | tr '\n' ' ')"
	done
}
host_before=$(host_state)

mkdir -p "$W" "$W/bin"
chmod 0755 "$W"
# A root-owned copy of hako every user can run (the checkout may be 0700).
install -m 0755 "$HAKO" "$W/bin/hako"

# A static helper that makes one syscall podman's seccomp profile denies
# with EPERM and the kernel answers with EBADF: vmsplice on fd -1.
cat >"$W/sctest.c" <<'EOF'
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>
int main(void)
{
	long r = syscall(SYS_vmsplice, -1, NULL, 0, 0);
	printf("vmsplice: %s\n", r == 0 ? "ok" : strerror(errno));
	return 0;
}
EOF
gcc -O -static -o "$W/bin/sctest" "$W/sctest.c" || { fail "podman: build the seccomp helper" "gcc failed"; exit 1; }

# --- the private mount namespace ----------------------------------------
cp -a /etc/containers "$W/etc-containers"
touch "$NS"
release_ns() {
	while grep -q " $NS " /proc/self/mountinfo; do umount "$NS" || umount -l "$NS" || break; done
}
on_cleanup release_ns
if ! unshare --mount="$NS" --propagation private sh -ec "
	mount -t cgroup2 none /sys/fs/cgroup
	mount -t tmpfs -o mode=0755 tmpfs /run
	mount -t tmpfs -o mode=0755 tmpfs /var/lib
	mount --bind '$W/etc-containers' /etc/containers"; then
	fail "podman: private mount namespace" "unshare failed"
	exit 1
fi

# podman's cgroupfs manager puts conmon in /libpod_parent/conmon and the
# containers in /libpod_parent/libpod-ID: kill what is left and remove
# them (only what did not exist before).
had_parent=false
[ -d "$UCG/libpod_parent" ] && had_parent=true
clean_cgroups() {
	$had_parent && return 0
	[ -d "$UCG/libpod_parent" ] || return 0
	echo 1 >"$UCG/libpod_parent/cgroup.kill" 2>/dev/null
	sleep 0.3
	find "$UCG/libpod_parent" -depth -type d -exec rmdir {} \; 2>/dev/null
}
on_cleanup clean_cgroups

# conf FILE DIR: a containers.conf whose podman directories are under DIR.
conf() {
	cat >"$1" <<EOF
[containers]
default_ulimits = [$3]
pids_limit = 0
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
network_backend = "netavark"
tmp_dir = "$2/tmp"
network_config_dir = "$2/networks"
volume_path = "$2/volumes"
EOF
}

# --- root ----------------------------------------------------------------
mkdir -p "$W/root"
conf "$W/root/containers.conf" "$W/root" '"nofile=20000:20000", "nproc=32768:32768"'
cat >"$W/podman-root" <<EOF
#!/bin/sh
exec nsenter --mount='$NS' env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root TERM=xterm \\
	CONTAINERS_CONF='$W/root/containers.conf' \\
	podman --root '$W/root/storage' --runroot '$W/root/run' --storage-driver overlay --runtime '$W/bin/hako' "\$@"
EOF
chmod 0755 "$W/podman-root"

# --- rootless: the user --------------------------------------------------
made_user=false
if ! id "$PUSER" >/dev/null 2>&1; then
	useradd -m -s /bin/sh "$PUSER" || { fail "podman: user $PUSER" "useradd failed"; exit 1; }
	made_user=true
fi
remove_user() { $made_user && userdel -r "$PUSER" 2>/dev/null; }
on_cleanup remove_user
PUID=$(id -u "$PUSER")
grep -q "^$PUSER:" /etc/subuid || usermod --add-subuids 400000-465535 "$PUSER"
grep -q "^$PUSER:" /etc/subgid || usermod --add-subgids 400000-465535 "$PUSER"
SUBSTART=$(awk -F: -v u="$PUSER" '$1 == u {print $2; exit}' /etc/subuid)
# The user's processes (podman's pause process, conmon, containers),
# by PID.
kill_user() {
	local p
	for p in $(ps -o pid= -u "$PUID" 2>/dev/null); do kill -KILL "$p" 2>/dev/null; done
}
on_cleanup kill_user
mkdir -p "$W/user/home" "$W/user/xdg"
conf "$W/user/containers.conf" "$W/user" ''
chown -R "$PUSER:" "$W/user"
chmod 0700 "$W/user/home" "$W/user/xdg"
cat >"$W/podman-user" <<EOF
#!/bin/sh
exec nsenter --mount='$NS' setpriv --reuid '$PUID' --regid '$(id -g "$PUSER")' --init-groups \\
	env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME='$W/user/home' USER='$PUSER' LOGNAME='$PUSER' TERM=xterm \\
	XDG_RUNTIME_DIR='$W/user/xdg' CONTAINERS_CONF='$W/user/containers.conf' \\
	podman --root '$W/user/storage' --runroot '$W/user/run' --storage-driver overlay --runtime '$W/bin/hako' "\$@"
EOF
chmod 0755 "$W/podman-user"

# Removal of every container, on any exit (runs before the user's
# processes are killed and the namespace is released).
rm_all() { "$W/podman-user" rm -af -t 0; "$W/podman-root" rm -af -t 0; }
on_cleanup rm_all

# --- the checks ------------------------------------------------------------
ROOTFS=$(busybox_rootfs)

# under_tty CMD: runs CMD (a string) with a terminal of 33 rows and 77
# columns (script), stdout with the carriage returns removed.
under_tty() {
	script -qec "stty rows 33 cols 77; $1" /dev/null </dev/null | tr -d '\r'
	return "${PIPESTATUS[0]}"
}
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# wait_status P ID STATUS: until podman says STATUS (5 s).
wait_status() {
	local _
	for _ in $(seq 50); do
		[ "$("$1" inspect -f '{{.State.Status}}' "$2" 2>/dev/null)" = "$3" ] && return 0
		sleep 0.1
	done
	return 1
}

# suite MODE: the checks with podman as root (MODE root) or as the user.
suite() {
	local m=$1 P=$W/podman-$1 out rc id pid t0 t1 cg
	[ "$m" = user ] && m=rootless

	if tar -C "$ROOTFS" -c . | "$P" import - localhost/busybox >"$W/$m.import" 2>&1; then
		pass "$m: import localhost/busybox"
	else
		fail "$m: import localhost/busybox" "$(tail -c 400 "$W/$m.import" | tr '\n' ' ')"
		return
	fi

	out=$("$P" run --rm localhost/busybox echo hello 2>&1)
	rc=$?
	expect_eq "$m: run --rm prints the output" hello "$out"
	expect_rc "$m: run --rm exits 0" 0 $rc
	"$P" run --rm localhost/busybox sh -c 'exit 3' >/dev/null 2>&1
	expect_rc "$m: run --rm: exit 3 gives 3" 3 $?
	# --init: catatonit (bind-mounted by podman) is pid 1 and passes on
	# the status of its child, killed by SIGKILL (a shell as pid 1 could
	# not be: the kernel ignores it).
	out=$("$P" run --rm --init localhost/busybox sh -c 'cat /proc/1/cmdline | tr "\0" " "; echo; kill -9 $$' 2>&1)
	rc=$?
	expect_rc "$m: run --rm --init: a process killed by SIGKILL gives 137" 137 $rc
	if [[ $out == /run/podman-init* ]]; then pass "$m: run --init: pid 1 is catatonit"; else fail "$m: run --init: pid 1 is catatonit" "pid 1: '$out'"; fi

	# Identity and user namespace.
	if [ "$m" = root ]; then
		out=$("$P" run --rm localhost/busybox sh -c 'id -u; cat /proc/self/uid_map' 2>&1 | awk '{$1=$1; print}' | tr '\n' ' ')
		expect_eq "$m: uid 0 in the host's user namespace" "0 0 0 4294967295 " "$out"
	else
		out=$("$P" run --rm localhost/busybox sh -c 'id -u; cat /proc/self/uid_map' 2>&1 | awk '{$1=$1; print}' | tr '\n' ' ')
		expect_eq "$m: default mapping: root inside is $PUSER, then its subordinate ids" \
			"0 0 $PUID 1 1 $SUBSTART 65536 " "$out"
		out=$("$P" run --rm --userns=keep-id localhost/busybox sh -c 'id -u; cat /proc/self/uid_map' 2>&1 | awk '{$1=$1; print}' | tr '\n' ' ')
		if [[ $out == "$PUID "* && $out == *" $PUID 0 1 "* ]]; then
			pass "$m: --userns=keep-id: id -u inside is $PUID ($out)"
		else
			fail "$m: --userns=keep-id: id -u inside is $PUID" "got '$out'"
		fi
	fi

	# Seccomp: podman's profile is in the config and in force.
	out=$("$P" run --rm -v "$W/bin/sctest:/sctest:ro" localhost/busybox sh -c 'grep "^Seccomp:" /proc/self/status; /sctest' 2>&1 | tr -s '\t ' ' ' | tr '\n' ' ')
	expect_eq "$m: seccomp: filter mode and vmsplice denied with EPERM" "Seccomp: 2 vmsplice: Operation not permitted " "$out"
	out=$("$P" run --rm --security-opt seccomp=unconfined -v "$W/bin/sctest:/sctest:ro" localhost/busybox sh -c 'grep "^Seccomp:" /proc/self/status; /sctest' 2>&1 | tr -s '\t ' ' ' | tr '\n' ' ')
	expect_eq "$m: seccomp=unconfined: no filter, the kernel answers EBADF" "Seccomp: 0 vmsplice: Bad file descriptor " "$out"
	if [ "$m" = root ]; then
		out=$("$P" run --rm --cap-add SYS_ADMIN localhost/busybox swapon /bin/busybox 2>&1)
		expect_eq "$m: seccomp: swapon denied with EPERM even with CAP_SYS_ADMIN" "swapon: /bin/busybox: Operation not permitted" "$out"
	fi

	# Terminals: run -t through conmon's console socket, exec -t.
	out=$(under_tty "$P run --rm -t localhost/busybox sh -c 'tty; stty size; exit 6'")
	rc=$?
	if [[ $out == */dev/pts/* && $out == *"33 77"* ]]; then pass "$m: run -t: a pty of the terminal's size"; else fail "$m: run -t: a pty of the terminal's size" "got '$(echo "$out" | tr '\n' ' ')'"; fi
	expect_rc "$m: run -t: exit 6 gives 6" 6 $rc

	# A detached container, exec into it.
	id=$("$P" run -d --name "$m-d" localhost/busybox sleep 600 2>"$W/$m.d.err")
	if [ -z "$id" ] || ! wait_status "$P" "$m-d" running; then
		fail "$m: run -d" "$(tail -c 400 "$W/$m.d.err" | tr '\n' ' ')"
	else
		pass "$m: run -d: running"
		out=$("$P" exec "$m-d" sh -c 'echo in; exit 4' 2>&1)
		rc=$?
		expect_eq "$m: exec prints the output" in "$out"
		expect_rc "$m: exec: exit 4 gives 4" 4 $rc
		out=$("$P" exec "$m-d" sh -c 'cat /proc/1/cmdline | tr "\0" " "' 2>&1)
		expect_eq "$m: exec joins the container (pid 1 is its init)" "sleep 600 " "$out"
		out=$(under_tty "$P exec -t $m-d sh -c 'tty; stty size; exit 5'")
		rc=$?
		if [[ $out == */dev/pts/* && $out == *"33 77"* ]]; then pass "$m: exec -t: a pty of the terminal's size"; else fail "$m: exec -t: a pty of the terminal's size" "got '$(echo "$out" | tr '\n' ' ')'"; fi
		expect_rc "$m: exec -t: exit 5 gives 5" 5 $rc

		# pause/unpause: root has a cgroup (cgroup.freeze); a rootless
		# container here has none (no delegated cgroup on this host).
		pid=$("$P" inspect -f '{{.State.Pid}}' "$m-d")
		cg=$UCG$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
		if [ "$m" = root ]; then
			"$P" pause "$m-d" >/dev/null 2>"$W/$m.pause"
			expect_rc "$m: pause" 0 $? 
			expect_eq "$m: paused: podman's status" paused "$("$P" inspect -f '{{.State.Status}}' "$m-d" 2>&1)"
			expect_eq "$m: paused: the cgroup is frozen ($cg)" 1 "$(awk '$1 == "frozen" {print $2}' "$cg/cgroup.events" 2>&1)"
			"$P" unpause "$m-d" >/dev/null 2>&1
			expect_rc "$m: unpause" 0 $?
			expect_eq "$m: unpaused: podman's status" running "$("$P" inspect -f '{{.State.Status}}' "$m-d" 2>&1)"
			expect_eq "$m: unpaused: the cgroup is thawed" 0 "$(awk '$1 == "frozen" {print $2}' "$cg/cgroup.events" 2>&1)"
		else
			if ! "$P" pause "$m-d" >"$W/$m.pause" 2>&1 && grep -q "no cgroup" "$W/$m.pause" &&
				[ "$("$P" inspect -f '{{.State.Status}}' "$m-d" 2>&1)" = running ]; then
				pass "$m: pause without a delegated cgroup is refused by hako, naming the cgroup; the container runs on"
			else
				fail "$m: pause without a delegated cgroup is refused, naming the cgroup" "$(tail -c 400 "$W/$m.pause" | tr '\n' ' ')"
			fi
		fi

		# stop: sleep as pid 1 ignores TERM; KILL after --time 2.
		t0=$(now_ms)
		"$P" stop -t 2 "$m-d" >/dev/null 2>&1
		rc=$?
		t1=$(now_ms)
		expect_rc "$m: stop -t 2 of a container ignoring TERM" 0 $rc
		if [ $((t1 - t0)) -ge 1900 ] && [ $((t1 - t0)) -lt 10000 ]; then
			pass "$m: stop -t 2: SIGKILL after the 2 s ($((t1 - t0)) ms)"
		else
			fail "$m: stop -t 2: SIGKILL after the 2 s" "took $((t1 - t0)) ms"
		fi
		expect_eq "$m: stop: exited 137 (SIGKILL)" "exited 137" "$("$P" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$m-d" 2>&1)"
		"$P" rm "$m-d" >/dev/null 2>&1
		expect_rc "$m: rm of the stopped container" 0 $?
	fi

	# stop of a container that exits on TERM: quick, its own exit status.
	"$P" run -d --name "$m-t" localhost/busybox sh -c 'trap "exit 7" TERM; echo ready; while :; do sleep 0.1; done' >/dev/null 2>&1
	wait_status "$P" "$m-t" running
	sleep 0.3
	t0=$(now_ms)
	"$P" stop -t 20 "$m-t" >/dev/null 2>&1
	rc=$?
	t1=$(now_ms)
	expect_rc "$m: stop of a container that handles TERM" 0 $rc
	if [ $((t1 - t0)) -lt 5000 ]; then pass "$m: stop: TERM was enough ($((t1 - t0)) ms)"; else fail "$m: stop: TERM was enough" "took $((t1 - t0)) ms (the 20 s timeout?)"; fi
	expect_eq "$m: stop: exit status 7 from the TERM trap" "exited 7" "$("$P" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$m-t" 2>&1)"
	"$P" rm "$m-t" >/dev/null 2>&1

	# kill: a chosen signal reaches the init; the default is KILL.
	"$P" run -d --name "$m-k" localhost/busybox sh -c 'trap "exit 10" USR1; while :; do sleep 0.1; done' >/dev/null 2>&1
	wait_status "$P" "$m-k" running
	sleep 0.3
	"$P" kill -s USR1 "$m-k" >/dev/null 2>&1
	expect_rc "$m: kill -s USR1" 0 $?
	wait_status "$P" "$m-k" exited
	expect_eq "$m: kill -s USR1: the trap's exit status 10" "exited 10" "$("$P" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$m-k" 2>&1)"
	"$P" rm "$m-k" >/dev/null 2>&1
	"$P" run -d --name "$m-k9" localhost/busybox sleep 600 >/dev/null 2>&1
	wait_status "$P" "$m-k9" running
	"$P" kill "$m-k9" >/dev/null 2>&1
	expect_rc "$m: kill (SIGKILL)" 0 $?
	wait_status "$P" "$m-k9" exited
	expect_eq "$m: kill: exited 137" "exited 137" "$("$P" inspect -f '{{.State.Status}} {{.State.ExitCode}}' "$m-k9" 2>&1)"
	"$P" rm "$m-k9" >/dev/null 2>&1

	# rm -f of a running container: gone for podman and for hako.
	id=$("$P" run -d --name "$m-rm" localhost/busybox sleep 600 2>/dev/null)
	wait_status "$P" "$m-rm" running
	pid=$("$P" inspect -f '{{.State.Pid}}' "$m-rm" 2>/dev/null)
	"$P" rm -f -t 0 "$m-rm" >/dev/null 2>&1
	expect_rc "$m: rm -f of a running container" 0 $?
	check "$m: rm -f: podman lists no container" test -z "$("$P" ps -aq 2>&1)"
	check "$m: rm -f: its init ($pid) is gone" test ! -e "/proc/$pid"
	local hroot=/run/hako hako=(nsenter --mount="$NS" "$W/bin/hako")
	if [ "$m" = rootless ]; then
		hroot=$W/user/xdg/hako
		hako=("$W/bin/hako")
	fi
	check "$m: rm -f: hako has no state left in $hroot" test -z "$("${hako[@]}" --root "$hroot" list -q 2>&1)"
	[ "$m" = rootless ] || check "$m: rm -f: its cgroup is removed" test ! -e "$UCG/libpod_parent/libpod-$id"
}

suite root
suite user

rm_all >/dev/null 2>&1
kill_user
clean_cgroups
release_ns
check "podman: the host's podman state is untouched" test "$host_before" = "$(host_state)"
