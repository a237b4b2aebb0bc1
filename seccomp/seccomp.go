// Package seccomp turns a runtime-spec seccomp config into a BPF program and
// loads it.
//
// The work is split so that the container's init can install the filter as
// the very last step before execve:
//
//   - Compile runs early (at create time, before the init waits for start).
//     It validates the config, builds the filter with libseccomp, exports it
//     as classic BPF and releases the libseccomp context. The result, a
//     Program, holds the raw instructions, the sock_fprog that points at
//     them and the seccomp(2) flags.
//   - Program.Load is one raw seccomp(SECCOMP_SET_MODE_FILTER) system call. It
//     allocates nothing and makes no other system call on success, so after
//     it the init only has to send the listener fd (SCMP_ACT_NOTIFY) and
//     exec.
//
// Semantics, where the runtime-spec leaves room:
//
//   - A syscall name that libseccomp cannot resolve is skipped (profiles list
//     syscalls that a given kernel or libseccomp does not know); the names
//     are reported in Program.UnknownSyscalls. Any other unknown value (an
//     action, operator, architecture or flag) is an error naming its field.
//   - errnoRet defaults to EPERM for SCMP_ACT_ERRNO and SCMP_ACT_TRACE (for
//     TRACE it is the message a tracer reads with PTRACE_GETEVENTMSG);
//     defaultErrnoRet likewise for the default action. errnoRet on another
//     action is an error, as runtime-spec requires.
//   - The conditions of one syscalls[] entry are ANDed. libseccomp cannot
//     compare the same argument twice in one rule, so when two conditions
//     of an entry use the same index, every condition of that entry becomes
//     a rule of its own (the entry then matches when ANY condition holds).
//     This is what runc and crun do, so a profile means the same under
//     hako (a profile that lists alternatives for one argument that way
//     works as its author expects).
//   - A rule whose action equals the default action is dropped: it changes
//     nothing, and libseccomp refuses it.
//   - Between rules for one syscall, libseccomp decides: the first
//     unconditional rule wins over later ones and over conditional ones;
//     two rules with the same conditions and different actions are an
//     error.
//   - The filter covers the native architecture and the listed ones (of the
//     native byte order: libseccomp cannot mix them). A system call made
//     with another architecture's ABI kills the thread (libseccomp's
//     bad-architecture action), as under runc and crun.
//   - SCMP_ACT_NOTIFY is refused as the default action and for sendmsg: after
//     Load the init sends the listener fd with sendmsg, and that call would
//     wait for an answer from the agent that has not received the fd yet.
//   - SECCOMP_FILTER_FLAG_TSYNC is accepted and ignored: the filter is meant
//     for the one thread that execs, and execve ends the other threads.
//     SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV only concerns notifications and
//     is dropped when nothing uses SCMP_ACT_NOTIFY (the kernel refuses it
//     without a listener).
package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// maxInstructions is the kernel's limit on one filter (BPF_MAXINSNS).
const maxInstructions = 4096

// maxArgs is the number of syscall arguments seccomp can look at.
const maxArgs = 6

// Program is a compiled filter, ready to load. It is not safe to modify.
type Program struct {
	insns []unix.SockFilter
	fprog unix.SockFprog
	flags uintptr

	// ListenerPath and ListenerMetadata are copied from the config for the
	// caller, which sends the listener fd returned by Load to ListenerPath.
	ListenerPath     string
	ListenerMetadata string

	// UnknownSyscalls lists, once each, the syscall names of the config
	// that libseccomp could not resolve and that were skipped.
	UnknownSyscalls []string
}

// Instructions returns the BPF program. The slice belongs to the Program:
// do not modify it.
func (p *Program) Instructions() []unix.SockFilter {
	if p == nil {
		return nil
	}
	return p.insns
}

// Flags returns the flags Load passes to seccomp(2).
func (p *Program) Flags() uint {
	if p == nil {
		return 0
	}
	return uint(p.flags)
}

// NeedsListener reports whether the filter uses SCMP_ACT_NOTIFY, that is
// whether Load returns a listener fd.
func (p *Program) NeedsListener() bool {
	return p != nil && p.flags&unix.SECCOMP_FILTER_FLAG_NEW_LISTENER != 0
}

