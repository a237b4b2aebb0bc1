#!/usr/bin/env bash
# test/bench/bench.sh: startup/teardown benchmark of hako against runc and crun.
#
# Run as root: `make bench`, or test/bench/bench.sh. Settings (environment):
#   BENCH_N=30            interleaved runs per row (medians of BENCH_N samples)
#   BENCH_QUICK=1         fast iteration: N=5, scaling to 50, list with 50 containers
#   BENCH_SCALE="10 50 100 200"   the container counts of the scaling section
#   BENCH_LIST_CONTAINERS=200     containers present during the `list` rows
#   BENCH_SKIP="rootless seccomp scaling"   sections to leave out
#   HAKO_BIN=/path/to/hako        the hako binary to measure (default bin/hako,
#                                 built with `make build` when missing)
#   BENCH_SECCOMP_PROFILE=FILE    podman's default seccomp profile (default:
#                                 _output/podman-seccomp.json, made by test/deps.sh)
#   BENCH_USER=hakobench          the non-root user of the rootless section
#   BENCH_MAXFAIL=3               failures after which a row is given up for a runtime
#
# What it does. Outside (as root, in the host's namespaces): installs runc, crun,
# GNU time, busybox-static, gcc, jq and uidmap with apt-get when missing; builds a
# busybox rootfs (test/mkrootfs.sh), the bundles (config from `hako spec`, ociVersion
# 1.0.2 because crun 1.8.1 refuses newer ones, terminal off, read-only root), a static
# Go hello world, and an LD_PRELOAD shim for crun (setrlimit/prlimit of RLIMIT_MEMLOCK
# failing with EPERM returns 0: this host has no CAP_SYS_RESOURCE). For the rootless
# section it makes the user BENCH_USER if missing (useradd; subordinate uid/gid
# ranges, added with usermod when useradd did not) and removes what it added on exit.
# Then it re-executes itself inside `unshare -m`, where / is made rprivate and a fresh
# cgroup2 is mounted at /sys/fs/cgroup, so the three runtimes all see a pure cgroup v2
# hierarchy (on this hybrid host, the same unified tree as /sys/fs/cgroup/unified:
# the cgroups created there are removed afterwards). Every runtime has its own --root;
# every row runs the runtimes round-robin per iteration (hako, runc, crun, hako, ...).
# Wall times are taken in bash with $EPOCHREALTIME (no fork for the clock).
#
# Sections and rows:
#   root      create+start+delete -f of /bin/true (one sample = the three commands);
#             `run` of /bin/true (foreground; an untimed delete -f follows);
#             `exec ID true` into one running `sleep 1000` container;
#             `delete -f` of a running `sleep 1000` container (created+started untimed);
#             `list` with BENCH_LIST_CONTAINERS running containers per runtime (all
#             runtimes' containers exist while the lists run);
#             peak RSS (GNU time %M) of `run` and of `create`.
#   seccomp   create+start+delete, run and exec again with podman's default seccomp
#             profile in linux.seccomp (converted as podman does: the rules whose
#             includes/excludes match amd64 and the config's bounding capabilities,
#             archMap -> architectures, defaultErrnoRet kept).
#   rootless  the rows of root, run as BENCH_USER (the whole loop runs as that user,
#             through setpriv, so no helper process is timed): bundles from
#             `hako spec --rootless` (the user to 0, its subordinate range to 1..65536,
#             written through newuidmap/newgidmap), a rootfs copy owned by the user,
#             --root dirs of the user. No runtime can create a cgroup here (the fresh
#             cgroup2 root belongs to root and is not delegated), and the config has no
#             cgroupsPath and no resources: all three run cgroup-less.
#   scaling   for each n in BENCH_SCALE: n containers per runtime created and started
#             (`sleep 1000`; interleaved per container), `list` (median of 3), `state`
#             of each, `delete -f` of each; reported in ms per container.
#   floors    unshare --fork --pid --mount --uts --ipc --net true (as root), the same
#             with --user --map-root-user as the rootless user, a static Go hello world;
#             sampled in the same loop as create/start/delete and run.
# Failures: a runtime whose first `run` in a section fails BENCH_MAXFAIL (3) times is
# left out of the section ("failed: <reason>" in every row). A failing command in a row
# is counted and the row goes on; after BENCH_MAXFAIL failures the row is given up for
# that runtime. The report shows "median (min–max); K failed: <first reason>", or
# "failed (K×): <reason>" when there is no sample. Nothing aborts the rest.
#
# Peak RSS: ru_maxrss of the waited command, which the kernel takes as the maximum
# over that process and every descendant it (transitively) waited for. For `run`
# that covers the CLI and the container's init/process when they are reaped inside
# the tree; for `create` the container's init outlives the command and is not counted
# (the same holds for runc's `runc init` and crun's child).
#
# The report (markdown) goes to stdout and _output/bench.md: the command line, machine
# facts, one table per section (median, min-max per runtime, ratio runtime/hako), the
# floors, RSS, scaling and a "targets" section (PASS/MISS with the measured ratio).
# Everything is removed on exit, error or Ctrl-C: containers of every runtime (as root
# and as the user), this run's cgroups (also under /sys/fs/cgroup/unified), the temp
# dir, processes of the bench user (by PID) and the user itself if it was added here.
set -uo pipefail
export LC_ALL=C

RUNTIMES=(hako runc crun)
STDPATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin

# ---------------------------------------------------------------- common helpers

# rt NAME ARGS...: runs a runtime with its --root under $ROOTS.
rt() {
	local name=$1
	shift
	case $name in
	hako) "$HAKO" --root "$ROOTS/root-hako" "$@" ;;
	runc) runc --root "$ROOTS/root-runc" "$@" ;;
	crun) LD_PRELOAD=$SHIM crun --root "$ROOTS/root-crun" "$@" ;;
	esac
}

# rt_argv NAME: sets ARGV to the runtime's command line (env execs crun in place,
# so /usr/bin/time measures crun itself).
rt_argv() {
	case $1 in
	hako) ARGV=("$HAKO" --root "$ROOTS/root-hako") ;;
	runc) ARGV=(runc --root "$ROOTS/root-runc") ;;
	crun) ARGV=(env LD_PRELOAD="$SHIM" crun --root "$ROOTS/root-crun") ;;
	esac
}

# cleanup_cgroups: removes the cgroups named after this run's containers (prefix $P)
# from the unified hierarchy mounted at $1, deepest first, killing anything left
# in them first (only our own containers' processes can be there), and then
# their parents that did not exist before the run and are now empty.
cleanup_cgroups() {
	local mnt=$1 d procs pid i
	[ -f "$mnt/cgroup.procs" ] || return 0
	local -a dirs
	mapfile -t dirs < <(find "$mnt" -mindepth 1 -depth -type d -name "*$P*" 2>/dev/null)
	for d in "${dirs[@]}"; do
		for i in 1 2 3 4 5; do
			if [ -f "$d/cgroup.kill" ]; then echo 1 >"$d/cgroup.kill" 2>/dev/null; fi
			procs=$(cat "$d/cgroup.procs" 2>/dev/null)
			[ -z "$procs" ] && break
			for pid in $procs; do kill -9 "$pid" 2>/dev/null; done
			sleep 0.1
		done
		rmdir "$d" 2>/dev/null
		# parents created by the runtimes during this run (not in the snapshot)
		d=${d%/*}
		while [ "$d" != "$mnt" ] && [ -n "$d" ]; do
			if [ -f "$W/cgroups.before" ] && grep -qxF "$d" "$W/cgroups.before"; then break; fi
			rmdir "$d" 2>/dev/null || break
			d=${d%/*}
		done
	done
}

# cleanup_containers ROOTS: delete -f of this run's containers in each runtime's root.
cleanup_containers() {
	local ROOTS=$1 r d id
	for r in "${RUNTIMES[@]}"; do
		[ -d "$ROOTS/root-$r" ] || continue
		for d in "$ROOTS/root-$r/$P"*; do
			[ -e "$d" ] || continue
			id=${d##*/}
			rt "$r" delete -f "$id" >/dev/null 2>&1
		done
	done
}

