#!/usr/bin/env bash
# suite-containerd.sh: containerd 1.6 drives hako through ctr and the
# io.containerd.runc.v2 shim (`ctr run --runc-binary`). containerd runs
# with a private config (root, state, sockets, opt path under the work
# directory; CRI disabled); its namespace is hkcNNN, so the containers'
# cgroups are /hkcNNN/ID in the unified hierarchy and hako's state is
# /run/containerd/runc/hkcNNN (the shim's default --root).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/containerd.sh"

need_packages containerd jq || { fail containerd-install "apt-get install containerd jq failed"; exit 0; }

work=$(mktemp -d "$CLIENTS_WORK/ctd.XXXXXX")
ns=hkc$$
img=localhost/busybox:latest
hroot=/run/containerd/runc/$ns
W=$(hako_wrapper "$work/w")
on_cleanup "rm_cgroup_tree /$ns"
on_cleanup "rm -rf '$hroot'"

image_tar "$(busybox_rootfs)" "$work/busybox.tar" "$img"
if ! ctd_start "$work/c"; then
	fail containerd-start "containerd did not come up: $(tail -c 400 "$work/c/containerd.log" | tr '\n' ' ')"
	exit 0
fi
C=(ctr --address "$CTD_SOCK" -n "$ns")
c() { "${C[@]}" "$@"; }

check image-import c image import "$work/busybox.tar"

# run --rm: output and exit status reach ctr.
out=$(timeout 60 "${C[@]}" run --rm --runc-binary "$W" "$img" r1 sh -c 'echo hello from hako; exit 3' 2>&1)
rc=$?
expect_eq run-rm-output "hello from hako" "$out"
expect_rc run-rm-exit-status 3 "$rc"
create_line=$(grep -m1 ' create ' "$work/w/argv.log")
case "$create_line" in
--root\ "$hroot"\ --log\ *log.json\ --log-format\ json\ create\ --bundle\ *\ --pid-file\ *init.pid\ r1) pass create-argv ;;
*) fail create-argv "unexpected create call: $create_line" ;;
esac
# ctr run asks for cpu.shares 1024 by default (see docs/compatibility.md).
expect_eq run-default-cpu-shares 1024 "$(jq -r '.linux.resources.cpu.shares' "$work/w/config.json")"

# No fd of the shim or of hako reaches the container: the shell's own fds
# are exactly 0, 1 and 2 (the "exit" keeps sh from exec'ing ls).
out=$(timeout 60 "${C[@]}" run --rm --runc-binary "$W" "$img" r2 sh -c 'ls /proc/$$/fd; exit 0' 2>&1 | tr '\n' ' ')
expect_eq fds-closed "0 1 2 " "$out"

# A failing create: hako's own message reaches ctr's error.
out=$(timeout 60 "${C[@]}" run --rm --runc-binary "$W" "$img" r3 /no/such/program 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q '/no/such/program' && printf '%s' "$out" | grep -qi 'no such file'; then
	pass create-error-reaches-ctr
else
	fail create-error-reaches-ctr "ctr exited $rc: $out"
fi
if c container ls -q | grep -qx r3; then fail create-error-cleanup "container r3 left"; else pass create-error-cleanup; fi
if [ -e "$hroot/r3" ]; then fail create-error-state "hako state $hroot/r3 left"; else pass create-error-state; fi

# A detached task: exec, kill with a signal, ps, pause/resume, update.
if ! timeout 60 "${C[@]}" run -d --runc-binary "$W" "$img" d1 sh -c \
	'trap "echo usr1 >/tmp/sig" USR1; while :; do sleep 1000 & wait $!; done' >/dev/null 2>&1; then
	fail run-detached "ctr run -d failed"
else
	pass run-detached
	status=$(c task ls | awk '$1 == "d1" { print $3 }')
	expect_eq task-running RUNNING "$status"
	pid=$(c task ls | awk '$1 == "d1" { print $2 }')
	expect_eq state-pid "$pid" "$("$HAKO" --root "$hroot" state d1 | jq -r .pid)"

	out=$(timeout 30 "${C[@]}" task exec --exec-id e1 d1 sh -c 'echo exec ok; exit 5' 2>&1)
	rc=$?
	expect_eq exec-output "exec ok" "$out"
	expect_rc exec-exit-status 5 "$rc"
	exec_line=$(grep ' exec ' "$work/w/argv.log" | tail -1)
	case "$exec_line" in
	*" exec --process "*" --detach --pid-file "*" d1") pass exec-argv ;;
	*) fail exec-argv "unexpected exec call: $exec_line" ;;
	esac
	if grep -q '^PIDFILE-MISSING' "$work/w/argv.log"; then
		fail pid-file-on-return "$(grep '^PIDFILE-MISSING' "$work/w/argv.log" | head -1)"
	else
		pass pid-file-on-return
	fi

	# ps: the shim calls `ps --format json` and shows those pids.
	c task exec --exec-id bg d1 sleep 1000 >/dev/null 2>&1 &
	bg=$!
	for ((i = 0; i < 50; i++)); do [ "$(c task ps d1 | awk 'NR > 1' | wc -l)" -ge 3 ] && break; sleep 0.1; done
	ps_pids=$(c task ps d1 | awk 'NR > 1 { print $1 }' | sort -n | tr '\n' ' ')
	hako_pids=$("$HAKO" --root "$hroot" ps --format json d1 | jq -r '.[]' | sort -n | tr '\n' ' ')
	if [ -n "$ps_pids" ] && [ "$ps_pids" = "$hako_pids" ] && printf '%s' "$ps_pids" | grep -qw "$pid"; then
		pass task-ps
	else
		fail task-ps "ctr task ps: '$ps_pids', hako ps: '$hako_pids', init $pid"
	fi
	grep -q -- ' ps --format json d1$' "$work/w/argv.log" && pass ps-argv || fail ps-argv "no 'ps --format json' call"

	c task kill -s USR1 d1
	out=
	for ((i = 0; i < 50; i++)); do
		out=$(c task exec --exec-id sig d1 cat /tmp/sig 2>/dev/null) && break
		sleep 0.1
	done
	expect_eq kill-signal usr1 "$out"
	grep -q -- ' kill d1 10$' "$work/w/argv.log" && pass kill-argv || fail kill-argv "no 'kill d1 10' call"

	c task pause d1
	expect_eq pause-status PAUSED "$(c task ls | awk '$1 == "d1" { print $3 }')"
	expect_eq pause-hako-status paused "$("$HAKO" --root "$hroot" state d1 | jq -r .status)"
	c task resume d1
	expect_eq resume-status RUNNING "$(c task ls | awk '$1 == "d1" { print $3 }')"

	# ctr 1.6 has no `task update`: the shim's `update --resources -` is
	# driven by `docker update` (suite-docker.sh) and `crictl update`
	# (suite-cri.sh).
	skip task-update "ctr 1.6 has no task update command; see the docker and cri suites"

	c task kill -s KILL d1
	for ((i = 0; i < 50; i++)); do [ "$(c task ls | awk '$1 == "d1" { print $3 }')" = STOPPED ] && break; sleep 0.1; done
	expect_eq kill-stopped STOPPED "$(c task ls | awk '$1 == "d1" { print $3 }')"
	check task-delete c task delete d1
	wait "$bg"
	check container-delete c container delete d1
	cg=/sys/fs/cgroup/unified/$ns/d1
	if [ -e "$cg" ]; then fail cgroup-removed "$cg left"; else pass cgroup-removed; fi
