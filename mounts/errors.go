package mounts

// MountError is the failure of one mount of the config: which mount, which
// step, and the kernel's answer. errors.Is/As see the wrapped error (a
// syscall.Errno for kernel failures).
type MountError struct {
	// Source and Destination are the mount's, as in the config.
	Source      string
	Destination string
	// Bind marks a bind mount (also a fallback to one).
	Bind bool
	// Step is empty for the mount call itself, else what failed:
	// "open source", "create mount point", "remount", ...
	Step string
	Err  error
}

func (e *MountError) Error() string {
	s := "mount " + e.Source + " to " + e.Destination
	if e.Bind {
		s += " (bind)"
	}
	s += ": "
	if e.Step != "" {
		s += e.Step + ": "
	}
	return s + e.Err.Error()
}

func (e *MountError) Unwrap() error { return e.Err }
