#!/bin/bash
# tests.sh: the VM tier's checks (test/vm/run.sh copies this file into the
# share; hako-vm-tests.service runs it in the VM as root, output on ttyS1).
#
#   tests.sh            as root: setup, the rootful checks, then the rootless
#                       parts as tester
#   tests.sh rootless   the rootless checks, run as tester in a scope of its
#                       user manager (inside its delegated subtree)
#   tests.sh outside    rootless, run as tester from root's service cgroup
#                       (outside the delegated subtree)
#   tests.sh systemd-user, tests.sh podman-user
#                       the systemd driver and podman, as tester in a scope
#
# hako runs with the fs cgroup driver (its default) on a pure cgroup v2
# host with every controller. Every check prints "PASS name" or
# "FAIL name: why"; the root part ends with "N passed, M failed" and exits
# non-zero iff M > 0.
set -u

share=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HAKO=/usr/local/bin/hako
CG=/sys/fs/cgroup
MiB=$((1024 * 1024))
TUSER=tester

passed=0 failed=0
pass() {
	echo "PASS $1"
	passed=$((passed + 1))
}
fail() {
	echo "FAIL $1: $2"
	failed=$((failed + 1))
}
# check NAME CMD...: PASS when CMD succeeds.
check() {
	local name=$1
	shift
	if "$@"; then pass "$name"; else fail "$name" "$* failed"; fi
}
# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want '$2', got '$3'"; fi
}
# expect_ge NAME MIN GOT (GOT must be a number >= MIN)
expect_ge() {
	if [[ $3 =~ ^[0-9]+$ ]] && [ "$3" -ge "$2" ]; then pass "$1"; else fail "$1" "want >= $2, got '$3'"; fi
}
# expect_rc NAME WANT GOT [FILE]: an exit status, with FILE's content (the
# command's stderr) as evidence when it differs.
expect_rc() {
	if [ "$3" = "$2" ]; then
		pass "$1"
	else
		fail "$1" "exit status $3, want $2${4:+; stderr: $(head -c 600 "$4" | tr '\n' ' ')}"
	fi
}
# expect_grep NAME PATTERN FILE
expect_grep() {
	if grep -q -- "$2" "$3" 2>/dev/null; then
		pass "$1"
	else
		fail "$1" "no '$2' in: $(head -c 600 "$3" 2>&1 | tr '\n' ' ')"
	fi
}
# wait_for SECONDS CMD...: true once CMD succeeds, false after SECONDS.
wait_for() {
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ $SECONDS -lt $deadline ] || return 1
		sleep 0.2
	done
}
# keyed FILE KEY: the value of KEY in a flat keyed file (memory.events, ...).
keyed() {
	awk -v k="$2" '$1==k {print $2; found=1} END {if (!found) print "missing"}' "$1" 2>/dev/null || echo "unreadable"
}
readf() { cat "$1" 2>/dev/null || echo "unreadable"; }
absent() { [ ! -e "$1" ]; }

# hk ARGS...: hako with the part's state root.
GLOBALS=""
hk() { "$HAKO" ${ROOTARG:+--root "$ROOTARG"} $GLOBALS "$@"; }
status() { hk state "$1" 2>/dev/null | jq -r .status 2>/dev/null; }
is_status() { [ "$(status "$1")" = "$2" ]; }