# user_cmd: sets UCMD to the command prefix that runs as the bench user with a clean
# environment carrying what the rootless part needs.
user_cmd() {
	UCMD=(setpriv --reuid="$BUID" --regid="$BGID" --init-groups
		env -i HOME="$RL" USER="$BENCH_USER" LOGNAME="$BENCH_USER" PATH="$STDPATH"
		XDG_RUNTIME_DIR="$RL/run" LC_ALL=C W="$W" P="$P" HAKO="$HAKO" SHIM="$SHIM" N="$N"
		LISTN="$LISTN" RL="$RL" GOHELLO="$GOHELLO" MAXFAIL="$MAXFAIL")
}

# kill_user_procs: SIGKILL, by PID, every process whose real uid is the bench user's
# or in its subordinate range (only this harness's containers run as those).
kill_user_procs() {
	[ -n "${BUID:-}" ] || return 0
	local f pid uid found
	for _ in 1 2 3 4 5; do
		found=0
		for f in /proc/[0-9]*/status; do
			uid=$(awk '/^Uid:/ { print $2; exit }' "$f" 2>/dev/null) || continue
			[ -n "$uid" ] || continue
			if [ "$uid" = "$BUID" ] || { [ -n "${SUBSTART:-}" ] && [ "$uid" -ge "$SUBSTART" ] && [ "$uid" -lt "$((SUBSTART + SUBSIZE))" ]; }; then
				pid=${f#/proc/}
				pid=${pid%/status}
				kill -9 "$pid" 2>/dev/null && found=1
			fi
		done
		[ $found = 0 ] && return 0
		sleep 0.2
	done
}

# ---------------------------------------------------------------- measuring

# rec ROW RT T0 T1: one sample (microseconds) of ROW for RT in the current section.
rec() { echo $(($4 - $3)) >>"$R/$1.$2"; }

# rowfail ROW RT MESSAGE: records one failure of ROW for RT (a line in $R/ROW.RT.err).
rowfail() {
	local msg
	# the last non-empty line, without runc's logrus prefix
	msg=$(printf '%s\n' "$3" | grep -v '^\s*$' | tail -n 1 | sed 's/time="[^"]*" level=[a-z]* msg=//' | cut -c1-200)
	echo "${msg:-exit status non-zero, no message}" >>"$R/$1.$2.err"
}
# failedrow ROW RT: the row is given up for RT: its probe failed, or the row failed
# MAXFAIL times (a runtime that fails now and then keeps its samples and its count).
failedrow() {
	[ -f "$R/probe.$2.failed" ] && return 0
	[ -f "$R/$1.$2.err" ] || return 1
	local n
	n=$(wc -l <"$R/$1.$2.err")
	[ "$n" -ge "$MAXFAIL" ]
}
errtext() { cat "$TMPD/err" 2>/dev/null; }

# probe_run RT BUNDLE ID MESSAGE: up to MAXFAIL runs of the bundle until one succeeds;
# each failure goes to probe.RT.err (MESSAGE first), and if none succeeds, the last
# one to probe.RT.failed: the runtime is then left out of the whole section.
probe_run() {
	local r=$1 k
	for ((k = 0; k < MAXFAIL; k++)); do
		if rt "$r" run --bundle "$2" "$3" >/dev/null 2>"$TMPD/err" </dev/null; then
			rt "$r" delete -f "$3" >/dev/null 2>&1
			return 0
		fi
		rowfail probe "$r" "$4$(errtext)"
		rt "$r" delete -f "$3" >/dev/null 2>&1
	done
	tail -n 1 "$R/probe.$r.err" >"$R/probe.$r.failed"
	echo "bench: $SEC: $r failed: $(cat "$R/probe.$r.failed")" >&2
	return 1
}

# probe BUNDLE: runs of the bundle per runtime (with CHECK_BUNDLE set, that one too:
# a container that exits 0 only if the seccomp filter is in force).
probe() {
	local r id
	for r in "${RUNTIMES[@]}"; do
		id=$P-$SEC-probe-$r
		probe_run "$r" "$1" "$id" "" || continue
		if [ -n "${CHECK_BUNDLE:-}" ]; then
			probe_run "$r" "$CHECK_BUNDLE" "$id" "no seccomp filter in the container (Seccomp: 2 expected in /proc/self/status) "
		fi
	done
}

# floors: one sample of each floor command (FLOORS=root or rootless).
floors() {
	local t0 t1
	t0=${EPOCHREALTIME/./}
	if [ "$FLOORS" = root ]; then
		unshare --fork --pid --mount --uts --ipc --net true
	else
		unshare --user --map-root-user --fork --pid --mount --uts --ipc --net true
	fi || echo "bench: the unshare floor failed" >&2
	t1=${EPOCHREALTIME/./}
	rec floor-unshare - "$t0" "$t1"
	t0=${EPOCHREALTIME/./}
	"$GOHELLO" >/dev/null
	t1=${EPOCHREALTIME/./}
	rec floor-gohello - "$t0" "$t1"
}

# rows_csd_run BUNDLE_TRUE: create;start;delete -f and run of true (and the floors).
rows_csd_run() {
	local bt=$1 i r id t0 t1
	for ((i = 0; i < N; i++)); do
		[ -n "${FLOORS:-}" ] && floors
		for r in "${RUNTIMES[@]}"; do
			if ! failedrow csd "$r"; then
				id=$P-$SEC-csd-$r-$i
				t0=${EPOCHREALTIME/./}
				if { rt "$r" create --bundle "$bt" "$id" && rt "$r" start "$id" && rt "$r" delete -f "$id"; } 2>"$TMPD/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					rec csd "$r" "$t0" "$t1"
				else
					rowfail csd "$r" "$(errtext)"
					rt "$r" delete -f "$id" >/dev/null 2>&1
				fi
			fi
			if ! failedrow run "$r"; then
				id=$P-$SEC-run-$r-$i
				t0=${EPOCHREALTIME/./}
				if rt "$r" run --bundle "$bt" "$id" 2>"$TMPD/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					rec run "$r" "$t0" "$t1"
				else
					rowfail run "$r" "$(errtext)"
				fi
				rt "$r" delete -f "$id" >/dev/null 2>&1
			fi
		done
	done
}

# rows_exec_delrun BUNDLE_SLEEP WANT: exec into a running container and delete -f of a
# running container (WANT lists which of exec, delrun).
rows_exec_delrun() {
	local bs=$1 want=" $2 " i r id t0 t1
	[[ $want == *" exec "* ]] || for r in "${RUNTIMES[@]}"; do echo "not measured" >"$R/exec.$r.skip"; done
	[[ $want == *" delrun "* ]] || for r in "${RUNTIMES[@]}"; do echo "not measured" >"$R/delrun.$r.skip"; done
	for r in "${RUNTIMES[@]}"; do
		[ -f "$R/exec.$r.skip" ] && continue
		failedrow exec "$r" && continue
		until { rt "$r" create --bundle "$bs" "$P-$SEC-exec-$r" && rt "$r" start "$P-$SEC-exec-$r"; } 2>"$TMPD/err" </dev/null >/dev/null; do
			rowfail exec "$r" "creating the container: $(errtext)"
			rt "$r" delete -f "$P-$SEC-exec-$r" >/dev/null 2>&1
			failedrow exec "$r" && break
		done
	done
	for ((i = 0; i < N; i++)); do
		for r in "${RUNTIMES[@]}"; do
			if [ ! -f "$R/exec.$r.skip" ] && ! failedrow exec "$r"; then
				t0=${EPOCHREALTIME/./}
				if rt "$r" exec "$P-$SEC-exec-$r" true 2>"$TMPD/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					rec exec "$r" "$t0" "$t1"
				else
					rowfail exec "$r" "$(errtext)"
				fi
			fi
			if [ ! -f "$R/delrun.$r.skip" ] && ! failedrow delrun "$r"; then
				id=$P-$SEC-del-$r-$i
				if ! { rt "$r" create --bundle "$bs" "$id" && rt "$r" start "$id"; } 2>"$TMPD/err" </dev/null >/dev/null; then
					rowfail delrun "$r" "$(errtext)"
					rt "$r" delete -f "$id" >/dev/null 2>&1
				else
					t0=${EPOCHREALTIME/./}
					if rt "$r" delete -f "$id" 2>"$TMPD/err" </dev/null >/dev/null; then
						t1=${EPOCHREALTIME/./}
						rec delrun "$r" "$t0" "$t1"
					else
						rowfail delrun "$r" "$(errtext)"
						rt "$r" delete -f "$id" >/dev/null 2>&1
					fi
				fi
			fi
		done
	done
	for r in "${RUNTIMES[@]}"; do rt "$r" delete -f "$P-$SEC-exec-$r" >/dev/null 2>&1; done
}

# rows_rss BUNDLE_TRUE: peak RSS (KiB) of run and create, N samples each, interleaved.
rows_rss() {
	local bt=$1 i r id
	for ((i = 0; i < N; i++)); do
		for r in "${RUNTIMES[@]}"; do
			failedrow rss-run "$r" && continue
			id=$P-$SEC-rss-$r-$i
			rt_argv "$r"
			if /usr/bin/time -o "$TMPD/rss" -f %M "${ARGV[@]}" run --bundle "$bt" "$id" </dev/null >/dev/null 2>"$TMPD/err"; then
				tail -n 1 "$TMPD/rss" >>"$R/rss-run.$r"
			else
				rowfail rss-run "$r" "$(grep -v 'Command exited' "$TMPD/err")"
			fi
			rt "$r" delete -f "$id" >/dev/null 2>&1
			failedrow rss-create "$r" && continue
			if /usr/bin/time -o "$TMPD/rss" -f %M "${ARGV[@]}" create --bundle "$bt" "$id" </dev/null >/dev/null 2>"$TMPD/err"; then
				tail -n 1 "$TMPD/rss" >>"$R/rss-create.$r"
			else
				rowfail rss-create "$r" "$(grep -v 'Command exited' "$TMPD/err")"
			fi
			rt "$r" delete -f "$id" >/dev/null 2>&1
		done
	done
}

# rows_list BUNDLE_SLEEP: list with LISTN running containers per runtime.
rows_list() {
	local bs=$1 i r id t0 t1
	for r in "${RUNTIMES[@]}"; do
		failedrow list "$r" && continue
		echo "bench: $SEC: creating $LISTN containers with $r" >&2
		for ((i = 0; i < LISTN; i++)); do
			id=$P-$SEC-list-$r-$i
			# a container that fails is tried again: the list must see LISTN of them
			until { rt "$r" create --bundle "$bs" "$id" && rt "$r" start "$id"; } 2>"$TMPD/err" </dev/null >/dev/null; do
				rowfail list "$r" "creating container $i: $(errtext)"
				rt "$r" delete -f "$id" >/dev/null 2>&1
				failedrow list "$r" && break 2
			done
		done
	done
	for ((i = 0; i < N; i++)); do
		for r in "${RUNTIMES[@]}"; do
			failedrow list "$r" && continue
			t0=${EPOCHREALTIME/./}
			if rt "$r" list 2>"$TMPD/err" </dev/null >/dev/null; then
				t1=${EPOCHREALTIME/./}
				rec list "$r" "$t0" "$t1"
			else
				rowfail list "$r" "$(errtext)"
			fi
		done
	done
	for r in "${RUNTIMES[@]}"; do
		echo "bench: $SEC: deleting the list containers of $r" >&2
		for ((i = 0; i < LISTN; i++)); do rt "$r" delete -f "$P-$SEC-list-$r-$i" >/dev/null 2>&1; done
	done
}

# section NAME BUNDLE_TRUE BUNDLE_SLEEP ROWS...: one section (ROWS among csd run exec
# delrun rss list) with its results in $RES/NAME.
section() {
	SEC=$1
	local bt=$2 bs=$3
	shift 3
	local rows=" $* " start=$SECONDS
	R=$RES/$SEC
	mkdir -p "$R"
	echo "bench: section $SEC: $*" >&2
	probe "$bt"
	[[ $rows == *" csd "* || $rows == *" run "* ]] && rows_csd_run "$bt"
	[[ $rows == *" exec "* || $rows == *" delrun "* ]] && rows_exec_delrun "$bs" "$*"
	[[ $rows == *" rss "* ]] && rows_rss "$bt"
	[[ $rows == *" list "* ]] && rows_list "$bs"
	echo $((SECONDS - start)) >"$R/seconds"
}

# scaling BUNDLE_TRUE BUNDLE_SLEEP: for each n of SCALE, n containers per runtime
# created+started, listed (3 times), state'd and deleted, interleaved per container.
scaling() {
	local bt=$1 bs=$2 n i k r id t0 t1 start=$SECONDS
	SEC=scaling
	R=$RES/$SEC
	mkdir -p "$R"
	probe "$bt"
	for n in $SCALE; do
		echo "bench: scaling: $n containers per runtime" >&2
		for ((i = 0; i < n; i++)); do
			for r in "${RUNTIMES[@]}"; do
				id=$P-sc$n-$r-$i
				# a container that fails is tried again (the sample is the attempt that
				# worked): list and state must see n of them
				while ! failedrow "create-$n" "$r"; do
					t0=${EPOCHREALTIME/./}
					if { rt "$r" create --bundle "$bs" "$id" && rt "$r" start "$id"; } 2>"$TMPD/err" </dev/null >/dev/null; then
						t1=${EPOCHREALTIME/./}
						rec "create-$n" "$r" "$t0" "$t1"
						break
					fi
					rowfail "create-$n" "$r" "container $i: $(errtext)"
					rt "$r" delete -f "$id" >/dev/null 2>&1
				done
			done
		done
		for ((k = 0; k < 3; k++)); do
			for r in "${RUNTIMES[@]}"; do
				failedrow "create-$n" "$r" && continue
				failedrow "list-$n" "$r" && continue
				t0=${EPOCHREALTIME/./}
				if rt "$r" list 2>"$TMPD/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					rec "list-$n" "$r" "$t0" "$t1"
				else
					rowfail "list-$n" "$r" "$(errtext)"
				fi
			done
		done
		for ((i = 0; i < n; i++)); do
			for r in "${RUNTIMES[@]}"; do
				failedrow "create-$n" "$r" && continue
				failedrow "state-$n" "$r" && continue
				t0=${EPOCHREALTIME/./}
				if rt "$r" state "$P-sc$n-$r-$i" 2>"$TMPD/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					rec "state-$n" "$r" "$t0" "$t1"
				else
					rowfail "state-$n" "$r" "$(errtext)"
				fi
			done
		done
		for ((i = 0; i < n; i++)); do
			for r in "${RUNTIMES[@]}"; do
				id=$P-sc$n-$r-$i
				if failedrow "create-$n" "$r" || failedrow "delete-$n" "$r"; then
					rt "$r" delete -f "$id" >/dev/null 2>&1
					continue
				fi
				t0=${EPOCHREALTIME/./}
				if rt "$r" delete -f "$id" 2>"$TMPD/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					rec "delete-$n" "$r" "$t0" "$t1"
				else
					rowfail "delete-$n" "$r" "$(errtext)"
					rt "$r" delete -f "$id" >/dev/null 2>&1
				fi
			done
		done
	done
	echo $((SECONDS - start)) >"$R/seconds"
}

skipped() { [[ " $SKIP " == *" $1 "* ]]; }

# ---------------------------------------------------------------- inner part (root)
# Runs inside `unshare -m` with the outer part's variables exported.

inner() {
	mount --make-rprivate / || { echo "bench: make-rprivate failed" >&2; exit 1; }
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "bench: mounting cgroup2 failed" >&2; exit 1; }
	find /sys/fs/cgroup -mindepth 1 -type d >"$W/cgroups.before" 2>/dev/null
	RL_PID=
	trap 'inner_cleanup; exit 130' INT TERM
	trap 'inner_cleanup' EXIT
	ROOTS=$W/roots
	TMPD=$W
	local r
	for r in "${RUNTIMES[@]}"; do mkdir -p "$ROOTS/root-$r"; done

	FLOORS=root section root "$BUNDLE_TRUE" "$BUNDLE_SLEEP" csd run exec delrun rss list
	if ! skipped seccomp; then
		if [ -s "$BUNDLE_SC_TRUE/config.json" ]; then
			CHECK_BUNDLE=$W/bundle-sc-check section seccomp "$BUNDLE_SC_TRUE" "$BUNDLE_SC_SLEEP" csd run exec
		fi
	fi
	if ! skipped rootless && [ ! -f "$RES/rootless/setup.failed" ]; then
		echo "bench: section rootless (as $BENCH_USER)" >&2
		user_cmd
		"${UCMD[@]}" bash "$W/bench.sh" --rootless &
		RL_PID=$!
		wait "$RL_PID" || echo "bench: the rootless part exited with $?" >&2
		RL_PID=
		mkdir -p "$RES/rootless"
		cp -r "$RL/res/rootless/." "$RES/rootless/" 2>/dev/null
	fi
	if ! skipped scaling; then
		scaling "$BUNDLE_TRUE" "$BUNDLE_SLEEP"
	fi
	echo "bench: measurements done" >&2
}

