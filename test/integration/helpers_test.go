package integration

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	// cmdTimeout bounds every runtime invocation.
	cmdTimeout = 20 * time.Second
	// statusTimeout bounds waiting for a container to reach a status.
	statusTimeout = 10 * time.Second
)

// hakoOnly skips a test (or subtest) of hako-specific behaviour when the
// runtime under test is runc: exact error wording, JSON logs, --version,
// features content, the "creating" status, and spec-mandated behaviour where
// runc deviates. why says what runc does instead.
func hakoOnly(t *testing.T, why string) {
	t.Helper()
	if isRunc {
		t.Skipf("hako-specific (runc: %s)", why)
	}
}

// ---------------------------------------------------------------------------
// Env: one per test; owns a directory, a --root state dir and every
// container the test makes.

type Env struct {
	t    *testing.T
	dir  string // the test's own directory, removed at the end
	Root string // --root for every runtime call
	mark string // HAKO_ITEST value of every process the test starts
	ids  []string
	// as, when set, runs every runtime call of the Env as a real non-root
	// user (the rootless tier: rootless_helpers_test.go).
	as *runAs
}

// newEnv does not use t.TempDir: its removal (os.RemoveAll) would descend
// into a bind mount a buggy runtime left behind and delete the files of the
// mount's source. The Env's directory is removed only once nothing is
// mounted under it.
func newEnv(t *testing.T) *Env {
	t.Helper()
	if skipAll != "" {
		t.Skip(skipAll)
	}
	name := sanitize(t.Name(), 40)
	dir, err := os.MkdirTemp(baseDir, name+"-")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	e := &Env{t: t, dir: dir, Root: filepath.Join(dir, "state"), mark: runToken + "/" + filepath.Base(dir)}
	t.Cleanup(e.cleanup)
	return e
}

var nonIDChars = regexp.MustCompile(`[^A-Za-z0-9_.-]+`)

func sanitize(s string, max int) string {
	s = strings.Trim(nonIDChars.ReplaceAllString(s, "-"), "-.")
	if len(s) > max {
		s = s[:max]
	}
	return s
}

// newID returns a fresh container ID, registered for cleanup.
func (e *Env) newID() string {
	id := fmt.Sprintf("%s-%s", sanitize(strings.TrimPrefix(e.t.Name(), "Test"), 24), randomHex(3))
	e.ids = append(e.ids, id)
	return id
}

