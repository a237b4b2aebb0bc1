// Package nsexec is the part of hako's init that must run before the Go
// runtime starts: joining namespaces by path, creating the user namespace
// and waiting for its id maps, creating the other namespaces and forking
// into a new pid or time namespace (nsexec.c). Importing it links the C
// constructor into the binary; it does nothing unless the process was
// started as a container init.
//
// The Go side here only builds the bootstrap that tells the constructor
// what to do.
package nsexec

// #cgo CFLAGS: -Wall -O2
// #include <sys/resource.h>
// extern struct rlimit hako_orig_nofile;
// extern int hako_orig_nofile_ok;
import "C"

import (
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// EnvUsernsHolder marks a process that only holds a new user namespace
// open (it waits for its stdin to close, before the Go runtime starts).
const EnvUsernsHolder = "_HAKO_USERNS_HOLDER"

// EnvSyncFD names the environment variable that marks a process as a
// container init and gives the number of its sync socket.
const EnvSyncFD = "_HAKO_SYNC_FD"

// Join is an existing namespace to enter by path.
type Join struct {
	Type int // CLONE_NEW* value
	Path string
}

// Bootstrap is what the constructor does, in order: join, create the user
// namespace (and wait for its maps), create the others, write time
// offsets, fork.
type Bootstrap struct {
	// JoinPidfd is an fd (in the init) of a pidfd whose namespaces
	// selected by JoinPidfdFlags (when not 0) are joined first.
	JoinPidfd      int
	JoinPidfdFlags uintptr
	Joins          []Join
	Unshare        uintptr
	TimeOffsets    []string // lines for /proc/self/timens_offsets
	Fork           bool
	// ExecPlan says an exec plan frame follows the pid message: the C
	// stage runs it (execplan.c) and the Go runtime never starts.
	ExecPlan bool
}

// Encode renders the bootstrap in the constructor's line format.
func (b *Bootstrap) Encode() ([]byte, error) {
	var sb strings.Builder
	if b.JoinPidfdFlags != 0 {
		fmt.Fprintf(&sb, "joinpid %d %d\n", b.JoinPidfd, b.JoinPidfdFlags)
	}
	for _, j := range b.Joins {
		if strings.ContainsAny(j.Path, "\n") {
			return nil, fmt.Errorf("namespace path %q: contains a newline", j.Path)
		}
		fmt.Fprintf(&sb, "join %d %s\n", j.Type, j.Path)
	}
	if b.Unshare != 0 {
		fmt.Fprintf(&sb, "unshare %d\n", b.Unshare)
	}
	for _, l := range b.TimeOffsets {
		fmt.Fprintf(&sb, "timens %s\n", l)
	}
	if b.Fork {
		sb.WriteString("fork\n")
	}
	if b.ExecPlan {
		sb.WriteString("plan\n")
	}
	return []byte(sb.String()), nil
}

// NeedsFork says whether the init must be forked once more after the
// namespaces are made: a pid namespace, and a time namespace whose offsets
// must be written before any process enters it, only apply to children.
func NeedsFork(unshare uintptr, joins []Join) bool {
	if unshare&(unix.CLONE_NEWPID|unix.CLONE_NEWTIME) != 0 {
		return true
	}
	for _, j := range joins {
		if j.Type == unix.CLONE_NEWPID {
			return true
		}
	}
	return false
}

// OrigNofile returns the RLIMIT_NOFILE the init was started with, before
// the Go runtime raised its soft limit.
func OrigNofile() (cur, max uint64, ok bool) {
	if C.hako_orig_nofile_ok == 0 {
		return 0, 0, false
	}
	return uint64(C.hako_orig_nofile.rlim_cur), uint64(C.hako_orig_nofile.rlim_max), true
}
