package seccomp_test

import (
	"slices"
	"strings"
	"testing"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp"
)

func TestCompileErrors(t *testing.T) {
	allow := func(names ...string) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: names, Action: specs.ActAllow}
	}
	base := func(mod func(c *specs.LinuxSeccomp)) *specs.LinuxSeccomp {
		c := &specs.LinuxSeccomp{
			DefaultAction: specs.ActErrno,
			Syscalls:      []specs.LinuxSyscall{allow("read"), allow("write"), allow("close"), allow("exit")},
		}
		mod(c)
		return c
	}
	tests := []struct {
		name string
		cfg  *specs.LinuxSeccomp
		want string
	}{
		{"missing default action", base(func(c *specs.LinuxSeccomp) { c.DefaultAction = "" }),
			"linux.seccomp.defaultAction: missing"},
		{"unknown default action", base(func(c *specs.LinuxSeccomp) { c.DefaultAction = "SCMP_ACT_BAR" }),
			`linux.seccomp.defaultAction: unknown action "SCMP_ACT_BAR"`},
		{"unknown action", base(func(c *specs.LinuxSeccomp) { c.Syscalls[3].Action = "SCMP_ACT_FOO" }),
			`linux.seccomp.syscalls[3].action: unknown action "SCMP_ACT_FOO"`},
		{"lower-case action", base(func(c *specs.LinuxSeccomp) { c.Syscalls[0].Action = "scmp_act_allow" }),
			`linux.seccomp.syscalls[0].action: unknown action "scmp_act_allow"`},
		{"missing action", base(func(c *specs.LinuxSeccomp) { c.Syscalls[1].Action = "" }),
			"linux.seccomp.syscalls[1].action: missing"},
		{"unknown operator", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[1].Args = []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo}, {Index: 1, Op: "SCMP_CMP_XOR"}}
		}), `linux.seccomp.syscalls[1].args[1].op: unknown operator "SCMP_CMP_XOR"`},
		{"missing operator", base(func(c *specs.LinuxSeccomp) { c.Syscalls[2].Args = []specs.LinuxSeccompArg{{Index: 0}} }),
			"linux.seccomp.syscalls[2].args[0].op: missing"},
		{"argument index", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 6, Op: specs.OpEqualTo}}
		}), "linux.seccomp.syscalls[0].args[0].index: 6 is out of range"},
		{"unknown architecture", base(func(c *specs.LinuxSeccomp) {
			c.Architectures = []specs.Arch{specs.ArchX86_64, "SCMP_ARCH_VAX"}
		}), `linux.seccomp.architectures[1]: unknown architecture "SCMP_ARCH_VAX"`},
		{"architecture without prefix", base(func(c *specs.LinuxSeccomp) { c.Architectures = []specs.Arch{"x86_64"} }),
			`linux.seccomp.architectures[0]: unknown architecture "x86_64"`},
		{"unknown flag", base(func(c *specs.LinuxSeccomp) {
			c.Flags = []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, "SECCOMP_FILTER_FLAG_FAST"}
		}), `linux.seccomp.flags[1]: unknown flag "SECCOMP_FILTER_FLAG_FAST"`},
		{"defaultErrnoRet with allow", base(func(c *specs.LinuxSeccomp) {
			c.DefaultAction = specs.ActAllow
			c.DefaultErrnoRet = errnoRet(1)
		}), "linux.seccomp.defaultErrnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno, not SCMP_ACT_ALLOW"},
		{"errnoRet with kill", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[2].Action = specs.ActKillProcess
			c.Syscalls[2].ErrnoRet = errnoRet(1)
		}), "linux.seccomp.syscalls[2].errnoRet: only SCMP_ACT_ERRNO and SCMP_ACT_TRACE take an errno"},
		{"errno out of range", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[2].Action = specs.ActErrno
			c.Syscalls[2].ErrnoRet = errnoRet(4096)
		}), "linux.seccomp.syscalls[2].errnoRet: errno 4096 is out of range (0 to 4095)"},
		{"default errno out of range", base(func(c *specs.LinuxSeccomp) { c.DefaultErrnoRet = errnoRet(1 << 20) }),
			"linux.seccomp.defaultErrnoRet: errno 1048576 is out of range"},
		{"trace message out of range", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[0].Action = specs.ActTrace
			c.Syscalls[0].ErrnoRet = errnoRet(65536)
		}), "linux.seccomp.syscalls[0].errnoRet: trace message 65536 is out of range (0 to 65535)"},
		{"no names", base(func(c *specs.LinuxSeccomp) { c.Syscalls[1].Names = nil }),
			"linux.seccomp.syscalls[1].names: must list at least one syscall"},
		{"empty name", base(func(c *specs.LinuxSeccomp) { c.Syscalls[1].Names = []string{"read", ""} }),
			"linux.seccomp.syscalls[1].names[1]: empty syscall name"},
		{"notify default", base(func(c *specs.LinuxSeccomp) { c.DefaultAction = specs.ActNotify }),
			"linux.seccomp.defaultAction: SCMP_ACT_NOTIFY cannot be the default action"},
		{"notify sendmsg", base(func(c *specs.LinuxSeccomp) {
			c.Syscalls[3] = specs.LinuxSyscall{Names: []string{"recvmsg", "sendmsg"}, Action: specs.ActNotify}
		}), "linux.seccomp.syscalls[3].action: SCMP_ACT_NOTIFY cannot be used for sendmsg"},
		{"metadata without path", base(func(c *specs.LinuxSeccomp) { c.ListenerMetadata = "x" }),
			"linux.seccomp.listenerMetadata: set without linux.seccomp.listenerPath"},
		{"conflicting rules", base(func(c *specs.LinuxSeccomp) {
			args := []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpEqualTo, Value: 1}}
			c.Syscalls = append(c.Syscalls,
				specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActAllow, Args: args},
				specs.LinuxSyscall{Names: []string{"personality"}, Action: specs.ActKillProcess, Args: args})
		}), `linux.seccomp.syscalls[5]: syscall "personality": another entry has the same conditions and a different action`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			prog, err := seccomp.Compile(tt.cfg)
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Compile error = %v, want prefix %q", err, tt.want)
			}
			if prog != nil {
				t.Error("Program returned with an error")
			}
		})
	}
}

