# lib.sh: shared helpers of the clients tier (sourced by the suite scripts).
#
# Every check prints one line, "PASS name", "FAIL name: why" or
# "SKIP name: why"; test/clients/run.sh counts them. A suite registers its
# clean-up with on_cleanup; the commands run in reverse order on any exit.

: "${HAKO:?HAKO must name the hako binary}"
: "${CLIENTS_WORK:?CLIENTS_WORK must name the work directory of the tier}"

pass() { echo "PASS $1"; }
fail() { echo "FAIL $1: $2"; }
skip() { echo "SKIP $1: $2"; }

# check NAME CMD...: PASS when CMD exits 0, FAIL with its output otherwise.
check() {
	local name=$1 out
	shift
	if out=$("$@" 2>&1); then
		pass "$name"
	else
		fail "$name" "'$*' exited $?: $(printf '%s' "$out" | tail -c 400 | tr '\n' ' ')"
	fi
}
# expect_eq NAME WANT GOT
expect_eq() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "want '$2', got '$(printf '%s' "$3" | head -c 400 | tr '\n' ' ')'"; fi
}
# expect_rc NAME WANT GOT
expect_rc() {
	if [ "$3" = "$2" ]; then pass "$1"; else fail "$1" "exit status $3, want $2"; fi
}

_cleanups=()
# on_cleanup CMD: run CMD (a string, eval'd) when the suite exits.
on_cleanup() { _cleanups+=("$1"); }
_run_cleanups() {
	local i
	for ((i = ${#_cleanups[@]} - 1; i >= 0; i--)); do
		eval "${_cleanups[$i]}" >/dev/null 2>&1 || true
	done
	_cleanups=()
}
trap _run_cleanups EXIT

# need_packages PKG...: installs missing Debian packages (no recommends).
# Waits for the dpkg lock, so suites may run side by side.
need_packages() {
	local p missing=()
	for p in "$@"; do
		[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null)" = installed ] || missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	echo "clients: installing ${missing[*]}" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1 ||
		{ apt-get -o DPkg::Lock::Timeout=600 update -qq >/dev/null 2>&1 &&
			apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}" >/dev/null; }
}

# busybox_rootfs: prints the path of the busybox root filesystem the tier
# shares (built once by test/mkrootfs.sh).
busybox_rootfs() {
	local d=$CLIENTS_WORK/rootfs
	"$(dirname "${BASH_SOURCE[0]}")/../mkrootfs.sh" "$d" >/dev/null
	echo "$d"
}
