package seccomp_test

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp"
	"github.com/hako-runtime/hako/seccomp/notifytest"
)

const busybox = "/bin/busybox"

func requireFile(t *testing.T, path string) {
	t.Helper()
	if _, err := os.Stat(path); err != nil {
		t.Skipf("needs %s: %v", path, err)
	}
}

func errnoRet(n uint) *uint { return &n }

// mkdirRule applies act to mkdir and mkdirat.
func mkdirRule(act specs.LinuxSeccompAction, ret *uint) specs.LinuxSyscall {
	return specs.LinuxSyscall{Names: []string{"mkdir", "mkdirat"}, Action: act, ErrnoRet: ret}
}

// TestLoadActions loads one rule on mkdir per action and runs busybox mkdir.
func TestLoadActions(t *testing.T) {
	requireFile(t, busybox)
	tests := []struct {
		name    string
		cfg     *specs.LinuxSeccomp
		want    string         // in the output
		sig     syscall.Signal // killed by it, when set
		created bool           // the directory exists afterwards
	}{
		{
			name: "errno default EPERM",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, nil)}},
			want: "Operation not permitted",
		},
		{
			name: "errnoRet ENOSYS",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, errnoRet(38))}},
			want: "Function not implemented",
		},
		{
			name: "errno with flags",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Flags:         []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog, specs.LinuxSeccompFlagSpecAllow, "SECCOMP_FILTER_FLAG_TSYNC"},
				Syscalls:      []specs.LinuxSyscall{mkdirRule(specs.ActErrno, errnoRet(uint(unix.EROFS)))},
			},
			want: "Read-only file system",
		},
		{
			name: "errno on x86_64, x86 and x32",
			cfg: &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
				Syscalls:      []specs.LinuxSyscall{mkdirRule(specs.ActErrno, nil)},
			},
			want: "Operation not permitted",
		},
		{
			name: "trace without a tracer",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActTrace, errnoRet(7))}},
			want: "Function not implemented",
		},
		{
			name:    "log",
			cfg:     &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActLog, nil)}},
			created: true,
		},
		{
			name:    "default log",
			cfg:     &specs.LinuxSeccomp{DefaultAction: specs.ActLog, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActAllow, nil)}},
			created: true,
		},
		{
			name: "kill process",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActKillProcess, nil)}},
			sig:  syscall.SIGSYS,
		},
		{
			name: "kill thread",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActKillThread, nil)}},
			sig:  syscall.SIGSYS,
		},
		{
			name: "kill",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActKill, nil)}},
			sig:  syscall.SIGSYS,
		},
		{
			name: "trap",
			cfg:  &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActTrap, nil)}},
			sig:  syscall.SIGSYS,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := filepath.Join(t.TempDir(), "made")
			r := runChild(t, childJob{Seccomp: tt.cfg, Argv: []string{busybox, "mkdir", dir}})
			_, statErr := os.Stat(dir)
			if created := statErr == nil; created != tt.created {
				t.Errorf("directory created: %v, want %v", created, tt.created)
			}
			switch {
			case tt.sig != 0:
				if !r.signaled(tt.sig) {
					t.Errorf("want killed by %v; %v", tt.sig, r)
				}
			case tt.created:
				if !r.exited(0) {
					t.Errorf("want exit 0; %v", r)
				}
			default:
				if !r.exited(1) || !strings.Contains(r.Out, tt.want) {
					t.Errorf("want exit 1 and %q; %v", tt.want, r)
				}
			}
		})
	}
}

// shAllowList is enough for dash to start, print, run busybox and wait, and
// for the Go child between Load and execve.
var shAllowList = []string{
	"access", "arch_prctl", "brk", "clone", "close", "dup2", "execve", "exit", "exit_group",
	"fcntl", "fstat", "futex", "getcwd", "getegid", "geteuid", "getgid", "getpid",
	"getppid", "getrandom", "gettid", "getuid", "ioctl", "lseek", "madvise", "mmap",
	"mprotect", "munmap", "nanosleep", "newfstatat", "openat", "pread64", "prctl",
	"prlimit64", "read", "readlink", "rseq", "rt_sigaction", "rt_sigprocmask",
	"rt_sigreturn", "sched_yield", "set_robust_list", "set_tid_address", "sigaltstack",
	"stat", "tgkill", "uname", "vfork", "wait4", "write",
}

