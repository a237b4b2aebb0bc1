package integration

import (
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// busyboxSyscalls is an allow list big enough for a runtime's last steps
// before execve and for busybox sh running echo, cat, ls, grep, head,
// sleep, touch, linux32/linux64 and uname. mkdir, mkdirat and personality
// are deliberately missing.
var busyboxSyscalls = []string{
	"access", "arch_prctl", "brk", "capget", "capset", "chdir", "clock_getres", "clock_gettime",
	"clock_nanosleep", "clone", "clone3", "close", "close_range", "connect", "dup", "dup2", "dup3",
	"epoll_create1", "epoll_ctl", "epoll_pwait", "epoll_wait", "eventfd2", "execve", "execveat", "exit",
	"exit_group", "faccessat", "faccessat2", "fchdir", "fchmod", "fchown", "fcntl", "fork", "fstat",
	"fstatfs", "fsync", "ftruncate", "futex", "getcwd", "getdents", "getdents64", "getegid", "geteuid",
	"getgid", "getgroups", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
	"getresgid", "getresuid", "getrlimit", "getrusage", "getsid", "getsockname", "getsockopt", "gettid",
	"gettimeofday", "getuid", "getxattr", "ioctl", "kill", "lgetxattr", "listxattr", "llistxattr",
	"lseek", "lstat", "madvise", "membarrier", "mmap", "mprotect", "mremap", "munmap", "nanosleep",
	"newfstatat", "open", "openat", "openat2", "pause", "pipe", "pipe2", "poll", "ppoll", "prctl",
	"pread64", "preadv", "prlimit64", "pselect6", "pwrite64", "read", "readlink", "readlinkat", "readv",
	"recvfrom", "recvmsg", "restart_syscall", "rseq", "rt_sigaction", "rt_sigpending",
	"rt_sigprocmask", "rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"sched_getaffinity", "sched_yield", "select", "sendmsg", "sendto", "set_robust_list",
	"set_tid_address", "setgid", "setgroups", "setitimer", "setpgid", "setregid", "setresgid",
	"setresuid", "setreuid", "setsid", "setsockopt", "setuid", "sigaltstack", "socket", "socketpair",
	"stat", "statfs", "statx", "sysinfo", "tgkill", "time", "times", "tkill", "umask", "uname",
	"unlink", "unlinkat", "utimensat", "vfork", "wait4", "waitid", "write", "writev",
}

func withTmp(s *specs.Spec) {
	s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=1777"}})
}

func seccompStatus(t *testing.T, status string) (string, string) {
	t.Helper()
	st := parseKV(status)
	return st["Seccomp"], st["NoNewPrivs"]
}

// TestSeccompErrno: an SCMP_ACT_ERRNO rule makes mkdir fail with its
// errnoRet (EPERM), the rest is allowed.
func TestSeccompErrno(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(withTmp, func(s *specs.Spec) { s.Linux.Seccomp = seccompMkdirEPERM() })
	b.sh(`touch /tmp/file && echo touched; mkdir /tmp/x 2>&1; echo "mkdir=$?"; ls /tmp; echo "@@status"; cat /proc/self/status`)
	out := e.mustRun(b)
	if !strings.Contains(out, "touched") {
		t.Errorf("touch (allowed) failed: %q", out)
	}
	if !strings.Contains(out, "Operation not permitted") || !strings.Contains(out, "mkdir=1") {
		t.Errorf("mkdir under a rule SCMP_ACT_ERRNO errnoRet 1: %q, want Operation not permitted", out)
	}
	head, _, _ := strings.Cut(out, "@@status")
	if lines := strings.Split(head, "\n"); contains(lines, "x") || !contains(lines, "file") {
		t.Errorf("ls /tmp after touch file and mkdir x: %q, want file and no x", head)
	}
	if mode, _ := seccompStatus(t, sections(out)["status"]); mode != "2" {
		t.Errorf("Seccomp: %q, want 2 (filter)", mode)
	}
}

// TestSeccompDefaultErrno: defaultAction SCMP_ACT_ERRNO with
// defaultErrnoRet 38 (ENOSYS) and an allow list: the shell works, what is
// not listed fails with ENOSYS.
func TestSeccompDefaultErrno(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enosys := uint(38)
	b := e.newBundle(withTmp, func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction:   specs.ActErrno,
			DefaultErrnoRet: &enosys,
			Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
			Syscalls:        []specs.LinuxSyscall{{Names: busyboxSyscalls, Action: specs.ActAllow}},
		}
	})
	b.sh(`echo alive; touch /tmp/file && echo touched; mkdir /tmp/x 2>&1; echo "mkdir=$?"`)
	r, _ := e.runBundle(b)
	if !r.ok() {
		t.Fatalf("run with an allow list: %s", r)
	}
	if !strings.Contains(r.stdout, "alive") || !strings.Contains(r.stdout, "touched") {
		t.Errorf("the allowed commands failed: %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "Function not implemented") || !strings.Contains(r.stdout, "mkdir=1") {
		t.Errorf("mkdir (not allowed): %q, want Function not implemented (errno 38)", r.stdout)
	}
}

