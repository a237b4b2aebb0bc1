#!/usr/bin/env bash
# suite-cri.sh: the Kubernetes CRI path. crictl (cri-tools, built once from
# the Go module proxy and cached in /var/cache/hako-clients) talks to
# containerd 1.6's CRI plugin, whose runc runtime has BinaryName = hako.
# Pods use the host network (no CNI plugin is installed or needed); the
# sandbox ("pause") image is the busybox rootfs with a sleeping command.
# The pods' cgroup parent is /hkcriNNN, so their cgroups are easy to find
# and remove.
set -uo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/lib.sh"
. "$here/containerd.sh"

CRICTL_VERSION=${CRICTL_VERSION:-v1.37.0}
cache=${HAKO_CLIENTS_CACHE:-/var/cache/hako-clients}

need_packages containerd jq || { fail cri-install "apt-get install containerd jq failed"; exit 0; }

# crictl: built once per version.
crictl_bin=$cache/crictl-$CRICTL_VERSION/crictl
if [ ! -x "$crictl_bin" ]; then
	mkdir -p "$cache/crictl-$CRICTL_VERSION.tmp"
	if ! out=$(cd /tmp && GOBIN="$cache/crictl-$CRICTL_VERSION.tmp" \
		PATH=/usr/local/go/bin:$PATH go install "sigs.k8s.io/cri-tools/cmd/crictl@$CRICTL_VERSION" 2>&1); then
		rm -rf "$cache/crictl-$CRICTL_VERSION.tmp"
		skip cri "cannot build crictl $CRICTL_VERSION from the Go module proxy: $(printf '%s' "$out" | tail -c 300 | tr '\n' ' ')"
		exit 0
	fi
	rm -rf "$cache/crictl-$CRICTL_VERSION"
	mv "$cache/crictl-$CRICTL_VERSION.tmp" "$cache/crictl-$CRICTL_VERSION"
fi

work=$(mktemp -d "$CLIENTS_WORK/cri.XXXXXX")
parent=hkcri$$
hroot=/run/containerd/runc/k8s.io
W=$(hako_wrapper "$work/w")
on_cleanup "rm_cgroup_tree /$parent"
[ -e "$hroot" ] || on_cleanup "rm -rf '$hroot'"

rootfs=$(busybox_rootfs)
image_tar "$rootfs" "$work/busybox.tar" localhost/busybox:latest
image_tar "$rootfs" "$work/pause.tar" localhost/pause:latest \
	'["sh","-c","trap \"exit 0\" TERM INT; while :; do sleep 1000 & wait $!; done"]'