# mkbundle DIR ARGS-JSON RESOURCES-JSON [CGROUPSPATH]: a bundle from
# `hako spec $SPECFLAGS` with the shared read-only rootfs $ROOTFS, ARGS,
# RESOURCES added to linux.resources and linux.cgroupsPath set (or left
# out when empty).
mkbundle() {
	local dir=$1 args=$2 res=$3 cgp=${4:-}
	rm -rf "$dir"
	mkdir -p "$dir"
	"$HAKO" spec $SPECFLAGS --bundle "$dir" >/dev/null 2>&1 || { echo "hako spec failed"; return 1; }
	jq --arg root "$ROOTFS" --argjson args "$args" --argjson res "$res" --arg cg "$cgp" '
		.root = {path: $root, readonly: true}
		| .process.terminal = false
		| .process.args = $args
		| .linux.resources = ((.linux.resources // {}) + $res)
		| if $cg == "" then del(.linux.cgroupsPath) else .linux.cgroupsPath = $cg end
	' "$dir/config.json" >"$dir/config.new" && mv "$dir/config.new" "$dir/config.json"
}

# start_ct NAME BUNDLE ID: create and start a detached container (its stdio
# in files of the work dir), a check of its own.
start_ct() {
	local name=$1 bundle=$2 id=$3
	if hk create --bundle "$bundle" "$id" </dev/null >"$W/$id.out" 2>"$W/$id.err" &&
		hk start "$id" 2>>"$W/$id.err"; then
		pass "$name"
	else
		fail "$name" "create/start failed: $(head -c 600 "$W/$id.err" | tr '\n' ' ')"
		return 1
	fi
}

# The checks that are the same as root and rootless, on a running
# container ID (init: sleep) whose cgroup is CGDIR, limited to 32 MiB
# (and, for pids, 20 tasks). P prefixes the check names.
check_oom() {
	local P=$1 id=$2 dir=$3 rc
	hk exec "$id" dd if=/dev/zero of=/dev/null bs=16M count=1 </dev/null >"$W/$id.dd16" 2>&1
	expect_rc "$P: 16 MiB under the 32 MiB limit is fine (exec exits 0)" 0 $? "$W/$id.dd16"
	hk exec "$id" dd if=/dev/zero of=/dev/null bs=64M count=1 </dev/null >"$W/$id.dd64" 2>&1
	rc=$?
	expect_rc "$P: 64 MiB over the 32 MiB limit is OOM-killed (exec exits 137)" 137 $rc "$W/$id.dd64"
	expect_ge "$P: memory.events oom_kill >= 1" 1 "$(keyed "$dir/memory.events" oom_kill)"
	check "$P: the container survives the OOM kill of the exec'd process" is_status "$id" running
}
check_fork_limit() {
	local P=$1 id=$2 dir=$3
	hk exec "$id" sh -c 'for i in $(seq 50); do sleep 5 & done; wait' </dev/null >"$W/$id.fork" 2>&1
	local rc=$?
	if [ $rc -ne 0 ] && grep -q "can't fork" "$W/$id.fork"; then
		pass "$P: forks beyond pids.max fail ($(grep -m1 "can't fork" "$W/$id.fork"))"
	else
		fail "$P: forks beyond pids.max fail" "exit status $rc, output: $(head -c 400 "$W/$id.fork" | tr '\n' ' ')"
	fi
	expect_ge "$P: pids.events max >= 1" 1 "$(keyed "$dir/pids.events" max)"
	local cur
	cur=$(readf "$dir/pids.current")
	if [[ $cur =~ ^[0-9]+$ ]] && [ "$cur" -le 20 ]; then pass "$P: pids.current $cur <= 20"; else fail "$P: pids.current <= 20" "got '$cur'"; fi
}
check_update() {
	local P=$1 id=$2 dir=$3
	hk update --memory 64m --pids-limit 30 "$id" 2>"$W/$id.update"
	expect_rc "$P: hako update --memory 64m --pids-limit 30" 0 $? "$W/$id.update"
	expect_eq "$P: update: memory.max is 64 MiB" $((64 * MiB)) "$(readf "$dir/memory.max")"
	expect_eq "$P: update: pids.max is 30" 30 "$(readf "$dir/pids.max")"
}

# ---------------------------------------------------------------------------
# rootful

rootful() {
	ROOTARG=/run/hako-vmtest SPECFLAGS="" W=/var/lib/hako-vm
	ROOTFS=$W/rootfs
	local cg pid

	echo "== rootful (fs driver, cgroups under $CG/hako)"
	# memory: a 32 MiB container, an event stream, allocations of 16 and
	# 64 MiB by exec, events --stats, delete.
	mkbundle "$W/mem" '["sleep","600"]' "{\"memory\":{\"limit\":$((32 * MiB))}}"
	if start_ct "rootful memory: create and start with memory.limit 32 MiB" "$W/mem" mem1; then
		cg=$CG/hako/mem1
		expect_eq "rootful memory: memory.max is 32 MiB" $((32 * MiB)) "$(readf "$cg/memory.max")"
		pid=$(hk state mem1 | jq -r .pid)
		check "rootful memory: the init ($pid) is in the cgroup" grep -qx "$pid" "$cg/cgroup.procs"
		hk events mem1 >"$W/mem1.events" 2>"$W/mem1.events.err" &
		local evpid=$!
		wait_for 30 grep -q '"type":"stats"' "$W/mem1.events" ||
			fail "rootful memory: hako events prints stats first" "$(head -c 400 "$W/mem1.events.err")"
		check_oom "rootful memory" mem1 "$cg"
		hk events --stats mem1 >"$W/mem1.stats" 2>&1
		expect_eq "rootful memory: events --stats: memory.usage.limit is 32 MiB" $((32 * MiB)) \
			"$(jq -r .data.memory.usage.limit "$W/mem1.stats" 2>&1)"
		expect_ge "rootful memory: events --stats: memory.usage.failcnt (memory.events max) >= 1" 1 \
			"$(jq -r .data.memory.usage.failcnt "$W/mem1.stats" 2>&1)"
		if wait_for 20 grep -q '"type":"oom"' "$W/mem1.events"; then
			pass "rootful memory: hako events streams $(grep -m1 '"type":"oom"' "$W/mem1.events")"
		else
			fail "rootful memory: hako events streams an oom event" \
				"stream: $(cut -c1-120 "$W/mem1.events" | tr '\n' ' ') $(head -c 300 "$W/mem1.events.err")"
		fi
		kill "$evpid" 2>/dev/null
		wait "$evpid" 2>/dev/null
		hk delete --force mem1 2>"$W/mem1.delete"
		expect_rc "rootful memory: delete --force" 0 $? "$W/mem1.delete"
		check "rootful memory: delete removes the cgroup" absent "$cg"
		check "rootful memory: and the default parent $CG/hako" absent "$CG/hako"
	fi

	# The allocating process is the container's init: hako run exits 137.
	mkbundle "$W/mem2" '["dd","if=/dev/zero","of=/dev/null","bs=64M","count=1"]' "{\"memory\":{\"limit\":$((32 * MiB))}}"
	hk run --bundle "$W/mem2" mem2 </dev/null >"$W/mem2.out" 2>&1
	expect_rc "rootful memory: hako run of an init allocating 64 MiB in 32 MiB exits 137" 137 $? "$W/mem2.out"
	check "rootful memory: run leaves no cgroup" absent "$CG/hako/mem2"

	# pids and cpu: limits, a busy loop, a fork loop, update, kill, delete.
	mkbundle "$W/pids" '["sleep","600"]' '{"pids":{"limit":20},"cpu":{"quota":50000,"period":100000}}'
	if start_ct "rootful pids/cpu: create and start with pids.limit 20, cpu quota 50000/100000" "$W/pids" pids1; then
		cg=$CG/hako/pids1
		expect_eq "rootful pids/cpu: pids.max is 20" 20 "$(readf "$cg/pids.max")"
		expect_eq "rootful pids/cpu: cpu.max is \"50000 100000\"" "50000 100000" "$(readf "$cg/cpu.max")"
		# Half a CPU: a busy loop for 3 s uses at most about 1.5 s.
		local u0 u1 t0 t1
		u0=$(keyed "$cg/cpu.stat" usage_usec)
		t0=$(date +%s%N)
		hk exec pids1 timeout 3 sh -c 'while :; do :; done' </dev/null >/dev/null 2>&1
		t1=$(date +%s%N)
		u1=$(keyed "$cg/cpu.stat" usage_usec)
		expect_ge "rootful pids/cpu: a busy loop is throttled (cpu.stat nr_throttled >= 1)" 1 "$(keyed "$cg/cpu.stat" nr_throttled)"
		local used=$((u1 - u0)) wall=$(((t1 - t0) / 1000))
		if [ $((used * 100)) -le $((wall * 60)) ]; then
			pass "rootful pids/cpu: the busy loop got $((used / 1000)) ms of CPU in $((wall / 1000)) ms (<= 60%)"
		else
			fail "rootful pids/cpu: the quota holds" "$((used / 1000)) ms of CPU in $((wall / 1000)) ms (> 60%)"
		fi
		check_fork_limit "rootful pids/cpu" pids1 "$cg"
		check_update "rootful pids/cpu" pids1 "$cg"
		expect_eq "rootful pids/cpu: update keeps cpu.max" "50000 100000" "$(readf "$cg/cpu.max")"
		hk events --stats pids1 >"$W/pids1.stats" 2>&1
		expect_eq "rootful pids/cpu: events --stats: pids.limit is 30, memory.usage.limit is 64 MiB" "30 $((64 * MiB))" \
			"$(jq -r '"\(.data.pids.limit) \(.data.memory.usage.limit)"' "$W/pids1.stats" 2>&1)"
		hk kill pids1 KILL 2>"$W/pids1.kill"
		expect_rc "rootful pids/cpu: kill KILL" 0 $? "$W/pids1.kill"
		check "rootful pids/cpu: stopped after kill" wait_for 20 is_status pids1 stopped
		hk delete pids1 2>"$W/pids1.delete"
		expect_rc "rootful pids/cpu: delete of the stopped container" 0 $? "$W/pids1.delete"
		check "rootful pids/cpu: delete removes the cgroup" absent "$cg"
	fi
	# An absolute cgroupsPath: the levels hako makes go with the container,
	# a level the administrator made stays. Inside, the cgroup namespace
	# and the cgroup mount show the container's own cgroup as the root.
	mkdir -p "$CG/hako-vm-admin"
	mkbundle "$W/nested" '["sh","-c","cat /sys/fs/cgroup/pids.max /sys/fs/cgroup/memory.max /proc/self/cgroup"]' \
		"{\"pids\":{\"limit\":20},\"memory\":{\"limit\":$((32 * MiB))}}" /hako-vm-admin/made/by/hako
	hk run --bundle "$W/nested" nested </dev/null >"$W/nested.out" 2>&1
	expect_rc "rootful cgroupsPath: run in /hako-vm-admin/made/by/hako" 0 $? "$W/nested.out"
	expect_eq "rootful cgroupsPath: inside: pids.max, memory.max, /proc/self/cgroup" "20 $((32 * MiB)) 0::/" \
		"$(tr '\n' ' ' <"$W/nested.out" | sed 's/ $//')"
	check "rootful cgroupsPath: the levels hako made are removed" absent "$CG/hako-vm-admin/made"
	check "rootful cgroupsPath: the administrator's level stays" test -d "$CG/hako-vm-admin"
	rmdir "$CG/hako-vm-admin" 2>/dev/null

	check "rootful: no container left" [ -z "$(hk list -q 2>/dev/null)" ]
}

# ---------------------------------------------------------------------------
# rootless (run as tester inside a scope of its user manager, so that hako
# runs inside the user's delegated subtree: the kernel lets a process move
# another one into a cgroup only when it may write cgroup.procs of the
# common ancestor of both cgroups)

rootless() {
	local uid dcg dir cg pid rc
	uid=$(id -u)
	ROOTARG="" SPECFLAGS=--rootless W=$HOME/hako-vm
	ROOTFS=$W/rootfs # the user's copy, made by main
	dcg=/user.slice/user-$uid.slice/user@$uid.service/hako.slice
	echo "== rootless as $(id -un) (uid $uid) in $(sed -n 's/^0:://p' /proc/self/cgroup), delegated parent $dcg"

	mkbundle "$W/rl1" '["sleep","600"]' "{\"memory\":{\"limit\":$((32 * MiB))},\"pids\":{\"limit\":20}}" "$dcg/rl1"
	if start_ct "rootless: create and start in $dcg with memory 32 MiB, pids 20" "$W/rl1" rl1; then
		cg=$CG$dcg/rl1
		expect_eq "rootless: memory.max is 32 MiB" $((32 * MiB)) "$(readf "$cg/memory.max")"
		expect_eq "rootless: pids.max is 20" 20 "$(readf "$cg/pids.max")"
		local sc
		sc=$(readf "$CG$dcg/cgroup.subtree_control")
		if [[ " $sc " == *" memory "* && " $sc " == *" pids "* ]]; then
			pass "rootless: hako enabled memory and pids in $dcg/cgroup.subtree_control ($sc)"
		else
			fail "rootless: hako enables memory and pids in $dcg/cgroup.subtree_control" "it has '$sc'"
		fi
		pid=$(hk state rl1 | jq -r .pid)
		check "rootless: the init ($pid) is in the cgroup" grep -qx "$pid" "$cg/cgroup.procs"
		expect_eq "rootless: the init runs as $(id -un) on the host" "$uid" "$(awk '/^Uid:/ {print $2}' "/proc/$pid/status" 2>&1)"
		check_oom "rootless" rl1 "$cg"
		check_fork_limit "rootless" rl1 "$cg"
		check_update "rootless" rl1 "$cg"
		hk delete --force rl1 2>"$W/rl1.delete"
		expect_rc "rootless: delete --force" 0 $? "$W/rl1.delete"
		check "rootless: delete removes the cgroup" absent "$cg"
		check "rootless: and leaves the administrator's $dcg" test -d "$CG$dcg"
	fi

	# Limits without a delegated cgroup are refused, naming the delegation,
	# and leave nothing behind; without limits the container runs.
	local name cgp
	for name in rl2 rl3; do
		if [ $name = rl2 ]; then cgp=/hako-vm-nodeleg/$name; else cgp=""; fi
		mkbundle "$W/$name" '["true"]' "{\"memory\":{\"limit\":$((32 * MiB))}}" "$cgp"
		hk run --bundle "$W/$name" $name </dev/null >"$W/$name.out" 2>&1
		rc=$?
		local what="cgroupsPath ${cgp:-empty (default /hako/$name)}"
		if [ $rc -ne 0 ] && grep -q "linux.resources.memory" "$W/$name.out" && grep -qi "delegat" "$W/$name.out"; then
			pass "rootless: memory limit with $what is refused: $(head -n1 "$W/$name.out")"
		else
			fail "rootless: memory limit with $what is refused naming the delegation" \
				"exit status $rc: $(head -c 600 "$W/$name.out" | tr '\n' ' ')"
		fi
		check "rootless: the refused $name leaves no state" absent "$XDG_RUNTIME_DIR/hako/$name"
		check "rootless: the refused $name leaves no cgroup" absent "$CG${cgp:-/hako/$name}"
	done
	mkbundle "$W/rl4" '["true"]' '{}' "/hako-vm-nodeleg/rl4"
	hk run --bundle "$W/rl4" rl4 </dev/null >"$W/rl4.out" 2>&1
	expect_rc "rootless: no limits and no delegated cgroup: runs without a cgroup" 0 $? "$W/rl4.out"
	check "rootless: no container left" [ -z "$(hk list -q 2>/dev/null)" ]
	echo "== rootless: end"
}

# The systemd driver (--systemd-cgroup): the same limits through a
# transient scope made over D-Bus, rootful on the system bus (MODE root)
# and rootless on the user's bus (MODE user). SLICE:PREFIX:NAME puts the
# scope hako-ID.scope in SLICE.
systemd_driver() {
	local mode=$1 id=$2 slice=$3 base cg unit=hako-$2.scope sysctl=(systemctl)
	GLOBALS=--systemd-cgroup
	if [ "$mode" = user ]; then
		ROOTARG="" SPECFLAGS=--rootless W=$HOME/hako-vm
		base=/user.slice/user-$(id -u).slice/user@$(id -u).service/$slice
		sysctl=(systemctl --user)
	else
		ROOTARG=/run/hako-vmtest SPECFLAGS="" W=/var/lib/hako-vm
		base=/$slice
	fi
	ROOTFS=$W/rootfs
	cg=$CG$base/$unit
	echo "== $mode, systemd driver: scope $unit in $slice"
	mkbundle "$W/$id" '["sleep","600"]' "{\"memory\":{\"limit\":$((32 * MiB))},\"pids\":{\"limit\":20}}" "$slice:hako:$id"
	if start_ct "$mode systemd: create and start with memory 32 MiB, pids 20" "$W/$id" "$id"; then
		expect_eq "$mode systemd: $unit is active" active "$("${sysctl[@]}" is-active "$unit" 2>&1)"
		expect_eq "$mode systemd: MemoryMax of the unit" $((32 * MiB)) "$("${sysctl[@]}" show -p MemoryMax --value "$unit" 2>&1)"
		expect_eq "$mode systemd: memory.max is 32 MiB" $((32 * MiB)) "$(readf "$cg/memory.max")"
		expect_eq "$mode systemd: pids.max is 20" 20 "$(readf "$cg/pids.max")"
		local pid
		pid=$(hk state "$id" | jq -r .pid)
		check "$mode systemd: the init ($pid) is in the scope" grep -qx "$pid" "$cg/cgroup.procs"
		check_oom "$mode systemd" "$id" "$cg"
		check_fork_limit "$mode systemd" "$id" "$cg"
		check_update "$mode systemd" "$id" "$cg"
		expect_eq "$mode systemd: update also set the unit's MemoryMax" $((64 * MiB)) "$("${sysctl[@]}" show -p MemoryMax --value "$unit" 2>&1)"
		hk delete --force "$id" 2>"$W/$id.delete"
		expect_rc "$mode systemd: delete --force" 0 $? "$W/$id.delete"
		check "$mode systemd: delete removes the scope's cgroup" absent "$cg"
		local st
		st=$("${sysctl[@]}" is-active "$unit" 2>&1)
		if [ "$st" != active ]; then pass "$mode systemd: the unit is stopped ($st)"; else fail "$mode systemd: the unit is stopped" "still active"; fi
	fi
	GLOBALS=""
	echo "== systemd-$mode: end"
}

# From outside the delegated subtree (hako in root's service cgroup) the
# kernel refuses to start the init in the user's cgroup: the mover must
# be able to write cgroup.procs of the common ancestor (cgroup v2,
# "Delegation Containment"). hako must say so and leave nothing behind.
outside() {
	local uid dcg cg rc
	uid=$(id -u)
	ROOTARG="" SPECFLAGS=--rootless W=$HOME/hako-vm
	ROOTFS=$W/rootfs
	dcg=/user.slice/user-$uid.slice/user@$uid.service/hako.slice
	cg=$CG$dcg/out1
	echo "== rootless as $(id -un) outside the delegated subtree, in $(sed -n 's/^0:://p' /proc/self/cgroup)"
	mkbundle "$W/out1" '["sleep","600"]' "{\"memory\":{\"limit\":$((32 * MiB))}}" "$dcg/out1"
	hk create --bundle "$W/out1" out1 </dev/null >"$W/out1.out" 2>&1
	rc=$?
	if [ $rc -ne 0 ]; then
		pass "rootless outside the subtree: create fails"
		expect_grep "rootless outside the subtree: the error names the cgroup" "$dcg/out1" "$W/out1.out"
	else
		fail "rootless outside the subtree: create fails" "it succeeded: $(hk state out1 2>&1 | tr '\n' ' ')"
		hk delete --force out1 >/dev/null 2>&1
	fi
	check "rootless outside the subtree: no state left" absent "$XDG_RUNTIME_DIR/hako/out1"
	check "rootless outside the subtree: no cgroup left" absent "$cg"
	echo "== outside: end"
}

# podman MODE: Debian's podman 4.3 with --cgroup-manager systemd drives
# hako (--runtime; podman then calls it with --systemd-cgroup and a
# cgroupsPath slice:libpod:ID), as root (MODE root, machine.slice on the
# system manager) or as tester (MODE user, user.slice of its manager; run
# in a scope of it, so podman can move itself into its own scopes).
# run --rm and exit statuses, and --memory 64m and --pids-limit 50
# enforced on the scope hako made.
podman_checks() {
	local mode=$1 out rc id pid cgp cg unit sysctl=(systemctl) t0=$SECONDS
	local P=(podman --cgroup-manager systemd --runtime "$HAKO")
	if [ "$mode" = user ]; then
		W=$HOME/hako-vm sysctl=(systemctl --user)
	else
		W=/var/lib/hako-vm
	fi
	ROOTFS=$W/rootfs
	echo "== podman-$mode: $(podman --version 2>&1) as $(id -un)"
	tar -C "$ROOTFS" -c . | podman import - localhost/busybox >"$W/podman-import.out" 2>&1
	expect_rc "podman $mode: import localhost/busybox" 0 $? "$W/podman-import.out"

	# (Each podman call costs seconds under TCG: few calls, several
	# checks each.)
	out=$("${P[@]}" run --rm --network none localhost/busybox sh -c 'echo hi; exit 3' 2>"$W/podman-run.err")
	rc=$?
	expect_eq "podman $mode: run --rm prints the output" hi "$out"
	expect_rc "podman $mode: run --rm: exit 3 gives 3" 3 $rc "$W/podman-run.err"

	# A container with both limits: hako's scope, the limits in the
	# unit and the cgroup, a fork loop and an allocation held to them.
	id=$("${P[@]}" run -d --network none --memory 64m --pids-limit 50 localhost/busybox sleep 600 2>"$W/podman-d.err")
	rc=$?
	expect_rc "podman $mode: run -d --memory 64m --pids-limit 50" 0 $rc "$W/podman-d.err"
	if [ $rc -eq 0 ]; then
		pid=$("${P[@]}" inspect -f '{{.State.Pid}}' "$id" 2>&1)
		cgp=$(sed -n 's/^0:://p' "/proc/$pid/cgroup" 2>/dev/null)
		cg=$CG$cgp
		unit=libpod-$id.scope
		if [[ $cgp == */$unit ]]; then
			pass "podman $mode: the init is in hako's systemd scope ($cgp)"
		else
			fail "podman $mode: the init is in a scope $unit" "cgroup '$cgp'"
		fi
		expect_eq "podman $mode: $unit is active" active "$("${sysctl[@]}" is-active "$unit" 2>&1)"
		expect_eq "podman $mode: MemoryMax of the unit is 64 MiB" $((64 * MiB)) "$("${sysctl[@]}" show -p MemoryMax --value "$unit" 2>&1)"
		expect_eq "podman $mode: memory.max is 64 MiB" $((64 * MiB)) "$(readf "$cg/memory.max")"
		expect_eq "podman $mode: pids.max is 50" 50 "$(readf "$cg/pids.max")"
		# pause/unpause: rootless too, since the scope is delegated.
		"${P[@]}" pause "$id" >"$W/podman-pause.out" 2>&1
		expect_rc "podman $mode: pause" 0 $? "$W/podman-pause.out"
		expect_eq "podman $mode: paused: the scope is frozen" 1 "$(keyed "$cg/cgroup.events" frozen)"
		"${P[@]}" unpause "$id" >"$W/podman-unpause.out" 2>&1
		expect_rc "podman $mode: unpause" 0 $? "$W/podman-unpause.out"
		expect_eq "podman $mode: unpaused: the scope is thawed" 0 "$(keyed "$cg/cgroup.events" frozen)"
		"${P[@]}" exec "$id" dd if=/dev/zero of=/dev/null bs=200M count=1 </dev/null >"$W/podman-oom.out" 2>&1
		expect_rc "podman $mode: exec allocating 200 MiB is OOM-killed (137)" 137 $? "$W/podman-oom.out"
		expect_ge "podman $mode: memory.events oom_kill >= 1" 1 "$(keyed "$cg/memory.events" oom_kill)"
		"${P[@]}" exec "$id" sh -c 'for i in $(seq 80); do sleep 5 & done; wait' </dev/null >"$W/podman-fork.out" 2>&1
		rc=$?
		if [ $rc -ne 0 ] && grep -q "can't fork" "$W/podman-fork.out"; then
			pass "podman $mode: a fork loop stops at pids.max ($(grep -m1 "can't fork" "$W/podman-fork.out"))"
		else
			fail "podman $mode: a fork loop stops at pids.max" "exit status $rc: $(head -c 400 "$W/podman-fork.out" | tr '\n' ' ')"
		fi
		expect_ge "podman $mode: pids.events max >= 1" 1 "$(keyed "$cg/pids.events" max)"
		out=$(readf "$cg/pids.current")
		if [[ $out =~ ^[0-9]+$ ]] && [ "$out" -le 50 ]; then pass "podman $mode: pids.current $out <= 50"; else fail "podman $mode: pids.current <= 50" "got '$out'"; fi
		expect_eq "podman $mode: the container survives" running "$("${P[@]}" inspect -f '{{.State.Status}}' "$id" 2>&1)"
		"${P[@]}" rm -f -t 0 "$id" >"$W/podman-rm.out" 2>&1
		expect_rc "podman $mode: rm -f" 0 $? "$W/podman-rm.out"
		check "podman $mode: rm -f removes the scope's cgroup" absent "$cg"
		out=$("${sysctl[@]}" is-active "$unit" 2>&1)
		if [ "$out" != active ]; then pass "podman $mode: the unit is stopped ($out)"; else fail "podman $mode: the unit is stopped" "still active"; fi
	fi
	check "podman $mode: no container left" [ -z "$("${P[@]}" ps -aq 2>/dev/null)" ]
	echo "== podman-$mode: took $((SECONDS - t0)) s"
	echo "== podman-$mode: end"
}

# ---------------------------------------------------------------------------
# main (root)

# as_tester MODE [SCOPE]: runs this script as tester in MODE (in a scope
# of its user manager when SCOPE is "scope"), printing and counting its
# checks.
as_tester() {
	local mode=$1 uid line ended=false
	uid=$(id -u $TUSER)
	local cmd=(bash "$share/tests.sh" "$mode")
	[ "${2:-}" != scope ] || cmd=(systemd-run --user --scope --quiet -- "${cmd[@]}")
	while IFS= read -r line; do
		case $line in
		PASS*) passed=$((passed + 1)) ;;
		FAIL*) failed=$((failed + 1)) ;;
		"== $mode: end") ended=true ;;
		esac
		echo "$line"
	done < <(runuser -u $TUSER -- env -i HOME=/home/$TUSER USER=$TUSER LOGNAME=$TUSER \
		PATH=/usr/local/bin:/usr/bin:/bin XDG_RUNTIME_DIR="/run/user/$uid" \
		DBUS_SESSION_BUS_ADDRESS="unix:path=/run/user/$uid/bus" "${cmd[@]}" 2>&1)
	$ended || fail "rootless: the $mode part finished" "it stopped early (see above)"
}