inner_cleanup() {
	trap - EXIT INT TERM
	if [ -n "${RL_PID:-}" ]; then
		kill -TERM "$RL_PID" 2>/dev/null
		wait "$RL_PID" 2>/dev/null
	fi
	cleanup_containers "$W/roots"
	cleanup_cgroups /sys/fs/cgroup
}

# ---------------------------------------------------------------- rootless part
# Runs as the bench user (setpriv from the inner part), results in $RL/res.

rootless_part() {
	RES=$RL/res
	ROOTS=$RL/roots
	TMPD=$RL
	local r
	for r in "${RUNTIMES[@]}"; do mkdir -p "$ROOTS/root-$r"; done
	trap 'cleanup_containers "$ROOTS"; exit 130' INT TERM
	trap 'cleanup_containers "$ROOTS"' EXIT
	FLOORS=rootless section rootless "$RL/bundle-true" "$RL/bundle-sleep" csd run exec delrun rss list
}

# ---------------------------------------------------------------- report

# stats FILE SCALE: "median min max" of the samples in FILE divided by SCALE.
stats() {
	sort -n "$1" | awk -v s="$2" '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		f = (s == 1) ? "%d %d %d %d\n" : "%.2f %.2f %.2f %d\n"
		printf f, m / s, v[1] / s, v[NR] / s, NR }'
}