// tempDir makes a directory (mode 0755) inside the test's directory.
func (e *Env) tempDir(name string) string {
	e.t.Helper()
	d, err := os.MkdirTemp(e.dir, name+"-")
	if err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(d, 0o755); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// writeFile writes a file in the test's directory and returns its path.
func (e *Env) writeFile(name, content string, mode os.FileMode) string {
	e.t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(content), mode); err != nil {
		e.t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil {
		e.t.Fatal(err)
	}
	return p
}

// cleanup deletes every container the test made, then checks that nothing
// is left behind: state directories, mounts, processes, cgroups.
func (e *Env) cleanup() {
	t := e.t
	for _, id := range e.ids {
		if _, err := os.Stat(filepath.Join(e.Root, id)); err != nil {
			continue // never created, or already deleted
		}
		if r := e.hako("delete", "--force", id); r.code != 0 {
			t.Errorf("cleanup: %s", r)
		}
	}
	for _, id := range e.ids {
		if _, err := os.Lstat(filepath.Join(e.Root, id)); err == nil {
			t.Errorf("cleanup: state directory %s left after delete --force", filepath.Join(e.Root, id))
		}
	}
	// Processes: wait a little for exiting ones, then kill what is left (by
	// PID: they carry this test's mark, so the test started them).
	var pids []int
	for deadline := time.Now().Add(3 * time.Second); ; {
		pids = processesMarked(e.mark)
		if len(pids) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(pids) > 0 {
		t.Errorf("cleanup: processes left behind: %s", describePids(pids))
		for _, pid := range pids {
			_ = syscall.Kill(pid, syscall.SIGKILL)
		}
	}
	if mps := unmountUnder(e.dir); len(mps) > 0 {
		t.Errorf("cleanup: mounts left in the host mount namespace: %v", mps)
	}
	if cgs := cgroupsOf(e.ids); len(cgs) > 0 {
		t.Errorf("cleanup: cgroups left behind: %v", cgs)
		for i := len(cgs) - 1; i >= 0; i-- {
			_ = syscall.Rmdir(cgs[i])
		}
	}
	if err := safeRemoveAll(e.dir); err != nil {
		t.Errorf("cleanup: %v", err)
	}
}

func describePids(pids []int) string {
	var parts []string
	for _, pid := range pids {
		cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
		parts = append(parts, fmt.Sprintf("%d (%s)", pid, strings.TrimSpace(strings.ReplaceAll(string(cmdline), "\x00", " "))))
	}
	return strings.Join(parts, ", ")
}

// cgroupsOf returns the cgroup directories (in the unified hierarchy) whose
// name contains one of ids, parents before children.
func cgroupsOf(ids []string) []string {
	if cgroup2Root == "" || len(ids) == 0 {
		return nil
	}
	var found []string
	_ = filepath.WalkDir(cgroup2Root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if strings.Count(strings.TrimPrefix(p, cgroup2Root), "/") > 6 {
			return filepath.SkipDir
		}
		for _, id := range ids {
			if strings.Contains(d.Name(), id) {
				found = append(found, p)
				break
			}
		}
		return nil
	})
	return found
}

// ---------------------------------------------------------------------------
// Running the runtime.

type result struct {
	args    []string
	stdout  string
	stderr  string
	code    int   // exit status; -1 if it did not exit normally
	err     error // could not start, or timed out
	elapsed time.Duration
}

func (r *result) ok() bool { return r.err == nil && r.code == 0 }

func (r *result) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "`%s` exited %d", strings.Join(r.args, " "), r.code)
	if r.err != nil {
		fmt.Fprintf(&b, " (%v)", r.err)
	}
	fmt.Fprintf(&b, " after %v", r.elapsed.Round(time.Millisecond))
	if s := strings.TrimSpace(r.stdout); s != "" {
		fmt.Fprintf(&b, "\n--- stdout:\n%s", s)
	}
	if s := strings.TrimSpace(r.stderr); s != "" {
		fmt.Fprintf(&b, "\n--- stderr:\n%s", s)
	}
	return b.String()
}

type opts struct {
	globals    []string // global flags after --root
	stdout     *os.File // default: a temporary file, read into result.stdout
	stderr     *os.File
	stdin      *os.File
	extraFiles []*os.File
	env        []string // added to the runtime's environment
	timeout    time.Duration
	noRoot     bool   // leave out --root
	bin        string // run this binary instead of hakoBin (a copy)
	dir        string // working directory of the runtime (default: the test's)
}

type bgCmd struct {
	e       *Env
	cmd     *exec.Cmd
	cancel  context.CancelFunc
	res     *result
	start   time.Time
	ownOut  *os.File
	ownErr  *os.File
	userOut *os.File
	userErr *os.File
	startEr error
	ctx     context.Context
	timeout time.Duration
}

