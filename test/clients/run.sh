#!/usr/bin/env bash
# test/clients/run.sh: the clients tier. Drives hako through real clients
# from Debian's packages: podman (root and rootless), containerd 1.6 (ctr
# and the CRI plugin with crictl) and Docker 20.10. Each suite,
# test/clients/suite-*.sh, installs what it needs, starts its daemons on
# private sockets and directories and removes everything it made.
#
#   test/clients/run.sh              every suite
#   test/clients/run.sh podman       suite-podman.sh only
#
# Each check prints "PASS name", "FAIL name: why" or "SKIP name: why";
# the last line is "N passed, M failed[, K skipped]". Exit status non-zero
# iff a check failed or a suite exited non-zero without saying why.
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
export HAKO=${HAKO_BIN:-$repo/bin/hako}
[ -x "$HAKO" ] || { echo "clients: $HAKO missing: run make build" >&2; echo "0 passed, 1 failed"; exit 1; }

export CLIENTS_WORK
CLIENTS_WORK=$(mktemp -d /tmp/hkc.XXXXXX)
chmod 0755 "$CLIENTS_WORK"
trap 'rm -rf "$CLIENTS_WORK"' EXIT

if [ $# -gt 0 ]; then
	suites=()
	for s in "$@"; do suites+=("$here/suite-$s.sh"); done
else
	suites=("$here"/suite-*.sh)
fi

passed=0 failed=0 skipped=0
for s in "${suites[@]}"; do
	name=$(basename "$s" .sh)
	name=${name#suite-}
	echo "== clients: $name"
	out=$CLIENTS_WORK/$name.out
	bash "$s" 2>&1 | tee "$out"
	rc=${PIPESTATUS[0]}
	p=$(grep -c '^PASS ' "$out")
	f=$(grep -c '^FAIL ' "$out")
	k=$(grep -c '^SKIP ' "$out")
	if [ "$rc" -ne 0 ] && [ "$f" -eq 0 ]; then
		echo "FAIL $name: suite exited $rc"
		f=1
	fi
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + k))
done

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
