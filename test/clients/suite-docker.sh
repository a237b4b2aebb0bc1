#!/usr/bin/env bash
# suite-docker.sh: Docker 20.10 drives hako. The suite starts its own
# containerd (containerd.sh) and a dockerd on it with private data-root,
# exec-root, pidfile and socket, no iptables/bridge/forwarding/masquerade,
# the cgroupfs driver with the cgroup parent /hkcdNNN, a daemon.json of its
# own (so /etc/docker stays clean) and hako added as runtime "hako" (also
# the default, so `docker version` reports it).
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/containerd.sh"

need_packages containerd docker.io jq || { fail docker-install "apt-get install containerd docker.io jq failed"; exit 0; }

work=$(mktemp -d "$CLIENTS_WORK/dk.XXXXXX")
parent=hkcd$$
img=localhost/busybox:latest
W=$(hako_wrapper "$work/w")
on_cleanup "rm_cgroup_tree /$parent"
# dockerd makes /run/docker/plugins whatever its exec-root: remove it if new.
[ -e /run/docker ] || on_cleanup "rm -rf /run/docker"
export DOCKER_CONFIG=$work/client DOCKER_HOST=unix://$work/docker.sock

if ! ctd_start "$work/c"; then
	fail docker-containerd-start "containerd did not come up: $(tail -c 400 "$work/c/containerd.log" | tr '\n' ' ')"
	exit 0
fi

echo "{\"deprecated-key-path\": \"$work/key.json\"}" >"$work/daemon.json"
dockerd --config-file "$work/daemon.json" --containerd "$CTD_SOCK" \
	--data-root "$work/data" --exec-root "$work/exec" --pidfile "$work/docker.pid" \
	-H "$DOCKER_HOST" --iptables=false --ip-forward=false --ip-masq=false --bridge=none \
	--exec-opt native.cgroupdriver=cgroupfs --cgroup-parent "/$parent" \
	--add-runtime "hako=$W" --default-runtime hako >"$work/dockerd.log" 2>&1 &
