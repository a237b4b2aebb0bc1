# containerd.sh: helpers the containerd, CRI and Docker suites share
# (sourced after lib.sh). They start a private containerd 1.6, build a
# docker-save image of the busybox rootfs, and wrap hako in a script that
# logs every argv (docs/compatibility.md lists what the clients call).
#
# Hard-coded host paths containerd 1.6 uses whatever its config says:
# /run/containerd/s (shim sockets), /run/containerd/runc/NS (the runc
# shim's default --root for the runtime), /run/containerd/io.containerd.*
# are removed by ctd_stop when this suite made them.

# hako_wrapper DIR: writes DIR/hako, a script that appends its argv to
# DIR/argv.log, keeps a copy of the config.json of each create as
# DIR/config.json (the last one wins) and runs $HAKO. A call with
# --pid-file (create, exec) is waited for, and a pid file missing when
# hako returned success is logged as a "PIDFILE-MISSING argv" line; every
# other call is exec'd. Prints the wrapper's path.
hako_wrapper() {
	local dir=$1
	mkdir -p "$dir"
	cat >"$dir/hako" <<EOF
#!/bin/sh
printf '%s\n' "\$*" >>"$dir/argv.log"
prev= pidfile=
for a in "\$@"; do
	case "\$prev" in
	--bundle) cp "\$a/config.json" "$dir/config.json" 2>/dev/null ;;
	--pid-file) pidfile=\$a ;;
	esac
	prev=\$a
done
[ -n "\$pidfile" ] || exec "$HAKO" "\$@"
"$HAKO" "\$@"
rc=\$?
[ \$rc -ne 0 ] || [ -s "\$pidfile" ] || printf 'PIDFILE-MISSING %s\n' "\$*" >>"$dir/argv.log"
exit \$rc
EOF
	chmod 0755 "$dir/hako"
	echo "$dir/hako"
}

# image_tar ROOTFS OUT NAME [CMD-JSON]: writes a docker-save tar of ROOTFS
# (one layer) tagged NAME to OUT; its command is CMD-JSON (default ["sh"]).
image_tar() {
	local rootfs=$1 out=$2 name=$3 cmd=${4:-'["sh"]'} d layer_sum cfg cfg_sum
	d=$(mktemp -d "$CLIENTS_WORK/img.XXXXXX")
	tar -C "$rootfs" --numeric-owner -cf "$d/layer.tar" .
	layer_sum=$(sha256sum "$d/layer.tar" | cut -d' ' -f1)
	mkdir "$d/$layer_sum"
	mv "$d/layer.tar" "$d/$layer_sum/layer.tar"
	cfg=$(jq -cn --arg diff "sha256:$layer_sum" --argjson cmd "$cmd" '{
		architecture: "amd64", os: "linux",
		created: "2024-01-01T00:00:00Z",
		config: {Env: ["PATH=/usr/sbin:/usr/bin:/sbin:/bin"], Cmd: $cmd, WorkingDir: "/"},
		rootfs: {type: "layers", diff_ids: [$diff]},
		history: [{created: "2024-01-01T00:00:00Z", created_by: "hako clients tier"}]
	}')
	cfg_sum=$(printf '%s' "$cfg" | sha256sum | cut -d' ' -f1)
	printf '%s' "$cfg" >"$d/$cfg_sum.json"
	jq -cn --arg cfg "$cfg_sum.json" --arg tag "$name" --arg layer "$layer_sum/layer.tar" \
		'[{Config: $cfg, RepoTags: [$tag], Layers: [$layer]}]' >"$d/manifest.json"
	tar -C "$d" -cf "$out" manifest.json "$cfg_sum.json" "$layer_sum"
	rm -rf "$d"
}

