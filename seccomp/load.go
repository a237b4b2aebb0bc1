package seccomp

import (
	"fmt"
	"runtime"
	"strings"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Load installs the filter on the calling thread, which should be locked
// (runtime.LockOSThread) and should exec next: the filter applies to this
// thread and, through execve, to the program it runs.
//
// It needs no_new_privs on the thread or CAP_SYS_ADMIN in its user
// namespace. So with process.noNewPrivileges false and a process without
// CAP_SYS_ADMIN, the caller must load before it drops capabilities (as
// runc does), and what it does afterwards (setuid, capset, prctl...) must
// pass the filter; with noNewPrivileges, load after setting it, last.
//
// Load is a single raw seccomp(SECCOMP_SET_MODE_FILTER) system call on
// memory prepared by Compile: it allocates nothing and does not enter the
// Go scheduler. It returns the listener fd (close-on-exec) when the filter
// uses SCMP_ACT_NOTIFY, else -1. A nil Program loads nothing.
//
// On failure nothing is installed, and the error (a *LoadError) says why,
// naming the flag when the kernel lacks one.
func (p *Program) Load() (notifyFD int, err error) {
	if p == nil {
		return -1, nil
	}
	r, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, p.flags, uintptr(unsafe.Pointer(&p.fprog)))
	runtime.KeepAlive(p)
	if errno != 0 {
		return -1, p.loadError(errno)
	}
	if p.flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
		return int(r), nil
	}
	return -1, nil
}

// LoadError is the error of Program.Load.
type LoadError struct {
	Errno unix.Errno
	// Unsupported lists the flags the kernel refused, when Errno is EINVAL
	// because of them.
	Unsupported []string
}

func (e *LoadError) Error() string {
	var why string
	switch {
	case len(e.Unsupported) > 0:
		why = "the kernel does not support " + strings.Join(e.Unsupported, ", ")
	case e.Errno == unix.EACCES:
		why = "loading a filter needs no_new_privs or CAP_SYS_ADMIN"
	case e.Errno == unix.EBUSY:
		why = "a filter of this process already has a notification listener, and the kernel allows one per process (SCMP_ACT_NOTIFY cannot be nested)"
	case e.Errno == unix.ENOMEM:
		why = "the filters of this process together exceed the kernel's size limit, or out of memory"
	case e.Errno == unix.EINVAL:
		why = "the kernel rejected the filter"
	}
	if why == "" {
		return fmt.Sprintf("seccomp: load filter: %v", e.Errno)
	}
	return fmt.Sprintf("seccomp: load filter: %s (%v)", why, e.Errno)
}

func (e *LoadError) Unwrap() error { return e.Errno }

// loadError builds the error of a failed load; it runs only on failure, so
// it may allocate and probe the kernel.
func (p *Program) loadError(errno unix.Errno) error {
	e := &LoadError{Errno: errno}
	if errno == unix.EINVAL {
		for bit := uintptr(1); bit != 0 && bit <= p.flags; bit <<= 1 {
			if p.flags&bit != 0 && checkKernelFlag(bit) != nil {
				e.Unsupported = append(e.Unsupported, flagName(bit))
			}
		}
	}
	return e
}

// checkKernelFlag asks the kernel whether seccomp(2) knows a filter flag, as
// libseccomp does: SECCOMP_SET_MODE_FILTER with the flag and no program
// fails with EFAULT when the flags are valid (it validates them first) and
// with EINVAL when not. Nothing is installed either way.
func checkKernelFlag(bit uintptr) error {
	probe := bit
	if bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV {
		// The kernel accepts it only together with a listener.
		probe |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	_, _, errno := unix.RawSyscall(unix.SYS_SECCOMP, unix.SECCOMP_SET_MODE_FILTER, probe, 0)
	switch errno {
	case unix.EFAULT:
		return nil
	case unix.EINVAL:
		return fmt.Errorf("%s is not supported by this kernel", flagName(bit))
	default:
		return fmt.Errorf("cannot tell whether the kernel supports %s: seccomp(2): %v", flagName(bit), errno)
	}
}
