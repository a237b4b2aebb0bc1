package seccomp_test

import (
	"encoding/json"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp"
)

// Profile has the shape of the seccomp.json that podman (containers/common)
// and docker ship: entries carry "includes"/"excludes" conditions on the
// capabilities, the architecture and the kernel version. The engine
// resolves them when it writes config.json (see Resolve); runtimes never
// see them: specs.LinuxSyscall has no such fields, and a config.json that
// still carried them would have them ignored by the JSON decoding.
type Profile struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet,omitempty"`
	ArchMap         []ProfileArch            `json:"archMap"`
	Syscalls        []ProfileSyscall         `json:"syscalls"`
}

// ProfileArch lists the architectures a filter covers on one native one.
type ProfileArch struct {
	Arch             specs.Arch   `json:"architecture"`
	SubArchitectures []specs.Arch `json:"subArchitectures"`
}

// ProfileSyscall is a syscalls[] entry with its conditions.
type ProfileSyscall struct {
	specs.LinuxSyscall
	Comment  string         `json:"comment,omitempty"`
	Includes ProfileFilters `json:"includes"`
	Excludes ProfileFilters `json:"excludes"`
}

// ProfileFilters select the entries that apply. Includes need every listed
// capability, the native architecture among Arches and a kernel at least
// MinKernel; Excludes drop the entry on any listed capability or
// architecture.
type ProfileFilters struct {
	Caps      []string `json:"caps,omitempty"`
	Arches    []string `json:"arches,omitempty"`
	MinKernel string   `json:"minKernel,omitempty"`
}

// podmanCaps is podman's default capability set.
var podmanCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP",
	"CAP_SETUID", "CAP_SYS_CHROOT",
}

