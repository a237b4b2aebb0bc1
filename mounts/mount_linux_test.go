package mounts

// Tests of the real mount paths. They need root; each scenario runs in a
// re-executed copy of the test binary inside a new mount namespace (made
// private by the Go runtime before the exec), so every mount disappears
// with that process. The child reports on stdout ("FAIL: ..." lines) and
// through its exit code.

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const (
	childEnv  = "HAKO_MOUNTS_TEST_CHILD"
	baseEnv   = "HAKO_MOUNTS_TEST_BASE"
	lockedEnv = "HAKO_MOUNTS_TEST_LOCKED"
)

func TestMain(m *testing.M) {
	if s := os.Getenv(childEnv); s != "" {
		os.Exit(runChild(s, os.Getenv(baseEnv)))
	}
	os.Exit(m.Run())
}

// runScenario runs scenario in a child in a new mount namespace and
// returns its output; a failing child fails the test.
func runScenario(t *testing.T, scenario, base string) string {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), childEnv+"="+scenario, baseEnv+"="+base)
	cmd.SysProcAttr = &syscall.SysProcAttr{Unshareflags: syscall.CLONE_NEWNS, Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	t.Logf("%s:\n%s", scenario, out.String())
	if err != nil {
		t.Errorf("scenario %s: %v", scenario, err)
	}
	return out.String()
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
}

// hostMountsUnder lists the mount points of our (the host's) mount
// namespace at or below dir.
func hostMountsUnder(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, m := range readMountinfo(t.Fatalf) {
		if m.point == dir || strings.HasPrefix(m.point, dir+"/") {
			out = append(out, m.point)
		}
	}
	return out
}

func TestPrepareRoot(t *testing.T) {
	needRoot(t)
	for _, sc := range []string{"full", "ro-shared", "nopivot", "errors"} {
		t.Run(sc, func(t *testing.T) {
			base := t.TempDir()
			runScenario(t, sc, base)
			checkHostSide(t, base)
		})
	}
}

func TestUserNamespace(t *testing.T) {
	needRoot(t)
	base := t.TempDir()
	out := runScenario(t, "userns-outer", base)
	if n := strings.Count(out, "PASS"); n != 3 { // two inner runs and the outer one
		t.Errorf("%d of 3 runs passed", n)
	}
	checkHostSide(t, base)
	checkHostSide(t, filepath.Join(base, "rootless"))
}

// TestDevNullSwapped plants a /dev/null that is not the null device after
// Prepare (as a hook or a racing container process could) and checks that
// Finalize refuses to mask with it.
func TestDevNullSwapped(t *testing.T) {
	needRoot(t)
	corePattern, err := os.ReadFile("/proc/sys/kernel/core_pattern")
	if err != nil {
		t.Fatal(err)
	}
	for _, sc := range []string{"devnull-hostlink", "devnull-corepattern", "devnull-regular"} {
		t.Run(sc, func(t *testing.T) {
			base := t.TempDir()
			out := runScenario(t, sc, base)
			if !strings.Contains(out, "refusing to mask with /dev/null") {
				t.Errorf("no refusal reported")
			}
			checkHostSide(t, base)
		})
	}
	if now, _ := os.ReadFile("/proc/sys/kernel/core_pattern"); !bytes.Equal(now, corePattern) {
		t.Errorf("core_pattern changed: %q -> %q", corePattern, now)
	}
}

// checkHostSide verifies that the host saw nothing of a scenario: no mount
// under base in our namespace, the outside directories still empty, the
// host files unchanged.
func checkHostSide(t *testing.T, base string) {
	t.Helper()
	if ms := hostMountsUnder(t, base); len(ms) > 0 {
		t.Errorf("mounts leaked into the host namespace: %v", ms)
	}
	for _, d := range []string{"outside", "outside2"} {
		ents, err := os.ReadDir(filepath.Join(base, d))
		if err != nil {
			t.Errorf("%s: %v", d, err)
		} else if len(ents) > 0 {
			t.Errorf("%s/%s was written to: %v", base, d, ents)
		}
	}
	if b, err := os.ReadFile(filepath.Join(base, "hostfile")); err != nil || string(b) != "host file\n" {
		t.Errorf("host file changed: %q %v", b, err)
	}
}