# mean FILE SCALE: the mean of the samples divided by SCALE.
mean() { awk -v s="$2" '{ t += $1; n++ } END { if (n) printf "%.2f\n", t / n / s; else exit 1 }' "$1"; }

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a != "" && b != "" && b > 0) printf "%.2f", a / b; else print "-" }'; }

# failmsg SECTION ROW RT: prints why the row has no samples for the runtime, if it
# failed (nothing if it did not fail, or has samples despite failures).
failmsg() {
	local d=$RES/$1 n
	if [ -f "$d/setup.failed" ]; then echo "failed: $(cat "$d/setup.failed")"
	elif [ -f "$d/probe.$3.failed" ]; then echo "failed: $(cat "$d/probe.$3.failed")"
	elif [ -f "$d/$2.$3.err" ] && [ ! -s "$d/$2.$3" ]; then
		n=$(wc -l <"$d/$2.$3.err")
		echo "failed ($n×): $(head -n 1 "$d/$2.$3.err")"
	fi
}

# errnote SECTION ROW RT: for a row with samples and some failures, "; K failed: MESSAGE".
errnote() {
	local f=$RES/$1/$2.$3
	[ -s "$f" ] && [ -f "$f.err" ] || return 0
	echo "; $(wc -l <"$f.err") failed: $(head -n 1 "$f.err" | cut -c1-120)"
}

