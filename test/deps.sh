#!/usr/bin/env bash
# Installs what hako's build and tests need on a fresh Debian 12 machine
# (run as root; Go at /usr/local/go, gcc and make already there).
# Idempotent and fast when everything is present: apt-get runs only when a
# package is missing.
set -euo pipefail

cd "$(dirname "$0")/.."
export PATH=/usr/local/go/bin:$PATH

# busybox-static: the test rootfs; libseccomp-dev, pkg-config: the static
# build; uidmap: newuidmap/newgidmap for rootless tests; iproute2: ip netns;
# runc: the reference runtime the integration suite is validated against;
# passwd: useradd/usermod, with which the rootless tier makes its users;
# bsdutils: script(1) for the terminal tests.
packages=(busybox-static libseccomp-dev pkg-config uidmap iproute2 runc procps util-linux passwd bsdutils ruby)

missing=()
for p in "${packages[@]}"; do
	status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	if [ "$status" != installed ]; then
		missing+=("$p")
	fi
done

if [ ${#missing[@]} -gt 0 ]; then
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps.sh: missing packages ${missing[*]}; run as root to install them" >&2
		exit 1
	fi
	echo "deps.sh: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Module download is a no-op (and offline) when the module cache is filled.
go mod download

# Podman's default seccomp profile, for the test that loads it: taken from
# Debian's containers-common data package without installing it (its
# dependencies would pull in a whole container network stack).
profile=_output/podman-seccomp.json
if [ ! -s "$profile" ]; then
	mkdir -p _output/deb
	if [ -f /usr/share/containers/seccomp.json ]; then
		cp /usr/share/containers/seccomp.json "$profile"
	elif (cd _output/deb && apt-get download -qq golang-github-containers-common >/dev/null 2>&1 ||
		{ apt-get update -qq && apt-get download -qq golang-github-containers-common >/dev/null; }); then
		dpkg-deb -x _output/deb/golang-github-containers-common_*.deb _output/deb/x
		cp _output/deb/x/usr/share/containers/seccomp.json "$profile"
	else
		echo "deps.sh: could not fetch podman's seccomp profile (golang-github-containers-common)" >&2
		exit 1
	fi
	rm -rf _output/deb
fi
