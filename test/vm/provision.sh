#!/usr/bin/env bash
# provision.sh [--image] [USER]: makes a Debian 12 machine with systemd into
# hako's full test environment. Shared by the Vagrantfile (a laptop VM) and
# the VM test tier (test/vm/run.sh). Idempotent. Run as root.
#
# --image prepares a root file system that is not running (the VM tier runs
# it in a chroot of the image it builds): no packages and no Go (the image
# gets its packages from debootstrap, and the tier runs prebuilt static
# binaries), lingering as the file logind reads at boot, no daemon-reload
# and no check of the running system's cgroups.
#
# - build and test packages (the same list test/deps.sh installs, plus
#   systemd's user-session pieces);
# - Go: the Debian machine's own if new enough, else Debian's newest Go
#   from backports, with GOTOOLCHAIN fetching the version go.mod asks for
#   through the Go module proxy;
# - USER (default tester, uid 1001) with subordinate ids, lingering, so
#   its systemd user manager and bus run without a login;
# - user@.service delegating cpu, cpuset, io, memory and pids, so rootless
#   containers can have limits;
# - podman-auto-update and podman-restart masked when installed (they cost
#   8 to 10 s each at boot).
set -euo pipefail

image=false
if [ "${1:-}" = --image ]; then
	image=true
	shift
fi
user=${1:-tester}
export DEBIAN_FRONTEND=noninteractive

# Packages and Go: a running machine only (not with --image).
if ! $image; then
packages=(build-essential git make pkg-config libseccomp-dev busybox-static uidmap
	iproute2 procps util-linux passwd bsdutils dbus dbus-user-session libpam-systemd
	systemd-container runc)
missing=()
for p in "${packages[@]}"; do
	[ "$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)" = installed ] || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# Go. go.mod names the version; GOTOOLCHAIN=auto downloads it through the
# module proxy as long as the installed go is 1.21 or newer.
go_ok() { command -v go >/dev/null && go version | awk '{split($3,v,"."); exit !(v[2] >= 21)}'; }
export PATH=/usr/local/go/bin:$PATH
if ! go_ok; then
	# Debian's backports suite on the machine's own mirror.
	mirror=$(sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1)
	[ -n "$mirror" ] || mirror=$(awk '$1=="deb" && $3=="bookworm" {print $2; exit}' /etc/apt/sources.list 2>/dev/null)
	if [ -z "$mirror" ]; then
		echo "provision.sh: cannot find the Debian mirror in the apt sources" >&2
		exit 1
	fi
	echo "deb $mirror bookworm-backports main" >/etc/apt/sources.list.d/backports.list
	apt-get update -qq
	gopkg=$(apt-cache search --names-only '^golang-1\.[0-9]+-go$' | awk '{print $1}' | sort -V | tail -n1)
	apt-get install -y -qq -t bookworm-backports "$gopkg"
	ln -sf "/usr/lib/${gopkg%-go}/bin/go" /usr/local/bin/go
	ln -sf "/usr/lib/${gopkg%-go}/bin/gofmt" /usr/local/bin/gofmt
fi
cat >/etc/profile.d/hako-go.sh <<'PROFILE'
export PATH=/usr/local/go/bin:$PATH
export GOTOOLCHAIN=auto
PROFILE
fi # ! $image

# The test user, with subordinate ids (useradd adds them on Debian).
if ! id "$user" >/dev/null 2>&1; then
	useradd -m -s /bin/bash -u 1001 "$user" 2>/dev/null || useradd -m -s /bin/bash "$user"
fi
grep -q "^$user:" /etc/subuid || usermod --add-subuids 100000-165535 "$user"
grep -q "^$user:" /etc/subgid || usermod --add-subgids 100000-165535 "$user"

# Delegate the controllers to user managers, then start the user's.
mkdir -p /etc/systemd/system/user@.service.d
cat >/etc/systemd/system/user@.service.d/delegate.conf <<'UNIT'
[Service]
Delegate=cpu cpuset io memory pids
UNIT

# Slow at boot and of no use to the tests.
for unit in podman-auto-update.service podman-auto-update.timer podman-restart.service; do
	if [ -e "/lib/systemd/system/$unit" ] || [ -e "/usr/lib/systemd/system/$unit" ]; then
		systemctl mask "$unit" >/dev/null 2>&1 || ln -sfn /dev/null "/etc/systemd/system/$unit"
	fi
done

if $image; then
	# What `loginctl enable-linger` writes; logind starts the user's
	# manager at boot.
	mkdir -p /var/lib/systemd/linger
	touch "/var/lib/systemd/linger/$user"
	echo "provision.sh: image ready (user $user)"
	exit 0
fi
systemctl daemon-reload
loginctl enable-linger "$user"

# cgroup v2 only: Debian 12 boots with the unified hierarchy.
if [ "$(stat -fc %T /sys/fs/cgroup)" != cgroup2fs ]; then
	echo "provision.sh: /sys/fs/cgroup is not cgroup v2; boot with systemd.unified_cgroup_hierarchy=1" >&2
	exit 1
fi
echo "provision.sh: ready (user $user, controllers: $(cat /sys/fs/cgroup/cgroup.controllers))"