# cell SECTION ROW RT SCALE: sets CELL ("median (min–max)", "failed: ..." or "-") and
# MED (the median, or empty).
cell() {
	local f=$RES/$1/$2.$3 msg mn mx
	MED=
	msg=$(failmsg "$1" "$2" "$3")
	if [ -n "$msg" ]; then
		CELL=$msg
	elif [ -s "$f" ]; then
		read -r MED mn mx _ <<<"$(stats "$f" "$4")"
		CELL="$MED ($mn–$mx)$(errnote "$1" "$2" "$3")"
	else
		CELL="-"
	fi
	CELL=${CELL//|/\\|}
}

# median SECTION ROW RT SCALE: the median or nothing (failed, missing).
median() {
	[ -z "$(failmsg "$1" "$2" "$3")" ] && [ -s "$RES/$1/$2.$3" ] || return 0
	stats "$RES/$1/$2.$3" "$4" | awk '{ print $1 }'
}

# probenotes SECTION: a line per runtime whose probe failed before it succeeded.
probenotes() {
	local r f
	for r in "${RUNTIMES[@]}"; do
		f=$RES/$1/probe.$r.err
		[ -f "$f" ] && [ ! -f "$RES/$1/probe.$r.failed" ] || continue
		echo "Note: the first run of $r in this section failed $(wc -l <"$f") time(s) before one succeeded: $(head -n 1 "$f" | cut -c1-160)"
		echo
	done
}

table_header() {
	local r hdr="| $1 |" sep="|---|"
	for r in "${RUNTIMES[@]}"; do
		hdr+=" $r |"
		sep+="---:|"
		[ "$r" = hako ] || { hdr+=" $r/hako |"; sep+="---:|"; }
	done
	echo "$hdr"
	echo "$sep"
}

# table_row LABEL SECTION ROW SCALE
table_row() {
	local label=$1 sec=$2 row=$3 scale=$4 r base line
	base=$(median "$sec" "$row" hako "$scale")
	line="| $label |"
	for r in "${RUNTIMES[@]}"; do
		cell "$sec" "$row" "$r" "$scale"
		line+=" $CELL |"
		[ "$r" = hako ] || line+=" $(ratio "$MED" "$base") |"
	done
	echo "$line"
}

section_table() {
	local sec=$1 row
	shift
	if [ -f "$RES/$sec/setup.failed" ]; then
		echo "Not measured: $(cat "$RES/$sec/setup.failed")"
		echo
		return
	fi
	if [ ! -d "$RES/$sec" ]; then
		echo "Not measured (skipped)."
		echo
		return
	fi
	table_header "row (ms, median (min–max))"
	for row in "$@"; do
		table_row "${LABELS[$row]}" "$sec" "$row" 1000
	done
	echo
	probenotes "$sec"
	[ -f "$RES/$sec/seconds" ] && echo "Section time: $(cat "$RES/$sec/seconds") s." && echo
}

# target LABEL SECTION ROW OTHER LIMIT: one line of the targets table: hako's median
# over OTHER's (a runtime name, or floor:ROW for a floor of the section).
target() {
	local label=$1 sec=$2 row=$3 other=$4 limit=$5 scale=1000 h o r verdict oname
	case $row in rss-*) scale=1 ;; esac
	h=$(median "$sec" "$row" hako "$scale")
	case $other in
	floor:*) oname=${other#floor:}; o=$(median "$sec" "$oname" - 1000); oname="floor" ;;
	*) oname=$other; o=$(median "$sec" "$row" "$other" "$scale") ;;
	esac
	if [ -z "$h" ] || [ -z "$o" ]; then
		local why=
		[ -z "$h" ] && why="hako: $(failmsg "$sec" "$row" hako)"
		[ -z "$o" ] && why="${why:+$why; }$oname: $(failmsg "$sec" "$row" "$other")"
		why=${why//|/\\|}
		echo "| $label | $sec | ${h:--} | ${o:--} | - | ≤ $limit | n/a (${why:-not measured}) |"
		return
	fi
	r=$(ratio "$h" "$o")
	verdict=$(awk -v r="$r" -v l="$limit" 'BEGIN { print (r <= l) ? "PASS" : "MISS" }')
	echo "| $label | $sec | $h | $o | $r | ≤ $limit | $verdict |"
}