// DefaultProfile builds a profile shaped like containers/common's default:
// default ERRNO(ENOSYS), so that syscalls newer than the profile fail the
// way a kernel without them does and libc falls back; a big allow list
// (with names this kernel or libseccomp do not know); conditional
// personality and clone rules, clone3 → ENOSYS (so that libc uses clone,
// whose flags the filter can read); EPERM for what needs a capability the
// container lacks.
func DefaultProfile() *Profile {
	enosys, eperm := uint(unix.ENOSYS), uint(unix.EPERM)
	allow := func(names ...string) ProfileSyscall {
		return ProfileSyscall{LinuxSyscall: specs.LinuxSyscall{Names: names, Action: specs.ActAllow}}
	}
	withCap := func(c string, e ProfileSyscall) ProfileSyscall { e.Includes.Caps = []string{c}; return e }
	withoutCap := func(c string, e ProfileSyscall) ProfileSyscall { e.Excludes.Caps = []string{c}; return e }
	deny := func(names ...string) ProfileSyscall {
		return ProfileSyscall{LinuxSyscall: specs.LinuxSyscall{Names: names, Action: specs.ActErrno, ErrnoRet: &eperm}}
	}
	personality := func(v uint64) ProfileSyscall {
		e := allow("personality")
		e.Args = []specs.LinuxSeccompArg{{Index: 0, Value: v, Op: specs.OpEqualTo}}
		return e
	}
	// CLONE_NEWNS|CLONE_NEWCGROUP|CLONE_NEWUTS|CLONE_NEWIPC|CLONE_NEWUSER|CLONE_NEWPID|CLONE_NEWNET
	const cloneNamespaces = 0x7E020000

	p := &Profile{
		DefaultAction:   specs.ActErrno,
		DefaultErrnoRet: &enosys,
		ArchMap: []ProfileArch{
			{specs.ArchX86_64, []specs.Arch{specs.ArchX86, specs.ArchX32}},
			{specs.ArchAARCH64, []specs.Arch{specs.ArchARM}},
			{specs.ArchPPC64LE, nil},
			{specs.ArchS390X, []specs.Arch{specs.ArchS390}},
			{specs.ArchRISCV64, nil},
		},
	}
	p.Syscalls = []ProfileSyscall{
		allow(defaultAllowList...),
		personality(0x0), personality(0x8), personality(0x20000), personality(0x20008), personality(0xffffffff),
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"arch_prctl", "modify_ldt"}, Action: specs.ActAllow},
			Includes: ProfileFilters{Arches: []string{"amd64", "x32", "386"}}},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"arm_fadvise64_64", "arm_sync_file_range", "breakpoint", "cacheflush", "set_tls", "sync_file_range2"}, Action: specs.ActAllow},
			Includes: ProfileFilters{Arches: []string{"arm", "arm64"}}},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"s390_pci_mmio_read", "s390_pci_mmio_write", "s390_runtime_instr"}, Action: specs.ActAllow},
			Includes: ProfileFilters{Arches: []string{"s390", "s390x"}}},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"riscv_flush_icache"}, Action: specs.ActAllow},
			Includes: ProfileFilters{Arches: []string{"riscv64"}}},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"ptrace"}, Action: specs.ActAllow},
			Includes: ProfileFilters{MinKernel: "4.8"}, Comment: "seccomp cannot be bypassed with ptrace since 4.8"},

		// Namespaces and mounts need CAP_SYS_ADMIN.
		withCap("CAP_SYS_ADMIN", allow("bpf", "clone", "clone3", "fanotify_init", "fsconfig", "fsmount", "fsopen",
			"fspick", "lookup_dcookie", "mount", "mount_setattr", "move_mount", "name_to_handle_at", "open_tree",
			"perf_event_open", "quotactl", "quotactl_fd", "setdomainname", "sethostname", "setns", "syslog",
			"umount", "umount2", "unshare")),
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: cloneNamespaces, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
			Excludes: ProfileFilters{Caps: []string{"CAP_SYS_ADMIN"}, Arches: []string{"s390", "s390x"}},
			Comment:  "clone without namespace flags"},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"clone"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 1, Value: cloneNamespaces, ValueTwo: 0, Op: specs.OpMaskedEqual}}},
			Includes: ProfileFilters{Arches: []string{"s390", "s390x"}},
			Excludes: ProfileFilters{Caps: []string{"CAP_SYS_ADMIN"}},
			Comment:  "s390 clone has its flags in the second argument"},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"clone3"}, Action: specs.ActErrno, ErrnoRet: &enosys},
			Excludes: ProfileFilters{Caps: []string{"CAP_SYS_ADMIN"}},
			Comment:  "ENOSYS makes libc fall back to clone, whose flags the filter can check"},
		withoutCap("CAP_SYS_ADMIN", deny("bpf", "fanotify_init", "fsconfig", "fsmount", "fsopen", "fspick",
			"lookup_dcookie", "mount", "mount_setattr", "move_mount", "open_tree", "perf_event_open", "quotactl",
			"quotactl_fd", "setdomainname", "sethostname", "setns", "umount", "umount2", "unshare")),

		withCap("CAP_SYS_BOOT", allow("reboot")),
		withoutCap("CAP_SYS_BOOT", deny("reboot")),
		withCap("CAP_SYS_CHROOT", allow("chroot")),
		withoutCap("CAP_SYS_CHROOT", deny("chroot")),
		withCap("CAP_SYS_MODULE", allow("delete_module", "finit_module", "init_module")),
		withoutCap("CAP_SYS_MODULE", deny("delete_module", "finit_module", "init_module")),
		withCap("CAP_SYS_PACCT", allow("acct")),
		withoutCap("CAP_SYS_PACCT", deny("acct")),
		withCap("CAP_SYS_PTRACE", allow("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev")),
		withoutCap("CAP_SYS_PTRACE", deny("kcmp", "pidfd_getfd", "process_madvise", "process_vm_readv", "process_vm_writev")),
		withCap("CAP_SYS_RAWIO", allow("iopl", "ioperm")),
		withoutCap("CAP_SYS_RAWIO", deny("iopl", "ioperm")),
		withCap("CAP_SYS_TIME", allow("clock_settime", "clock_settime64", "settimeofday", "stime")),
		withoutCap("CAP_SYS_TIME", deny("clock_settime", "clock_settime64", "settimeofday", "stime")),
		withCap("CAP_SYS_TTY_CONFIG", allow("vhangup")),
		withoutCap("CAP_SYS_TTY_CONFIG", deny("vhangup")),
		withCap("CAP_SYS_NICE", allow("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node")),
		withoutCap("CAP_SYS_NICE", deny("get_mempolicy", "mbind", "set_mempolicy", "set_mempolicy_home_node")),
		withCap("CAP_SYSLOG", allow("syslog")),

		// The audit netlink socket needs CAP_AUDIT_WRITE.
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActErrno, ErrnoRet: &eperm,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_NETLINK, Op: specs.OpEqualTo}, {Index: 2, Value: unix.NETLINK_AUDIT, Op: specs.OpEqualTo}}},
			Excludes: ProfileFilters{Caps: []string{"CAP_AUDIT_WRITE"}}},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 2, Value: unix.NETLINK_AUDIT, Op: specs.OpNotEqual}}},
			Excludes: ProfileFilters{Caps: []string{"CAP_AUDIT_WRITE"}}},
		{LinuxSyscall: specs.LinuxSyscall{Names: []string{"socket"}, Action: specs.ActAllow,
			Args: []specs.LinuxSeccompArg{{Index: 0, Value: unix.AF_NETLINK, Op: specs.OpNotEqual}}},
			Excludes: ProfileFilters{Caps: []string{"CAP_AUDIT_WRITE"}}},
		withCap("CAP_AUDIT_WRITE", allow("socket")),

		// Never, whatever the capabilities.
		deny("bdflush", "kexec_file_load", "kexec_load", "migrate_pages", "move_pages", "nfsservctl",
			"pciconfig_iobase", "pciconfig_read", "pciconfig_write", "sysfs", "uselib", "userfaultfd",
			"ustat", "vm86", "vm86old", "swapon", "swapoff"),
	}
	return p
}

