#!/usr/bin/env bash
# test/bench/bench.sh: startup/teardown benchmark of hako against runc and crun.
#
# Run as root from anywhere: test/bench/bench.sh   (BENCH_N=30 iterations by default)
#
# It builds bin/hako if missing (make build), a busybox bundle (test/mkrootfs.sh,
# config from `bin/hako spec`, terminal off), installs runc, crun, hyperfine and
# GNU time with apt-get if missing, then re-executes itself inside `unshare -m`,
# where / is made rprivate and a fresh cgroup2 is mounted at /sys/fs/cgroup, so
# the three runtimes all see a pure cgroup v2 hierarchy (on a hybrid host this is
# the same unified tree as /sys/fs/cgroup/unified: the cgroups created there are
# removed afterwards). Each runtime has its own --root temp dir; every row runs
# the runtimes round-robin per iteration (hako, runc, crun, hako, ...).
#
# Rows (wall time, measured in bash with $EPOCHREALTIME, no fork for the clock):
#   create+start+delete  create ID; start ID; delete -f ID of /bin/true (youki's benchmark)
#   run                  run ID of /bin/true (foreground, waits for the exit), then an
#                        untimed delete -f in case the runtime keeps the state
#   exec                 exec ID true into one running `sleep 1000` container
#   delete -f running    delete -f of a running `sleep 1000` container (created+started untimed)
#   list (200)           list with 200 running containers per runtime (all 600 exist
#                        while the lists run)
#   floors               unshare --fork --pid --mount --uts --ipc --net true, and a
#                        static Go hello world
# Peak RSS (KiB, GNU time %M): /usr/bin/time runs the runtime's `run` (or `create`) and
# reports ru_maxrss of the waited child, which the kernel takes as the maximum over
# that process and every descendant it (transitively) waited for. So for hako it is
# the largest of the hako CLI process and the re-exec'd init / the container process
# when they were reaped inside that tree; for `create`, the container's init outlives
# the command and is not counted (it is for runc/crun as well: their `runc init` /
# crun child stays behind until start).
#
# crun needs CAP_SYS_RESOURCE-free operation here: an LD_PRELOAD shim (built with gcc)
# makes setrlimit/prlimit64 of RLIMIT_MEMLOCK that fail with EPERM return 0. A runtime
# whose command fails is reported as "failed: <reason>" for that row.
#
# The table goes to stdout and to _output/bench.md. Everything (containers, with each
# runtime's delete -f; cgroups; temp dirs; the shim) is removed on exit, error or Ctrl-C.
set -uo pipefail
export LC_ALL=C

RUNTIMES=(hako runc crun)

# ---------------------------------------------------------------- common helpers

# rt NAME ARGS...: runs a runtime with its own --root.
rt() {
	local name=$1
	shift
	case $name in
	hako) "$HAKO" --root "$W/root-hako" "$@" ;;
	runc) runc --root "$W/root-runc" "$@" ;;
	crun) LD_PRELOAD=$W/memlock-shim.so crun --root "$W/root-crun" "$@" ;;
	esac
}

# rt_argv NAME: sets ARGV to the runtime's command line (env execs crun in place,
# so /usr/bin/time measures crun itself).
rt_argv() {
	case $1 in
	hako) ARGV=("$HAKO" --root "$W/root-hako") ;;
	runc) ARGV=(runc --root "$W/root-runc") ;;
	crun) ARGV=(env LD_PRELOAD="$W/memlock-shim.so" crun --root "$W/root-crun") ;;
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

# cleanup_containers: delete -f every container in each runtime's root.
cleanup_containers() {
	local r id
	for r in "${RUNTIMES[@]}"; do
		[ -d "$W/root-$r" ] || continue
		for id in $(ls "$W/root-$r" 2>/dev/null); do
			case $id in "$P"*) rt "$r" delete -f "$id" >/dev/null 2>&1 ;; esac
		done
	done
}

# ---------------------------------------------------------------- inner part
# Runs inside `unshare -m` with W, P, HAKO, BUNDLE_TRUE, BUNDLE_SLEEP, GOHELLO, N exported.