report() {
	declare -gA LABELS=([csd]="create+start+delete -f (true)" [run]="run (true)" [exec]="exec true"
		[delrun]="delete -f (running)" [list]="list ($LISTN containers)")
	local r n m sec row
	echo "# hako benchmark"
	echo
	echo "Command: \`$CMDLINE\`"
	echo
	echo "- date: $(date -u +%Y-%m-%dT%H:%MZ); total time $TOTAL s"
	echo "- machine: kernel $(uname -r), $(nproc) cores ($(awk -F': ' '/model name/ { print $2; exit }' /proc/cpuinfo)), $(awk '/MemTotal/ { printf "%d MiB", $2 / 1024 }' /proc/meminfo) RAM"
	echo "- load average: $LOAD_START at the start, $LOAD_END at the end (a busy machine makes every number noisy)"
	echo "- hako: $HAKO_SRC ($("$HAKO" --version 2>/dev/null | head -n 1), $("$HAKO" --version 2>/dev/null | awk '/^commit/ { print "commit " $2 }')); harness commit $HARNESS_COMMIT"
	echo "- runc: $(runc --version 2>/dev/null | head -n 1 | sed 's/^runc //') ($(command -v runc)); crun: $(crun --version 2>/dev/null | head -n 1 | sed 's/^crun //') ($(command -v crun), with the LD_PRELOAD memlock shim)"
	echo "- N=$N interleaved runs per row; list with $LISTN containers; scaling n = $SCALE${SKIP:+; skipped: $SKIP}"
	echo "- seccomp profile: $SECCOMP_SRC"
	[ -n "$KEYS_NOTE" ] && echo "- $KEYS_NOTE"
	echo
	echo "Times in ms of wall time (median (min–max) of N runs); ratio = runtime median / hako median"
	echo "(above 1: hako is faster)."
	echo
	echo "## root"
	echo
	section_table root csd run exec delrun list
	echo "## rootless (as $BENCH_USER, no cgroups for any runtime)"
	echo
	if skipped rootless; then echo "Not measured (skipped)."; echo; else section_table rootless csd run exec delrun list; fi
	echo "## seccomp (podman's default profile, as root)"
	echo
	if skipped seccomp; then echo "Not measured (skipped)."; echo; else section_table seccomp csd run exec; fi
	echo "## scaling (as root)"
	echo
	if skipped scaling || [ ! -d "$RES/scaling" ]; then
		echo "Not measured (skipped)."
		echo
	else
		echo "n containers per runtime (running \`sleep\`; all runtimes' containers exist at once):"
		echo "create+start, state and delete -f in ms per container (mean over the n containers),"
		echo "list in ms for the whole list (median of 3)."
		echo
		for m in create state delete list; do
			case $m in
			create) echo "### create+start (ms per container)" ;;
			state) echo "### state (ms per container)" ;;
			delete) echo "### delete -f of a running container (ms per container)" ;;
			list) echo "### list of all n (ms)" ;;
			esac
			echo
			table_header n
			for n in $SCALE; do
				local line="| $n |" base v
				if [ "$m" = list ]; then base=$(median scaling "list-$n" hako 1000); else base=$([ -z "$(failmsg scaling "$m-$n" hako)" ] && [ -s "$RES/scaling/$m-$n.hako" ] && mean "$RES/scaling/$m-$n.hako" 1000); fi
				for r in "${RUNTIMES[@]}"; do
					v=
					local msg
					msg=$(failmsg scaling "$m-$n" "$r")
					[ -z "$msg" ] && [ "$m" != create ] && msg=$(failmsg scaling "create-$n" "$r")
					if [ -n "$msg" ]; then
						line+=" ${msg//|/\\|} |"
					elif [ -s "$RES/scaling/$m-$n.$r" ]; then
						if [ "$m" = list ]; then v=$(median scaling "list-$n" "$r" 1000); else v=$(mean "$RES/scaling/$m-$n.$r" 1000); fi
						msg=$(errnote scaling "$m-$n" "$r")
						line+=" $v${msg//|/\\|} |"
					else
						line+=" - |"
					fi
					[ "$r" = hako ] || line+=" $(ratio "$v" "$base") |"
				done
				echo "$line"
			done
			# growth: cost at the largest n over the cost at the smallest n
			local first last
			first=$(echo $SCALE | awk '{ print $1 }')
			last=$(echo $SCALE | awk '{ print $NF }')
			if [ "$first" != "$last" ]; then
				line="| growth $first→$last |"
				for r in "${RUNTIMES[@]}"; do
					local a b
					if [ "$m" = list ]; then
						a=$(median scaling "list-$first" "$r" 1000); b=$(median scaling "list-$last" "$r" 1000)
					else
						a=$([ -s "$RES/scaling/$m-$first.$r" ] && mean "$RES/scaling/$m-$first.$r" 1000)
						b=$([ -s "$RES/scaling/$m-$last.$r" ] && mean "$RES/scaling/$m-$last.$r" 1000)
					fi
					line+=" ×$(ratio "$b" "$a") |"
					[ "$r" = hako ] || line+=" |"
				done
				echo "$line"
			fi
			echo
		done
		if [ "$first" != "$last" ]; then
			echo "Growth = the value at n=$last over the value at n=$first: ×1 means a constant cost per"
			echo "container; for list, ×$((last / first)) means linear in n."
			echo
		fi
		[ -f "$RES/scaling/seconds" ] && echo "Section time: $(cat "$RES/scaling/seconds") s." && echo
	fi
	echo "## floors"
	echo
	echo "| floor | ms, median (min–max) |"
	echo "|---|---:|"
	for sec in root rootless; do
		for row in floor-unshare floor-gohello; do
			[ -s "$RES/$sec/$row.-" ] || continue
			read -r med mn mx _ <<<"$(stats "$RES/$sec/$row.-" 1000)"
			case $sec/$row in
			root/floor-unshare) echo "| unshare --fork --pid --mount --uts --ipc --net true (root) | $med ($mn–$mx) |" ;;
			root/floor-gohello) echo "| static Go hello world (root) | $med ($mn–$mx) |" ;;
			rootless/floor-unshare) echo "| unshare --user --map-root-user --fork --pid --mount --uts --ipc --net true ($BENCH_USER) | $med ($mn–$mx) |" ;;
			rootless/floor-gohello) echo "| static Go hello world ($BENCH_USER) | $med ($mn–$mx) |" ;;
			esac
		done
	done
	echo
	echo "## peak RSS"
	echo
	table_header "command (KiB, median (min–max))"
	for sec in root rootless; do
		[ -d "$RES/$sec" ] || continue
		table_row "run ($sec)" "$sec" rss-run 1
		table_row "create ($sec)" "$sec" rss-create 1
	done
	echo
	echo "GNU time's %M: ru_maxrss of the command and the descendants it waited for (for run:"
	echo "the CLI and the container's init/process; for create the init outlives the command)."
	echo
	echo "## targets"
	echo
	echo "| target | section | hako | other | hako/other | limit | result |"
	echo "|---|---|---:|---:|---:|---:|---|"
	for sec in root rootless seccomp; do
		[ -d "$RES/$sec" ] || continue
		target "create+start+delete ≤ 0.9× crun" "$sec" csd crun 0.9
		target "run ≤ 0.9× crun" "$sec" run crun 0.9
		target "exec ≤ 0.9× crun" "$sec" exec crun 0.9
		[ "$sec" = seccomp ] && continue
		target "delete -f (running) ≤ 1.0× crun" "$sec" delrun crun 1.0
		target "list ($LISTN) ≤ 1.0× crun" "$sec" list crun 1.0
		target "peak RSS of run ≤ 0.5× runc" "$sec" rss-run runc 0.5
		target "run ≤ 3× the unshare floor" "$sec" run floor:floor-unshare 3
	done
	echo
	echo "The issue's targets are the root rows; rootless and seccomp are shown against the same limits."
	[ "$LISTN" = 200 ] || echo "The list target is for 200 containers; this run used $LISTN."
	[ "$N" -ge 30 ] || echo "Medians of $N runs: the issue asks for at least 30 (BENCH_N=30, the default)."
}

# ---------------------------------------------------------------- entry points

case ${1:-} in
--inner)
	inner
	exit 0
	;;
--rootless)
	rootless_part
	exit 0
	;;
--cleanup)
	# safety net run in a fresh mount namespace after the inner part
	mount --make-rprivate / && mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 0
	cleanup_containers "$W/roots"
	cleanup_cgroups /sys/fs/cgroup
	exit 0
	;;
--cleanup-rootless)
	cleanup_containers "$RL/roots"
	exit 0
	;;
esac

# ---------------------------------------------------------------- outer part (root)

if [ "$(id -u)" != 0 ]; then
	echo "bench.sh: run as root" >&2
	exit 1
fi

SELF=$(readlink -f "$0")
CALLER_DIR=$PWD
TOP=$(cd "$(dirname "$SELF")/../.." && pwd)
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin
if [ "${BENCH_QUICK:-0}" = 1 ]; then
	export N=${BENCH_N:-5} SCALE=${BENCH_SCALE:-10 50} LISTN=${BENCH_LIST_CONTAINERS:-50}
else
	export N=${BENCH_N:-30} SCALE=${BENCH_SCALE:-10 50 100 200} LISTN=${BENCH_LIST_CONTAINERS:-200}
fi
CMDLINE=
for v in BENCH_QUICK BENCH_N BENCH_SCALE BENCH_LIST_CONTAINERS BENCH_SKIP BENCH_USER BENCH_MAXFAIL BENCH_SECCOMP_PROFILE HAKO_BIN; do
	[ -n "${!v:-}" ] && CMDLINE+="$v=$(printf %q "${!v}") "
done
if [ -n "${BENCH_INVOKED_AS:-}" ]; then CMDLINE+="$BENCH_INVOKED_AS"; else CMDLINE+="$0${*:+ $*}"; fi
export SKIP=${BENCH_SKIP:-} BENCH_USER=${BENCH_USER:-hakobench} MAXFAIL=${BENCH_MAXFAIL:-3}
export P=hb$$
export W RES RL GOHELLO SHIM HAKO BUNDLE_TRUE BUNDLE_SLEEP BUNDLE_SC_TRUE BUNDLE_SC_SLEEP
export BUID='' BGID='' SUBSTART='' SUBSIZE=''
W=$(mktemp -d /tmp/hako-bench.XXXXXX)
chmod 755 "$W" # the bench user reaches its part through it
RES=$W/res RL=$W/rl GOHELLO=$W/gohello SHIM=$W/memlock-shim.so HAKO=$W/bin/hako
BUNDLE_TRUE=$W/bundle-true BUNDLE_SLEEP=$W/bundle-sleep
BUNDLE_SC_TRUE=$W/bundle-sc-true BUNDLE_SC_SLEEP=$W/bundle-sc-sleep
mkdir -p "$RES"
INNER_PID=
RESTORE_KEYS='' RESTORE_BYTES='' want_keys='' want_bytes=''
ADDED_USER=
ADDED_SUB=()