// defaultAllowList: what an ordinary container program may call. It has
// 32-bit names (for the x86 and arm sub-architectures), names newer than
// libseccomp 2.5.4 (mseal, statmount, listmount, lsm_*, ...) and one that
// no kernel has.
var defaultAllowList = []string{
	"_llseek", "_newselect", "accept", "accept4", "access", "adjtimex", "alarm", "bind", "brk",
	"cachestat", "capget", "capset", "chdir", "chmod", "chown", "chown32", "clock_adjtime",
	"clock_adjtime64", "clock_getres", "clock_getres_time64", "clock_gettime", "clock_gettime64",
	"clock_nanosleep", "clock_nanosleep_time64", "close", "close_range", "connect",
	"copy_file_range", "creat", "dup", "dup2", "dup3", "epoll_create", "epoll_create1",
	"epoll_ctl", "epoll_ctl_old", "epoll_pwait", "epoll_pwait2", "epoll_wait", "epoll_wait_old",
	"eventfd", "eventfd2", "execve", "execveat", "exit", "exit_group", "faccessat", "faccessat2",
	"fadvise64", "fadvise64_64", "fallocate", "fanotify_mark", "fchdir", "fchmod", "fchmodat",
	"fchmodat2", "fchown", "fchown32", "fchownat", "fcntl", "fcntl64", "fdatasync", "fgetxattr",
	"flistxattr", "flock", "fork", "fremovexattr", "fsetxattr", "fstat", "fstat64", "fstatat64",
	"fstatfs", "fstatfs64", "fsync", "ftruncate", "ftruncate64", "futex", "futex_requeue",
	"futex_time64", "futex_wait", "futex_waitv", "futex_wake", "futimesat", "get_robust_list",
	"get_thread_area", "getcpu", "getcwd", "getdents", "getdents64", "getegid", "getegid32",
	"geteuid", "geteuid32", "getgid", "getgid32", "getgroups", "getgroups32", "getitimer",
	"getpeername", "getpgid", "getpgrp", "getpid", "getppid", "getpriority", "getrandom",
	"getresgid", "getresgid32", "getresuid", "getresuid32", "getrlimit", "getrusage", "getsid",
	"getsockname", "getsockopt", "gettid", "gettimeofday", "getuid", "getuid32", "getxattr",
	"getxattrat", "inotify_add_watch", "inotify_init", "inotify_init1", "inotify_rm_watch",
	"io_cancel", "io_destroy", "io_getevents", "io_pgetevents", "io_pgetevents_time64",
	"io_setup", "io_submit", "io_uring_enter", "io_uring_register", "io_uring_setup", "ioctl",
	"ioprio_get", "ioprio_set", "ipc", "kill", "landlock_add_rule", "landlock_create_ruleset",
	"landlock_restrict_self", "lchown", "lchown32", "lgetxattr", "link", "linkat", "listen",
	"listmount", "listxattr", "listxattrat", "llistxattr", "lremovexattr", "lseek", "lsetxattr",
	"lsm_get_self_attr", "lsm_list_modules", "lsm_set_self_attr", "lstat", "lstat64", "madvise",
	"map_shadow_stack", "membarrier", "memfd_create", "memfd_secret", "mincore", "mkdir",
	"mkdirat", "mknod", "mknodat", "mlock", "mlock2", "mlockall", "mmap", "mmap2", "mprotect",
	"mq_getsetattr", "mq_notify", "mq_open", "mq_timedreceive", "mq_timedreceive_time64",
	"mq_timedsend", "mq_timedsend_time64", "mq_unlink", "mremap", "mseal", "msgctl", "msgget",
	"msgrcv", "msgsnd", "msync", "munlock", "munlockall", "munmap", "nanosleep", "newfstatat",
	"open", "openat", "openat2", "pause", "pidfd_open", "pidfd_send_signal", "pipe", "pipe2",
	"pkey_alloc", "pkey_free", "pkey_mprotect", "poll", "ppoll", "ppoll_time64", "prctl",
	"pread64", "preadv", "preadv2", "prlimit64", "process_mrelease", "pselect6",
	"pselect6_time64", "pwrite64", "pwritev", "pwritev2", "read", "readahead", "readlink",
	"readlinkat", "readv", "recv", "recvfrom", "recvmmsg", "recvmmsg_time64", "recvmsg",
	"remap_file_pages", "removexattr", "removexattrat", "rename", "renameat", "renameat2",
	"restart_syscall", "rmdir", "rseq", "rt_sigaction", "rt_sigpending", "rt_sigprocmask",
	"rt_sigqueueinfo", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait",
	"rt_sigtimedwait_time64", "rt_tgsigqueueinfo", "sched_get_priority_max",
	"sched_get_priority_min", "sched_getaffinity", "sched_getattr", "sched_getparam",
	"sched_getscheduler", "sched_rr_get_interval", "sched_rr_get_interval_time64",
	"sched_setaffinity", "sched_setattr", "sched_setparam", "sched_setscheduler", "sched_yield",
	"seccomp", "select", "semctl", "semget", "semop", "semtimedop", "semtimedop_time64", "send",
	"sendfile", "sendfile64", "sendmmsg", "sendmsg", "sendto", "set_robust_list",
	"set_thread_area", "set_tid_address", "setfsgid", "setfsgid32", "setfsuid", "setfsuid32",
	"setgid", "setgid32", "setgroups", "setgroups32", "setitimer", "setpgid", "setpriority",
	"setregid", "setregid32", "setresgid", "setresgid32", "setresuid", "setresuid32", "setreuid",
	"setreuid32", "setrlimit", "setsid", "setsockopt", "setuid", "setuid32", "setxattr",
	"setxattrat", "shmat", "shmctl", "shmdt", "shmget", "shutdown", "sigaltstack", "signalfd",
	"signalfd4", "sigpending", "sigprocmask", "sigreturn", "socketcall", "socketpair", "splice",
	"stat", "stat64", "statfs", "statfs64", "statmount", "statx", "symlink", "symlinkat", "sync",
	"sync_file_range", "syncfs", "sysinfo", "tee", "tgkill", "time", "timer_create",
	"timer_delete", "timer_getoverrun", "timer_gettime", "timer_gettime64", "timer_settime",
	"timer_settime64", "timerfd_create", "timerfd_gettime", "timerfd_gettime64",
	"timerfd_settime", "timerfd_settime64", "times", "tkill", "truncate", "truncate64",
	"ugetrlimit", "umask", "uname", "unlink", "unlinkat", "uretprobe", "utime", "utimensat",
	"utimensat_time64", "utimes", "vfork", "wait4", "waitid", "waitpid", "write", "writev",
	"hako_not_a_syscall",
}