func isBigEndian() bool {
	var x uint16 = 1
	return (*[2]byte)(unsafe.Pointer(&x))[0] == 0
}

func TestCompileArchByteOrder(t *testing.T) {
	other := specs.ArchS390X
	if isBigEndian() {
		other = specs.ArchX86_64
	}
	_, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{other}})
	want := "linux.seccomp.architectures[0]: " + string(other) + " cannot share a filter with the native architecture"
	if err == nil || !strings.HasPrefix(err.Error(), want) {
		t.Errorf("Compile error = %v, want prefix %q", err, want)
	}
}

func TestCompileUnsupportedArch(t *testing.T) {
	for _, a := range []specs.Arch{specs.ArchSH, specs.ArchM68K, specs.ArchLOONGARCH64} {
		if slices.Contains(seccomp.Archs(), string(a)) {
			continue
		}
		_, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Architectures: []specs.Arch{specs.ArchX86_64, a}})
		want := "linux.seccomp.architectures[1]: " + string(a) + " is not supported by libseccomp " + seccomp.Version()
		if err == nil || !strings.HasPrefix(err.Error(), want) {
			t.Errorf("Compile error = %v, want prefix %q", err, want)
		}
	}
}

// rets returns the values of the program's "ret #k" instructions.
func rets(p *seccomp.Program) map[uint32]bool {
	out := map[uint32]bool{}
	for _, in := range p.Instructions() {
		if in.Code == unix.BPF_RET|unix.BPF_K {
			out[in.K] = true
		}
	}
	return out
}