// ---- child side ----

type checker struct {
	failed bool
}

func (c *checker) errorf(format string, args ...any) {
	c.failed = true
	fmt.Printf("FAIL: "+format+"\n", args...)
}

func (c *checker) fatalf(format string, args ...any) {
	fmt.Printf("FAIL: "+format+"\n", args...)
	os.Exit(1)
}

func (c *checker) logf(format string, args ...any) {
	fmt.Printf(format+"\n", args...)
}

func (c *checker) must(err error, what string) {
	if err != nil {
		c.fatalf("%s: %v", what, err)
	}
}

func runChild(scenario, base string) int {
	c := &checker{}
	switch scenario {
	case "full":
		childFull(c, base)
	case "ro-shared":
		childROShared(c, base)
	case "nopivot":
		childNoPivot(c, base)
	case "errors":
		childErrors(c, base)
	case "userns-outer":
		childUsernsOuter(c, base)
	case "userns-inner":
		childUsernsInner(c, base)
	case "devnull-hostlink", "devnull-corepattern", "devnull-regular":
		childDevNull(c, base, scenario)
	default:
		c.fatalf("unknown scenario %q", scenario)
	}
	if c.failed {
		return 1
	}
	c.logf("PASS")
	return 0
}

// buildRootfs makes base/rootfs (busybox, files to mask, to copy up, hostile
// symlinks) and the host-side files and directories the scenarios use.
func buildRootfs(c *checker, base string) string {
	rootfs := filepath.Join(base, "rootfs")
	for _, d := range []string{"bin", "etc/rodir", "data/sub", "secretdir", "proc", "dev"} {
		c.must(os.MkdirAll(filepath.Join(rootfs, d), 0o755), "mkdir")
	}
	for _, d := range []string{"outside", "outside2", "hostsrc/sub"} {
		c.must(os.MkdirAll(filepath.Join(base, d), 0o755), "mkdir")
	}
	files := []struct {
		path    string
		content string
		mode    os.FileMode
	}{
		{"rootfs/etc/maskme", "secret\n", 0o644},
		{"rootfs/etc/rodir/file", "ro\n", 0o644},
		{"rootfs/secretdir/file", "secret\n", 0o600},
		{"rootfs/data/a", "copied\n", 0o640},
		{"rootfs/data/sub/b", "deep\n", 0o600},
		{"hostsrc/hello", "hello\n", 0o644},
		{"hostsrc/sub/x", "x\n", 0o644},
		{"hostfile", "host file\n", 0o644},
	}
	for _, f := range files {
		p := filepath.Join(base, f.path)
		c.must(os.WriteFile(p, []byte(f.content), f.mode), "write "+f.path)
		c.must(os.Chmod(p, f.mode), "chmod "+f.path)
	}
	c.must(os.Chown(filepath.Join(rootfs, "data/a"), 1000, 1000), "chown")
	c.must(os.Chmod(filepath.Join(rootfs, "data"), 0o751), "chmod data")
	c.must(os.Symlink("a", filepath.Join(rootfs, "data/link")), "symlink")
	// Hostile destinations: an absolute symlink to a host directory and a
	// .. chain to another.
	c.must(os.Symlink(filepath.Join(base, "outside"), filepath.Join(rootfs, "evil")), "symlink evil")
	c.must(os.Symlink(strings.Repeat("../", 20)+strings.TrimPrefix(filepath.Join(base, "outside2"), "/"),
		filepath.Join(rootfs, "evil2")), "symlink evil2")
	if bb, err := os.ReadFile("/bin/busybox"); err == nil {
		c.must(os.WriteFile(filepath.Join(rootfs, "bin/busybox"), bb, 0o755), "copy busybox")
	}
	return rootfs
}

func mnt(typ, src, dst string, opts ...string) specs.Mount {
	return specs.Mount{Type: typ, Source: src, Destination: dst, Options: opts}
}

func baseMounts() []specs.Mount {
	return []specs.Mount{
		mnt("proc", "proc", "/proc", "nosuid", "noexec", "nodev"),
		mnt("tmpfs", "tmpfs", "/dev", "nosuid", "strictatime", "mode=755", "size=65536k"),
	}
}