// Resolve turns the profile into what an engine writes to config.json for
// a container with caps on the native architecture goarch and a kernel of
// the given version.
func (p *Profile) Resolve(goarch string, caps []string, kernel [2]int) *specs.LinuxSeccomp {
	out := &specs.LinuxSeccomp{DefaultAction: p.DefaultAction, DefaultErrnoRet: p.DefaultErrnoRet}
	native := map[string]specs.Arch{
		"amd64": specs.ArchX86_64, "arm64": specs.ArchAARCH64, "ppc64le": specs.ArchPPC64LE,
		"s390x": specs.ArchS390X, "riscv64": specs.ArchRISCV64,
	}[goarch]
	for _, m := range p.ArchMap {
		if m.Arch == native {
			out.Architectures = append([]specs.Arch{m.Arch}, m.SubArchitectures...)
		}
	}
	has := func(c string) bool { return slices.Contains(caps, c) }
	for _, e := range p.Syscalls {
		if len(e.Includes.Arches) > 0 && !slices.Contains(e.Includes.Arches, goarch) ||
			slices.ContainsFunc(e.Includes.Caps, func(c string) bool { return !has(c) }) ||
			e.Includes.MinKernel != "" && !kernelAtLeast(kernel, e.Includes.MinKernel) ||
			slices.Contains(e.Excludes.Arches, goarch) ||
			slices.ContainsFunc(e.Excludes.Caps, has) {
			continue
		}
		out.Syscalls = append(out.Syscalls, e.LinuxSyscall)
	}
	return out
}

