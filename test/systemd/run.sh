#!/usr/bin/env bash
# run.sh: the systemd tier (see test/systemd/README.md). As root:
#
#   1. a Debian bookworm rootfs with systemd and D-Bus (mkrootfs.sh;
#      debootstrap the first time, cached after);
#   2. hako (make build, or $HAKO_BIN), the tier's Go test binary
#      (go test -c ./test/systemd) and a busybox rootfs (test/mkrootfs.sh);
#   3. systemd booted as PID 1 of a namespace container (nsinit.sh), in a
#      dedicated cgroup under the host's unified hierarchy, until
#      `systemctl is-system-running` says running or degraded;
#   4. `loginctl enable-linger tester`: user@1001.service and its buses;
#   5. the test binary inside, three times: as root in a system service
#      (the system manager, over its private socket and the system bus),
#      as tester in a system service (the user manager, which has PID 1
#      move the pid), and as tester in a service of the user manager;
#   6. teardown: the namespace's PID 1 killed by its pid (the namespace and
#      its mounts go with it), the cgroups removed, also on failure or
#      interrupt.
#
# Prints how long each step took and ends with "N passed, M failed[, K
# skipped]"; exits non-zero iff something failed.
#
# Environment: HAKO_BIN (the hako to bind in; default: make build, then
# bin/hako), HAKO_TEST_CACHE (rootfs cache, default /var/cache/hako-test),
# KEEP_LOGS=1 (keep the work directory: go test -json, nsinit.sh's output).
set -uo pipefail

cd "$(dirname "$0")/../.."
top=$PWD
export PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

if [ "$(id -u)" -ne 0 ]; then
	echo "run.sh: the systemd tier runs as root" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

work=$(mktemp -d /tmp/hako-systemd.XXXXXX)
chmod 0755 "$work"
mkdir -p "$work/share" "$work/scratch"
cgroot=$(awk '$3 == "cgroup2" { print $2; exit }' /proc/self/mounts)
cg=
unshare_pid=
ns_pid=
failed_steps=()

now() { date +%s.%N; }
t_start=$(now)
elapsed() { awk -v a="$1" -v b="$(now)" 'BEGIN { printf "%.2f", b - a }'; }
timing() { printf 'timing: %-28s %6s s\n' "$1" "$2"; }

teardown() {
	local t i
	t=$(now)
	if [ -n "$ns_pid" ] && [ -d "/proc/$ns_pid" ]; then
		kill -KILL "$ns_pid" 2>/dev/null
	fi
	if [ -n "$unshare_pid" ]; then
		# unshare exits once its child (the namespace's PID 1) is gone.
		wait "$unshare_pid" 2>/dev/null
		unshare_pid=
	fi
	ns_pid=
	if [ -n "$cg" ] && [ -d "$cg" ]; then
		for i in $(seq 100); do
			find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$cg" ] || break
			sleep 0.05
		done
		if [ -d "$cg" ]; then
			echo "teardown: could not remove $cg; processes in it: $(find "$cg" -name cgroup.procs -exec cat {} + | tr '\n' ' ')" >&2
		fi
		cg=
	fi
	timing teardown "$(elapsed "$t")"
}