func fileMode(m os.FileMode) *os.FileMode { return &m }
func id(v uint32) *uint32                 { return &v }

func childFull(c *checker, base string) {
	rootfs := buildRootfs(c, base)
	cfg := &RootfsConfig{
		Rootfs: rootfs,
		Mounts: append(baseMounts(),
			mnt("devpts", "devpts", "/dev/pts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
			mnt("tmpfs", "shm", "/dev/shm", "nosuid", "noexec", "nodev", "mode=1777", "size=65536k"),
			mnt("mqueue", "mqueue", "/dev/mqueue", "nosuid", "noexec", "nodev"),
			mnt("sysfs", "sysfs", "/sys", "nosuid", "noexec", "nodev", "ro"),
			mnt("cgroup", "cgroup", "/sys/fs/cgroup", "nosuid", "noexec", "nodev", "relatime", "ro"),
			mnt("bind", filepath.Join(base, "hostsrc"), "/mnt/ro", "rbind", "ro", "nosuid"),
			mnt("none", filepath.Join(base, "hostfile"), "/etc/hostfile", "bind", "ro"),
			mnt("tmpfs", "tmpfs", "/run", "size=64k", "mode=755"),
			mnt("tmpfs", "tmpfs", "/evil", "size=1m"),
			mnt("tmpfs", "tmpfs", "/evil2/sub"),
			mnt("tmpfs", "tmpfs", "/data", "tmpcopyup", "rprivate", "ro"),
			mnt("", filepath.Join(base, "hostsrc"), "/mnt/rro", "rbind", "rro", "rnosuid", "rprivate"),
		),
		Devices: []specs.LinuxDevice{
			{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: fileMode(0o600), UID: id(1000), GID: id(1001)},
			{Path: "/dev/myfifo", Type: "p", FileMode: fileMode(0o640)},
			{Path: "/dev/null", Type: "c", Major: 1, Minor: 3, FileMode: fileMode(0o666)},
		},
		MaskedPaths:   []string{"/proc/kcore", "/proc/acpi", "/etc/maskme", "/secretdir", "/nonexistent/x", "/proc/timer_list", "/proc/keys"},
		ReadonlyPaths: []string{"/proc/sys", "/proc/bus", "/etc/rodir", "/nonexistent2"},
	}
	nonDumpable(c)
	start := time.Now()
	c.must(Prepare(cfg), "Prepare")
	c.logf("Prepare took %v", time.Since(start))

	// Before the pivot: the hostile destinations got their tmpfs inside the
	// rootfs and the host directories got nothing.
	real, _ := filepath.EvalSymlinks(rootfs)
	for _, d := range []string{"outside", "outside2/sub"} {
		host := filepath.Join(base, d)
		inside := filepath.Join(real, host)
		found := false
		for _, m := range readMountinfo(c.fatalf) {
			if m.point == host || strings.HasPrefix(m.point, host+"/") {
				c.errorf("host directory %s got a mount: %+v", host, m)
			}
			if m.point == inside && m.fstype == "tmpfs" {
				found = true
			}
		}
		if !found {
			c.errorf("no tmpfs at %s", inside)
		}
	}
	checkCharDev(c, filepath.Join(rootfs, "dev/null"), 1, 3, 0o666)

	start = time.Now()
	c.must(PivotRoot(cfg), "PivotRoot")
	c.must(Finalize(cfg), "Finalize")
	c.logf("PivotRoot+Finalize took %v", time.Since(start))

	if wd, err := os.Getwd(); err != nil || wd != "/" {
		c.errorf("cwd %q %v", wd, err)
	}
	checkBusybox(c, "/mnt/ro/hello", "hello\n")
	checkFS(c, "/proc", 0x9fa0)
	checkFS(c, "/dev", 0x01021994)
	checkFS(c, "/dev/pts", 0x1cd1)
	checkFS(c, "/dev/mqueue", 0x19800202)
	checkFS(c, "/sys", 0x62656572)
	checkFS(c, "/sys/fs/cgroup", cgroup2SuperMagic)
	checkFS(c, "/run", 0x01021994)
	checkFS(c, filepath.Join(base, "outside"), 0x01021994)
	checkFS(c, filepath.Join(base, "outside2/sub"), 0x01021994)
	for name, d := range map[string][2]uint64{"null": {1, 3}, "zero": {1, 5}, "full": {1, 7}, "random": {1, 8}, "urandom": {1, 9}, "tty": {5, 0}} {
		checkCharDev(c, "/dev/"+name, d[0], d[1], 0o666)
	}
	checkCharDev(c, "/dev/fuse", 10, 229, 0o600)
	var st syscall.Stat_t
	if err := syscall.Stat("/dev/fuse", &st); err != nil || st.Uid != 1000 || st.Gid != 1001 {
		c.errorf("/dev/fuse owner %d:%d %v", st.Uid, st.Gid, err)
	}
	if err := syscall.Stat("/dev/myfifo", &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFIFO || st.Mode&0o7777 != 0o640 {
		c.errorf("/dev/myfifo mode %o %v", st.Mode, err)
	}
	for l, want := range map[string]string{
		"/dev/fd": "/proc/self/fd", "/dev/stdin": "/proc/self/fd/0", "/dev/stdout": "/proc/self/fd/1",
		"/dev/stderr": "/proc/self/fd/2", "/dev/core": "/proc/kcore", "/dev/ptmx": "pts/ptmx",
	} {
		if got, err := os.Readlink(l); err != nil || got != want {
			c.errorf("%s -> %q (%v), want %q", l, got, err, want)
		}
	}
	if f, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0); err != nil {
		c.errorf("open /dev/ptmx: %v", err)
	} else {
		f.Close()
	}
	if err := os.WriteFile("/dev/null", []byte("x"), 0); err != nil {
		c.errorf("write /dev/null: %v", err)
	}

	// Flags of the mounts.
	checkOpts(c, "/mnt/ro", "ro", "nosuid")
	checkOpts(c, "/mnt/ro/", "")
	checkOpts(c, "/etc/hostfile", "ro")
	checkOpts(c, "/proc", "nosuid", "nodev", "noexec")
	checkOpts(c, "/sys", "ro")
	checkOpts(c, "/mnt/rro", "ro", "nosuid")
	checkOpts(c, "/data", "ro")
	checkNotShared(c, "/data")
	checkNotShared(c, "/mnt/rro")
	checkWriteFails(c, "/mnt/ro/new", syscall.EROFS)
	checkWriteFails(c, "/mnt/rro/sub/new", syscall.EROFS) // rro reaches submounts: same mount here, and recursive attr
	checkWriteFails(c, "/etc/hostfile", syscall.EROFS)
	checkWriteFails(c, "/sys/kernel/new", syscall.EROFS)
	var sfs syscall.Statfs_t
	if err := syscall.Statfs("/run", &sfs); err != nil || sfs.Blocks*uint64(sfs.Bsize) != 64<<10 {
		c.errorf("/run size %d*%d %v", sfs.Blocks, sfs.Bsize, err)
	}
	if err := syscall.Stat("/run", &st); err != nil || st.Mode&0o7777 != 0o755 {
		c.errorf("/run mode %o %v", st.Mode, err)
	}

	// tmpcopyup kept contents, owners, modes, symlinks; then went ro.
	checkContent(c, "/data/a", "copied\n")
	checkContent(c, "/data/sub/b", "deep\n")
	checkFS(c, "/data", 0x01021994)
	if err := syscall.Stat("/data/a", &st); err != nil || st.Uid != 1000 || st.Mode&0o7777 != 0o640 {
		c.errorf("/data/a owner %d mode %o %v", st.Uid, st.Mode, err)
	}
	if err := syscall.Stat("/data", &st); err != nil || st.Mode&0o7777 != 0o751 {
		c.errorf("/data mode %o %v", st.Mode, err)
	}
	if l, err := os.Readlink("/data/link"); err != nil || l != "a" {
		c.errorf("/data/link %q %v", l, err)
	}
	checkWriteFails(c, "/data/new", syscall.EROFS)

	// Finalize: read-only and masked paths.
	checkWriteFails(c, "/proc/sys/kernel/hostname", syscall.EROFS)
	checkOpts(c, "/proc/bus", "ro")
	checkWriteFails(c, "/etc/rodir/file", syscall.EROFS)
	checkWriteFails(c, "/etc/rodir/new", syscall.EROFS)
	checkContent(c, "/etc/maskme", "")
	checkContent(c, "/proc/timer_list", "")
	checkContent(c, "/proc/keys", "")
	checkCharDev(c, "/etc/maskme", 1, 3, 0o666)
	if ents, err := os.ReadDir("/secretdir"); err != nil || len(ents) != 0 {
		c.errorf("/secretdir not masked: %v %v", ents, err)
	}
	checkWriteFails(c, "/secretdir/new", syscall.EROFS)
	checkOpts(c, "/secretdir", "ro")
	checkFS(c, "/proc/acpi", 0x01021994)
	checkOpts(c, "/proc/acpi", "ro")
	// The root stays writable.
	if err := os.WriteFile("/etc/written", []byte("x"), 0o644); err != nil {
		c.errorf("write to the rw root: %v", err)
	}
	// No host path is visible any more.
	for _, m := range readMountinfo(c.fatalf) {
		if strings.HasPrefix(m.point, rootfs) {
			c.errorf("host path in the container's mountinfo: %+v", m)
		}
	}
}

func childROShared(c *checker, base string) {
	rootfs := buildRootfs(c, base)
	cfg := &RootfsConfig{
		Rootfs:      rootfs,
		Mounts:      append(baseMounts(), mnt("tmpfs", "tmpfs", "/tmp", "rshared")),
		Readonly:    true,
		Propagation: "rshared",
		MaskedPaths: []string{"/etc/maskme"},
	}
	c.must(Prepare(cfg), "Prepare")
	c.must(PivotRoot(cfg), "PivotRoot")
	c.must(Finalize(cfg), "Finalize")
	checkWriteFails(c, "/etc/new", syscall.EROFS)
	checkWriteFails(c, "/etc/rodir/file", syscall.EROFS)
	checkOpts(c, "/", "ro")
	if err := os.WriteFile("/dev/new", []byte("x"), 0o644); err != nil {
		c.errorf("/dev should stay writable: %v", err)
	}
	checkContent(c, "/etc/maskme", "")
	root := findMount(c, "/")
	if !strings.Contains(root.optional, "shared:") {
		c.errorf("/ is not shared: %+v", root)
	}
	if m := findMount(c, "/tmp"); !strings.Contains(m.optional, "shared:") {
		c.errorf("/tmp is not shared: %+v", m)
	}
	checkBusybox(c, "/etc/rodir/file", "ro\n")
}

func childNoPivot(c *checker, base string) {
	rootfs := buildRootfs(c, base)
	cfg := &RootfsConfig{
		Rootfs:        rootfs,
		Mounts:        baseMounts(),
		NoPivot:       true,
		Propagation:   "runbindable",
		ReadonlyPaths: []string{"/etc"},
	}
	c.must(Prepare(cfg), "Prepare")
	c.must(PivotRoot(cfg), "PivotRoot")
	c.must(Finalize(cfg), "Finalize")
	if wd, err := os.Getwd(); err != nil || wd != "/" {
		c.errorf("cwd %q %v", wd, err)
	}
	checkContent(c, "/etc/rodir/file", "ro\n")
	checkWriteFails(c, "/etc/new", syscall.EROFS)
	checkCharDev(c, "/dev/null", 1, 3, 0o666)
	if m := findMount(c, "/"); !strings.Contains(m.optional, "unbindable") {
		c.errorf("/ is not unbindable: %+v", m)
	}
	if _, err := os.Stat(filepath.Join(base, "hostfile")); err == nil {
		c.errorf("the host is still visible after the chroot")
	}
	checkBusybox(c, "/etc/rodir/file", "ro\n")
}

func childErrors(c *checker, base string) {
	buildRootfs(c, base)
	n := 0
	expect := func(mounts []specs.Mount, want string) {
		n++
		rootfs := filepath.Join(base, fmt.Sprintf("rootfs%d", n))
		c.must(os.MkdirAll(rootfs+"/etc", 0o755), "mkdir")
		c.must(os.Symlink("/etc", rootfs+"/proc"), "symlink")
		err := Prepare(&RootfsConfig{Rootfs: rootfs, Mounts: mounts})
		switch {
		case err == nil:
			c.errorf("no error, want %q", want)
		case err.Error() != want:
			c.errorf("error %q, want %q", err, want)
		default:
			c.logf("ok: %v", err)
		}
	}
	expect([]specs.Mount{mnt("bind", "/nonexistent-src", "/mnt", "rbind")},
		"mount /nonexistent-src to /mnt (bind): open source: no such file or directory")
	expect([]specs.Mount{mnt("bind", base, "/mnt", "bind", "idmap")},
		"mount /mnt: idmap: no idmapped mount was prepared for it")
	expect([]specs.Mount{mnt("proc", "proc", "/proc")},
		"mount proc to /proc: create mount point: /proc is reached through a symlink (to /etc)")
	expect([]specs.Mount{mnt("nosuchfs", "x", "/x")}, "mount x to /x: no such device")
	expect([]specs.Mount{mnt("tmpfs", "tmpfs", "/x", "size=bogus")}, "mount tmpfs to /x: invalid argument")
	expect([]specs.Mount{mnt("bind", base+"/hostfile", "/etc")},
		"mount "+base+"/hostfile to /etc (bind): create mount point: is a directory")
	var err error
	if err = Prepare(&RootfsConfig{Rootfs: "relative"}); err == nil {
		c.errorf("relative rootfs accepted")
	}
	err = Prepare(&RootfsConfig{Rootfs: filepath.Join(base, "rootfs1"), Mounts: []specs.Mount{mnt("proc", "proc", "/proc")}})
	var me *MountError
	if !errors.As(err, &me) || me.Destination != "/proc" {
		c.errorf("not a *MountError: %T %v", err, err)
	}
}

// childUsernsOuter mounts a nosuid,nodev tmpfs (whose flags become locked in
// a user namespace) and runs the inner scenario in new user, mount, PID and
// IPC namespaces twice: with root mapped to root, and rootless-like, with
// the container's root being host uid 100000, which owns nothing on the
// host but its own directory.
func childUsernsOuter(c *checker, base string) {
	locked := filepath.Join(base, "locked")
	c.must(os.MkdirAll(locked, 0o755), "mkdir")
	c.must(syscall.Mount("tmpfs", locked, "tmpfs", syscall.MS_NOSUID|syscall.MS_NODEV, "size=1m,mode=755"), "mount locked")
	c.must(os.MkdirAll(locked+"/src", 0o755), "mkdir")
	c.must(os.WriteFile(locked+"/src/f", []byte("locked\n"), 0o644), "write")

	const rootless = 100000
	rl := filepath.Join(base, "rootless")
	// t.TempDir makes base and its parent 0700.
	c.must(os.Chmod(filepath.Dir(base), 0o755), "chmod base")
	c.must(os.Chmod(base, 0o755), "chmod base")
	c.must(os.Mkdir(rl, 0o755), "mkdir rootless")
	c.must(os.Chown(rl, rootless, rootless), "chown rootless")

	for _, run := range []struct {
		base string
		host uint32
	}{{base, 0}, {rl, rootless}} {
		c.logf("inner: container root is host uid %d", run.host)
		cmd := exec.Command("/proc/self/exe", "-test.run=^$")
		cmd.Env = append(os.Environ(), childEnv+"=userns-inner", baseEnv+"="+run.base, lockedEnv+"="+locked)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		cmd.SysProcAttr = &syscall.SysProcAttr{
			Cloneflags:  syscall.CLONE_NEWUSER | syscall.CLONE_NEWNS | syscall.CLONE_NEWPID | syscall.CLONE_NEWIPC,
			UidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(run.host), Size: 65536}},
			GidMappings: []syscall.SysProcIDMap{{ContainerID: 0, HostID: int(run.host), Size: 65536}},
			// Become the namespace's root (kuid run.host) before the exec,
			// or the exec drops every capability.
			Credential: &syscall.Credential{Uid: 0, Gid: 0, NoSetGroups: true},
			Pdeathsig:  syscall.SIGKILL,
		}
		if err := cmd.Run(); err != nil {
			c.errorf("inner (host uid %d): %v", run.host, err)
		}
	}
}

