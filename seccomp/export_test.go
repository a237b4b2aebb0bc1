package seccomp

// WithFlags returns a copy of p that loads with other seccomp(2) flags.
func WithFlags(p *Program, flags uintptr) *Program {
	q := *p
	q.flags = flags
	q.fprog.Filter = &q.insns[0]
	return &q
}

// UsePipe makes Compile export through a pipe instead of a memfd.
func UsePipe(pipe bool) { useMemfd = !pipe }