on_exit() {
	local rc=$?
	teardown
	if [ "${KEEP_LOGS:-}" = 1 ] || [ "$rc" -ne 0 ]; then
		echo "logs kept in $work (systemd.log: what unshare and nsinit.sh said; results.json: go test -json)" >&2
		rm -rf "$work/share" "$work/scratch"
	else
		rm -rf "$work"
	fi
	timing total "$(elapsed "$t_start")"
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# summary prints the tier's closing line from what ran, and exits.
summary() {
	local args=()
	for s in "${failed_steps[@]}"; do
		args+=(-failed-step "$s")
	done
	touch "$work/results.json"
	"$work/summarize" "${args[@]}" <"$work/results.json"
	exit $?
}

# inside runs a command in the namespace container (its mount, pid, uts,
# ipc and cgroup namespaces), with a clean environment.
inside() {
	nsenter -t "$ns_pid" -m -u -i -p -C -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# sweep_stale removes what a run killed with SIGKILL left: its dedicated
# cgroup (named after its pid, now gone) and the processes in it, which
# are killed by their pids (the namespace's PID 1 takes the rest).
sweep_stale() {
	local d pid p i
	for d in "$cgroot"/hako-systemd-test-*; do
		[ -d "$d" ] || continue
		pid=${d##*-}
		[ -d "/proc/$pid" ] && continue
		echo "run.sh: removing what an earlier run left: $d" >&2
		for p in $(cat "$d/supervisor/cgroup.procs" "$d/ns/init.scope/cgroup.procs" "$d/ns/cgroup.procs" 2>/dev/null); do
			kill -KILL "$p" 2>/dev/null
		done
		for i in $(seq 100); do
			find "$d" -depth -type d -exec rmdir {} + 2>/dev/null
			[ -d "$d" ] || break
			sleep 0.05
		done
	done
}
sweep_stale

# --- tools first: without summarize there is no summary.
t=$(now)
if ! go build -o "$work/summarize" ./test/tools/summarize; then
	echo "run.sh: cannot build test/tools/summarize" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

# --- 1. the rootfs
if ! rootfs=$(test/systemd/mkrootfs.sh); then
	failed_steps+=(rootfs)
	summary
fi
timing "rootfs ($(basename "$rootfs"))" "$(elapsed "$t")"

# --- 2. what goes in
t=$(now)
hako=${HAKO_BIN:-}
if [ -z "$hako" ]; then
	if make --no-print-directory build >"$work/build.log" 2>&1; then
		hako=$top/bin/hako
	elif [ -x bin/hako ]; then
		echo "run.sh: make build failed (see below); using the existing bin/hako" >&2
		tail -n 5 "$work/build.log" >&2
		hako=$top/bin/hako
	else
		cat "$work/build.log" >&2
		failed_steps+=(build)
	fi
fi
[ -n "$hako" ] && cp "$hako" "$work/share/hako"
if ! CGO_ENABLED=0 go test -c -o "$work/share/systemd.test" ./test/systemd; then
	failed_steps+=(build-tests)
	summary
fi
if ! test/mkrootfs.sh "$work/share/rootfs"; then
	failed_steps+=(busybox-rootfs)
fi
timing "build" "$(elapsed "$t")"

# --- 3. boot
# The dedicated cgroup: ns/ is the container's cgroup namespace root
# (systemd's whole tree), supervisor/ holds unshare once it has forked
# the namespace's PID 1, so that the root systemd sees is free of
# processes, as in a real container. What the host's unified hierarchy
# offers (hugetlb, on this host) is passed on to ns/.
t=$(now)
cg=$cgroot/hako-systemd-test-$$
mkdir "$cg" "$cg/ns" "$cg/supervisor"
offered=$(cat "$cg/cgroup.controllers")
if [ -n "$offered" ]; then
	echo "+${offered// / +}" >"$cg/cgroup.subtree_control" ||
		echo "run.sh: could not pass the controllers '$offered' on to the container" >&2
fi
(
	echo "$BASHPID" >"$cg/ns/cgroup.procs"
	exec unshare --pid --mount --cgroup --uts --ipc --fork --kill-child \
		"$top/test/systemd/nsinit.sh" "$rootfs" "$work/share" "$work/scratch"
) </dev/null >"$work/systemd.log" 2>&1 &
unshare_pid=$!
for _ in $(seq 500); do
	ns_pid=$(awk '{ print $1 }' "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null)
	[ -n "$ns_pid" ] && break
	kill -0 "$unshare_pid" 2>/dev/null || break
	sleep 0.01
done
state=
if [ -n "$ns_pid" ]; then
	echo "$unshare_pid" >"$cg/supervisor/cgroup.procs"
	deadline=$((SECONDS + 60))
	while [ $SECONDS -lt $deadline ]; do
		state=$(inside systemctl is-system-running 2>/dev/null)
		case $state in
		running | degraded) break ;;
		esac
		kill -0 "$ns_pid" 2>/dev/null || break
		sleep 0.05
	done
fi
timing "boot (to $state)" "$(elapsed "$t")"
case $state in
running) ;;
degraded)
	echo "systemd is degraded; failed units:" >&2
	inside systemctl --failed --no-legend --plain >&2
	;;
*)
	echo "run.sh: systemd did not come up (state '$state'); unshare and nsinit.sh said:" >&2
	tail -n 20 "$work/systemd.log" >&2
	if [ -n "$ns_pid" ] && [ -d "/proc/$ns_pid" ]; then
		echo "its journal:" >&2
		inside journalctl -b --no-pager 2>&1 | tail -n 40 >&2
	fi
	failed_steps+=(boot)
	summary
	;;
