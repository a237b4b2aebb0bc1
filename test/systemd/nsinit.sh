#!/usr/bin/env bash
# nsinit.sh ROOTFS SHARE SCRATCH: PID 1 of the systemd tier's namespace
# container, started by run.sh with
#   unshare --pid --mount --cgroup --uts --ipc --fork nsinit.sh ...
# from a dedicated cgroup of the host's unified hierarchy. It builds the
# container's root in its private mount namespace and execs systemd:
#
#   /            overlay: ROOTFS (read-only, cached) under a tmpfs upper
#   /hako        SHARE bound read-write (hako, the test binary, a rootfs)
#   /proc        a new proc (this pid namespace); /proc/sys and
#                /proc/sysrq-trigger read-only, so that nothing in here
#                changes the host's kernel settings
#   /sys         sysfs, read-only; /sys/fs/cgroup a new cgroup2 mount
#                (nsdelegate), whose root is the dedicated cgroup
#   /dev         tmpfs with null zero full random urandom tty bound from
#                the host and a new devpts instance
#   /run, /tmp   tmpfs
#
# Everything here is mounted in the new mount namespace, so it all goes
# away with the namespace when run.sh kills this process (then systemd).
set -euo pipefail

rootfs=$1 share=$2 scratch=$3

mount --make-rprivate /
mount -t tmpfs -o mode=0755 hako-systemd-scratch "$scratch"
mkdir -p "$scratch/upper" "$scratch/work" "$scratch/root"
mount -t overlay overlay -o "lowerdir=$rootfs,upperdir=$scratch/upper,workdir=$scratch/work" "$scratch/root"
root=$scratch/root

mkdir -p "$root/hako"
mount --bind "$share" "$root/hako"

mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
for p in sys sysrq-trigger; do
	[ -e "$root/proc/$p" ] || continue # no magic SysRq in some kernels
	mount --bind "$root/proc/$p" "$root/proc/$p"
	mount -o remount,bind,ro "$root/proc/$p"
done

mount -t sysfs -o ro,nosuid,nodev,noexec sysfs "$root/sys"
mount -t cgroup2 -o nsdelegate,nosuid,nodev,noexec cgroup2 "$root/sys/fs/cgroup"

mount -t tmpfs -o mode=0755,nosuid,size=4m hako-systemd-dev "$root/dev"
for d in null zero full random urandom tty; do
	touch "$root/dev/$d"
	mount --bind "/dev/$d" "$root/dev/$d"
done
mkdir -p "$root/dev/pts" "$root/dev/shm"
mount -t devpts -o newinstance,ptmxmode=0666,mode=0620,gid=5,nosuid,noexec devpts "$root/dev/pts"
ln -s pts/ptmx "$root/dev/ptmx"
ln -s /proc/self/fd "$root/dev/fd"
ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"
ln -s /proc/self/fd/2 "$root/dev/stderr"

mount -t tmpfs -o mode=0755,nosuid,nodev hako-systemd-run "$root/run"
mount -t tmpfs -o mode=1777,nosuid,nodev hako-systemd-tmp "$root/tmp"

hostname hako-systemd

cd "$root"
mkdir -p .oldroot
pivot_root . .oldroot
cd /
umount -l /.oldroot
rmdir /.oldroot

exec /usr/bin/env -i container=hako-test PATH=/usr/sbin:/usr/bin:/sbin:/bin \
	/lib/systemd/systemd --system --show-status=no
