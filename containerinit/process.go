package containerinit

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/mounts"
	"github.com/hako-runtime/hako/seccomp"
	"github.com/hako-runtime/hako/spec"
)

// process is the container process, resolved before start so that a
// missing binary or a bad capability fails `create`, not `start`.
type process struct {
	spec        *specs.Process
	path        string   // resolved executable
	env         []string // with HOME filled in
	caps        capSets
	rlims       []rlimit
	sched       *unix.SchedAttr
	ioprio      int
	personality int
	seccomp     *seccomp.Program
	notify      *notifySender // with a seccomp listener
}

type rlimit struct {
	resource int
	limit    syscall.Rlimit
}

const defaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

// prepareProcess runs after pivot_root: paths are the container's. The
// first process gets its cwd made if missing, as runc does; exec does not
// change the container's files.
func prepareProcess(s *specs.Spec, makeCwd bool) (*process, error) {
	ps := s.Process
	p := &process{spec: ps, env: ps.Env, ioprio: -1, personality: -1}
	if ps.Cwd != "" && makeCwd {
		// Made inside the root without following magic links: a cwd
		// like /proc/self/fd/N/x must not create anything on the host.
		if err := makeCwdInRoot(ps.Cwd); err != nil {
			return nil, err
		}
	}
	path, err := lookPath(ps.Args[0], ps.Env, ps.Cwd)
	if err != nil {
		return nil, err
	}
	p.path = path
	if !hasEnv(p.env, "HOME") {
		p.env = append(append([]string(nil), p.env...), "HOME="+homeDir(ps.User.UID))
	}
	if p.caps, err = parseCaps(ps.Capabilities); err != nil {
		return nil, err
	}
	for _, r := range ps.Rlimits {
		res, err := spec.RlimitValue(r.Type)
		if err != nil {
			return nil, fmt.Errorf("process.rlimits: %w", err)
		}
		p.rlims = append(p.rlims, rlimit{res, syscall.Rlimit{Cur: r.Soft, Max: r.Hard}})
	}
	if sc := ps.Scheduler; sc != nil {
		if p.sched, err = schedAttr(sc); err != nil {
			return nil, err
		}
	}
	if io := ps.IOPriority; io != nil {
		class, ok := ioprioClasses[io.Class]
		if !ok {
			return nil, fmt.Errorf("process.ioPriority.class: unknown class %q", io.Class)
		}
		p.ioprio = class<<13 | int(io.Priority)
	}
	if l := s.Linux; l != nil && l.Personality != nil {
		switch l.Personality.Domain {
		case specs.PerLinux:
			p.personality = perLinux
		case specs.PerLinux32:
			p.personality = perLinux32
		default:
			return nil, fmt.Errorf("linux.personality.domain: unknown domain %q", l.Personality.Domain)
		}
	}
	return p, nil
}

// personality(2) domains.
const (
	perLinux   = 0x0000
	perLinux32 = 0x0008
)

var ioprioClasses = map[specs.IOPriorityClass]int{
	specs.IOPRIO_CLASS_RT:   1,
	specs.IOPRIO_CLASS_BE:   2,
	specs.IOPRIO_CLASS_IDLE: 3,
}

var schedPolicies = map[specs.LinuxSchedulerPolicy]uint32{
	specs.SchedOther:    0,
	specs.SchedFIFO:     1,
	specs.SchedRR:       2,
	specs.SchedBatch:    3,
	specs.SchedISO:      4,
	specs.SchedIdle:     5,
	specs.SchedDeadline: 6,
}

var schedFlags = map[specs.LinuxSchedulerFlag]uint64{
	specs.SchedFlagResetOnFork:  0x01,
	specs.SchedFlagReclaim:      0x02,
	specs.SchedFlagDLOverrun:    0x04,
	specs.SchedFlagKeepPolicy:   0x08,
	specs.SchedFlagKeepParams:   0x10,
	specs.SchedFlagUtilClampMin: 0x20,
	specs.SchedFlagUtilClampMax: 0x40,
}

func schedAttr(sc *specs.Scheduler) (*unix.SchedAttr, error) {
	pol, ok := schedPolicies[sc.Policy]
	if !ok {
		return nil, fmt.Errorf("process.scheduler.policy: unknown policy %q", sc.Policy)
	}
	a := &unix.SchedAttr{
		Size:     unix.SizeofSchedAttr,
		Policy:   pol,
		Nice:     sc.Nice,
		Priority: uint32(sc.Priority),
		Runtime:  sc.Runtime,
		Deadline: sc.Deadline,
		Period:   sc.Period,
	}
	for _, f := range sc.Flags {
		v, ok := schedFlags[f]
		if !ok {
			return nil, fmt.Errorf("process.scheduler.flags: unknown flag %q", f)
		}
		a.Flags |= v
	}
	return a, nil
}

