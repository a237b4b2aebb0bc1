package seccomp

import (
	"errors"
	"fmt"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"
)

// The names runtime-spec v1.3.0 defines, in its order, and what they mean to
// libseccomp and the kernel.

var actionNames = []specs.LinuxSeccompAction{
	specs.ActKill, specs.ActKillProcess, specs.ActKillThread, specs.ActTrap,
	specs.ActErrno, specs.ActTrace, specs.ActAllow, specs.ActLog, specs.ActNotify,
}

var actions = map[specs.LinuxSeccompAction]libseccomp.ScmpAction{
	specs.ActKill:        libseccomp.ActKillThread,
	specs.ActKillProcess: libseccomp.ActKillProcess,
	specs.ActKillThread:  libseccomp.ActKillThread,
	specs.ActTrap:        libseccomp.ActTrap,
	specs.ActErrno:       libseccomp.ActErrno,
	specs.ActTrace:       libseccomp.ActTrace,
	specs.ActAllow:       libseccomp.ActAllow,
	specs.ActLog:         libseccomp.ActLog,
	specs.ActNotify:      libseccomp.ActNotify,
}

var operatorNames = []specs.LinuxSeccompOperator{
	specs.OpNotEqual, specs.OpLessThan, specs.OpLessEqual, specs.OpEqualTo,
	specs.OpGreaterEqual, specs.OpGreaterThan, specs.OpMaskedEqual,
}

var operators = map[specs.LinuxSeccompOperator]libseccomp.ScmpCompareOp{
	specs.OpNotEqual:     libseccomp.CompareNotEqual,
	specs.OpLessThan:     libseccomp.CompareLess,
	specs.OpLessEqual:    libseccomp.CompareLessOrEqual,
	specs.OpEqualTo:      libseccomp.CompareEqual,
	specs.OpGreaterEqual: libseccomp.CompareGreaterEqual,
	specs.OpGreaterThan:  libseccomp.CompareGreater,
	specs.OpMaskedEqual:  libseccomp.CompareMaskedEqual,
}

var archNames = []specs.Arch{
	specs.ArchX86, specs.ArchX86_64, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
	specs.ArchMIPS, specs.ArchMIPS64, specs.ArchMIPS64N32,
	specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32,
	specs.ArchPPC, specs.ArchPPC64, specs.ArchPPC64LE, specs.ArchS390, specs.ArchS390X,
	specs.ArchPARISC, specs.ArchPARISC64, specs.ArchRISCV64, specs.ArchLOONGARCH64,
	specs.ArchM68K, specs.ArchSH, specs.ArchSHEB,
}

var archs = map[specs.Arch]libseccomp.ScmpArch{
	specs.ArchX86:         libseccomp.ArchX86,
	specs.ArchX86_64:      libseccomp.ArchAMD64,
	specs.ArchX32:         libseccomp.ArchX32,
	specs.ArchARM:         libseccomp.ArchARM,
	specs.ArchAARCH64:     libseccomp.ArchARM64,
	specs.ArchMIPS:        libseccomp.ArchMIPS,
	specs.ArchMIPS64:      libseccomp.ArchMIPS64,
	specs.ArchMIPS64N32:   libseccomp.ArchMIPS64N32,
	specs.ArchMIPSEL:      libseccomp.ArchMIPSEL,
	specs.ArchMIPSEL64:    libseccomp.ArchMIPSEL64,
	specs.ArchMIPSEL64N32: libseccomp.ArchMIPSEL64N32,
	specs.ArchPPC:         libseccomp.ArchPPC,
	specs.ArchPPC64:       libseccomp.ArchPPC64,
	specs.ArchPPC64LE:     libseccomp.ArchPPC64LE,
	specs.ArchS390:        libseccomp.ArchS390,
	specs.ArchS390X:       libseccomp.ArchS390X,
	specs.ArchPARISC:      libseccomp.ArchPARISC,
	specs.ArchPARISC64:    libseccomp.ArchPARISC64,
	specs.ArchRISCV64:     libseccomp.ArchRISCV64,
	specs.ArchLOONGARCH64: libseccomp.ArchLOONGARCH64,
	specs.ArchM68K:        libseccomp.ArchM68K,
	specs.ArchSH:          libseccomp.ArchSH,
	specs.ArchSHEB:        libseccomp.ArchSHEB,
}

const flagTsync specs.LinuxSeccompFlag = "SECCOMP_FILTER_FLAG_TSYNC"

var flagNames = []specs.LinuxSeccompFlag{
	flagTsync, specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
	specs.LinuxSeccompFlagWaitKillableRecv,
}

var knownFlags = map[specs.LinuxSeccompFlag]uintptr{
	flagTsync:                              unix.SECCOMP_FILTER_FLAG_TSYNC,
	specs.LinuxSeccompFlagLog:              unix.SECCOMP_FILTER_FLAG_LOG,
	specs.LinuxSeccompFlagSpecAllow:        unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW,
	specs.LinuxSeccompFlagWaitKillableRecv: unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
}