fi

# kill --all reaches every process of the container (a setsid daemon too).
if timeout 60 "${C[@]}" run -d --runc-binary "$W" "$img" d2 sh -c 'setsid sleep 1000 & sleep 1000 & wait' >/dev/null 2>&1; then
	for ((i = 0; i < 50; i++)); do [ "$(c task ps d2 | awk 'NR > 1' | wc -l)" -ge 3 ] && break; sleep 0.1; done
	c task kill --all -s KILL d2
	for ((i = 0; i < 50; i++)); do [ "$(c task ls | awk '$1 == "d2" { print $3 }')" = STOPPED ] && break; sleep 0.1; done
	expect_eq kill-all-stopped STOPPED "$(c task ls | awk '$1 == "d2" { print $3 }')"
	grep -q -- ' kill --all d2 9$' "$work/w/argv.log" && pass kill-all-argv || fail kill-all-argv "no 'kill --all d2 9' call"
	c task delete d2 >/dev/null 2>&1
	c container delete d2 >/dev/null 2>&1
else
	fail kill-all "ctr run -d d2 failed"
fi

# The shim deletes, then deletes --force the container already gone, and
# treats an error as a failure: hako exits 0 for it.
grep -q -- ' delete --force r1$' "$work/w/argv.log" && pass delete-force-argv || fail delete-force-argv "no 'delete --force r1' call"
"$HAKO" --root "$hroot" delete --force no-such-container >/dev/null 2>&1
expect_rc delete-force-gone 0 $?
if grep -i 'failed to delete\|delete.*error' "$work/c/containerd.log" | grep -qv 'r3'; then
	fail shim-delete-clean "$(grep -i 'failed to delete' "$work/c/containerd.log" | head -1)"
else
	pass shim-delete-clean
fi

# A terminal: the shim gives hako a --console-socket.
if command -v script >/dev/null; then
	out=$(timeout 60 script -qec "ctr --address $CTD_SOCK -n $ns run --rm -t --runc-binary $W $img t1 sh -c 'tty; exit 0'" /dev/null </dev/null 2>&1 | tr -d '\r')
	case "$out" in
	*/dev/pts/0*) pass run-tty ;;
	*) fail run-tty "output: $out" ;;
	esac
	grep -q -- ' create --bundle .* --console-socket .* t1$' "$work/w/argv.log" && pass tty-argv || fail tty-argv "no --console-socket in create"
fi

# Nothing left: no task, no hako state, no cgroup.
expect_eq no-tasks-left "" "$(c task ls -q)"
expect_eq no-hako-state-left "" "$("$HAKO" --root "$hroot" list -q 2>/dev/null)"
left=$(find "/sys/fs/cgroup/unified/$ns" -mindepth 1 -type d 2>/dev/null)
expect_eq no-cgroups-left "" "$left"

cp "$work/w/argv.log" "$CLIENTS_WORK/containerd-argv.log" 2>/dev/null
exit 0