outer_cleanup() {
	trap - EXIT INT TERM
	if [ -n "$INNER_PID" ]; then
		kill -TERM "$INNER_PID" 2>/dev/null
		wait "$INNER_PID" 2>/dev/null
	fi
	if [ -n "$BUID" ] && [ -d "$RL/roots" ]; then
		user_cmd
		"${UCMD[@]}" bash "$W/bench.sh" --cleanup-rootless </dev/null >/dev/null 2>&1
	fi
	kill_user_procs
	unshare -m "$SELF" --cleanup
	# cgroups are also visible outside on a hybrid host
	if [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then cleanup_cgroups /sys/fs/cgroup/unified; fi
	rm -rf "$W"
	if [ -n "$ADDED_USER" ]; then
		kill_user_procs
		userdel "$BENCH_USER" >/dev/null 2>&1 || echo "bench: userdel $BENCH_USER failed" >&2
	fi
	# the key quotas, unless someone changed them meanwhile
	if [ -n "${RESTORE_KEYS:-}" ] && [ "$(cat /proc/sys/kernel/keys/maxkeys)" = "$want_keys" ]; then
		echo "$RESTORE_KEYS" >/proc/sys/kernel/keys/maxkeys
	fi
	if [ -n "${RESTORE_BYTES:-}" ] && [ "$(cat /proc/sys/kernel/keys/maxbytes)" = "$want_bytes" ]; then
		echo "$RESTORE_BYTES" >/proc/sys/kernel/keys/maxbytes
	fi
	local a
	for a in "${ADDED_SUB[@]}"; do
		# shellcheck disable=SC2086
		usermod $a "$BENCH_USER" >/dev/null 2>&1 || echo "bench: usermod $a $BENCH_USER failed" >&2
	done
}
trap 'outer_cleanup' EXIT
trap 'echo "bench: interrupted" >&2; outer_cleanup; exit 130' INT TERM

LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)
start=$(date +%s)
cd "$TOP" || exit 1
if [ -n "${HAKO_BIN:-}" ]; then
	HAKO_SRC=$(cd "$CALLER_DIR" && readlink -f "$HAKO_BIN")
else
	HAKO_SRC=$TOP/bin/hako
	if [ ! -x "$HAKO_SRC" ]; then
		echo "bench: building bin/hako" >&2
		make build || exit 1
	fi
fi
[ -x "$HAKO_SRC" ] || { echo "bench: $HAKO_SRC is not an executable" >&2; exit 1; }
HARNESS_COMMIT=$(git -C "$TOP" rev-parse --short HEAD 2>/dev/null || echo unknown)
[ -n "$(git -C "$TOP" status --porcelain -- test/bench 2>/dev/null)" ] && HARNESS_COMMIT+=" (test/bench modified)"

need=()
command -v runc >/dev/null || need+=(runc)
command -v crun >/dev/null || need+=(crun)
[ -x /usr/bin/time ] || need+=(time)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || need+=(busybox-static)
command -v gcc >/dev/null || need+=(gcc)
command -v jq >/dev/null || need+=(jq)
command -v setpriv >/dev/null || need+=(util-linux)
[ -x /usr/bin/newuidmap ] || need+=(uidmap)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
		echo "bench: apt-get install ${need[*]} failed" >&2
fi
for c in runc crun jq gcc go setpriv; do
	command -v "$c" >/dev/null || { echo "bench: $c missing" >&2; [ "$c" = crun ] || exit 1; }
done

# the harness and hako where the bench user can run them (root-owned, 0755)
mkdir -p "$W/bin"
install -m 0755 "$SELF" "$W/bench.sh" || exit 1
install -m 0755 "$HAKO_SRC" "$HAKO" || exit 1

# bundles: one rootfs; configs for true and sleep 1000, with and without seccomp
test/mkrootfs.sh "$W/rootfs" >/dev/null || exit 1
# mkbundle DIR ROOTFS ARGS-JSON: rewrites DIR/config.json (made by hako spec).
mkbundle() {
	jq --arg root "$2" --argjson a "$3" \
		'.ociVersion = "1.0.2" | .root.path = $root | .root.readonly = true | .process.terminal = false | .process.args = $a' \
		"$1/config.json" >"$1/config.json.new" && mv "$1/config.json.new" "$1/config.json"
}
for b in true sleep; do
	mkdir -p "$W/bundle-$b"
	"$HAKO" spec --bundle "$W/bundle-$b" || exit 1
	case $b in true) args='["/bin/true"]' ;; sleep) args='["/bin/sleep","1000"]' ;; esac
	mkbundle "$W/bundle-$b" "$W/rootfs" "$args" || exit 1
done