// TestLoadDefaultErrnoAllowList: default ERRNO(ENOSYS) and an allow list;
// sh runs and prints, and what is not allowed gets ENOSYS.
func TestLoadDefaultErrnoAllowList(t *testing.T) {
	requireFile(t, busybox)
	requireFile(t, "/bin/sh")
	dir := filepath.Join(t.TempDir(), "made")
	cfg := &specs.LinuxSeccomp{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: errnoRet(uint(unix.ENOSYS)),
		Syscalls:        []specs.LinuxSyscall{{Names: shAllowList, Action: specs.ActAllow}},
	}
	r := runChild(t, childJob{Seccomp: cfg, Argv: []string{"/bin/sh", "-c", "echo hello from sh; " + busybox + " mkdir " + dir + "; echo rc=$?"}})
	if !r.exited(0) || !strings.Contains(r.Out, "hello from sh\n") ||
		!strings.Contains(r.Out, "Function not implemented") || !strings.Contains(r.Out, "rc=1\n") {
		t.Fatalf("want hello, mkdir failing with ENOSYS and rc=1; %v", r)
	}
	if _, err := os.Stat(dir); err == nil {
		t.Error("directory created")
	}
}

// TestLoadArgs checks argument conditions with the probe, on system calls
// that ignore their arguments (or on arguments they ignore), with a rule
// returning EXDEV when the conditions hold.
func TestLoadArgs(t *testing.T) {
	const e = unix.EXDEV
	rule := func(name string, args ...specs.LinuxSeccompArg) specs.LinuxSyscall {
		return specs.LinuxSyscall{Names: []string{name}, Action: specs.ActErrno, ErrnoRet: errnoRet(uint(e)), Args: args}
	}
	arg := func(i uint, op specs.LinuxSeccompOperator, v ...uint64) specs.LinuxSeccompArg {
		a := specs.LinuxSeccompArg{Index: i, Op: op, Value: v[0]}
		if len(v) > 1 {
			a.ValueTwo = v[1]
		}
		return a
	}
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{
			rule("getppid", arg(3, specs.OpEqualTo, 5)),
			rule("getuid", arg(3, specs.OpNotEqual, 5)),
			rule("getgid", arg(3, specs.OpLessThan, 5)),
			rule("geteuid", arg(3, specs.OpLessEqual, 5)),
			rule("getegid", arg(3, specs.OpGreaterEqual, 5)),
			rule("getpgrp", arg(3, specs.OpGreaterThan, 5)),
			// value is the mask, valueTwo the datum.
			rule("getpgid", arg(3, specs.OpMaskedEqual, 0xf0, 0x30)),
			// 64-bit values.
			rule("getsid", arg(3, specs.OpEqualTo, 0x1_0000_0005)),
			// Two arguments: ANDed.
			rule("getresuid", arg(3, specs.OpEqualTo, 1), arg(4, specs.OpEqualTo, 2)),
			// Two conditions on argument 3: one rule each (either matches),
			// and then the condition on argument 4 is a rule of its own too.
			rule("getresgid", arg(3, specs.OpEqualTo, 1), arg(3, specs.OpEqualTo, 2), arg(4, specs.OpEqualTo, 9)),
			// personality allowed only for the query (0xffffffff).
			{Names: []string{"personality"}, Action: specs.ActErrno, Args: []specs.LinuxSeccompArg{arg(0, specs.OpNotEqual, 0xffffffff)}},
		},
	}
	want := map[string]unix.Errno{
		"getppid:0,0,0,4": 0, "getppid:0,0,0,5": e, "getppid:0,0,0,6": 0,
		"getuid:0,0,0,5": 0, "getuid:0,0,0,4": e, "getuid:0,0,0,0x100000005": e,
		"getgid:0,0,0,4": e, "getgid:0,0,0,5": 0,
		"geteuid:0,0,0,5": e, "geteuid:0,0,0,6": 0,
		"getegid:0,0,0,5": e, "getegid:0,0,0,4": 0,
		"getpgrp:0,0,0,6": e, "getpgrp:0,0,0,5": 0,
		"getpgid:0,0,0,0x35": e, "getpgid:0,0,0,0x1f30": e, "getpgid:0,0,0,0x45": 0, "getpgid:0,0,0,0x20": 0,
		"getsid:0,0,0,0x100000005": e, "getsid:0,0,0,5": 0, "getsid:0,0,0,0x200000005": 0,
		"getresuid:0,0,0,1,2": e, "getresuid:0,0,0,1,3": 0, "getresuid:0,0,0,0,2": 0,
		"getresgid:0,0,0,1": e, "getresgid:0,0,0,2": e, "getresgid:0,0,0,0,9": e, "getresgid:0,0,0,3,8": 0,
		"personality:0xffffffff": 0, "personality:0": unix.EPERM, "personality:8": unix.EPERM,
	}
	var calls []string
	for c := range want {
		calls = append(calls, c)
	}
	got := probe(t, cfg, calls...)
	for c, w := range want {
		g, ok := got[c]
		if !ok {
			t.Errorf("%s: no result", c)
			continue
		}
		if strings.HasPrefix(c, "getres") && w == 0 {
			// They write to their (NULL) pointer arguments when allowed.
			w = unix.EFAULT
		}
		if g != w {
			t.Errorf("%s = %v (%d), want %v (%d)", c, g, int(g), w, int(w))
		}
	}
}