// Compile validates cfg and compiles it into a Program for this machine:
// the native architecture, the architectures cfg lists, the kernel's
// features and the linked libseccomp. A nil cfg gives a nil Program, whose
// Load does nothing.
func Compile(cfg *specs.LinuxSeccomp) (*Program, error) {
	if cfg == nil {
		return nil, nil
	}
	if err := Validate(cfg); err != nil {
		return nil, err
	}

	defAct := toAction(cfg.DefaultAction, cfg.DefaultErrnoRet)
	filter, err := libseccomp.NewFilter(defAct)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: %s: %w", cfg.DefaultAction, err)
	}
	defer filter.Release()
	// hako sets no_new_privs itself (process.noNewPrivileges), and loads
	// the exported program itself: libseccomp's own load is never used.
	if err := filter.SetNoNewPrivsBit(false); err != nil {
		return nil, fmt.Errorf("linux.seccomp: %w", err)
	}

	// Architectures first: libseccomp applies a rule only to the
	// architectures present when the rule is added.
	for i, a := range cfg.Architectures {
		if err := filter.AddArch(archs[a]); err != nil {
			if errors.Is(err, syscall.EDOM) {
				native, _ := libseccomp.GetNativeArch()
				return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s cannot share a filter with the native architecture %s: their byte orders differ", i, a, native)
			}
			return nil, fmt.Errorf("linux.seccomp.architectures[%d]: %s is not supported by libseccomp %s: %w", i, a, Version(), err)
		}
	}

	var flags uintptr
	notify := false
	for _, sc := range cfg.Syscalls {
		if sc.Action == specs.ActNotify {
			notify = true
		}
	}
	if notify {
		if err := checkKernelFlag(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER); err != nil {
			return nil, fmt.Errorf("linux.seccomp: SCMP_ACT_NOTIFY: %w", err)
		}
		flags |= unix.SECCOMP_FILTER_FLAG_NEW_LISTENER
	}
	for i, f := range cfg.Flags {
		bit := knownFlags[f]
		if bit == unix.SECCOMP_FILTER_FLAG_TSYNC ||
			bit == unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV && !notify {
			continue
		}
		if err := checkKernelFlag(bit); err != nil {
			return nil, fmt.Errorf("linux.seccomp.flags[%d]: %w", i, err)
		}
		flags |= bit
	}

	p := &Program{ListenerPath: cfg.ListenerPath, ListenerMetadata: cfg.ListenerMetadata}
	unknown := map[string]bool{}
	for i := range cfg.Syscalls {
		if err := addEntry(filter, defAct, i, &cfg.Syscalls[i], p, unknown); err != nil {
			return nil, err
		}
	}

	insns, err := exportBPF(filter)
	if err != nil {
		return nil, fmt.Errorf("linux.seccomp: export BPF: %w", err)
	}
	if len(insns) > maxInstructions {
		return nil, fmt.Errorf("linux.seccomp: the filter compiles to %d BPF instructions, more than the kernel's limit of %d", len(insns), maxInstructions)
	}
	// The default action ends every architecture's part of the program:
	// check that libseccomp's output really returns it (what libseccomp
	// emits can depend on the API level and kernel features it detects).
	if !hasReturn(insns, retValue(cfg.DefaultAction, cfg.DefaultErrnoRet)) {
		return nil, fmt.Errorf("linux.seccomp.defaultAction: libseccomp %s did not compile %s into the program", Version(), cfg.DefaultAction)
	}
	p.insns = insns
	p.fprog = unix.SockFprog{Len: uint16(len(insns)), Filter: &p.insns[0]}
	p.flags = flags
	return p, nil
}

// addEntry adds the rules of cfg.Syscalls[i].
func addEntry(filter *libseccomp.ScmpFilter, defAct libseccomp.ScmpAction, i int, sc *specs.LinuxSyscall, p *Program, unknown map[string]bool) error {
	act := toAction(sc.Action, sc.ErrnoRet)
	if act == defAct {
		return nil
	}
	conds := make([]libseccomp.ScmpCondition, 0, len(sc.Args))
	var perIndex [maxArgs]int
	split := false
	for j, a := range sc.Args {
		values := []uint64{a.Value}
		if a.Op == specs.OpMaskedEqual {
			// value is the mask, valueTwo the datum: (arg & value) == valueTwo.
			values = append(values, a.ValueTwo)
		}
		c, err := libseccomp.MakeCondition(a.Index, operators[a.Op], values...)
		if err != nil {
			return fmt.Errorf("linux.seccomp.syscalls[%d].args[%d]: %w", i, j, err)
		}
		conds = append(conds, c)
		perIndex[a.Index]++
		if perIndex[a.Index] > 1 {
			split = true
		}
	}
	for _, name := range sc.Names {
		nr, err := libseccomp.GetSyscallFromName(name)
		if err != nil {
			if !unknown[name] {
				unknown[name] = true
				p.UnknownSyscalls = append(p.UnknownSyscalls, name)
			}
			continue
		}
		switch {
		case len(conds) == 0:
			err = filter.AddRule(nr, act)
		case !split:
			err = filter.AddRuleConditional(nr, act, conds)
		default:
			// Two conditions on one argument: one rule per condition
			// (see the package documentation).
			for _, c := range conds {
				if err = filter.AddRuleConditional(nr, act, []libseccomp.ScmpCondition{c}); err != nil {
					break
				}
			}
		}
		if errors.Is(err, syscall.EEXIST) {
			return fmt.Errorf("linux.seccomp.syscalls[%d]: syscall %q: another entry has the same conditions and a different action", i, name)
		}
		if err != nil {
			return fmt.Errorf("linux.seccomp.syscalls[%d]: syscall %q: %s: %w", i, name, sc.Action, err)
		}
	}
	return nil
}