DOCKERD_PID=$!
stop_dockerd() {
	local i m
	kill -TERM "$DOCKERD_PID" 2>/dev/null
	for ((i = 0; i < 150; i++)); do kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$DOCKERD_PID" 2>/dev/null
	wait "$DOCKERD_PID" 2>/dev/null
	for m in $(awk -v d="$work" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
}
on_cleanup stop_dockerd
for ((i = 0; i < 150; i++)); do docker version >/dev/null 2>&1 && break; kill -0 "$DOCKERD_PID" 2>/dev/null || break; sleep 0.1; done
if ! docker version >/dev/null 2>&1; then
	fail dockerd-start "dockerd did not come up: $(tail -c 400 "$work/dockerd.log" | tr '\n' ' ')"
	exit 0
fi

# docker info and version show hako: info lists the runtime, version runs
# `hako --version` and reads runc's layout ("NAME version X", "commit: C").
info=$(docker info --format '{{json .}}' 2>/dev/null)
expect_eq docker-info-runtime "$W" "$(printf '%s' "$info" | jq -r '.Runtimes.hako.path')"
expect_eq docker-info-default-runtime hako "$(printf '%s' "$info" | jq -r '.DefaultRuntime')"
want_commit=$("$HAKO" --version | sed -n 's/^commit: //p')
expect_eq docker-info-runtime-commit "$want_commit" "$(printf '%s' "$info" | jq -r '.RuncCommit.ID')"
want_version=$("$HAKO" --version | sed -n 's/^hako version //p')
ver=$(docker version --format '{{json .Server.Components}}' 2>/dev/null)
expect_eq docker-version-component "$want_version $want_commit" \
	"$(printf '%s' "$ver" | jq -r '.[] | select(.Name == "hako") | "\(.Version) \(.Details.GitCommit)"')"

tar -C "$(busybox_rootfs)" -c . | docker import - "$img" >/dev/null 2>"$work/err" &&
	pass docker-import || fail docker-import "$(tail -c 400 "$work/err")"

# run --rm: output and exit status.
out=$(timeout 60 docker run --rm --runtime hako "$img" sh -c 'echo hello from hako; exit 4' 2>&1)
rc=$?
expect_eq docker-run-rm-output "hello from hako" "$(printf '%s' "$out" | grep -v 'IPv4 forwarding')"
expect_rc docker-run-rm-exit-status 4 "$rc"
grep -q -- ' create --bundle .* --pid-file .*init.pid ' "$work/w/argv.log" && pass docker-create-argv ||
	fail docker-create-argv "no 'create --bundle B --pid-file P' call"

# --network none: Docker's prestart hook runs dockerd's binary
# (libnetwork-setkey) with the state on stdin; it must succeed.
if out=$(timeout 60 docker run -d --runtime hako --network none --name d1 "$img" \
	sh -c 'trap "exit 0" TERM; echo up; while :; do sleep 1000 & wait $!; done' 2>&1); then
	pass docker-run-detached
	id=$(docker inspect -f '{{.Id}}' d1)
	hook=$(jq -r '.hooks.prestart[0].args[0]' "$work/w/config.json")
	expect_eq docker-network-none-hook libnetwork-setkey "$hook"
	expect_eq docker-running true "$(docker inspect -f '{{.State.Running}}' d1)"
	hroot=$(sed -n "s/^--root \([^ ]*\) .* start $id\$/\1/p" "$work/w/argv.log" | head -1)
	expect_eq docker-hako-state running "$("$HAKO" --root "$hroot" state "$id" 2>&1 | jq -r .status 2>&1)"
	for ((i = 0; i < 50; i++)); do [ "$(docker logs d1 2>&1)" = up ] && break; sleep 0.1; done
	expect_eq docker-logs up "$(docker logs d1 2>&1)"

	out=$(docker exec d1 sh -c 'echo exec ok; exit 6' 2>&1)
	rc=$?
	expect_eq docker-exec-output "exec ok" "$out"
	expect_rc docker-exec-exit-status 6 "$rc"
	expect_eq docker-exec-fds "0 1 2 " "$(docker exec d1 sh -c 'ls /proc/$$/fd; exit 0' 2>&1 | tr '\n' ' ')"

	# top: containerd's task Pids, i.e. `ps --format json` through the shim.
	top=$(docker top d1 -o pid 2>&1 | awk 'NR > 1' | sort -n | tr '\n' ' ')
	hpids=$("$HAKO" --root "$hroot" ps --format json "$id" | jq -r '.[]' | sort -n | tr '\n' ' ')
	if [ -n "$top" ] && [ "$top" = "$hpids" ]; then pass docker-top; else fail docker-top "docker top '$top', hako ps '$hpids'"; fi

	check docker-pause docker pause d1
	expect_eq docker-paused paused "$("$HAKO" --root "$hroot" state "$id" | jq -r .status)"
	check docker-unpause docker unpause d1
	expect_eq docker-unpaused running "$("$HAKO" --root "$hroot" state "$id" | jq -r .status)"

	# update: `update --resources -`. No cpu controller in this host's
	# cgroup v2 hierarchy: the shares are kept in hako's state (with a
	# warning in the log); a pids limit fails with hako's own message.
	check docker-update-cpu-shares docker update --cpu-shares 512 d1
	expect_eq docker-update-kept-in-state 512 "$(jq -r '.linux.resources.cpu.shares' "$hroot/$id/config.json" 2>&1)"
	grep -q -- " update --resources - $id\$" "$work/w/argv.log" && pass docker-update-argv || fail docker-update-argv "no 'update --resources -' call"
	out=$(docker update --pids-limit 100 d1 2>&1)
	if [ $? -ne 0 ] && printf '%s' "$out" | grep -q 'hako: linux.resources.pids.limit: the pids controller is not available'; then
		pass docker-update-error-reaches-docker
	else
		fail docker-update-error-reaches-docker "docker update --pids-limit: $out"
	fi

	check docker-stop timeout 60 docker stop -t 10 d1
	expect_eq docker-stopped-exit-code 0 "$(docker inspect -f '{{.State.ExitCode}}' d1)"
	check docker-rm docker rm d1
	if [ -e "$hroot/$id" ]; then fail docker-rm-state "$hroot/$id left"; else pass docker-rm-state; fi
	if [ -e "/sys/fs/cgroup/unified/$parent/$id" ]; then fail docker-rm-cgroup "cgroup of $id left"; else pass docker-rm-cgroup; fi
else
	fail docker-run-detached "$out"
fi

# A failing create: hako's message reaches docker's error.
out=$(timeout 60 docker run --rm --runtime hako "$img" /no/such/program 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q '/no/such/program' && printf '%s' "$out" | grep -qi 'no such file'; then
	pass docker-create-error
else
	fail docker-create-error "docker run exited $rc: $out"
fi

expect_eq docker-no-containers-left "" "$(docker ps -aq)"
stop_dockerd
if kill -0 "$DOCKERD_PID" 2>/dev/null; then fail dockerd-stopped "dockerd $DOCKERD_PID still runs"; else pass dockerd-stopped; fi
left=$(awk -v d="$work" 'index($2, d) == 1 { print $2 }' /proc/self/mounts)
expect_eq docker-no-mounts-left "" "$left"
left=$(find "/sys/fs/cgroup/unified/$parent" -mindepth 1 -type d 2>/dev/null)
expect_eq docker-no-cgroups-left "" "$left"

cp "$work/w/argv.log" "$CLIENTS_WORK/docker-argv.log" 2>/dev/null
exit 0