// TestCompileProgram checks what ends up in the BPF: every action with its
// data, the errno defaults, the flags, the skipped names.
func TestCompileProgram(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: errnoRet(38),
		Flags: []specs.LinuxSeccompFlag{
			"SECCOMP_FILTER_FLAG_TSYNC", specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow,
			specs.LinuxSeccompFlagWaitKillableRecv,
		},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"read", "write", "hako_no_such_syscall", "exit_group"}, Action: specs.ActAllow},
			{Names: []string{"mkdir"}, Action: specs.ActErrno},
			{Names: []string{"rmdir"}, Action: specs.ActErrno, ErrnoRet: errnoRet(22)},
			{Names: []string{"unlink"}, Action: specs.ActErrno, ErrnoRet: errnoRet(0)},
			{Names: []string{"link"}, Action: specs.ActTrace, ErrnoRet: errnoRet(1234)},
			{Names: []string{"symlink"}, Action: specs.ActTrace},
			{Names: []string{"reboot"}, Action: specs.ActKillProcess},
			{Names: []string{"kexec_load"}, Action: specs.ActKillThread},
			{Names: []string{"swapon"}, Action: specs.ActTrap},
			{Names: []string{"chroot"}, Action: specs.ActLog},
			// Same as the default action: dropped.
			{Names: []string{"hako_no_such_syscall", "acct"}, Action: specs.ActErrno, ErrnoRet: errnoRet(38)},
		},
	}
	for _, pipe := range []bool{false, true} {
		seccomp.UsePipe(pipe)
		prog, err := seccomp.Compile(cfg)
		seccomp.UsePipe(false)
		if err != nil {
			t.Fatal(err)
		}
		got := rets(prog)
		for _, k := range []uint32{
			unix.SECCOMP_RET_ERRNO | 38, // default
			unix.SECCOMP_RET_ERRNO | 1,  // EPERM when errnoRet is unset
			unix.SECCOMP_RET_ERRNO | 22,
			unix.SECCOMP_RET_ERRNO | 0,
			unix.SECCOMP_RET_TRACE | 1234,
			unix.SECCOMP_RET_TRACE | 1,
			unix.SECCOMP_RET_KILL_PROCESS,
			unix.SECCOMP_RET_KILL_THREAD,
			unix.SECCOMP_RET_TRAP,
			unix.SECCOMP_RET_LOG,
			unix.SECCOMP_RET_ALLOW,
		} {
			if !got[k] {
				t.Errorf("pipe %v: no ret %#x in the program", pipe, k)
			}
		}
		// TSYNC ignored; WAIT_KILLABLE_RECV dropped without a listener.
		if want := uint(unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW); prog.Flags() != want {
			t.Errorf("Flags = %#x, want %#x", prog.Flags(), want)
		}
		if prog.NeedsListener() {
			t.Error("NeedsListener without SCMP_ACT_NOTIFY")
		}
		if !slices.Equal(prog.UnknownSyscalls, []string{"hako_no_such_syscall"}) {
			t.Errorf("UnknownSyscalls = %q", prog.UnknownSyscalls)
		}
	}
}

func TestCompileNotify(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction:    specs.ActAllow,
		ListenerPath:     "/run/agent.sock",
		ListenerMetadata: "meta",
		Flags:            []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagWaitKillableRecv},
		Syscalls:         []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.ActNotify}},
	}
	prog, err := seccomp.Compile(cfg)
	if err != nil {
		if strings.Contains(err.Error(), "not supported by this kernel") {
			t.Skip(err)
		}
		t.Fatal(err)
	}
	if !rets(prog)[unix.SECCOMP_RET_USER_NOTIF] {
		t.Error("no SECCOMP_RET_USER_NOTIF in the program")
	}
	if want := uint(unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV); prog.Flags() != want {
		t.Errorf("Flags = %#x, want %#x", prog.Flags(), want)
	}
	if !prog.NeedsListener() || prog.ListenerPath != "/run/agent.sock" || prog.ListenerMetadata != "meta" {
		t.Errorf("listener: %v %q %q", prog.NeedsListener(), prog.ListenerPath, prog.ListenerMetadata)
	}
}

func TestCompileNil(t *testing.T) {
	prog, err := seccomp.Compile(nil)
	if prog != nil || err != nil {
		t.Errorf("Compile(nil) = %v, %v", prog, err)
	}
}