// retValue is the value a filter returns to the kernel for a validated
// action.
func retValue(a specs.LinuxSeccompAction, errnoRet *uint) uint32 {
	data := uint32(unix.EPERM)
	if errnoRet != nil {
		data = uint32(*errnoRet)
	}
	switch a {
	case specs.ActKillProcess:
		return unix.SECCOMP_RET_KILL_PROCESS
	case specs.ActTrap:
		return unix.SECCOMP_RET_TRAP
	case specs.ActErrno:
		return unix.SECCOMP_RET_ERRNO | data
	case specs.ActTrace:
		return unix.SECCOMP_RET_TRACE | data
	case specs.ActAllow:
		return unix.SECCOMP_RET_ALLOW
	case specs.ActLog:
		return unix.SECCOMP_RET_LOG
	case specs.ActNotify:
		return unix.SECCOMP_RET_USER_NOTIF
	}
	return unix.SECCOMP_RET_KILL_THREAD
}

// hasReturn reports whether the program has a "ret #k" instruction.
func hasReturn(insns []unix.SockFilter, k uint32) bool {
	for _, in := range insns {
		if in.Code == unix.BPF_RET|unix.BPF_K && in.K == k {
			return true
		}
	}
	return false
}

// exportBPF returns the filter's BPF program, read back from a memfd (a
// pipe when memfd_create is not available).
func exportBPF(filter *libseccomp.ScmpFilter) ([]unix.SockFilter, error) {
	raw, err := exportMemfd(filter)
	if errors.Is(err, errNoMemfd) {
		raw, err = exportPipe(filter)
	}
	if err != nil {
		return nil, err
	}
	return decodeBPF(raw)
}

var errNoMemfd = errors.New("memfd_create not available")

// useMemfd is false in tests of the pipe path.
var useMemfd = true

func exportMemfd(filter *libseccomp.ScmpFilter) ([]byte, error) {
	if !useMemfd {
		return nil, errNoMemfd
	}
	fd, err := unix.MemfdCreate("hako-seccomp-bpf", unix.MFD_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errNoMemfd, err)
	}
	f := os.NewFile(uintptr(fd), "memfd:hako-seccomp-bpf")
	defer f.Close()
	if err := filter.ExportBPF(f); err != nil {
		return nil, err
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return nil, err
	}
	raw := make([]byte, st.Size)
	if _, err := f.ReadAt(raw, 0); err != nil {
		return nil, err
	}
	return raw, nil
}

func exportPipe(filter *libseccomp.ScmpFilter) ([]byte, error) {
	r, w, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	type result struct {
		raw []byte
		err error
	}
	done := make(chan result, 1)
	go func() {
		raw, err := io.ReadAll(r)
		r.Close()
		done <- result{raw, err}
	}()
	err = filter.ExportBPF(w)
	w.Close()
	res := <-done
	if err != nil {
		return nil, err
	}
	return res.raw, res.err
}

// sockFilterSize is the size of struct sock_filter.
const sockFilterSize = 8

func decodeBPF(raw []byte) ([]unix.SockFilter, error) {
	if len(raw) == 0 || len(raw)%sockFilterSize != 0 {
		return nil, fmt.Errorf("libseccomp exported %d bytes, not a BPF program", len(raw))
	}
	insns := make([]unix.SockFilter, len(raw)/sockFilterSize)
	for i := range insns {
		b := raw[i*sockFilterSize:]
		insns[i] = unix.SockFilter{
			Code: binary.NativeEndian.Uint16(b[0:2]),
			Jt:   b[2],
			Jf:   b[3],
			K:    binary.NativeEndian.Uint32(b[4:8]),
		}
	}
	return insns, nil
}