# seccomp: podman's default profile converted into linux.seccomp
SECCOMP_SRC="not used"
if ! skipped seccomp; then
	prof=${BENCH_SECCOMP_PROFILE:-$TOP/_output/podman-seccomp.json}
	if [ ! -s "$prof" ] && [ -z "${BENCH_SECCOMP_PROFILE:-}" ]; then
		echo "bench: $prof missing: running test/deps.sh" >&2
		test/deps.sh >/dev/null || echo "bench: test/deps.sh failed" >&2
	fi
	mkdir -p "$RES/seccomp"
	if [ ! -s "$prof" ]; then
		echo "no seccomp profile ($prof)" >"$RES/seccomp/setup.failed"
	else
		SECCOMP_SRC="$prof (sha256 $(sha256sum "$prof" | cut -c1-12))"
		case $(uname -m) in
		x86_64) arch=amd64 scmparch=SCMP_ARCH_X86_64 ;;
		aarch64) arch=arm64 scmparch=SCMP_ARCH_AARCH64 ;;
		*) arch=$(uname -m) scmparch=unknown ;;
		esac
		mkdir -p "$W/bundle-check"
		"$HAKO" spec --bundle "$W/bundle-check" || exit 1
		mkbundle "$W/bundle-check" "$W/rootfs" '["/bin/sh","-c","grep -q \"^Seccomp:[[:space:]]*2\" /proc/self/status"]' || exit 1
		for b in true sleep check; do
			mkdir -p "$W/bundle-sc-$b"
			# The rules podman keeps for this container: includes (arches, caps of the
			# bounding set) all met, excludes none met; no comments, no includes/excludes.
			if ! jq --slurpfile p "$prof" --arg arch "$arch" --arg scmparch "$scmparch" '
				$p[0] as $prof
				| (.process.capabilities.bounding // []) as $caps
				| .linux.seccomp = ({
					defaultAction: $prof.defaultAction,
					architectures: [$prof.archMap[]? | select(.architecture == $scmparch) | .architecture, .subArchitectures[]?],
					syscalls: [$prof.syscalls[]
						| select((.includes.arches // []) as $a | ($a | length) == 0 or ($a | index($arch)))
						| select((.includes.caps // []) | all(. as $c | $caps | index($c)))
						| select(((.excludes.arches // []) | index($arch)) | not)
						| select((.excludes.caps // []) | any(. as $c | $caps | index($c)) | not)
						| {names, action}
						  + (if (.args // []) | length > 0 then {args} else {} end)
						  + (if .errnoRet then {errnoRet} else {} end)]
				} + (if $prof.defaultErrnoRet then {defaultErrnoRet: $prof.defaultErrnoRet} else {} end))
				' "$W/bundle-$b/config.json" >"$W/bundle-sc-$b/config.json"; then
				echo "converting $prof failed" >"$RES/seccomp/setup.failed"
				rm -f "$W/bundle-sc-$b/config.json"
			fi
		done
	fi
fi

# static Go hello world (floor)
mkdir -p "$W/gohello-src"
cat >"$W/gohello-src/main.go" <<'EOF'
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
EOF
(cd "$W/gohello-src" && CGO_ENABLED=0 GOFLAGS=-mod=mod GO111MODULE=off go build -o "$GOHELLO" main.go) || exit 1
chmod 755 "$GOHELLO"

# LD_PRELOAD shim for crun: RLIMIT_MEMLOCK raises that fail with EPERM succeed.
gcc -O2 -shared -fPIC -o "$SHIM" "$TOP/test/tools/memlock-shim.c" -ldl || exit 1
chmod 755 "$SHIM"

# rootless: the bench user (added if missing, with subordinate ranges), a rootfs copy
# and bundles of its own, written by `hako spec --rootless` run as the user.
# rootless_setup prints why it failed (the section is then reported as not measured).
rootless_setup() {
	local f flag start line
	if ! id -u "$BENCH_USER" >/dev/null 2>&1; then
		useradd -M -d /nonexistent -s /usr/sbin/nologin "$BENCH_USER" >/dev/null 2>&1 ||
			id -u "$BENCH_USER" >/dev/null 2>&1 || { echo "useradd $BENCH_USER failed"; return 1; }
		ADDED_USER=1
		echo "bench: added user $BENCH_USER" >&2
	fi
	BUID=$(id -u "$BENCH_USER") BGID=$(id -g "$BENCH_USER")
	[ "$BUID" != 0 ] || { echo "$BENCH_USER has uid 0"; return 1; }
	for f in subuid subgid; do
		if ! grep -qE "^($BENCH_USER|$BUID):" "/etc/$f" 2>/dev/null; then
			start=$(awk -F: 'BEGIN { n = 100000 } NF == 3 && $2 + $3 > n { n = $2 + $3 } END { print n }' "/etc/$f" 2>/dev/null)
			case $f in subuid) flag=--add-subuids ;; subgid) flag=--add-subgids ;; esac
			usermod "$flag" "$start-$((start + 65535))" "$BENCH_USER" >/dev/null 2>&1 || { echo "usermod $flag failed"; return 1; }
			[ -n "$ADDED_USER" ] || ADDED_SUB+=("--del-${flag#--add-} $start-$((start + 65535))")
		fi
	done
	line=$(grep -E "^($BENCH_USER|$BUID):" /etc/subuid | head -n 1)
	SUBSTART=$(echo "$line" | cut -d: -f2) SUBSIZE=$(echo "$line" | cut -d: -f3)
	for f in newuidmap newgidmap; do
		[ -u "/usr/bin/$f" ] || { echo "/usr/bin/$f is not setuid (package uidmap)"; return 1; }
	done
	mkdir -p "$RL/run" "$RL/res" "$RL/bundle-true" "$RL/bundle-sleep"
	chmod 700 "$RL/run"
	cp -a "$W/rootfs" "$RL/rootfs" || { echo "copying the rootfs failed"; return 1; }
	chown -R "$BUID:$BGID" "$RL" || { echo "chown failed"; return 1; }
	user_cmd
	local b args
	for b in true sleep; do
		if ! (cd "$RL" && "${UCMD[@]}" "$HAKO" spec --rootless --bundle "$RL/bundle-$b" >/dev/null 2>"$W/spec.err"); then
			echo "hako spec --rootless as $BENCH_USER: $(tail -n 1 "$W/spec.err")"
			return 1
		fi
		case $b in true) args='["/bin/true"]' ;; sleep) args='["/bin/sleep","1000"]' ;; esac
		mkbundle "$RL/bundle-$b" "$RL/rootfs" "$args" || { echo "jq failed"; return 1; }
		chown -R "$BUID:$BGID" "$RL/bundle-$b"
	done
	if [ "$(jq -c '.linux.uidMappings | length' "$RL/bundle-true/config.json")" -lt 2 ]; then
		echo "bench: warning: the rootless config maps only the user's own id" >&2
	fi
	return 0
}
if ! skipped rootless; then
	mkdir -p "$RES/rootless"
	# not in $(...): the variables it sets (ADDED_USER, ...) are needed by the cleanup
	if ! rootless_setup >"$W/rootless-setup.msg"; then
		cp "$W/rootless-setup.msg" "$RES/rootless/setup.failed"
		echo "bench: rootless set-up failed: $(cat "$W/rootless-setup.msg")" >&2
	fi
fi

# Every rootless container gets a session keyring from each runtime, charged to the
# user's key quota (kernel.keys.maxkeys, 200 keys and maxbytes 20000 by default): the
# list row keeps 3 × LISTN containers of the user alive at once. Raise the two limits
# for the run if they are too low; they are put back on exit.
KEYS_NOTE=
if ! skipped rootless && [ ! -f "$RES/rootless/setup.failed" ]; then
	want_keys=$((3 * LISTN + 300))
	want_bytes=$((want_keys * 200))
	old_keys=$(cat /proc/sys/kernel/keys/maxkeys 2>/dev/null || echo 0)
	old_bytes=$(cat /proc/sys/kernel/keys/maxbytes 2>/dev/null || echo 0)
	if [ "$old_keys" -gt 0 ] && [ "$old_keys" -lt "$want_keys" ]; then
		echo "$want_keys" >/proc/sys/kernel/keys/maxkeys && RESTORE_KEYS=$old_keys
	fi
	if [ "$old_bytes" -gt 0 ] && [ "$old_bytes" -lt "$want_bytes" ]; then
		echo "$want_bytes" >/proc/sys/kernel/keys/maxbytes && RESTORE_BYTES=$old_bytes
	fi
	if [ -n "${RESTORE_KEYS:-}${RESTORE_BYTES:-}" ]; then
		KEYS_NOTE="kernel.keys.maxkeys/maxbytes raised from $old_keys/$old_bytes to $(cat /proc/sys/kernel/keys/maxkeys)/$(cat /proc/sys/kernel/keys/maxbytes) for the run (each runtime gives every rootless container a session keyring, charged to the user; restored afterwards)"
		echo "bench: $KEYS_NOTE" >&2
	fi
fi

echo "bench: N=$N, list $LISTN, scaling $SCALE, work dir $W" >&2
unshare -m "$SELF" --inner &
INNER_PID=$!
wait "$INNER_PID"
rc=$?
INNER_PID=
if [ $rc -ne 0 ]; then
	echo "bench: the benchmark failed (exit $rc)" >&2
	exit 1
fi
LOAD_END=$(cut -d' ' -f1-3 /proc/loadavg)
TOTAL=$(($(date +%s) - start))
mkdir -p "$TOP/_output"
report >"$W/report.md"
cp "$W/report.md" "$TOP/_output/bench.md"
cat "$W/report.md"