func childUsernsInner(c *checker, base string) {
	rootfs := buildRootfs(c, base)
	cfg := &RootfsConfig{
		Rootfs:   rootfs,
		InUserNS: true,
		Mounts: append(baseMounts(),
			mnt("devpts", "devpts", "/dev/pts", "nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"),
			mnt("mqueue", "mqueue", "/dev/mqueue", "nosuid", "noexec", "nodev"),
			mnt("sysfs", "sysfs", "/sys", "nosuid", "noexec", "nodev", "ro"),
			mnt("cgroup", "cgroup", "/sys/fs/cgroup", "nosuid", "noexec", "nodev", "relatime", "ro"),
			mnt("bind", filepath.Join(os.Getenv(lockedEnv), "src"), "/mnt/locked", "bind", "ro"),
			mnt("bind", filepath.Join(base, "hostsrc"), "/mnt/plain", "rbind", "ro", "noexec"),
		),
		Devices:       []specs.LinuxDevice{{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229}},
		MaskedPaths:   []string{"/proc/kcore", "/proc/timer_list", "/etc/maskme", "/secretdir"},
		ReadonlyPaths: []string{"/proc/sys"},
		Readonly:      true,
	}
	nonDumpable(c)
	start := time.Now()
	c.must(Prepare(cfg), "Prepare")
	c.must(PivotRoot(cfg), "PivotRoot")
	c.must(Finalize(cfg), "Finalize")
	c.logf("Prepare+PivotRoot+Finalize in a user namespace took %v", time.Since(start))
	checkCharDev(c, "/dev/null", 1, 3, 0o666)
	checkCharDev(c, "/dev/fuse", 10, 229, 0)
	findMount(c, "/dev/null") // a bind of the host's node
	checkContent(c, "/mnt/locked/f", "locked\n")
	checkOpts(c, "/mnt/locked", "ro", "nosuid", "nodev")
	checkWriteFails(c, "/mnt/locked/new", syscall.EROFS)
	checkOpts(c, "/mnt/plain", "ro", "noexec")
	checkFS(c, "/sys", 0x62656572)
	checkFS(c, "/sys/fs/cgroup", cgroup2SuperMagic)
	checkFS(c, "/dev/mqueue", 0x19800202)
	checkFS(c, "/dev/pts", 0x1cd1)
	checkContent(c, "/proc/timer_list", "")
	checkContent(c, "/etc/maskme", "")
	// Rootless, /proc/sys files belong to an unmapped root (EACCES comes
	// before EROFS): look at the mount instead.
	checkOpts(c, "/proc/sys", "ro")
	checkWriteFails(c, "/etc/new", syscall.EROFS)
	if ents, err := os.ReadDir("/secretdir"); err != nil || len(ents) != 0 {
		c.errorf("/secretdir not masked: %v %v", ents, err)
	}
	checkBusybox(c, "/mnt/locked/f", "locked\n")
}