// startHako starts the runtime with args and returns without waiting.
func (e *Env) startHako(o opts, args ...string) *bgCmd {
	e.t.Helper()
	full := []string{}
	if !o.noRoot && (e.as == nil || !e.as.defaultRoot) {
		full = append(full, "--root", e.Root)
	}
	full = append(full, o.globals...)
	full = append(full, args...)
	timeout := o.timeout
	if timeout == 0 {
		timeout = cmdTimeout
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	bin := hakoBin
	if o.bin != "" {
		bin = o.bin
	}
	cmd := exec.CommandContext(ctx, bin, full...)
	cmd.WaitDelay = 5 * time.Second
	cmd.Dir = o.dir
	cmd.Env = append(append(os.Environ(), "HAKO_ITEST="+e.mark), o.env...)
	cmd.ExtraFiles = o.extraFiles
	if e.as != nil {
		e.as.prepare(e, cmd, o)
	}
	b := &bgCmd{e: e, cmd: cmd, cancel: cancel, ctx: ctx, timeout: timeout, res: &result{args: append([]string{filepath.Base(cmd.Path) + e.as.suffix()}, full...)}}
	var err error
	if o.stdout != nil {
		cmd.Stdout, b.userOut = o.stdout, o.stdout
	} else {
		if b.ownOut, err = os.CreateTemp(e.dir, "stdout-"); err != nil {
			e.t.Fatal(err)
		}
		cmd.Stdout = b.ownOut
	}
	if o.stderr != nil {
		cmd.Stderr, b.userErr = o.stderr, o.stderr
	} else {
		if b.ownErr, err = os.CreateTemp(e.dir, "stderr-"); err != nil {
			e.t.Fatal(err)
		}
		cmd.Stderr = b.ownErr
	}
	if o.stdin != nil {
		cmd.Stdin = o.stdin
	}
	b.start = time.Now()
	b.startEr = startManaged(cmd)
	return b
}

// wait waits for the runtime to exit and returns its result.
func (b *bgCmd) wait() *result {
	defer b.cancel()
	r := b.res
	if b.startEr != nil {
		r.err, r.code = b.startEr, -1
	} else {
		err := waitManaged(b.cmd)
		r.elapsed = time.Since(b.start)
		r.code = -1
		if b.cmd.ProcessState != nil {
			r.code = b.cmd.ProcessState.ExitCode()
		}
		var exitErr *exec.ExitError
		if err != nil && !errors.As(err, &exitErr) {
			r.err = err
		}
		if b.ctx.Err() == context.DeadlineExceeded {
			r.err = fmt.Errorf("killed after %v timeout", b.timeout)
		}
	}
	read := func(own, user *os.File) string {
		f := own
		if f == nil {
			f = user
		}
		if f == nil {
			return ""
		}
		data, _ := os.ReadFile(f.Name())
		if own != nil {
			own.Close()
			os.Remove(own.Name())
		}
		return string(data)
	}
	r.stdout = read(b.ownOut, b.userOut)
	r.stderr = read(b.ownErr, b.userErr)
	return r
}

// hako runs the runtime with --root and args and returns the result.
func (e *Env) hako(args ...string) *result {
	e.t.Helper()
	return e.startHako(opts{}, args...).wait()
}

// hakoWith runs the runtime with options.
func (e *Env) hakoWith(o opts, args ...string) *result {
	e.t.Helper()
	return e.startHako(o, args...).wait()
}

// mustHako runs the runtime and fails the test unless it exits 0.
func (e *Env) mustHako(args ...string) *result {
	e.t.Helper()
	r := e.hako(args...)
	if !r.ok() {
		e.t.Fatalf("%s", r)
	}
	return r
}

// ---------------------------------------------------------------------------
// Bundles.

type Bundle struct {
	e    *Env
	Dir  string
	Spec *specs.Spec
}

// newBundle makes a bundle directory with the default spec (shared
// read-only rootfs), applies the mutators and writes config.json.
func (e *Env) newBundle(mutators ...func(*specs.Spec)) *Bundle {
	e.t.Helper()
	dir := e.tempDir("bundle")
	b := &Bundle{e: e, Dir: dir, Spec: defaultSpec(sharedRootfs, e.mark)}
	for _, m := range mutators {
		m(b.Spec)
	}
	b.save()
	return b
}

// save writes config.json.
func (b *Bundle) save() {
	b.e.t.Helper()
	data, err := json.MarshalIndent(b.Spec, "", "\t")
	if err != nil {
		b.e.t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
		b.e.t.Fatal(err)
	}
}

// sh sets the process to `sh -c script`.
func (b *Bundle) sh(script string) *Bundle {
	b.Spec.Process.Args = []string{"sh", "-c", script}
	return b
}

// privateRootfs gives the bundle its own writable copy of the rootfs at
// DIR/rootfs (root.path "rootfs", relative to the bundle) and returns its
// absolute path.
func (b *Bundle) privateRootfs() string {
	b.e.t.Helper()
	dst := filepath.Join(b.Dir, "rootfs")
	if err := copyTree(sharedRootfs, dst); err != nil {
		b.e.t.Fatal(err)
	}
	b.Spec.Root = &specs.Root{Path: "rootfs", Readonly: false}
	return dst
}

// copyTree copies a tree of directories, regular files and symlinks,
// keeping modes.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		target := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			if err := os.MkdirAll(target, 0o755); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm()|info.Mode()&(fs.ModeSticky))
		case info.Mode()&fs.ModeSymlink != 0:
			link, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(link, target)
		case info.Mode().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			if err := os.WriteFile(target, data, info.Mode().Perm()); err != nil {
				return err
			}
			return os.Chmod(target, info.Mode().Perm())
		}
		return nil
	})
}