func kernelAtLeast(k [2]int, min string) bool {
	maj, mnr, _ := strings.Cut(min, ".")
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(mnr)
	return k[0] > a || k[0] == a && k[1] >= b
}

func kernelVersion(t testing.TB) [2]int {
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		t.Fatal(err)
	}
	rel := unix.ByteSliceToString(u.Release[:])
	maj, rest, _ := strings.Cut(rel, ".")
	mnr, _, _ := strings.Cut(rest, ".")
	a, _ := strconv.Atoi(maj)
	b, _ := strconv.Atoi(strings.TrimRightFunc(mnr, func(r rune) bool { return r < '0' || r > '9' }))
	return [2]int{a, b}
}

// podmanConfig resolves DefaultProfile for podman's default capabilities
// and passes it through config.json encoding, as a runtime receives it.
func podmanConfig(t testing.TB) *specs.LinuxSeccomp {
	resolved := DefaultProfile().Resolve(runtime.GOARCH, podmanCaps, kernelVersion(t))
	data, err := json.Marshal(&specs.Spec{Linux: &specs.Linux{Seccomp: resolved}})
	if err != nil {
		t.Fatal(err)
	}
	var spec specs.Spec
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	return spec.Linux.Seccomp
}

func TestDefaultProfileShape(t *testing.T) {
	p := DefaultProfile()
	if n := len(defaultAllowList); n < 300 {
		t.Errorf("allow list has %d names", n)
	}
	sorted := slices.Sorted(slices.Values(defaultAllowList))
	if c := slices.Compact(slices.Clone(sorted)); len(c) != len(sorted) {
		t.Errorf("the allow list has %d duplicates", len(sorted)-len(c))
	}
	// The raw profile's includes/excludes vanish in a runtime-spec config.
	data, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(data), `"excludes":{"caps":["CAP_SYS_ADMIN"]}`) {
		t.Fatalf("profile JSON lacks excludes: %.200s", data)
	}
	var raw specs.LinuxSeccomp
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	if len(raw.Syscalls) != len(p.Syscalls) {
		t.Errorf("unresolved: %d entries, want %d", len(raw.Syscalls), len(p.Syscalls))
	}
	cfg := podmanConfig(t)
	if len(cfg.Syscalls) >= len(p.Syscalls) {
		t.Errorf("resolution kept %d of %d entries", len(cfg.Syscalls), len(p.Syscalls))
	}
}