// exec applies the process attributes in the order the kernel needs
// (privileged steps before the uid change, no_new_privs last) and execs.
// A seccomp listener fd is sent over notifySock.
func (p *process) exec(notifySock int) error {
	ps := p.spec
	if ps.User.Umask != nil {
		unix.Umask(int(*ps.User.Umask))
	} else {
		unix.Umask(0o022)
	}
	if ps.Cwd != "" {
		if err := unix.Chdir(ps.Cwd); err != nil {
			return fmt.Errorf("chdir to process.cwd %s: %w", ps.Cwd, err)
		}
		// A cwd through a magic link (/proc/self/fd/N of an fd the
		// caller leaked to us) can land outside the container's root;
		// the kernel then reports it unreachable (CVE-2024-21626).
		if _, err := unix.Getwd(); err != nil {
			return fmt.Errorf("process.cwd %s is outside the container's root filesystem", ps.Cwd)
		}
	}
	if ps.OOMScoreAdj != nil {
		if err := os.WriteFile("/proc/self/oom_score_adj", []byte(strconv.Itoa(*ps.OOMScoreAdj)), 0); err != nil {
			return fmt.Errorf("set process.oomScoreAdj %d: %w", *ps.OOMScoreAdj, err)
		}
	}
	for _, r := range p.rlims {
		// syscall.Setrlimit, not unix's: it also stops Go from restoring
		// its own RLIMIT_NOFILE at exec.
		if err := syscall.Setrlimit(r.resource, &r.limit); err != nil {
			return fmt.Errorf("set rlimit %d to %d/%d: %w", r.resource, r.limit.Cur, r.limit.Max, err)
		}
	}
	if p.personality >= 0 {
		if _, _, e := unix.Syscall(unix.SYS_PERSONALITY, uintptr(p.personality), 0, 0); e != 0 {
			return fmt.Errorf("set linux.personality: %w", e)
		}
	}
	if p.ioprio >= 0 {
		const ioprioWhoProcess = 1
		if _, _, e := unix.Syscall(unix.SYS_IOPRIO_SET, ioprioWhoProcess, 0, uintptr(p.ioprio)); e != 0 {
			return fmt.Errorf("set process.ioPriority: %w", e)
		}
	}
	if p.sched != nil {
		if err := unix.SchedSetAttr(0, p.sched, 0); err != nil {
			return fmt.Errorf("set process.scheduler: %w", err)
		}
	}
	// Everything execve needs is allocated now: after the filter is
	// loaded, nothing may allocate or make other system calls.
	argv0, err := syscall.BytePtrFromString(p.path)
	if err != nil {
		return fmt.Errorf("process.args[0]: %w", err)
	}
	argv, err := syscall.SlicePtrFromStrings(ps.Args)
	if err != nil {
		return fmt.Errorf("process.args: %w", err)
	}
	envv, err := syscall.SlicePtrFromStrings(p.env)
	if err != nil {
		return fmt.Errorf("process.env: %w", err)
	}
	// Without no_new_privs, loading a filter needs CAP_SYS_ADMIN: load
	// it while we still have it, before the capabilities are dropped.
	if p.seccomp != nil && !ps.NoNewPrivileges {
		if err := p.loadSeccomp(notifySock); err != nil {
			return err
		}
	}
	if err := p.caps.applyWithUser(&ps.User); err != nil {
		return err
	}
	if ps.NoNewPrivileges {
		if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("set noNewPrivileges: %w", err)
		}
		if p.seccomp != nil {
			if err := p.loadSeccomp(notifySock); err != nil {
				return err
			}
		}
	}
	_, _, errno := unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(argv0)), uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	return fmt.Errorf("exec %s: %w", ps.Args[0], errno)
}

// lookPath finds the executable the way execvp would, with the PATH of the
// container's environment.
func lookPath(file string, env []string, cwd string) (string, error) {
	if strings.Contains(file, "/") {
		p := file
		if !filepath.IsAbs(p) && cwd != "" {
			p = filepath.Join(cwd, p)
		}
		if err := checkExecutable(p); err != nil {
			return "", fmt.Errorf("process.args[0] %s: %w", file, err)
		}
		return p, nil
	}
	path := defaultPath
	for _, e := range env {
		if v, ok := strings.CutPrefix(e, "PATH="); ok {
			path = v
		}
	}
	for _, dir := range filepath.SplitList(path) {
		if dir == "" {
			dir = "."
		}
		p := filepath.Join(dir, file)
		if checkExecutable(p) == nil {
			return p, nil
		}
	}
	return "", fmt.Errorf("process.args[0] %q: executable file not found in $PATH", file)
}

func checkExecutable(p string) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	if fi.IsDir() {
		return errors.New("is a directory")
	}
	if fi.Mode()&0o111 == 0 {
		return errors.New("permission denied")
	}
	return nil
}

func hasEnv(env []string, key string) bool {
	for _, e := range env {
		if strings.HasPrefix(e, key+"=") {
			return true
		}
	}
	return false
}

// homeDir looks the uid up in the container's /etc/passwd.
func homeDir(uid uint32) string {
	f, err := os.Open("/etc/passwd")
	if err != nil {
		return "/"
	}
	defer f.Close()
	want := strconv.FormatUint(uint64(uid), 10)
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 6 && fields[2] == want && fields[5] != "" {
			return fields[5]
		}
	}
	return "/"
}

// makeCwdInRoot creates the cwd if missing, resolving it inside "/" (the
// container's root after pivot_root) with no magic links.
func makeCwdInRoot(cwd string) error {
	root, err := unix.Open("/", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("process.cwd %s: %w", cwd, err)
	}
	defer unix.Close(root)
	fd, err := mounts.MkdirAllInRoot(root, cwd, 0o755)
	if err != nil {
		if errors.Is(err, unix.EROFS) {
			return nil
		}
		return fmt.Errorf("process.cwd %s: %w", cwd, err)
	}
	unix.Close(fd)
	return nil
}