esac

# --- 4. the user manager
t=$(now)
inside loginctl enable-linger tester
ok=
deadline=$((SECONDS + 30))
while [ $SECONDS -lt $deadline ]; do
	if inside sh -c 'test -S /run/user/1001/bus && test -S /run/user/1001/systemd/private &&
		systemctl is-active --quiet user@1001.service'; then
		ok=1
		break
	fi
	sleep 0.05
done
timing "linger (user@1001 up)" "$(elapsed "$t")"
if [ -z "$ok" ]; then
	echo "run.sh: user@1001.service did not start:" >&2
	inside systemctl status --no-pager user@1001.service >&2
	failed_steps+=(linger)
	summary
fi

# --- 5. the tests
# run_tests LABEL FILTER COMMAND...: runs the tests matching FILTER through
# COMMAND (a systemd-run) inside the container and adds its results (go test -json) to results.json under the package
# "test/systemd (LABEL)".
run_tests() {
	local label=$1 filter=$2 t
	shift 2
	t=$(now)
	timeout 600 nsenter -t "$ns_pid" -m -u -i -p -C -- /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
		"$@" -E HAKO_TIMINGS="/tmp/timings-$label" -- \
		/hako/systemd.test -test.v=test2json -test.count=1 -test.timeout=5m -test.run "$filter" 2>&1 |
		go tool test2json -p "test/systemd ($label)" >>"$work/results.json"
	timing "tests ($label)" "$(elapsed "$t")"
}
env=(-E HAKO_BIN=/hako/hako -E HAKO_ROOTFS=/hako/rootfs)
[ -x "$work/share/hako" ] || env=(-E HAKO_ROOTFS=/hako/rootfs)
run_tests root '^Test(System|HakoSystem)' systemd-run --quiet --wait --pipe --collect \
	-E HAKO_SYSTEMD_TIER=root "${env[@]}"
run_tests rootless '^Test(User|HakoUser)' systemd-run --quiet --wait --pipe --collect \
	--uid=tester --gid=tester -p WorkingDirectory=/home/tester \
	-E HOME=/home/tester -E XDG_RUNTIME_DIR=/run/user/1001 -E HAKO_SYSTEMD_TIER=rootless "${env[@]}"
run_tests rootless-in-user-manager '^Test(User|HakoUser)' runuser -u tester -- env XDG_RUNTIME_DIR=/run/user/1001 \
	systemd-run --user --quiet --wait --pipe --collect \
	-E HOME=/home/tester -E XDG_RUNTIME_DIR=/run/user/1001 -E HAKO_SYSTEMD_TIER=rootless "${env[@]}"

echo "== timings measured inside"
inside sh -c 'for f in /tmp/timings-*; do [ -f "$f" ] && echo "-- pass ${f#/tmp/timings-}:" && cat "$f"; done'
summary
