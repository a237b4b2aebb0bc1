// Package integration holds hako's host integration tests: Go tests that
// run the real runtime binary (bin/hako, or $HAKO_BIN) as root on a busybox
// root filesystem built from Debian's busybox-static, and check each result
// from inside the container (what the container prints about itself) and on
// the host (state directory, mounts, processes, cgroups left behind).
//
// The tests only use the runc-compatible command line, so they can be run
// against runc to validate the tests themselves:
//
//	unshare -m sh -c 'mount --make-rprivate / && mount -t cgroup2 none /sys/fs/cgroup &&
//	    HAKO_BIN=/usr/sbin/runc go test ./test/integration/'
//
// Tests of hako-specific behaviour skip themselves when $HAKO_BIN is runc.
// See docs/testing.md.
package integration