func TestCompileDefaultProfile(t *testing.T) {
	cfg := podmanConfig(t)
	start := time.Now()
	prog, err := seccomp.Compile(cfg)
	elapsed := time.Since(start)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("first Compile %v: %d architectures, %d entries, %d BPF instructions, unknown syscalls %q",
		elapsed, len(cfg.Architectures), len(cfg.Syscalls), len(prog.Instructions()), prog.UnknownSyscalls)
	if !slices.Contains(prog.UnknownSyscalls, "hako_not_a_syscall") {
		t.Errorf("UnknownSyscalls = %q", prog.UnknownSyscalls)
	}
	got := rets(prog)
	for _, k := range []uint32{unix.SECCOMP_RET_ERRNO | uint32(unix.ENOSYS), unix.SECCOMP_RET_ERRNO | uint32(unix.EPERM), unix.SECCOMP_RET_ALLOW} {
		if !got[k] {
			t.Errorf("no ret %#x in the program", k)
		}
	}
	if prog.Flags() != 0 {
		t.Errorf("Flags = %#x", prog.Flags())
	}
}

func BenchmarkCompileDefaultProfile(b *testing.B) {
	cfg := podmanConfig(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := seccomp.Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCompileSmall(b *testing.B) {
	cfg := &specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, nil)}}
	for b.Loop() {
		if _, err := seccomp.Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkCompileDefaultProfileNative is the podman-like profile for the
// native architecture alone (no x86/x32 or arm sub-architecture).
func BenchmarkCompileDefaultProfileNative(b *testing.B) {
	cfg := podmanConfig(b)
	cfg.Architectures = cfg.Architectures[:1]
	for b.Loop() {
		if _, err := seccomp.Compile(cfg); err != nil {
			b.Fatal(err)
		}
	}
}

// TestLoadDefaultProfile runs sh, busybox and the Go probe under the
// podman-like profile.
func TestLoadDefaultProfile(t *testing.T) {
	requireFile(t, busybox)
	requireFile(t, "/bin/sh")
	cfg := podmanConfig(t)

	script := "echo hello from sh; " + busybox + " echo echo works; " +
		busybox + " unshare -U true; echo unshare=$?; " +
		busybox + " linux32 true; echo linux32=$?"
	r := runChild(t, childJob{Seccomp: cfg, Argv: []string{"/bin/sh", "-c", script}})
	for _, want := range []string{"hello from sh\n", "echo works\n", "Operation not permitted", "unshare=1\n", "linux32=0\n"} {
		if !strings.Contains(r.Out, want) {
			t.Errorf("output lacks %q", want)
		}
	}
	if !r.exited(0) {
		t.Errorf("sh: %v", r)
	}
	if t.Failed() {
		t.Logf("%v", r)
	}

	// A Go program starts and runs under it too; the probe checks exact
	// results. Blocked calls get EPERM (rules) or ENOSYS (the default),
	// never SIGSYS.
	calls := map[string]unix.Errno{
		"reboot:0,0,0,0":               unix.EPERM,  // EINVAL (bad magic) when allowed to root
		"kexec_load:0,0,0,0":           unix.EPERM,  // never allowed
		"mount:0,0,0,0,0":              unix.EPERM,  // no CAP_SYS_ADMIN
		"unshare:0x10000000":           unix.EPERM,  // CLONE_NEWUSER
		"clone3:0,0":                   unix.ENOSYS, // libc falls back to clone
		"personality:0xffffffff":       0,
		"personality:0x40000":          unix.ENOSYS, // ADDR_NO_RANDOMIZE: not in the list
		"socket:16,3,9":                unix.EPERM,  // AF_NETLINK, NETLINK_AUDIT
		"getppid":                      0,
		"swapon:0,0":                   unix.EPERM,
		"#462:0,0,0":                   unix.ENOSYS, // mseal, unknown to libseccomp 2.5.4: the default
		"lookup_dcookie:0,0,0":         unix.EPERM,
		"setns:0xffffffff,0":           unix.EPERM,
		"process_vm_readv:0,0,0,0,0,0": unix.EPERM,
	}
	if runtime.GOARCH != "amd64" {
		delete(calls, "#462:0,0,0")
	}
	var list []string
	for c := range calls {
		list = append(list, c)
	}
	got := probe(t, cfg, list...)
	for c, want := range calls {
		if g, ok := got[c]; !ok || g != want {
			t.Errorf("%s = %v (%d), want %v (%d)", c, g, int(g), want, int(want))
		}
	}
}