// TestLoadPersonalityBusybox checks a MASKED_EQ rule with real programs:
// ADDR_NO_RANDOMIZE is refused, PER_LINUX32 is not.
func TestLoadPersonalityBusybox(t *testing.T) {
	requireFile(t, busybox)
	const addrNoRandomize = 0x0040000
	cfg := &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Syscalls: []specs.LinuxSyscall{{
			Names: []string{"personality"}, Action: specs.ActErrno,
			Args: []specs.LinuxSeccompArg{{Index: 0, Op: specs.OpMaskedEqual, Value: addrNoRandomize, ValueTwo: addrNoRandomize}},
		}},
	}
	if r := runChild(t, childJob{Seccomp: cfg, Argv: []string{busybox, "linux32", busybox, "true"}}); !r.exited(0) {
		t.Errorf("linux32: %v", r)
	}
	if _, err := os.Stat("/usr/bin/setarch"); err == nil {
		r := runChild(t, childJob{Seccomp: cfg, Argv: []string{"/usr/bin/setarch", "-R", busybox, "true"}})
		if r.exited(0) || !strings.Contains(r.Out, "Operation not permitted") {
			t.Errorf("setarch -R: want EPERM; %v", r)
		}
	}
}

// TestLoadNotify: the child sends the listener fd over a socket, as the init
// does to listenerPath; the test answers mkdir with EDQUOT.
func TestLoadNotify(t *testing.T) {
	requireFile(t, busybox)
	if _, err := libseccomp.GetAPI(); err != nil {
		t.Skip(err)
	}
	for _, flags := range [][]specs.LinuxSeccompFlag{nil, {specs.LinuxSeccompFlagWaitKillableRecv}} {
		t.Run(strings.Join(strs(flags), ","), func(t *testing.T) {
			cfg := &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Flags:         flags,
				Syscalls:      []specs.LinuxSyscall{mkdirRule(specs.ActNotify, nil)},
			}
			prog, err := seccomp.Compile(cfg)
			if err != nil {
				if len(flags) > 0 && strings.Contains(err.Error(), "not supported by this kernel") {
					t.Skip(err)
				}
				t.Fatal(err)
			}
			if !prog.NeedsListener() {
				t.Fatal("NeedsListener false")
			}
			fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
			if err != nil {
				t.Fatal(err)
			}
			ours, theirs := os.NewFile(uintptr(fds[0]), "agent"), os.NewFile(uintptr(fds[1]), "init")
			defer ours.Close()
			conn, err := net.FileConn(ours)
			if err != nil {
				t.Fatal(err)
			}
			defer conn.Close()

			dir := filepath.Join(t.TempDir(), "made")
			child := startChild(t, childJob{Seccomp: cfg, Argv: []string{busybox, "mkdir", dir}, SendFD: true}, theirs)
			theirs.Close()
			listener, payload, err := notifytest.RecvFD(conn.(*net.UnixConn))
			if err != nil {
				child.cancel()
				t.Fatalf("receive listener: %v; %v", err, child.wait(t))
			}
			defer unix.Close(listener)
			if string(payload) != "!" {
				t.Errorf("payload %q", payload)
			}

			var mu sync.Mutex
			var seen []notifytest.Notif
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			served := make(chan error, 1)
			go func() {
				served <- notifytest.Serve(ctx, listener, func(n *notifytest.Notif) notifytest.Resp {
					mu.Lock()
					seen = append(seen, *n)
					mu.Unlock()
					return notifytest.Errno(n.ID, unix.EDQUOT)
				})
			}()
			r := child.wait(t)
			if err := <-served; err != nil {
				t.Errorf("serve: %v", err)
			}
			if !r.exited(1) || !strings.Contains(r.Out, "Disk quota exceeded") {
				t.Errorf("want mkdir failing with EDQUOT; %v", r)
			}
			if _, err := os.Stat(dir); err == nil {
				t.Error("directory created")
			}
			mkdir, _ := libseccomp.GetSyscallFromName("mkdir")
			mkdirat, _ := libseccomp.GetSyscallFromName("mkdirat")
			mu.Lock()
			defer mu.Unlock()
			if len(seen) != 1 || seen[0].Pid != uint32(r.Pid) ||
				(seen[0].Data.Nr != int32(mkdir) && seen[0].Data.Nr != int32(mkdirat)) {
				t.Errorf("notifications %+v, want one mkdir from pid %d", seen, r.Pid)
			}
		})
	}
}

