#!/usr/bin/env bash
# run-tests.sh: the whole test suite, as root (see docs/testing.md).
#
#   1. go vet ./...
#   2. make build (bin/hako, the binary the integration tests run)
#   3. go test -json of every package: unit tests and test/integration,
#      summarized by test/tools/summarize
#
# Ends with one line "N passed, M failed[, K skipped]" and exits non-zero iff
# a test failed or vet or the build failed. Whatever the tests leave behind
# after a crash or an interrupt (containers, mounts, network namespaces,
# processes, temporary files) is cleaned up on exit.
#
# Environment: HAKO_BIN (runtime under test; default bin/hako),
# GOTESTFLAGS (extra go test flags, e.g. "-run TestLifecycle").
set -uo pipefail

cd "$(dirname "$0")/.."
top=$PWD
export PATH=/usr/local/go/bin:$PATH
export GOEXPERIMENT=jsonv2 # as the Makefile builds hako (see there)

work=$(mktemp -d "${TMPDIR:-/tmp}/hako-tests.XXXXXX")
chmod 0755 "$work"
export HAKO_TEST_TMPDIR=$work/itest
mkdir -p "$HAKO_TEST_TMPDIR" "$top/_output"
job=

# mounts_under DIR: mount points at or under DIR in this mount namespace,
# deepest first.
mounts_under() {
	awk -v d="$1" '$5 == d || index($5, d "/") == 1 { print $5 }' /proc/self/mountinfo | sort -r
}

# sweep removes what a crashed or interrupted run may have left. Quiet when
# there is nothing to do.
sweep() {
	local bin=${HAKO_BIN:-$top/bin/hako} root id pid m ns u uid st
	if [ -x "$bin" ] && [ -d "$HAKO_TEST_TMPDIR" ]; then
		while IFS= read -r root; do
			for id in $("$bin" --root "$root" list -q 2>/dev/null); do
				echo "cleanup: deleting leftover container $id" >&2
				"$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
			done
		done < <(find "$HAKO_TEST_TMPDIR" -mindepth 2 -maxdepth 3 -type d -name state 2>/dev/null)
	fi
	# The rootless tier's containers live in its users' state roots
	# (/run/user/UID/hako): delete the ones whose bundle is under $work, then
	# remove the root (and its seccomp cache) and the runtime dir if empty.
	for u in hakotest hakotest2; do
		uid=$(id -u "$u" 2>/dev/null) || continue
		root=/run/user/$uid/hako
		[ -d "$root" ] || continue
		if [ -x "$bin" ]; then
			for st in "$root"/*/state.json; do
				[ -f "$st" ] && grep -qF "\"bundle\":\"$work/" "$st" || continue
				id=$(basename "$(dirname "$st")")
				echo "cleanup: deleting leftover rootless container $id of $u" >&2
				"$bin" --root "$root" delete --force "$id" >/dev/null 2>&1 || true
			done
		fi
		if [ -z "$(ls -A "$root" | grep -vx .cache)" ]; then
			rm -rf "$root/.cache"
			rmdir "$root" 2>/dev/null || true
			rmdir "/run/user/$uid" 2>/dev/null || true
		fi
	done
	# Processes the suite started carry HAKO_ITEST=<token>/... (the token is
	# per run): kill them by PID.
	if [ -n "${HAKO_TEST_RUN_TOKEN:-}" ]; then
		for pid in $(grep -lsz "^HAKO_ITEST=$HAKO_TEST_RUN_TOKEN/" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3); do
			[ "$pid" = $$ ] && continue
			echo "cleanup: killing leftover process $pid" >&2
			kill -KILL "$pid" 2>/dev/null || true
		done
	fi
	for ns in $(ip netns list 2>/dev/null | awk '$1 ~ /^hakotest-/ { print $1 }'); do
		echo "cleanup: deleting network namespace $ns" >&2
		ip netns delete "$ns" 2>/dev/null || true
	done
	for m in $(mounts_under "$work"); do
		echo "cleanup: unmounting $m" >&2
		umount -l "$m" 2>/dev/null || true
	done
	if [ -n "$(mounts_under "$work")" ]; then
		echo "cleanup: mounts remain under $work; not removing it" >&2
	else
		rm -rf "$work"
	fi
}

on_exit() {
	local rc=$?
	if [ -n "$job" ] && kill -0 "$job" 2>/dev/null; then
		# The test job runs in its own process group (set -m): stop all of it.
		kill -TERM -- "-$job" 2>/dev/null || true
		for _ in 1 2 3 4 5 6 7 8 9 10; do
			kill -0 "$job" 2>/dev/null || break
			sleep 0.5
		done
		kill -KILL -- "-$job" 2>/dev/null || true
	fi
	sweep
	exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

export HAKO_TEST_RUN_TOKEN=$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')

failed_steps=()

echo "== go vet ./..."
if ! go vet ./...; then
	failed_steps+=(-failed-step vet)
fi

echo "== make build"
packages=$(go list -e ./...)
if make --no-print-directory build; then
	export HAKO_BIN=${HAKO_BIN:-$top/bin/hako}
else
	failed_steps+=(-failed-step build)
	if [ -z "${HAKO_BIN:-}" ]; then
		echo "build failed: the integration tests are not run" >&2
		packages=$(echo "$packages" | grep -v '/test/integration$')
	fi
fi

if ! go build -o "$work/summarize" ./test/tools/summarize; then
	echo "cannot build test/tools/summarize" >&2
	echo "0 passed, 1 failed"
	exit 1
fi

echo "== go test ($(echo "$packages" | wc -l) packages, runtime ${HAKO_BIN:-none})"
mkfifo "$work/results"
# The go test summary is renamed "go test: N passed, ..." so that only the
# total at the very end reads as the run's closing line.
"$work/summarize" -raw "$top/_output/test-results.json" "${failed_steps[@]}" <"$work/results" |
	sed -u -E 's/^([0-9]+ passed, [0-9]+ failed.*)$/go test: \1/' | tee "$work/gotest.out" &
summarize_pid=$!
set -m # the test job gets its own process group, so on_exit can stop all of it
# shellcheck disable=SC2086 # word splitting of $packages and $GOTESTFLAGS is wanted
go test -count=1 -json -timeout 20m -parallel 4 ${GOTESTFLAGS:-} $packages >"$work/results" 2>&1 &
job=$!
set +m
wait "$job"
test_rc=$?
job=
wait "$summarize_pid"
summary_rc=$?

# counts FILE LABEL: the passed, failed and skipped numbers of the last
# summary line of FILE ("LABEL: N passed, M failed[, K skipped]", with or
# without the label).
counts() {
	sed -n -E "s/^(${2}: )?([0-9]+) passed, ([0-9]+) failed(, ([0-9]+) skipped)?.*/\2 \3 \5/p" "$1" | tail -n1
}
read -r total_passed total_failed total_skipped < <(counts "$work/gotest.out" "go test")
total_passed=${total_passed:-0}
total_failed=${total_failed:-1}
total_skipped=${total_skipped:-0}
[ "$test_rc" -eq 0 ] && [ "$summary_rc" -eq 0 ] || { [ "$total_failed" -gt 0 ] || total_failed=1; }