func childDevNull(c *checker, base, scenario string) {
	rootfs := buildRootfs(c, base)
	cfg := &RootfsConfig{
		Rootfs:      rootfs,
		Mounts:      baseMounts(),
		MaskedPaths: []string{"/etc/maskme", "/proc/timer_list"},
	}
	c.must(Prepare(cfg), "Prepare")
	null := filepath.Join(rootfs, "dev/null")
	c.must(os.Remove(null), "remove /dev/null")
	switch scenario {
	case "devnull-hostlink":
		c.must(os.Symlink(filepath.Join(base, "hostfile"), null), "symlink")
	case "devnull-corepattern":
		c.must(os.Symlink("/proc/sys/kernel/core_pattern", null), "symlink")
	case "devnull-regular":
		c.must(os.WriteFile(null, nil, 0o666), "write")
	}
	c.must(PivotRoot(cfg), "PivotRoot")
	err := Finalize(cfg)
	if err == nil {
		c.errorf("Finalize accepted a /dev/null that is not the null device")
	} else {
		c.logf("Finalize: %v", err)
		if !strings.Contains(err.Error(), "masked path /etc/maskme: refusing to mask with /dev/null") {
			c.errorf("unclear error: %v", err)
		}
	}
	checkContent(c, "/etc/maskme", "secret\n")
	for _, m := range readMountinfo(c.fatalf) {
		if m.point == "/etc/maskme" || m.point == "/proc/timer_list" {
			c.errorf("something was mounted at %s", m.point)
		}
	}
}