mkdir -p "$work/cni-bin" "$work/cni-conf" "$work/logs"
cri_toml=$(
	cat <<TOML
  [plugins."io.containerd.grpc.v1.cri"]
    sandbox_image = "localhost/pause:latest"
    restrict_oom_score_adj = true
    disable_apparmor = true
    stream_server_address = "127.0.0.1"
    stream_server_port = "0"
    [plugins."io.containerd.grpc.v1.cri".containerd]
      default_runtime_name = "runc"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
        runtime_type = "io.containerd.runc.v2"
        [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
          BinaryName = "$W"
    [plugins."io.containerd.grpc.v1.cri".cni]
      bin_dir = "$work/cni-bin"
      conf_dir = "$work/cni-conf"
TOML
)
if ! ctd_start "$work/c" "$cri_toml"; then
	fail cri-containerd-start "containerd did not come up: $(tail -c 400 "$work/c/containerd.log" | tr '\n' ' ')"
	exit 0
fi
printf 'runtime-endpoint: unix://%s\nimage-endpoint: unix://%s\ntimeout: 30\n' "$CTD_SOCK" "$CTD_SOCK" >"$work/crictl.yaml"
cr() { "$crictl_bin" --config "$work/crictl.yaml" "$@"; }

check cri-image-import ctr_ k8s.io image import "$work/busybox.tar"
ctr_ k8s.io image import "$work/pause.tar" >/dev/null 2>&1
cr images 2>/dev/null | grep -q '^localhost/busybox ' && pass cri-images || fail cri-images "crictl images does not list localhost/busybox"

cat >"$work/pod.json" <<EOF
{"metadata": {"name": "p1", "namespace": "hkc", "uid": "hkc-p1-$$", "attempt": 0},
 "log_directory": "$work/logs",
 "linux": {"cgroup_parent": "/$parent",
           "security_context": {"namespace_options": {"network": 2}}}}
EOF
cat >"$work/c1.json" <<'EOF'
{"metadata": {"name": "c1"}, "image": {"image": "localhost/busybox:latest"},
 "command": ["sh", "-c", "echo started; ls /proc/$$/fd; while :; do sleep 1000 & wait $!; done"],
 "log_path": "c1.log"}
EOF

if ! pod=$(cr runp "$work/pod.json" 2>"$work/err"); then
	fail cri-runp "$(tail -c 400 "$work/err")"
	exit 0
fi
pass cri-runp
expect_eq cri-pod-ready SANDBOX_READY "$(cr inspectp "$pod" 2>/dev/null | jq -r .status.state)"
expect_eq cri-sandbox-cpu-shares 2 "$(jq -r '.linux.resources.cpu.shares' "$work/w/config.json")"
expect_eq cri-sandbox-cgroup "/$parent/$pod" "$(jq -r '.linux.cgroupsPath' "$work/w/config.json")"
if [ -d "/sys/fs/cgroup/unified/$parent/$pod" ]; then pass cri-sandbox-cgroup-made; else fail cri-sandbox-cgroup-made "no /sys/fs/cgroup/unified/$parent/$pod"; fi
expect_eq cri-sandbox-running running "$("$HAKO" --root "$hroot" state "$pod" 2>&1 | jq -r .status 2>&1)"

if ! ctr_id=$(cr create "$pod" "$work/c1.json" "$work/pod.json" 2>"$work/err"); then
	fail cri-create "$(tail -c 400 "$work/err")"
	exit 0
fi
pass cri-create
check cri-start cr start "$ctr_id"
expect_eq cri-container-running CONTAINER_RUNNING "$(cr inspect "$ctr_id" 2>/dev/null | jq -r .status.state)"
for ((i = 0; i < 50; i++)); do cr logs "$ctr_id" 2>/dev/null | grep -q started && break; sleep 0.1; done
expect_eq cri-logs "started 0 1 2 " "$(cr logs "$ctr_id" 2>/dev/null | tr '\n' ' ')"
# The container joins the pod's namespaces by path.
expect_eq cri-joins-pod-pidns "/proc/$("$HAKO" --root "$hroot" state "$pod" | jq -r .pid)/ns/pid" \
	"$(jq -r '.linux.namespaces[] | select(.type == "pid") | .path' "$work/w/config.json")"

out=$(cr exec --sync "$ctr_id" sh -c 'echo exec ok; exit 0' 2>&1)
expect_eq cri-exec-sync "exec ok" "$out"
out=$(cr exec "$ctr_id" sh -c 'echo streamed; exit 3' 2>&1)
rc=$?
if [ "$rc" -ne 0 ] && printf '%s' "$out" | grep -q '^streamed' && printf '%s' "$out" | grep -q 'exit code 3'; then
	pass cri-exec-exit-status
else
	fail cri-exec-exit-status "crictl exec exited $rc: $out"
fi
grep -q -- " exec --process .* --detach --pid-file .* $ctr_id\$" "$work/w/argv.log" && pass cri-exec-argv ||
	fail cri-exec-argv "no 'exec --process F --detach --pid-file P' call"

# update: the shim calls `update --resources -`. The host's unified
# hierarchy has no cpu controller, so hako keeps the shares in its state
# and warns in the log; a memory limit fails with hako's message.
if out=$(cr update --cpu-share 512 "$ctr_id" 2>&1); then
	expect_eq cri-update-kept-in-state 512 "$(jq -r '.linux.resources.cpu.shares' "$hroot/$ctr_id/config.json" 2>&1)"
	grep -q 'cpu.shares (512) ignored' "$work/c/state/io.containerd.runtime.v2.task/k8s.io/$ctr_id/log.json" 2>/dev/null &&
		pass cri-update-warning-in-log || fail cri-update-warning-in-log "no warning in the shim's log.json"
else
	fail cri-update "crictl update --cpu-share: $out"
fi
grep -q -- " update --resources - $ctr_id\$" "$work/w/argv.log" && pass cri-update-argv || fail cri-update-argv "no 'update --resources -' call"
out=$(cr update --memory 67108864 "$ctr_id" 2>&1)
if [ $? -ne 0 ] && printf '%s' "$out" | grep -q 'hako: linux.resources.memory.limit: the memory controller is not available'; then
	pass cri-update-error-reaches-crictl
else
	fail cri-update-error-reaches-crictl "crictl update --memory: $out"
fi

# stop: SIGTERM (the container's shell is not pid 1 in the pod's pid
# namespace and dies of it), then the shim's `kill --all ID 9` for what
# is left in the stopped container's cgroup.
if out=$(timeout 60 "$crictl_bin" --config "$work/crictl.yaml" stop --timeout 10 "$ctr_id" 2>&1); then
	pass cri-stop
else
	fail cri-stop "$out"
fi
expect_eq cri-container-exited CONTAINER_EXITED "$(cr inspect "$ctr_id" 2>/dev/null | jq -r .status.state)"
grep -q -- " kill --all $ctr_id 9\$" "$work/w/argv.log" && pass cri-kill-all-argv || fail cri-kill-all-argv "no 'kill --all ID 9' call"
check cri-rm cr rm "$ctr_id"
if [ -e "$hroot/$ctr_id" ]; then fail cri-rm-state "$hroot/$ctr_id left"; else pass cri-rm-state; fi
if [ -e "/sys/fs/cgroup/unified/$parent/$ctr_id" ]; then fail cri-rm-cgroup "cgroup of $ctr_id left"; else pass cri-rm-cgroup; fi

check cri-stopp timeout 60 "$crictl_bin" --config "$work/crictl.yaml" stopp "$pod"
check cri-rmp cr rmp "$pod"
expect_eq cri-no-pods-left "" "$(cr pods -q 2>/dev/null)"
expect_eq cri-no-hako-state-left "" "$("$HAKO" --root "$hroot" list -q 2>/dev/null | grep -x -e "$pod" -e "$ctr_id")"
left=$(find "/sys/fs/cgroup/unified/$parent" -mindepth 1 -type d 2>/dev/null)
expect_eq cri-no-cgroups-left "" "$left"
if grep -q 'level=error msg="failed to handle container TaskExit' "$work/c/containerd.log"; then
	fail cri-exits-handled "$(grep -m1 'failed to handle container TaskExit' "$work/c/containerd.log" | tail -c 400)"
else
	pass cri-exits-handled
fi

cp "$work/w/argv.log" "$CLIENTS_WORK/cri-argv.log" 2>/dev/null
exit 0