inner() {
	set -u
	mount --make-rprivate / || { echo "bench: make-rprivate failed" >&2; exit 1; }
	mount -t cgroup2 cgroup2 /sys/fs/cgroup || { echo "bench: mounting cgroup2 failed" >&2; exit 1; }
	find /sys/fs/cgroup -mindepth 1 -type d >"$W/cgroups.before" 2>/dev/null
	trap 'inner_cleanup; exit 130' INT TERM
	trap 'inner_cleanup' EXIT

	R=$W/res
	mkdir -p "$R"
	local r
	for r in "${RUNTIMES[@]}"; do mkdir -p "$W/root-$r"; done

	# Probe each runtime once (run of true); a failing one is reported and skipped.
	declare -gA FAILED=()
	for r in "${RUNTIMES[@]}"; do
		local err
		if ! rt "$r" run --bundle "$BUNDLE_TRUE" "$P-probe-$r" >/dev/null 2>"$W/err" </dev/null; then
			FAILED[$r]=$(echo "$(cat "$W/err" 2>/dev/null)" | grep -v '^\s*$' | tail -n 1 | cut -c1-160)
			echo "bench: $r failed: ${FAILED[$r]}" >&2
		fi
		rt "$r" delete -f "$P-probe-$r" >/dev/null 2>&1
	done

	run_rows
	echo "bench: rows done" >&2
}

inner_cleanup() {
	trap - EXIT INT TERM
	cleanup_containers
	cleanup_cgroups /sys/fs/cgroup
}

# now_us: microseconds since the epoch, from $EPOCHREALTIME (no fork).
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# record ROW RT START END
record() { echo $(($4 - $3)) >>"$R/$1.$2"; }

# rowfail ROW RT MESSAGE
rowfail() { [ -f "$R/$1.$2.failed" ] || echo "$3" | grep -v '^\s*$' | tail -n 1 | cut -c1-160 >"$R/$1.$2.failed"; }
failedrow() { [ -n "${FAILED[$2]:-}" ] || [ -f "$R/$1.$2.failed" ]; }