# ctd_start DIR [CRI-TOML]: starts containerd with everything under DIR
# (config, root, state, socket, opt, log). Without CRI-TOML the CRI plugin
# is disabled; otherwise CRI-TOML is appended to the config. Sets CTD_PID,
# CTD_SOCK and CTD_DIR; registers the clean-up. Returns non-zero (with
# DIR/containerd.log) when the socket does not come up.
ctd_start() {
	local dir=$1 cri=${2:-} i
	CTD_DIR=$dir
	CTD_SOCK=$dir/containerd.sock
	mkdir -p "$dir/root" "$dir/state" "$dir/opt"
	# Paths containerd hard-codes: remove them at the end only if they are
	# new (another containerd on the machine would own them otherwise).
	[ -e /run/containerd ] || on_cleanup "rm -rf /run/containerd"
	{
		echo 'version = 2'
		echo "root = \"$dir/root\""
		echo "state = \"$dir/state\""
		[ -z "$cri" ] && echo 'disabled_plugins = ["io.containerd.grpc.v1.cri"]'
		echo '[grpc]'
		echo "  address = \"$CTD_SOCK\""
		echo '[ttrpc]'
		echo "  address = \"$dir/containerd.sock.ttrpc\""
		echo '[debug]'
		echo '  address = ""'
		echo '[metrics]'
		echo '  address = ""'
		echo '[plugins]'
		echo '  [plugins."io.containerd.internal.v1.opt"]'
		echo "    path = \"$dir/opt\""
		printf '%s\n' "$cri"
	} >"$dir/config.toml"
	containerd --config "$dir/config.toml" >"$dir/containerd.log" 2>&1 &
	CTD_PID=$!
	on_cleanup "ctd_stop"
	for ((i = 0; i < 100; i++)); do
		[ -S "$CTD_SOCK" ] && ctr --address "$CTD_SOCK" version >/dev/null 2>&1 && return 0
		kill -0 "$CTD_PID" 2>/dev/null || break
		sleep 0.1
	done
	return 1
}

# ctd_stop: stops the containerd of ctd_start and what it left: shims of
# its namespaces, its mounts, the cgroups its containers had.
ctd_stop() {
	local ns id pid m i
	if [ -n "${CTD_SOCK:-}" ] && kill -0 "$CTD_PID" 2>/dev/null; then
		for ns in $(ctr --address "$CTD_SOCK" namespaces ls -q 2>/dev/null); do
			for id in $(ctr --address "$CTD_SOCK" -n "$ns" tasks ls -q 2>/dev/null); do
				ctr --address "$CTD_SOCK" -n "$ns" tasks kill -s KILL "$id" >/dev/null 2>&1
				ctr --address "$CTD_SOCK" -n "$ns" tasks delete -f "$id" >/dev/null 2>&1
			done
			for id in $(ctr --address "$CTD_SOCK" -n "$ns" containers ls -q 2>/dev/null); do
				ctr --address "$CTD_SOCK" -n "$ns" containers delete "$id" >/dev/null 2>&1
			done
		done
	fi
	if [ -n "${CTD_PID:-}" ]; then
		kill -TERM "$CTD_PID" 2>/dev/null
		for ((i = 0; i < 50; i++)); do kill -0 "$CTD_PID" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$CTD_PID" 2>/dev/null
		wait "$CTD_PID" 2>/dev/null
	fi
	# Shims outlive containerd: stop those whose socket or work dir is ours.
	for pid in $(pgrep -x containerd-shim-runc-v2 2>/dev/null; pgrep -x containerd-shim 2>/dev/null); do
		if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -q -- "$CTD_SOCK"; then
			kill -KILL "$pid" 2>/dev/null
		fi
	done
	# Mounts under our directory, deepest first.
	for m in $(awk -v d="$CTD_DIR" 'index($2, d) == 1 { print $2 }' /proc/self/mounts | sort -r); do
		umount -l "$m" 2>/dev/null
	done
	CTD_PID=
}

# ctr_ NS ARGS...: ctr on the private socket in namespace NS.
ctr_() {
	local ns=$1
	shift
	ctr --address "$CTD_SOCK" -n "$ns" "$@"
}

# rm_cgroup_tree PATH: removes PATH (relative to the unified hierarchy)
# and its sub-cgroups, deepest first, once empty of processes. Suites give
# their containers a cgroup parent named after the run, so only their own
# cgroups are touched.
rm_cgroup_tree() {
	local top=/sys/fs/cgroup/unified/${1#/} d
	[ -n "${1#/}" ] && [ -d "$top" ] || return 0
	find "$top" -depth -type d | while read -r d; do rmdir "$d" 2>/dev/null; done
}