func strs[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}

// TestLoadNoAllocs: Load allocates nothing.
func TestLoadNoAllocs(t *testing.T) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, nil)}}
	r := runChild(t, childJob{Seccomp: cfg, Mode: "allocs"})
	if !r.exited(0) || !strings.Contains(r.Out, "allocs=0\n") {
		t.Fatalf("want allocs=0; %v", r)
	}
}

func TestLoadErrors(t *testing.T) {
	t.Run("no no_new_privs nor CAP_SYS_ADMIN", func(t *testing.T) {
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, nil)}}
		r := runChild(t, childJob{Seccomp: cfg, NoNNP: true, Argv: []string{"/bin/true"}})
		if !r.exited(3) || !strings.Contains(r.Out, "needs no_new_privs or CAP_SYS_ADMIN (permission denied)") {
			t.Errorf("want EACCES explained; %v", r)
		}
	})
	t.Run("two listeners", func(t *testing.T) {
		cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActNotify, nil)}}
		r := runChild(t, childJob{Seccomp: cfg, Mode: "twice"})
		if !r.exited(0) || !strings.Contains(r.Out, "already has a notification listener") {
			t.Errorf("want EBUSY explained; %v", r)
		}
	})
	t.Run("flag the kernel lacks", func(t *testing.T) {
		// The kernel checks the flags first, so this installs nothing
		// in the test process.
		prog, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow})
		if err != nil {
			t.Fatal(err)
		}
		fd, err := seccomp.WithFlags(prog, 1<<30).Load()
		var le *seccomp.LoadError
		if fd != -1 || !errors.As(err, &le) || !errors.Is(err, unix.EINVAL) ||
			!strings.Contains(err.Error(), "the kernel does not support flag 0x40000000 (invalid argument)") {
			t.Errorf("Load = %d, %v", fd, err)
		}
	})
	t.Run("nil program", func(t *testing.T) {
		var prog *seccomp.Program
		if fd, err := prog.Load(); fd != -1 || err != nil {
			t.Errorf("Load = %d, %v", fd, err)
		}
	})
}
