package integration

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The rootless tier runs the runtime as real non-root users, from the same
// root test process as the rest of the suite.
//
// Set-up (once, on the first rootless test; idempotent, so a machine that
// already has the users keeps them):
//   - two users, hakotest and hakotest2 (`useradd -m -s /bin/sh`), each with
//     subordinate ranges in /etc/subuid and /etc/subgid (Debian's useradd
//     adds them; if not, `usermod --add-subuids/--add-subgids` adds 65536
//     ids past every range in the files);
//   - /run/user/UID (0700, owned by the user): there is no logind;
//   - a copy of the runtime in a root-owned directory every user can reach
//     (the repository may not be), so the users cannot write it;
//   - newuidmap and newgidmap must be setuid root on the standard PATH
//     (package uidmap, installed by test/deps.sh).
//
// Each runtime call runs with the user's uid, gid and groups (the
// equivalent of `setpriv --reuid --regid --init-groups`), a clean
// environment (HOME, USER, LOGNAME, PATH, XDG_RUNTIME_DIR=/run/user/UID and
// the test's mark) and, unless the test says otherwise, no --root: the
// default root, $XDG_RUNTIME_DIR/hako.
//
// Two modes:
//   - multi: PATH is the standard one, with the setuid newuidmap and
//     newgidmap: `spec --rootless` maps the user to 0 and its subordinate
//     ranges to 1..N, and the runtime writes the maps through the helpers;
//   - single: PATH is an empty directory, so the runtime does not find the
//     helpers (it looks them up in $PATH): `spec --rootless` warns and maps
//     only the user's own ids, which the runtime writes itself.
//
// Tear-down (rootlessTeardown, from TestMain): containers of this run left
// in the users' state roots are deleted (as the user) and reported, the
// now empty $XDG_RUNTIME_DIR/hako is removed, and /run/user/UID too when
// the set-up made it. The users stay.

const (
	rootlessUserA = "hakotest"
	rootlessUserB = "hakotest2"
	// stdPath is the PATH of the multi mode: where Debian installs
	// newuidmap and newgidmap.
	stdPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
)

type rlMode string

const (
	modeMulti  rlMode = "multi"
	modeSingle rlMode = "single"
)

var rlModes = []rlMode{modeMulti, modeSingle}

type idRange struct{ start, size uint32 }

type testUser struct {
	name           string
	uid, gid       uint32
	groups         []uint32
	home           string
	runDir         string // $XDG_RUNTIME_DIR: /run/user/UID
	subUID, subGID []idRange
	madeRunDir     bool
}

// stateRoot is the user's default --root.
func (u *testUser) stateRoot() string { return filepath.Join(u.runDir, "hako") }

func (u *testUser) cred() *syscall.Credential {
	return &syscall.Credential{Uid: u.uid, Gid: u.gid, Groups: u.groups}
}

// rootlessMaps are the maps `spec --rootless` must write for the user in a
// mode: the user's id to 0, and in the multi mode the subordinate ranges
// to 1, 2, ... in order.
func (u *testUser) rootlessMaps(own uint32, sub []idRange, mode rlMode) []specs.LinuxIDMapping {
	m := []specs.LinuxIDMapping{{ContainerID: 0, HostID: own, Size: 1}}
	if mode == modeMulti {
		next := uint32(1)
		for _, r := range sub {
			m = append(m, specs.LinuxIDMapping{ContainerID: next, HostID: r.start, Size: r.size})
			next += r.size
		}
	}
	return m
}

func (u *testUser) uidMaps(mode rlMode) []specs.LinuxIDMapping {
	return u.rootlessMaps(u.uid, u.subUID, mode)
}

func (u *testUser) gidMaps(mode rlMode) []specs.LinuxIDMapping {
	return u.rootlessMaps(u.gid, u.subGID, mode)
}

// rlWorld is what the set-up made.
type rlWorld struct {
	a, b       *testUser
	bin        string // the runtime: a root-owned copy every user can run
	hiddenPath string // PATH of the single mode: an empty directory
	err        error
}

var (
	rlOnce sync.Once
	rl     rlWorld
	// rlSetUp is set once the set-up ran (so the tear-down has work).
	rlSetUp bool
)

// rootless returns the set-up of the tier, making it on the first call;
// it fails the test if the set-up failed.
func rootless(t *testing.T) *rlWorld {
	t.Helper()
	if skipAll != "" {
		t.Skip(skipAll)
	}
	hakoOnly(t, "spec --rootless maps only the user's own ids and writes terminal: true; other error wording")
	rlOnce.Do(func() {
		rlSetUp = true
		rl.err = setupRootless()
	})
	if rl.err != nil {
		t.Fatalf("rootless set-up: %v", rl.err)
	}
	return &rl
}