// ---- helpers ----

// nonDumpable does what the container's init does before Prepare: /proc/self
// then belongs to root, and must still work for the process itself.
func nonDumpable(c *checker) {
	const prSetDumpable = 4
	if _, _, e := syscall.RawSyscall(syscall.SYS_PRCTL, prSetDumpable, 0, 0); e != 0 {
		c.fatalf("prctl: %v", e)
	}
}

type mountEntry struct {
	point, opts, optional, fstype, source string
}

func readMountinfo(fatalf func(string, ...any)) []mountEntry {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		fatalf("mountinfo: %v", err)
		return nil
	}
	defer f.Close()
	var out []mountEntry
	s := bufio.NewScanner(f)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		sep := -1
		for i, f := range fields {
			if f == "-" {
				sep = i
				break
			}
		}
		if sep < 6 || len(fields) < sep+3 {
			continue
		}
		out = append(out, mountEntry{
			point:    unescapeMountinfo(fields[4]),
			opts:     fields[5],
			optional: strings.Join(fields[6:sep], " "),
			fstype:   fields[sep+1],
			source:   fields[sep+2],
		})
	}
	return out
}

// findMount returns the top mount at p.
func findMount(c *checker, p string) mountEntry {
	var found *mountEntry
	ms := readMountinfo(c.fatalf)
	for i := range ms {
		if ms[i].point == p {
			found = &ms[i]
		}
	}
	if found == nil {
		c.errorf("no mount at %s", p)
		return mountEntry{}
	}
	return *found
}

