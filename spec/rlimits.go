package spec

import (
	"fmt"

	"golang.org/x/sys/unix"
)

// rlimitNames maps the POSIX rlimit names used in process.rlimits to the
// resource numbers of setrlimit(2). Some numbers differ between
// architectures (mips, sparc), so they come from x/sys/unix.
var rlimitNames = map[string]int{
	"RLIMIT_CPU":        unix.RLIMIT_CPU,
	"RLIMIT_FSIZE":      unix.RLIMIT_FSIZE,
	"RLIMIT_DATA":       unix.RLIMIT_DATA,
	"RLIMIT_STACK":      unix.RLIMIT_STACK,
	"RLIMIT_CORE":       unix.RLIMIT_CORE,
	"RLIMIT_RSS":        unix.RLIMIT_RSS,
	"RLIMIT_NPROC":      unix.RLIMIT_NPROC,
	"RLIMIT_NOFILE":     unix.RLIMIT_NOFILE,
	"RLIMIT_MEMLOCK":    unix.RLIMIT_MEMLOCK,
	"RLIMIT_AS":         unix.RLIMIT_AS,
	"RLIMIT_LOCKS":      unix.RLIMIT_LOCKS,
	"RLIMIT_SIGPENDING": unix.RLIMIT_SIGPENDING,
	"RLIMIT_MSGQUEUE":   unix.RLIMIT_MSGQUEUE,
	"RLIMIT_NICE":       unix.RLIMIT_NICE,
	"RLIMIT_RTPRIO":     unix.RLIMIT_RTPRIO,
	"RLIMIT_RTTIME":     unix.RLIMIT_RTTIME,
}

// RlimitValue returns the setrlimit(2) resource number for a name like
// "RLIMIT_NOFILE". As with capabilities, the upper-case name and its
// all-lower-case form are accepted.
func RlimitValue(name string) (int, error) {
	if v, ok := lookupName(rlimitNames, name); ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown rlimit %q", name)
}