// flagName names a seccomp(2) filter flag bit for error messages.
func flagName(bit uintptr) string {
	if bit == unix.SECCOMP_FILTER_FLAG_NEW_LISTENER {
		return "SECCOMP_FILTER_FLAG_NEW_LISTENER"
	}
	for name, b := range knownFlags {
		if b == bit {
			return string(name)
		}
	}
	return fmt.Sprintf("flag %#x", bit)
}

// Limits of the 16-bit SECCOMP_RET_DATA: an errno is at most MAX_ERRNO (the
// kernel would clamp a larger one), a trace message any 16-bit value.
const (
	maxErrno    = 4095
	maxTraceMsg = 0xffff
)

// Validate checks cfg without libseccomp or the kernel: every name is one
// runtime-spec defines, every number in range. Errors name the field, as in
// `linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`.
// Syscall names are not checked (unknown ones are skipped by Compile), nor
// whether this libseccomp or kernel supports an architecture or a flag
// (Compile checks that).
func Validate(cfg *specs.LinuxSeccomp) error {
	if cfg == nil {
		return nil
	}
	if cfg.DefaultAction == "" {
		return errors.New("linux.seccomp.defaultAction: missing")
	}
	if err := checkAction(cfg.DefaultAction, cfg.DefaultErrnoRet, "linux.seccomp.defaultAction", "linux.seccomp.defaultErrnoRet"); err != nil {
		return err
	}
	if cfg.DefaultAction == specs.ActNotify {
		return errors.New("linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action: the runtime's own sendmsg of the listener fd, after the filter is loaded, would wait for the agent that is to receive it")
	}
	for i, a := range cfg.Architectures {
		if _, ok := archs[a]; !ok {
			return fmt.Errorf("linux.seccomp.architectures[%d]: unknown architecture %q", i, a)
		}
	}
	for i, f := range cfg.Flags {
		if _, ok := knownFlags[f]; !ok {
			return fmt.Errorf("linux.seccomp.flags[%d]: unknown flag %q", i, f)
		}
	}
	if cfg.ListenerMetadata != "" && cfg.ListenerPath == "" {
		return errors.New("linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath")
	}
	for i, sc := range cfg.Syscalls {
		field := fmt.Sprintf("linux.seccomp.syscalls[%d]", i)
		if len(sc.Names) == 0 {
			return fmt.Errorf("%s.names: must list at least one syscall", field)
		}
		for j, n := range sc.Names {
			if n == "" {
				return fmt.Errorf("%s.names[%d]: empty syscall name", field, j)
			}
			if n == "sendmsg" && sc.Action == specs.ActNotify {
				return fmt.Errorf("%s.action: SCMP_ACT_NOTIFY cannot be used for sendmsg: the runtime sends the listener fd with sendmsg after the filter is loaded", field)
			}
		}
		if sc.Action == "" {
			return fmt.Errorf("%s.action: missing", field)
		}
		if err := checkAction(sc.Action, sc.ErrnoRet, field+".action", field+".errnoRet"); err != nil {
			return err
		}
		for j, a := range sc.Args {
			afield := fmt.Sprintf("%s.args[%d]", field, j)
			if a.Index >= maxArgs {
				return fmt.Errorf("%s.index: %d is out of range (a syscall has arguments 0 to %d)", afield, a.Index, maxArgs-1)
			}
			if a.Op == "" {
				return fmt.Errorf("%s.op: missing", afield)
			}
			if _, ok := operators[a.Op]; !ok {
				return fmt.Errorf("%s.op: unknown operator %q", afield, a.Op)
			}
		}
	}
	return nil
}

func checkAction(a specs.LinuxSeccompAction, errnoRet *uint, field, errnoField string) error {
	if _, ok := actions[a]; !ok {
		return fmt.Errorf("%s: unknown action %q", field, a)
	}
	if errnoRet == nil {
		return nil
	}
	switch a {
	case specs.ActErrno:
		if *errnoRet > maxErrno {
			return fmt.Errorf("%s: errno %d is out of range (0 to %d)", errnoField, *errnoRet, maxErrno)
		}
	case specs.ActTrace:
		if *errnoRet > maxTraceMsg {
			return fmt.Errorf("%s: trace message %d is out of range (0 to %d)", errnoField, *errnoRet, maxTraceMsg)
		}
	default:
		return fmt.Errorf("%s: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not %s", errnoField, a)
	}
	return nil
}

// toAction converts a validated action and its errnoRet.
func toAction(a specs.LinuxSeccompAction, errnoRet *uint) libseccomp.ScmpAction {
	act := actions[a]
	if a == specs.ActErrno || a == specs.ActTrace {
		ret := uint(unix.EPERM)
		if errnoRet != nil {
			ret = *errnoRet
		}
		act = act.SetReturnCode(int16(uint16(ret)))
	}
	return act
}