run_rows() {
	local i r id t0 t1 err
	for ((i = 0; i < N; i++)); do
		# floors
		t0=${EPOCHREALTIME/./}
		unshare --fork --pid --mount --uts --ipc --net true
		t1=${EPOCHREALTIME/./}
		record floor-unshare - "$t0" "$t1"
		t0=${EPOCHREALTIME/./}
		"$GOHELLO" >/dev/null
		t1=${EPOCHREALTIME/./}
		record floor-gohello - "$t0" "$t1"

		for r in "${RUNTIMES[@]}"; do
			# (1) create; start; delete -f of true
			if ! failedrow csd "$r"; then
				id=$P-csd-$r-$i
				t0=${EPOCHREALTIME/./}
				if { rt "$r" create --bundle "$BUNDLE_TRUE" "$id" && rt "$r" start "$id" && rt "$r" delete -f "$id"; } 2>"$W/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					record csd "$r" "$t0" "$t1"
				else
					rowfail csd "$r" "$(cat "$W/err" 2>/dev/null)"
					rt "$r" delete -f "$id" >/dev/null 2>&1
				fi
			fi
			# (2) run of true
			if ! failedrow run "$r"; then
				id=$P-run-$r-$i
				t0=${EPOCHREALTIME/./}
				if rt "$r" run --bundle "$BUNDLE_TRUE" "$id" 2>"$W/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					record run "$r" "$t0" "$t1"
				else
					rowfail run "$r" "$(cat "$W/err" 2>/dev/null)"
				fi
				rt "$r" delete -f "$id" >/dev/null 2>&1
			fi
		done
	done

	# (3) exec into a running container, (4) delete -f of a running container
	for r in "${RUNTIMES[@]}"; do
		[ -n "${FAILED[$r]:-}" ] && continue
		if ! { rt "$r" create --bundle "$BUNDLE_SLEEP" "$P-exec-$r" && rt "$r" start "$P-exec-$r"; } 2>"$W/err" </dev/null >/dev/null; then
			rowfail exec "$r" "$(cat "$W/err" 2>/dev/null)"
		fi
	done
	for ((i = 0; i < N; i++)); do
		for r in "${RUNTIMES[@]}"; do
			if ! failedrow exec "$r"; then
				t0=${EPOCHREALTIME/./}
				if rt "$r" exec "$P-exec-$r" true 2>"$W/err" </dev/null >/dev/null; then
					t1=${EPOCHREALTIME/./}
					record exec "$r" "$t0" "$t1"
				else
					rowfail exec "$r" "$(cat "$W/err" 2>/dev/null)"
				fi
			fi
			if ! failedrow delrun "$r"; then
				id=$P-del-$r-$i
				if ! { rt "$r" create --bundle "$BUNDLE_SLEEP" "$id" && rt "$r" start "$id"; } 2>"$W/err" </dev/null >/dev/null; then
					rowfail delrun "$r" "$(cat "$W/err" 2>/dev/null)"
					rt "$r" delete -f "$id" >/dev/null 2>&1
				else
					t0=${EPOCHREALTIME/./}
					if rt "$r" delete -f "$id" 2>"$W/err" </dev/null >/dev/null; then
						t1=${EPOCHREALTIME/./}
						record delrun "$r" "$t0" "$t1"
					else
						rowfail delrun "$r" "$(cat "$W/err" 2>/dev/null)"
						rt "$r" delete -f "$id" >/dev/null 2>&1
					fi
				fi
			fi
		done
	done
	for r in "${RUNTIMES[@]}"; do rt "$r" delete -f "$P-exec-$r" >/dev/null 2>&1; done

	# (6) peak RSS (KiB) of run and create, N samples each, interleaved
	for ((i = 0; i < N; i++)); do
		for r in "${RUNTIMES[@]}"; do
			[ -n "${FAILED[$r]:-}" ] && continue
			id=$P-rss-$r-$i
			rt_argv "$r"
			if /usr/bin/time -o "$W/rss" -f %M "${ARGV[@]}" run --bundle "$BUNDLE_TRUE" "$id" </dev/null >/dev/null 2>&1; then
				tail -n 1 "$W/rss" >>"$R/rss-run.$r"
			else
				rowfail rss-run "$r" "run under /usr/bin/time failed"
			fi
			rt "$r" delete -f "$id" >/dev/null 2>&1
			if /usr/bin/time -o "$W/rss" -f %M "${ARGV[@]}" create --bundle "$BUNDLE_TRUE" "$id" </dev/null >/dev/null 2>&1; then
				tail -n 1 "$W/rss" >>"$R/rss-create.$r"
			else
				rowfail rss-create "$r" "create under /usr/bin/time failed"
			fi
			rt "$r" delete -f "$id" >/dev/null 2>&1
		done
	done

	# (5) list with 200 running containers per runtime
	local LISTN=${BENCH_LIST_CONTAINERS:-200}
	for r in "${RUNTIMES[@]}"; do
		[ -n "${FAILED[$r]:-}" ] && continue
		echo "bench: creating $LISTN containers with $r" >&2
		for ((i = 0; i < LISTN; i++)); do
			id=$P-list-$r-$i
			if ! { rt "$r" create --bundle "$BUNDLE_SLEEP" "$id" && rt "$r" start "$id"; } 2>"$W/err" </dev/null >/dev/null; then
				rowfail list "$r" "creating container $i: $(cat "$W/err" 2>/dev/null)"
				break
			fi
		done
	done
	for ((i = 0; i < N; i++)); do
		for r in "${RUNTIMES[@]}"; do
			failedrow list "$r" && continue
			t0=${EPOCHREALTIME/./}
			if rt "$r" list 2>"$W/err" </dev/null >/dev/null; then
				t1=${EPOCHREALTIME/./}
				record list "$r" "$t0" "$t1"
			else
				rowfail list "$r" "$(cat "$W/err" 2>/dev/null)"
			fi
		done
	done
	for r in "${RUNTIMES[@]}"; do
		echo "bench: deleting the list containers of $r" >&2
		for ((i = 0; i < LISTN; i++)); do rt "$r" delete -f "$P-list-$r-$i" >/dev/null 2>&1; done
	done
}

# ---------------------------------------------------------------- report

# stats FILE SCALE: "median min max" of the samples in FILE divided by SCALE.
stats() {
	sort -n "$1" | awk -v s="$2" '{ v[NR] = $1 } END {
		if (NR == 0) exit 1
		if (NR % 2) m = v[(NR + 1) / 2]; else m = (v[NR / 2] + v[NR / 2 + 1]) / 2
		printf "%.2f %.2f %.2f\n", m / s, v[1] / s, v[NR] / s }'
}