func checkOpts(c *checker, p string, want ...string) {
	if strings.HasSuffix(p, "/") && len(p) > 1 {
		return
	}
	m := findMount(c, p)
	have := map[string]bool{}
	for _, o := range strings.Split(m.opts, ",") {
		have[o] = true
	}
	for _, w := range want {
		if w != "" && !have[w] {
			c.errorf("%s: options %q lack %s", p, m.opts, w)
		}
	}
}

func checkNotShared(c *checker, p string) {
	if m := findMount(c, p); strings.Contains(m.optional, "shared:") {
		c.errorf("%s is shared: %+v", p, m)
	}
}

func checkFS(c *checker, p string, magic int64) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(p, &st); err != nil {
		c.errorf("statfs %s: %v", p, err)
	} else if st.Type != magic {
		c.errorf("%s: filesystem %#x, want %#x", p, st.Type, magic)
	}
}

func checkCharDev(c *checker, p string, major, minor uint64, perm uint32) {
	var st syscall.Stat_t
	if err := syscall.Lstat(p, &st); err != nil {
		c.errorf("stat %s: %v", p, err)
		return
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || devMajor(st.Rdev) != major || devMinor(st.Rdev) != minor {
		c.errorf("%s: mode %o dev %d:%d, want char %d:%d", p, st.Mode, devMajor(st.Rdev), devMinor(st.Rdev), major, minor)
	}
	if perm != 0 && st.Mode&0o7777 != perm {
		c.errorf("%s: perm %o, want %o", p, st.Mode&0o7777, perm)
	}
}

func checkContent(c *checker, p, want string) {
	b, err := os.ReadFile(p)
	if err != nil {
		c.errorf("read %s: %v", p, err)
	} else if string(b) != want {
		c.errorf("%s: %q, want %q", p, b, want)
	}
}

func checkWriteFails(c *checker, p string, want error) {
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE, 0o644)
	if err == nil {
		_, err = io.WriteString(f, "x")
		f.Close()
	}
	if !errors.Is(err, want) {
		c.errorf("write %s: %v, want %v", p, err, want)
	}
}

// checkBusybox runs the rootfs's busybox, when there is one, to show that
// the pivoted root works for a real program.
func checkBusybox(c *checker, file, want string) {
	if _, err := os.Stat("/bin/busybox"); err != nil {
		c.logf("no busybox in the rootfs: skipped")
		return
	}
	out, err := exec.Command("/bin/busybox", "cat", file).CombinedOutput()
	if err != nil || string(out) != want {
		c.errorf("busybox cat %s: %q %v", file, out, err)
	}
}