// defaultSpec is the suite's base config, built in code: what `runc spec`
// generates (namespaces, mounts, masked and read-only paths, capabilities),
// with a read-only root at rootfs, no terminal, and the test's mark in the
// process environment.
func defaultSpec(rootfs, mark string) *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"sh", "-c", "true"},
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
				"HAKO_ITEST=" + mark,
			},
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  caps,
				Effective: caps,
				Permitted: caps,
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024}},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: rootfs, Readonly: true},
		Hostname: "hako",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts", Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm", Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue", Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs", Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup", Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Annotations: map[string]string{"org.hako.test": "integration"},
		Linux: &specs.Linux{
			Resources: &specs.LinuxResources{
				Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
			},
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.CgroupNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi", "/proc/asound", "/proc/kcore", "/proc/keys", "/proc/latency_stats",
				"/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug", "/sys/firmware", "/proc/scsi",
			},
			ReadonlyPaths: []string{"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys", "/proc/sysrq-trigger"},
		},
	}
}

// setNamespaces replaces the namespace list.
func setNamespaces(s *specs.Spec, types ...specs.LinuxNamespaceType) {
	s.Linux.Namespaces = nil
	for _, t := range types {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: t})
	}
}

// ---------------------------------------------------------------------------
// Containers.

// ctr is a container made by create.
type ctr struct {
	e      *Env
	id     string
	b      *Bundle
	outF   string // file the create command's stdout (and so the container's) went to
	errF   string
	create *result
}

// create runs `create --bundle B [extra] ID` with stdout and stderr going to
// files that stay readable afterwards (the container inherits them).
func (e *Env) create(b *Bundle, extra ...string) *ctr {
	e.t.Helper()
	return e.createID(b, e.newID(), extra...)
}

func (e *Env) createID(b *Bundle, id string, extra ...string) *ctr {
	e.t.Helper()
	return e.createOpts(b, id, opts{}, extra...)
}

// createOpts is createID with runtime options (stdout and stderr are
// replaced by the container's output files).
func (e *Env) createOpts(b *Bundle, id string, o opts, extra ...string) *ctr {
	e.t.Helper()
	b.save()
	out, err := os.CreateTemp(e.dir, "ctr-stdout-")
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	errF, err := os.CreateTemp(e.dir, "ctr-stderr-")
	if err != nil {
		e.t.Fatal(err)
	}
	defer errF.Close()
	args := append([]string{"create", "--bundle", b.Dir}, extra...)
	args = append(args, id)
	o.stdout, o.stderr = out, errF
	r := e.hakoWith(o, args...)
	return &ctr{e: e, id: id, b: b, outF: out.Name(), errF: errF.Name(), create: r}
}

// mustCreate is create that fails the test when create fails.
func (e *Env) mustCreate(b *Bundle, extra ...string) *ctr {
	e.t.Helper()
	c := e.create(b, extra...)
	if !c.create.ok() {
		e.t.Fatalf("create failed: %s", c.create)
	}
	return c
}

// output returns what the container wrote to its stdout so far.
func (c *ctr) output() string {
	data, _ := os.ReadFile(c.outF)
	return string(data)
}

func (c *ctr) errOutput() string {
	data, _ := os.ReadFile(c.errF)
	return string(data)
}

// mustStart starts the container.
func (c *ctr) mustStart() {
	c.e.t.Helper()
	c.e.mustHako("start", c.id)
}