main() {
	local ucg uid state
	echo "== hako VM tier: kernel $(uname -r), $(nproc) CPUs, $(systemctl --version | head -n1)"
	state=$(timeout 120 systemctl is-system-running --wait 2>&1)
	echo "== system: $state; $(systemd-analyze time 2>&1 | head -n1)"
	[ "$state" = running ] || systemctl --failed --no-legend --plain 2>&1 | sed 's/^/   failed unit: /'

	install -m 0755 "$share/hako" "$HAKO"
	"$HAKO" --version | sed 's/^/== /'
	mkdir -p /var/lib/hako-vm
	rm -rf /var/lib/hako-vm/rootfs
	cp -a "$share/rootfs" /var/lib/hako-vm/rootfs

	expect_eq "host: /sys/fs/cgroup is cgroup2" cgroup2fs "$(stat -fc %T $CG)"
	local c ctrls
	ctrls=$(readf $CG/cgroup.controllers)
	for c in cpu cpuset io memory pids; do
		[[ " $ctrls " == *" $c "* ]] || { fail "host: every controller" "no $c in cgroup.controllers: $ctrls"; break; }
	done
	[[ " $ctrls " == *" pids "* && " $ctrls " == *" memory "* && " $ctrls " == *" cpu "* && " $ctrls " == *" io "* && " $ctrls " == *" cpuset "* ]] &&
		pass "host: controllers $ctrls"

	rootful
	systemd_driver root sd1 system.slice
	podman_checks root

	# Rootless: tester's user manager, its delegated cgroup, and a parent
	# cgroup hako.slice made for hako by the administrator.
	uid=$(id -u $TUSER)
	ucg=$CG/user.slice/user-$uid.slice/user@$uid.service
	if ! wait_for 120 test -S "/run/user/$uid/bus"; then
		fail "rootless: $TUSER's user manager runs" "no /run/user/$uid/bus; $(systemctl is-active "user@$uid.service" 2>&1)"
	else
		pass "rootless: $TUSER's user manager runs (lingering)"
		expect_eq "rootless: $ucg is delegated to $TUSER" "$TUSER" "$(stat -c %U "$ucg" 2>&1)"
		ctrls=$(readf "$ucg/cgroup.controllers")
		if [[ " $ctrls " == *" memory "* && " $ctrls " == *" pids "* && " $ctrls " == *" cpu "* ]]; then
			pass "rootless: user@$uid.service has the controllers $ctrls"
		else
			fail "rootless: user@$uid.service has the delegated controllers" "cgroup.controllers: $ctrls"
		fi
		# What an administrator does to give a user's containers a
		# parent cgroup: a directory in the user's delegated subtree,
		# owned by the user with the files the kernel lists for
		# delegation.
		mkdir -p "$ucg/hako.slice"
		local f
		chown $TUSER: "$ucg/hako.slice"
		for f in $(cat /sys/kernel/cgroup/delegate 2>/dev/null || echo cgroup.procs cgroup.threads cgroup.subtree_control); do
			[ ! -e "$ucg/hako.slice/$f" ] || chown $TUSER: "$ucg/hako.slice/$f"
		done
		# The user's own copy of the rootfs (its /root is 0700).
		rm -rf /home/$TUSER/hako-vm
		mkdir -p /home/$TUSER/hako-vm
		cp -a "$share/rootfs" /home/$TUSER/hako-vm/rootfs
		chown -R $TUSER: /home/$TUSER/hako-vm
		as_tester rootless scope
		as_tester outside
		as_tester systemd-user scope
		as_tester podman-user scope
	fi

	echo "$passed passed, $failed failed"
	[ $failed -eq 0 ]
}

case ${1:-} in
rootless) rootless ;;
outside) outside ;;
systemd-user) systemd_driver user sdu1 user.slice ;;
podman-user) podman_checks user ;;
"") main ;;
*)
	echo "usage: $0 [rootless|outside|systemd-user|podman-user]" >&2
	exit 2
	;;
esac