func setupRootless() error {
	// The users must reach the bundles under baseDir.
	for d := baseDir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return err
		}
		if fi.Mode().Perm()&0o001 == 0 {
			return fmt.Errorf("%s (mode %v) is not searchable by other users, so the test users cannot reach %s: set HAKO_TEST_TMPDIR (or TMPDIR) to a directory under a world-searchable path such as /tmp", d, fi.Mode().Perm(), baseDir)
		}
		if d == filepath.Dir(d) {
			break
		}
	}
	dir := filepath.Join(baseDir, "rootless")
	if err := os.Mkdir(dir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(dir, 0o755); err != nil {
		return err
	}
	for _, h := range []string{"newuidmap", "newgidmap"} {
		p, err := lookIn(stdPath, h)
		if err != nil {
			return fmt.Errorf("%s not on %s: install uidmap (test/deps.sh)", h, stdPath)
		}
		var st syscall.Stat_t
		if err := syscall.Stat(p, &st); err != nil {
			return err
		}
		if st.Mode&syscall.S_ISUID == 0 || st.Uid != 0 {
			return fmt.Errorf("%s is not setuid root (mode %o, uid %d): reinstall uidmap", p, st.Mode, st.Uid)
		}
	}
	rl.hiddenPath = filepath.Join(dir, "path-without-uidmap")
	if err := os.Mkdir(rl.hiddenPath, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(rl.hiddenPath, 0o755); err != nil {
		return err
	}
	binDir := filepath.Join(dir, "bin")
	if err := os.Mkdir(binDir, 0o755); err != nil {
		return err
	}
	if err := os.Chmod(binDir, 0o755); err != nil {
		return err
	}
	rl.bin = filepath.Join(binDir, filepath.Base(hakoBin))
	if err := copyFileErr(hakoBin, rl.bin, 0o755); err != nil {
		return err
	}
	var err error
	if rl.a, err = ensureTestUser(rootlessUserA); err != nil {
		return err
	}
	if rl.b, err = ensureTestUser(rootlessUserB); err != nil {
		return err
	}
	fmt.Printf("integration: rootless tier: users %s (uid %d, subuids %v) and %s (uid %d), runtime %s\n",
		rl.a.name, rl.a.uid, rl.a.subUID, rl.b.name, rl.b.uid, rl.bin)
	return nil
}

func copyFileErr(src, dst string, mode os.FileMode) error {
	data, err := os.ReadFile(src)
	if err != nil {
		return err
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		return err
	}
	return os.Chmod(dst, mode)
}

// lookIn finds an executable in a PATH-style list of directories.
func lookIn(path, name string) (string, error) {
	for _, d := range filepath.SplitList(path) {
		p := filepath.Join(d, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("%s not found in %s", name, path)
}

// ensureTestUser makes the user (if missing), its subordinate ranges (if
// missing) and its runtime directory.
func ensureTestUser(name string) (*testUser, error) {
	pw, err := user.Lookup(name)
	if err != nil {
		var unknown user.UnknownUserError
		if !errors.As(err, &unknown) {
			return nil, err
		}
		useradd, lerr := lookIn(stdPath, "useradd")
		if lerr != nil {
			return nil, lerr
		}
		out, aerr := runManaged(useradd, "-m", "-s", "/bin/sh", name)
		if pw, err = user.Lookup(name); err != nil { // a concurrent run may have made it
			return nil, fmt.Errorf("useradd %s: %v %s", name, aerr, out)
		}
		fmt.Printf("integration: rootless tier: created user %s\n", name)
	}
	uid, err1 := strconv.ParseUint(pw.Uid, 10, 32)
	gid, err2 := strconv.ParseUint(pw.Gid, 10, 32)
	if err1 != nil || err2 != nil || uid == 0 {
		return nil, fmt.Errorf("user %s: bad ids %s:%s", name, pw.Uid, pw.Gid)
	}
	u := &testUser{name: name, uid: uint32(uid), gid: uint32(gid), home: pw.HomeDir}
	gids, err := pw.GroupIds()
	if err != nil {
		return nil, fmt.Errorf("groups of %s: %w", name, err)
	}
	for _, g := range gids {
		if n, err := strconv.ParseUint(g, 10, 32); err == nil {
			u.groups = append(u.groups, uint32(n))
		}
	}
	if fi, err := os.Stat(u.home); err != nil || !fi.IsDir() {
		u.home = "/"
	}
	for _, f := range []struct {
		file, flag string
		dst        *[]idRange
	}{{"/etc/subuid", "--add-subuids", &u.subUID}, {"/etc/subgid", "--add-subgids", &u.subGID}} {
		rs, err := subRanges(f.file, name, u.uid)
		if err != nil {
			return nil, err
		}
		if len(rs) == 0 {
			start, err := freeSubStart(f.file)
			if err != nil {
				return nil, err
			}
			usermod, err := lookIn(stdPath, "usermod")
			if err != nil {
				return nil, err
			}
			if out, err := runManaged(usermod, f.flag, fmt.Sprintf("%d-%d", start, start+65535), name); err != nil {
				return nil, fmt.Errorf("%v %s", err, out)
			}
			fmt.Printf("integration: rootless tier: gave %s the %s range %d:65536\n", name, f.file, start)
			if rs, err = subRanges(f.file, name, u.uid); err != nil {
				return nil, err
			}
			if len(rs) == 0 {
				return nil, fmt.Errorf("usermod %s did not add a range to %s for %s", f.flag, f.file, name)
			}
		}
		*f.dst = rs
	}

	// The runtime directory logind would make.
	u.runDir = fmt.Sprintf("/run/user/%d", u.uid)
	if err := os.MkdirAll("/run/user", 0o755); err != nil {
		return nil, err
	}
	if err := os.Mkdir(u.runDir, 0o700); err == nil {
		u.madeRunDir = true
	} else if !errors.Is(err, fs.ErrExist) {
		return nil, err
	}
	if err := os.Chown(u.runDir, int(u.uid), int(u.gid)); err != nil {
		return nil, err
	}
	if err := os.Chmod(u.runDir, 0o700); err != nil {
		return nil, err
	}
	return u, nil
}

// subRanges returns the ranges of a subordinate id file for a user (by
// name or uid), in file order.
func subRanges(file, name string, uid uint32) ([]idRange, error) {
	var out []idRange
	err := eachSubLine(file, func(owner string, start, size uint64) {
		if owner == name || owner == strconv.FormatUint(uint64(uid), 10) {
			out = append(out, idRange{uint32(start), uint32(size)})
		}
	})
	return out, err
}

// freeSubStart is the first id past every range of the file (at least
// 100000, as Debian's SUB_UID_MIN).
func freeSubStart(file string) (uint64, error) {
	next := uint64(100000)
	err := eachSubLine(file, func(_ string, start, size uint64) {
		next = max(next, start+size)
	})
	return next, err
}

func eachSubLine(file string, fn func(owner string, start, size uint64)) error {
	f, err := os.Open(file)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(strings.TrimSpace(sc.Text()), ":")
		if len(fields) != 3 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		start, err1 := strconv.ParseUint(fields[1], 10, 32)
		size, err2 := strconv.ParseUint(fields[2], 10, 32)
		if err1 == nil && err2 == nil && size > 0 {
			fn(fields[0], start, size)
		}
	}
	return sc.Err()
}

// rootlessTeardown runs after the suite: it deletes (as the user) the
// containers this run left in the users' state roots and reports them,
// then removes what the set-up made for the run.
func rootlessTeardown() error {
	if !rlSetUp {
		return nil
	}
	var problems []string
	for _, u := range []*testUser{rl.a, rl.b} {
		if u == nil {
			continue
		}
		root := u.stateRoot()
		for _, name := range dirEntries(root) {
			data, err := os.ReadFile(filepath.Join(root, name, "state.json"))
			var st struct {
				Bundle string `json:"bundle"`
			}
			if err != nil || json.Unmarshal(data, &st) != nil || !strings.HasPrefix(st.Bundle, baseDir+"/") {
				continue // not this run's (another run on the machine)
			}
			problems = append(problems, fmt.Sprintf("container %s of %s left in %s", name, u.name, root))
			cmd := exec.Command(rl.bin, "--root", root, "delete", "--force", name)
			cmd.Dir = "/"
			cmd.Env = []string{"PATH=" + stdPath, "HOME=" + u.home, "XDG_RUNTIME_DIR=" + u.runDir}
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: u.cred()}
			cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
			if err := startManaged(cmd); err != nil {
				problems = append(problems, err.Error())
			} else if err := waitManaged(cmd); err != nil {
				problems = append(problems, fmt.Sprintf("delete --force %s as %s: %v", name, u.name, err))
			}
		}
		// The seccomp cache (.cache) goes too once no container is left;
		// the root itself only when empty: another run may be using it.
		if ents := dirEntries(root); len(ents) == 1 && ents[0] == ".cache" {
			_ = os.RemoveAll(filepath.Join(root, ".cache"))
		}
		_ = os.Remove(root)
		if u.madeRunDir {
			_ = os.Remove(u.runDir)
		}
	}
	if len(problems) > 0 {
		return errors.New(strings.Join(problems, "; "))
	}
	return nil
}

// ---------------------------------------------------------------------------
// Running the runtime as a user.

// runAs makes the runtime calls of an Env run as a user (see Env.as).
type runAs struct {
	u    *testUser
	mode rlMode
	// defaultRoot: no --root unless the test passes one (the runtime then
	// uses $XDG_RUNTIME_DIR/hako, which is Env.Root).
	defaultRoot bool
}

func (a *runAs) suffix() string {
	if a == nil {
		return ""
	}
	return fmt.Sprintf("[as %s, %s]", a.u.name, a.mode)
}

func (a *runAs) path() string {
	if a.mode == modeSingle {
		return rl.hiddenPath
	}
	return stdPath
}

// prepare turns the command into one that runs as the user: its binary
// (the users' copy unless opts.bin), a clean environment, its credentials.
// In opts.env, NAME=VALUE sets (or replaces) a variable and a bare NAME
// removes it.
func (a *runAs) prepare(e *Env, cmd *exec.Cmd, o opts) {
	bin := rl.bin
	if o.bin != "" {
		bin = o.bin
	}
	cmd.Path, cmd.Args[0] = bin, bin
	a.apply(e, cmd, o.env)
	if o.dir != "" {
		cmd.Dir = o.dir
	}
}

// apply gives cmd the user's credentials, environment (with extra, as
// opts.env) and home directory as working directory.
func (a *runAs) apply(e *Env, cmd *exec.Cmd, extra []string) {
	env := []string{
		"HOME=" + a.u.home, "USER=" + a.u.name, "LOGNAME=" + a.u.name, "SHELL=/bin/sh",
		"PATH=" + a.path(), "XDG_RUNTIME_DIR=" + a.u.runDir, "HAKO_ITEST=" + e.mark,
	}
	for _, kv := range extra {
		name, _, set := strings.Cut(kv, "=")
		env = slices.DeleteFunc(env, func(x string) bool { return strings.HasPrefix(x, name+"=") })
		if set {
			env = append(env, kv)
		}
	}
	cmd.Env = env
	cmd.Dir = a.u.home
	cmd.SysProcAttr = &syscall.SysProcAttr{Credential: a.u.cred()}
}

// newUserEnv is newEnv whose runtime calls run as u in a mode, with the
// default state root (Env.Root is $XDG_RUNTIME_DIR/hako, which the
// cleanup checks).
func newUserEnv(t *testing.T, u *testUser, mode rlMode) *Env {
	t.Helper()
	e := newEnv(t)
	e.Root = u.stateRoot()
	e.as = &runAs{u: u, mode: mode, defaultRoot: true}
	return e
}

// userDir makes a directory in the test's directory owned by the Env's
// user (mode 0755).
func (e *Env) userDir(name string) string {
	e.t.Helper()
	d := e.tempDir(name)
	if err := os.Chown(d, int(e.as.u.uid), int(e.as.u.gid)); err != nil {
		e.t.Fatal(err)
	}
	return d
}

// chownTree gives a tree to uid:gid (symlinks themselves).
func chownTree(dir string, uid, gid uint32) error {
	return filepath.WalkDir(dir, func(p string, _ fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		return os.Lchown(p, int(uid), int(gid))
	})
}

// rawSpecBundle makes a bundle as a user would: a directory of the user's
// with a private copy of the busybox rootfs at rootfs/ (owned by the
// user), and the config.json `hako spec --rootless` writes, run as the
// user in the Env's mode. It fails the test unless spec succeeds with the
// mode's mapping (and, in the single mode, a warning). Nothing else is
// changed: Spec is the config as written.
func (e *Env) rawSpecBundle() (*Bundle, *result) {
	e.t.Helper()
	u, mode := e.as.u, e.as.mode
	dir := e.tempDir("bundle")
	if err := copyTree(sharedRootfs, filepath.Join(dir, "rootfs")); err != nil {
		e.t.Fatal(err)
	}
	if err := chownTree(dir, u.uid, u.gid); err != nil {
		e.t.Fatal(err)
	}
	r := e.hakoWith(opts{dir: dir}, "spec", "--rootless")
	if !r.ok() {
		e.t.Fatalf("spec --rootless as %s: %s", u.name, r)
	}
	data, err := os.ReadFile(filepath.Join(dir, "config.json"))
	if err != nil {
		e.t.Fatalf("spec --rootless wrote no config.json: %v\n%s", err, r)
	}
	var s specs.Spec
	if err := json.Unmarshal(data, &s); err != nil {
		e.t.Fatalf("config.json of spec --rootless: %v", err)
	}
	if s.Linux == nil || !mapsEqual(s.Linux.UIDMappings, u.uidMaps(mode)) || !mapsEqual(s.Linux.GIDMappings, u.gidMaps(mode)) {
		var um, gm []specs.LinuxIDMapping
		if s.Linux != nil {
			um, gm = s.Linux.UIDMappings, s.Linux.GIDMappings
		}
		e.t.Fatalf("spec --rootless as %s (%s mode): uidMappings %v gidMappings %v, want %v and %v\n%s",
			u.name, mode, um, gm, u.uidMaps(mode), u.gidMaps(mode), r)
	}
	return &Bundle{e: e, Dir: dir, Spec: &s}, r
}

// specBundle is rawSpecBundle with the test's mark in the process
// environment (so that leftover processes are found) and the mutators
// applied; config.json is written back.
func (e *Env) specBundle(mutators ...func(*specs.Spec)) *Bundle {
	e.t.Helper()
	b, _ := e.rawSpecBundle()
	b.Spec.Process.Env = append(b.Spec.Process.Env, "HAKO_ITEST="+e.mark)
	for _, m := range mutators {
		m(b.Spec)
	}
	b.save()
	return b
}

func mapsEqual(a, b []specs.LinuxIDMapping) bool {
	return slices.Equal(a, b)
}

// renderMaps is a mapping as /proc/PID/uid_map shows it (fields only).
func renderMaps(m []specs.LinuxIDMapping) string {
	var lines []string
	for _, x := range m {
		lines = append(lines, fmt.Sprintf("%d %d %d", x.ContainerID, x.HostID, x.Size))
	}
	return strings.Join(lines, "\n")
}

// normMaps normalizes the whitespace of a /proc/PID/uid_map text.
func normMaps(s string) string {
	var lines []string
	for _, l := range strings.Split(strings.TrimSpace(s), "\n") {
		if f := strings.Fields(l); len(f) > 0 {
			lines = append(lines, strings.Join(f, " "))
		}
	}
	return strings.Join(lines, "\n")
}

// userConsoleSocket is consoleSocket that the Env's user can connect to.
func (e *Env) userConsoleSocket() *consoleRecv {
	e.t.Helper()
	cr := e.consoleSocket()
	for _, p := range []string{filepath.Dir(cr.path), cr.path} {
		if err := os.Chown(p, int(e.as.u.uid), int(e.as.u.gid)); err != nil {
			e.t.Fatal(err)
		}
	}
	return cr
}

// expectNoneLeft checks, after a failed create as a user, that nothing of
// the container is left: no state directory for the ID in the state root,
// no process carrying the test's mark, no mount under the test's
// directory.
func (e *Env) expectNoneLeft(id string) {
	t := e.t
	t.Helper()
	if _, err := os.Lstat(filepath.Join(e.Root, id)); err == nil {
		t.Errorf("state directory %s left behind", filepath.Join(e.Root, id))
	}
	if mps := mountsUnder(e.dir); len(mps) > 0 {
		t.Errorf("mounts left: %v", mps)
	}
	if pids := processesMarked(e.mark); len(pids) > 0 {
		t.Errorf("processes left: %s", describePids(pids))
	}
}

// hostOwner returns the host uid and gid of a file.
func hostOwner(t *testing.T, path string) (uint32, uint32) {
	t.Helper()
	fi, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	st := fi.Sys().(*syscall.Stat_t)
	return st.Uid, st.Gid
}

// hostIDsOf returns the real uid and gid of a host process (first fields
// of Uid: and Gid: in /proc/PID/status).
func hostIDsOf(t *testing.T, pid int) (string, string) {
	t.Helper()
	st := procStatusOf(t, pid)
	uid, gid := strings.Fields(st["Uid"]), strings.Fields(st["Gid"])
	if len(uid) == 0 || len(gid) == 0 {
		t.Fatalf("status of %d: Uid %q Gid %q", pid, st["Uid"], st["Gid"])
	}
	return strings.Join(uid, " "), strings.Join(gid, " ")
}

// fileMode is the mode of fi, or "missing".
func fileMode(fi fs.FileInfo) string {
	if fi == nil {
		return "missing"
	}
	return fi.Mode().String()
}

func repeat(s string, n int) string {
	return strings.TrimSpace(strings.Repeat(s+" ", n))
}

func itoa[T ~uint32 | ~int](v T) string { return strconv.FormatInt(int64(v), 10) }