# The tiers that boot a real systemd (in a namespace container) and a VM
# (QEMU), the OCI conformance suite (runtime-tools) and the clients tier
# (podman, containerd, Docker from Debian's packages): each prints its own
# checks and "N passed, M failed[, K skipped]"; they build, cache or
# install what they need on their first run.
if [ "$(id -u)" -ne 0 ]; then
	echo "== the systemd, VM, conformance and clients tiers need root: not run (not counted)"
else
	for tier in systemd vm conformance clients; do
		echo "== $tier tier (test/$tier/run.sh)"
		"$top/test/$tier/run.sh" 2>&1 | sed -u -E "s/^([0-9]+ passed, [0-9]+ failed.*)\$/$tier tier: \\1/" | tee "$work/$tier.out"
		rc=${PIPESTATUS[0]}
		read -r p f k < <(counts "$work/$tier.out" "$tier tier")
		if [ -z "${p:-}" ]; then
			echo "$tier tier: no summary line (exit status $rc)"
			p=0 f=1
		elif [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
			f=1
		fi
		total_passed=$((total_passed + p))
		total_failed=$((total_failed + f))
		total_skipped=$((total_skipped + ${k:-0}))
	done
fi

# Skipped checks are never counted as passed; each tier says why it
# skipped what it did.
if [ "$total_skipped" -gt 0 ]; then
	echo "$total_passed passed, $total_failed failed, $total_skipped skipped"
else
	echo "$total_passed passed, $total_failed failed"
fi
if [ "$total_failed" -gt 0 ] || [ ${#failed_steps[@]} -gt 0 ]; then
	exit 1
fi
exit 0