report() {
	local R=$W/res row label unit scale r s med base cell hdr sep
	local -a rows=(csd run exec delrun list rss-run rss-create)
	declare -A labels=([csd]="create+start+delete -f (true)" [run]="run (true)" [exec]="exec true"
		[delrun]="delete -f (running)" [list]="list (${BENCH_LIST_CONTAINERS:-200} containers)"
		[rss-run]="peak RSS, run (KiB)" [rss-create]="peak RSS, create (KiB)")
	hdr="| row |"
	sep="|---|"
	for r in "${RUNTIMES[@]}"; do
		hdr+=" $r median (min–max) |"
		sep+="---|"
		[ "$r" = hako ] || { hdr+=" $r/hako |"; sep+="---|"; }
	done
	{
		echo "# hako benchmark"
		echo
		echo "$(date -u +%Y-%m-%dT%H:%MZ), N=$N, kernel $(uname -r), $(nproc) CPUs;" \
			"hako $("$HAKO" --version 2>/dev/null | head -n 1 | awk '{print $NF}'), $(runc --version 2>/dev/null | head -n 1)," \
			"$(crun --version 2>/dev/null | head -n 1). Times in ms (wall), RSS in KiB."
		echo
		echo "$hdr"
		echo "$sep"
		for row in "${rows[@]}"; do
			case $row in rss-*) scale=1 ;; *) scale=1000 ;; esac
			local line="| ${labels[$row]} |"
			base=
			if [ -s "$R/$row.hako" ] && [ ! -f "$R/$row.hako.failed" ]; then
				base=$(stats "$R/$row.hako" "$scale" | awk '{print $1}')
			fi
			for r in "${RUNTIMES[@]}"; do
				if [ -n "${FAILED[$r]:-}" ]; then
					cell="failed: ${FAILED[$r]}"
					med=
				elif [ -f "$R/$row.$r.failed" ]; then
					cell="failed: $(cat "$R/$row.$r.failed")"
					med=
				elif [ -s "$R/$row.$r" ]; then
					s=$(stats "$R/$row.$r" "$scale")
					read -r med mn mx <<<"$s"
					cell="$med ($mn–$mx)"
				else
					cell="-"
					med=
				fi
				cell=${cell//|/\\|}
				line+=" $cell |"
				if [ "$r" != hako ]; then
					if [ -n "$med" ] && [ -n "$base" ]; then
						line+=" $(awk -v a="$med" -v b="$base" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "-" }') |"
					else
						line+=" - |"
					fi
				fi
			done
			echo "$line"
		done
		echo
		echo "Floors (ms, median (min–max)):"
		echo
		echo "| floor | median (min–max) |"
		echo "|---|---|"
		for row in floor-unshare floor-gohello; do
			if [ -s "$R/$row.-" ]; then
				read -r med mn mx <<<"$(stats "$R/$row.-" 1000)"
				cell="$med ($mn–$mx)"
			else
				cell="-"
			fi
			case $row in
			floor-unshare) echo "| unshare --fork --pid --mount --uts --ipc --net true | $cell |" ;;
			floor-gohello) echo "| static Go hello world | $cell |" ;;
			esac
		done
		echo
		echo "Peak RSS is GNU time's %M (ru_maxrss of the waited command: the maximum over it and"
		echo "the descendants it reaped). For hako that covers the hako CLI and, for run, the"
		echo "re-exec'd init and container process reaped inside the tree; for create the container's"
		echo "init outlives the command and is not counted (the same holds for runc and crun)."
		echo "crun runs with an LD_PRELOAD shim that ignores EPERM from raising RLIMIT_MEMLOCK."
	}
}

# ---------------------------------------------------------------- outer part

if [ "${1:-}" = --inner ]; then
	inner
	# the report is written by the inner part because FAILED lives here
	report >"$W/report.md"
	exit 0
fi
if [ "${1:-}" = --cleanup ]; then
	# safety net run in a fresh mount namespace after the inner part
	mount --make-rprivate / && mount -t cgroup2 cgroup2 /sys/fs/cgroup || exit 0
	cleanup_containers
	cleanup_cgroups /sys/fs/cgroup
	exit 0
fi

if [ "$(id -u)" != 0 ]; then
	echo "bench.sh: run as root" >&2
	exit 1
fi

SELF=$(readlink -f "$0")
TOP=$(cd "$(dirname "$SELF")/../.." && pwd)
export PATH=/usr/local/go/bin:$PATH:/usr/sbin:/sbin
export N=${BENCH_N:-30}
export P=hb$$
export W
W=$(mktemp -d /tmp/hako-bench.XXXXXX)
export HAKO=$TOP/bin/hako
export BUNDLE_TRUE=$W/bundle-true BUNDLE_SLEEP=$W/bundle-sleep GOHELLO=$W/gohello
INNER_PID=

outer_cleanup() {
	trap - EXIT INT TERM
	if [ -n "$INNER_PID" ]; then wait "$INNER_PID" 2>/dev/null; fi
	unshare -m "$SELF" --cleanup
	# cgroups are also visible outside on a hybrid host
	if [ -f /sys/fs/cgroup/unified/cgroup.procs ]; then cleanup_cgroups /sys/fs/cgroup/unified; fi
	rm -rf "$W"
}
trap 'outer_cleanup' EXIT
trap 'echo "bench: interrupted" >&2; outer_cleanup; exit 130' INT TERM

start=$(date +%s)
cd "$TOP" || exit 1
if [ ! -x bin/hako ]; then
	echo "bench: building bin/hako" >&2
	make build || exit 1