// stateJSON is what `state` prints (runc's format).
type stateJSON struct {
	OCIVersion  string            `json:"ociVersion"`
	ID          string            `json:"id"`
	Pid         int               `json:"pid"`
	Status      string            `json:"status"`
	Bundle      string            `json:"bundle"`
	Rootfs      string            `json:"rootfs"`
	Created     time.Time         `json:"created"`
	Owner       string            `json:"owner"`
	Annotations map[string]string `json:"annotations"`
	raw         map[string]any
}

// state runs `state ID`; st is nil when it fails.
func (e *Env) state(id string) (*stateJSON, *result) {
	e.t.Helper()
	r := e.hako("state", id)
	if !r.ok() {
		return nil, r
	}
	var st stateJSON
	if err := json.Unmarshal([]byte(r.stdout), &st); err != nil {
		e.t.Fatalf("state %s: not JSON: %v\n%s", id, err, r)
	}
	_ = json.Unmarshal([]byte(r.stdout), &st.raw)
	return &st, r
}

func (e *Env) mustState(id string) *stateJSON {
	e.t.Helper()
	st, r := e.state(id)
	if st == nil {
		e.t.Fatalf("state: %s", r)
	}
	return st
}

// waitStatus polls `state` until the container has the status.
func (e *Env) waitStatus(id, want string) *stateJSON {
	e.t.Helper()
	deadline := time.Now().Add(statusTimeout)
	for {
		st, r := e.state(id)
		if st != nil && st.Status == want {
			return st
		}
		if time.Now().After(deadline) {
			if st != nil {
				e.t.Fatalf("container %s: status %q, want %q after %v", id, st.Status, want, statusTimeout)
			}
			e.t.Fatalf("container %s: want status %q: %s", id, want, r)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitOutput polls the container's stdout until it contains s.
func (c *ctr) waitOutput(s string) string {
	c.e.t.Helper()
	deadline := time.Now().Add(statusTimeout)
	for {
		out := c.output()
		if strings.Contains(out, s) {
			return out
		}
		if time.Now().After(deadline) {
			c.e.t.Fatalf("container %s: output never contained %q; stdout:\n%s\nstderr:\n%s", c.id, s, out, c.errOutput())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// runBundle runs `run --bundle B [extra] ID` in the foreground.
func (e *Env) runBundle(b *Bundle, extra ...string) (*result, string) {
	e.t.Helper()
	b.save()
	id := e.newID()
	args := append([]string{"run", "--bundle", b.Dir}, extra...)
	args = append(args, id)
	return e.hako(args...), id
}

// mustRun runs the bundle and returns its stdout; fails unless it exits 0.
func (e *Env) mustRun(b *Bundle) string {
	e.t.Helper()
	r, _ := e.runBundle(b)
	if !r.ok() {
		e.t.Fatalf("run failed: %s", r)
	}
	return r.stdout
}

// ---------------------------------------------------------------------------
// Parsing what containers print.

// sections splits output at lines "@@name" into a map name -> text.
func sections(out string) map[string]string {
	m := map[string]string{}
	cur := ""
	var b strings.Builder
	flush := func() {
		if cur != "" {
			m[cur] = b.String()
		}
		b.Reset()
	}
	for _, l := range strings.SplitAfter(out, "\n") {
		if strings.HasPrefix(l, "@@") {
			flush()
			cur = strings.TrimSpace(l[2:])
			continue
		}
		b.WriteString(l)
	}
	flush()
	return m
}

// parseKV parses "Key:\tvalue" lines (/proc/self/status).
func parseKV(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(l, ":")
		if ok {
			m[strings.TrimSpace(k)] = strings.TrimSpace(v)
		}
	}
	return m
}

// fieldsEqual compares whitespace-separated fields.
func fieldsEqual(a, b string) bool {
	return strings.Join(strings.Fields(a), " ") == strings.Join(strings.Fields(b), " ")
}

func findMount(mounts []mountEntry, mountPoint string) (mountEntry, bool) {
	// The last one wins: it is the one on top.
	for i := len(mounts) - 1; i >= 0; i-- {
		if mounts[i].MountPoint == mountPoint {
			return mounts[i], true
		}
	}
	return mountEntry{}, false
}

func mountIndex(mounts []mountEntry, mountPoint string) int {
	for i, m := range mounts {
		if m.MountPoint == mountPoint {
			return i
		}
	}
	return -1
}

// capBits are the capability numbers of linux/capability.h.
var capBits = map[string]uint{
	"CAP_CHOWN": 0, "CAP_DAC_OVERRIDE": 1, "CAP_DAC_READ_SEARCH": 2, "CAP_FOWNER": 3,
	"CAP_FSETID": 4, "CAP_KILL": 5, "CAP_SETGID": 6, "CAP_SETUID": 7, "CAP_SETPCAP": 8,
	"CAP_LINUX_IMMUTABLE": 9, "CAP_NET_BIND_SERVICE": 10, "CAP_NET_BROADCAST": 11,
	"CAP_NET_ADMIN": 12, "CAP_NET_RAW": 13, "CAP_IPC_LOCK": 14, "CAP_IPC_OWNER": 15,
	"CAP_SYS_MODULE": 16, "CAP_SYS_RAWIO": 17, "CAP_SYS_CHROOT": 18, "CAP_SYS_PTRACE": 19,
	"CAP_SYS_PACCT": 20, "CAP_SYS_ADMIN": 21, "CAP_SYS_BOOT": 22, "CAP_SYS_NICE": 23,
	"CAP_SYS_RESOURCE": 24, "CAP_SYS_TIME": 25, "CAP_SYS_TTY_CONFIG": 26, "CAP_MKNOD": 27,
	"CAP_LEASE": 28, "CAP_AUDIT_WRITE": 29, "CAP_AUDIT_CONTROL": 30, "CAP_SETFCAP": 31,
	"CAP_MAC_OVERRIDE": 32, "CAP_MAC_ADMIN": 33, "CAP_SYSLOG": 34, "CAP_WAKE_ALARM": 35,
	"CAP_BLOCK_SUSPEND": 36, "CAP_AUDIT_READ": 37, "CAP_PERFMON": 38, "CAP_BPF": 39,
	"CAP_CHECKPOINT_RESTORE": 40,
}

func capMask(names ...string) uint64 {
	var m uint64
	for _, n := range names {
		bit, ok := capBits[n]
		if !ok {
			panic("unknown capability " + n)
		}
		m |= 1 << bit
	}
	return m
}

func capNames(mask uint64) string {
	var names []string
	for n, bit := range capBits {
		if mask&(1<<bit) != 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return fmt.Sprintf("%#x %v", mask, names)
}

func parseHex(t *testing.T, s string) uint64 {
	t.Helper()
	v, err := strconv.ParseUint(strings.TrimSpace(s), 16, 64)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// nsLinksScript prints "NAME LINK" for every namespace of the shell.
const nsLinksScript = `for n in cgroup ipc mnt net pid time user uts; do echo "$n $(readlink /proc/$$/ns/$n)"; done`

func parseNSLinks(s string) map[string]string {
	m := map[string]string{}
	for _, l := range strings.Split(s, "\n") {
		f := strings.Fields(l)
		if len(f) == 2 {
			m[f[0]] = f[1]
		}
	}
	return m
}

// dirEntries lists a directory's names (sorted); nil if unreadable.
func dirEntries(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	return names
}

// snapshot records path, mode and size of every file under dir.
func snapshot(t *testing.T, dir string) map[string]string {
	t.Helper()
	m := map[string]string{}
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		info, err := d.Info()
		if err != nil {
			return err
		}
		size := info.Size()
		if info.IsDir() {
			size = 0
		}
		m[p] = fmt.Sprintf("%v %d", info.Mode(), size)
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func diffSnapshots(before, after map[string]string) []string {
	var d []string
	for p, v := range before {
		if w, ok := after[p]; !ok {
			d = append(d, "removed "+p)
		} else if w != v {
			d = append(d, fmt.Sprintf("changed %s: %s -> %s", p, v, w))
		}
	}
	for p := range after {
		if _, ok := before[p]; !ok {
			d = append(d, "added "+p)
		}
	}
	sort.Strings(d)
	return d
}