// TestCompileSameIndex: two conditions on one argument compile (as one rule
// per condition) where libseccomp alone would refuse them.
func TestCompileSameIndex(t *testing.T) {
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{
				{Index: 0, Op: specs.OpGreaterEqual, Value: 10},
				{Index: 0, Op: specs.OpLessEqual, Value: 20},
			},
		}},
	}
	if _, err := seccomp.Compile(cfg); err != nil {
		t.Fatal(err)
	}
}

func TestFeatures(t *testing.T) {
	if v := seccomp.Version(); v == "" || strings.Count(v, ".") != 2 {
		t.Errorf("Version = %q", v)
	}
	if got := seccomp.Actions(); len(got) != 9 || !slices.Contains(got, "SCMP_ACT_KILL_PROCESS") || !slices.Contains(got, "SCMP_ACT_NOTIFY") {
		t.Errorf("Actions = %q", got)
	}
	if got := seccomp.Operators(); len(got) != 7 || !slices.Contains(got, "SCMP_CMP_MASKED_EQ") {
		t.Errorf("Operators = %q", got)
	}
	archs := seccomp.Archs()
	for _, a := range []string{"SCMP_ARCH_X86", "SCMP_ARCH_X86_64", "SCMP_ARCH_X32", "SCMP_ARCH_AARCH64", "SCMP_ARCH_S390X", "SCMP_ARCH_RISCV64"} {
		if !slices.Contains(archs, a) {
			t.Errorf("Archs lacks %s: %q", a, archs)
		}
	}
	known := seccomp.KnownFlags()
	if len(known) != 4 {
		t.Errorf("KnownFlags = %q", known)
	}
	for _, f := range seccomp.SupportedFlags() {
		if !slices.Contains(known, f) {
			t.Errorf("SupportedFlags has %s, not a known flag", f)
		}
	}
	// Every listed value compiles.
	for _, a := range seccomp.Actions() {
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{Names: []string{"mkdir"}, Action: specs.LinuxSeccompAction(a)}}}
		if _, err := seccomp.Compile(cfg); err != nil {
			t.Errorf("action %s: %v", a, err)
		}
	}
	for _, a := range seccomp.Actions() {
		if a == string(specs.ActNotify) {
			continue
		}
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.LinuxSeccompAction(a), Syscalls: []specs.LinuxSyscall{{Names: []string{"read"}, Action: specs.ActTrap}}}
		if a == string(specs.ActErrno) || a == string(specs.ActTrace) {
			cfg.DefaultErrnoRet = errnoRet(77)
		}
		if _, err := seccomp.Compile(cfg); err != nil {
			t.Errorf("default action %s: %v", a, err)
		}
	}
	for _, op := range seccomp.Operators() {
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{{
			Names: []string{"mkdir"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 1, Op: specs.LinuxSeccompOperator(op), Value: 0o700, ValueTwo: 0o700}},
		}}}
		if _, err := seccomp.Compile(cfg); err != nil {
			t.Errorf("operator %s: %v", op, err)
		}
	}
	// Every architecture of the native byte order compiles together.
	all := []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32, specs.ArchARM, specs.ArchAARCH64,
		specs.ArchMIPSEL, specs.ArchMIPSEL64, specs.ArchMIPSEL64N32, specs.ArchPPC64LE, specs.ArchRISCV64}
	if isBigEndian() {
		all = []specs.Arch{specs.ArchS390X, specs.ArchS390, specs.ArchPPC64, specs.ArchPPC, specs.ArchMIPS, specs.ArchMIPS64}
	}
	if _, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActErrno, Architectures: all,
		Syscalls: []specs.LinuxSyscall{{Names: []string{"read", "socketcall", "mkdir"}, Action: specs.ActAllow}}}); err != nil {
		t.Errorf("all architectures: %v", err)
	}
	for _, f := range seccomp.SupportedFlags() {
		if _, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlag(f)}}); err != nil {
			t.Errorf("flag %s: %v", f, err)
		}
	}
}