fi

need=()
command -v runc >/dev/null || need+=(runc)
command -v crun >/dev/null || need+=(crun)
command -v hyperfine >/dev/null || need+=(hyperfine)
[ -x /usr/bin/time ] || need+=(time)
[ -x /bin/busybox ] && /bin/busybox --list >/dev/null 2>&1 || need+=(busybox-static)
command -v gcc >/dev/null || need+=(gcc)
command -v jq >/dev/null || need+=(jq)
if [ ${#need[@]} -gt 0 ]; then
	echo "bench: installing ${need[*]}" >&2
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null ||
		{ apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null; } ||
		echo "bench: apt-get install ${need[*]} failed" >&2
fi
for c in runc crun jq gcc go; do
	command -v "$c" >/dev/null || { echo "bench: $c missing" >&2; [ "$c" = crun ] || exit 1; }
done

# bundles: one rootfs, two configs (true and sleep 1000)
test/mkrootfs.sh "$W/rootfs" || exit 1
for b in true sleep; do
	mkdir -p "$W/bundle-$b"
	"$HAKO" spec --bundle "$W/bundle-$b" || exit 1
	case $b in true) args='["/bin/true"]' ;; sleep) args='["/bin/sleep","1000"]' ;; esac
	jq --arg root "$W/rootfs" --argjson a "$args" \
		'.ociVersion = "1.0.2" | .root.path = $root | .root.readonly = true | .process.terminal = false | .process.args = $a' \
		"$W/bundle-$b/config.json" >"$W/bundle-$b/config.json.new" &&
		mv "$W/bundle-$b/config.json.new" "$W/bundle-$b/config.json" || exit 1
done

# static Go hello world (floor)
mkdir -p "$W/gohello-src"
cat >"$W/gohello-src/main.go" <<'EOF'
package main

import "os"

func main() { os.Stdout.WriteString("hello\n") }
EOF
(cd "$W/gohello-src" && CGO_ENABLED=0 GOFLAGS=-mod=mod GO111MODULE=off go build -o "$GOHELLO" main.go) || exit 1

# LD_PRELOAD shim for crun: RLIMIT_MEMLOCK raises that fail with EPERM succeed.
cat >"$W/memlock-shim.c" <<'EOF'
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/resource.h>
#include <sys/types.h>

int setrlimit(__rlimit_resource_t res, const struct rlimit *rl)
{
	static int (*real)(__rlimit_resource_t, const struct rlimit *);
	if (!real)
		real = dlsym(RTLD_NEXT, "setrlimit");
	int r = real(res, rl);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK)
		return 0;
	return r;
}

int setrlimit64(__rlimit_resource_t res, const struct rlimit64 *rl)
{
	static int (*real)(__rlimit_resource_t, const struct rlimit64 *);
	if (!real)
		real = dlsym(RTLD_NEXT, "setrlimit64");
	int r = real(res, rl);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK)
		return 0;
	return r;
}

int prlimit64(pid_t pid, __rlimit_resource_t res, const struct rlimit64 *nl, struct rlimit64 *ol)
{
	static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit64 *, struct rlimit64 *);
	if (!real)
		real = dlsym(RTLD_NEXT, "prlimit64");
	int r = real(pid, res, nl, ol);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK && nl)
		return 0;
	return r;
}

int prlimit(pid_t pid, __rlimit_resource_t res, const struct rlimit *nl, struct rlimit *ol)
{
	static int (*real)(pid_t, __rlimit_resource_t, const struct rlimit *, struct rlimit *);
	if (!real)
		real = dlsym(RTLD_NEXT, "prlimit");
	int r = real(pid, res, nl, ol);
	if (r < 0 && errno == EPERM && res == RLIMIT_MEMLOCK && nl)
		return 0;
	return r;
}
EOF
gcc -O2 -shared -fPIC -o "$W/memlock-shim.so" "$W/memlock-shim.c" -ldl || exit 1

echo "bench: N=$N, work dir $W" >&2
unshare -m "$SELF" --inner &
INNER_PID=$!
wait "$INNER_PID"
rc=$?
INNER_PID=
if [ $rc -ne 0 ] || [ ! -s "$W/report.md" ]; then
	echo "bench: the benchmark failed (exit $rc)" >&2
	exit 1
fi
end=$(date +%s)
echo >>"$W/report.md"
echo "Total time of the benchmark: $((end - start)) s." >>"$W/report.md"
mkdir -p "$TOP/_output"
cp "$W/report.md" "$TOP/_output/bench.md"
cat "$W/report.md"