// TestSeccompKillProcess: SCMP_ACT_KILL_PROCESS kills the process with
// SIGSYS: run exits 128+31.
func TestSeccompKillProcess(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		syscall string
		script  string
		before  string // printed before the call
	}{
		{"getpid", `echo $$`, ""},
		{"sync", `echo before; exec sync`, "before"},
	} {
		t.Run(tc.syscall, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) {
				s.Linux.Seccomp = &specs.LinuxSeccomp{
					DefaultAction: specs.ActAllow,
					Syscalls:      []specs.LinuxSyscall{{Names: []string{tc.syscall}, Action: specs.ActKillProcess}},
				}
			})
			b.sh(tc.script)
			r, _ := e.runBundle(b)
			if r.code != 128+31 {
				t.Errorf("run: exit %d, want 159 (SIGSYS): %s", r.code, r)
			}
			if tc.before != "" && strings.TrimSpace(r.stdout) != tc.before {
				t.Errorf("output %q, want only %q: the process ran on after %s", r.stdout, tc.before, tc.syscall)
			}
		})
	}
}

// TestSeccompArgs: conditions on arguments: personality is allowed only
// for PER_LINUX (0) and the query 0xffffffff, as in Docker's profile.
func TestSeccompArgs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	enosys := uint(38)
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction:   specs.ActErrno,
			DefaultErrnoRet: &enosys,
			Architectures:   []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
			Syscalls: []specs.LinuxSyscall{
				{Names: busyboxSyscalls, Action: specs.ActAllow},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0, Op: specs.OpEqualTo}}},
				{Names: []string{"personality"}, Action: specs.ActAllow, Args: []specs.LinuxSeccompArg{{Index: 0, Value: 0xffffffff, Op: specs.OpEqualTo}}},
			},
		}
	})
	b.sh(`linux64 uname -m 2>&1; echo "linux64=$?"; linux32 uname -m 2>&1; echo "linux32=$?"`)
	r, _ := e.runBundle(b)
	if !r.ok() {
		t.Fatalf("run: %s", r)
	}
	if !strings.Contains(r.stdout, "x86_64\nlinux64=0") {
		t.Errorf("personality(PER_LINUX) (allowed by its argument): %q", r.stdout)
	}
	if !strings.Contains(r.stdout, "linux32=1") || strings.Contains(r.stdout, "i686") {
		t.Errorf("personality(PER_LINUX32) (not allowed): %q, want a failure", r.stdout)
	}
}

// TestSeccompExec: an exec'd process gets the container's filter.
func TestSeccompExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(withTmp, func(s *specs.Spec) { s.Linux.Seccomp = seccompMkdirEPERM() })
	c, pid := e.startLoop(b)
	if mode := procStatusOf(t, pid)["Seccomp"]; mode != "2" {
		t.Errorf("the container's init: Seccomp %q, want 2", mode)
	}
	r := e.hako("exec", c.id, "sh", "-c", `mkdir /tmp/x 2>&1; echo "mkdir=$?"; echo "@@status"; cat /proc/self/status`)
	if !r.ok() {
		t.Fatalf("exec: %s", r)
	}
	if !strings.Contains(r.stdout, "Operation not permitted") || !strings.Contains(r.stdout, "mkdir=1") {
		t.Errorf("mkdir in an exec'd process: %q, want Operation not permitted", r.stdout)
	}
	if mode, _ := seccompStatus(t, sections(r.stdout)["status"]); mode != "2" {
		t.Errorf("the exec'd process: Seccomp %q, want 2", mode)
	}
	r = e.hako("exec", "--cap", "CAP_SYS_ADMIN", c.id, "sh", "-c", `mkdir /tmp/y 2>&1; echo "mkdir=$?"`)
	if !r.ok() || !strings.Contains(r.stdout, "mkdir=1") {
		t.Errorf("exec --cap CAP_SYS_ADMIN escaped the filter: %s", r)
	}
}

// TestSeccompNoNewPrivs: the filter is installed with or without
// noNewPrivileges (without it, while the runtime still has CAP_SYS_ADMIN,
// also for a non-root user), and no_new_privs is set only when asked for.
func TestSeccompNoNewPrivs(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name string
		nnp  bool
		uid  uint32
	}{{"nnp root", true, 0}, {"no nnp root", false, 0}, {"no nnp uid 1000", false, 1000}, {"nnp uid 1000", true, 1000}} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(withTmp, func(s *specs.Spec) {
				s.Linux.Seccomp = seccompMkdirEPERM()
				s.Process.NoNewPrivileges = tc.nnp
				s.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
			})
			b.sh(`mkdir /tmp/x 2>&1; echo "mkdir=$?"; echo "@@status"; cat /proc/self/status`)
			out := e.mustRun(b)
			mode, nnp := seccompStatus(t, sections(out)["status"])
			if mode != "2" {
				t.Errorf("Seccomp %q, want 2", mode)
			}
			want := map[bool]string{true: "1", false: "0"}[tc.nnp]
			if nnp != want {
				t.Errorf("NoNewPrivs %q, want %s", nnp, want)
			}
			if !strings.Contains(out, "Operation not permitted") {
				t.Errorf("mkdir: %q, want Operation not permitted", out)
			}
		})
	}
}
