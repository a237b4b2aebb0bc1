package integration

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Set up once by TestMain.
var (
	// hakoBin is the runtime under test (absolute path).
	hakoBin string
	// isRunc is true when hakoBin is runc: hako-specific tests skip.
	isRunc bool
	// versionOut is the output of `hakoBin --version`.
	versionOut string
	// repoRoot is the repository's top directory.
	repoRoot string
	// baseDir holds every file the suite makes; removed at the end.
	baseDir string
	// sharedRootfs is the busybox rootfs that containers share read-only.
	sharedRootfs string
	// runToken marks every process of this run (HAKO_ITEST=<token>/...) in
	// its environment, so that leftovers can be found and attributed.
	runToken string
	// hostNS maps a namespace type (as in /proc/self/ns) to the link of the
	// test process, e.g. "net" -> "net:[4026531840]".
	hostNS = map[string]string{}
	// cgroup2Root is where the unified cgroup hierarchy is mounted in the
	// test's mount namespace ("" if nowhere).
	cgroup2Root string
	// skipAll, when set, is why every test skips (not root).
	skipAll string
)

// nsTypes are the namespace links every kernel the suite runs on has.
var nsTypes = []string{"cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"}

func TestMain(m *testing.M) {
	os.Exit(testMain(m))
}

func testMain(m *testing.M) int {
	if os.Geteuid() != 0 {
		skipAll = "the integration tests run real containers and need root (run them as root, e.g. `make test`)"
		fmt.Println("SKIP integration:", skipAll)
		return m.Run()
	}
	var err error
	repoRoot, err = findRepoRoot()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL integration setup:", err)
		return 1
	}
	runToken = os.Getenv("HAKO_TEST_RUN_TOKEN") // set by test/run-tests.sh, whose clean-up looks for it
	if runToken == "" || strings.Contains(runToken, "/") {
		runToken = randomHex(6)
	}

	parent := os.Getenv("HAKO_TEST_TMPDIR")
	if parent != "" {
		if err := os.MkdirAll(parent, 0o755); err != nil {
			fmt.Fprintln(os.Stderr, "FAIL integration setup:", err)
			return 1
		}
	}
	baseDir, err = os.MkdirTemp(parent, "hako-itest-")
	if err == nil {
		err = os.Chmod(baseDir, 0o755) // user-namespaced containers must traverse it
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL integration setup:", err)
		return 1
	}
	code := setupAndRun(m)
	if err := rootlessTeardown(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL integration: rootless tier:", err)
		code = 1
	}
	if left := unmountUnder(baseDir); len(left) > 0 {
		fmt.Fprintf(os.Stderr, "FAIL integration: mounts left under %s after the suite: %v\n", baseDir, left)
		code = 1
	}
	if err := safeRemoveAll(baseDir); err != nil {
		fmt.Fprintln(os.Stderr, "integration: cleanup:", err)
	}
	return code
}

func setupAndRun(m *testing.M) int {
	var err error
	hakoBin, err = locateBinary()
	if err != nil {
		fmt.Fprintln(os.Stderr, "FAIL integration setup:", err)
		return 1
	}
	out, err := exec.Command(hakoBin, "--version").CombinedOutput()
	if err != nil {
		fmt.Fprintf(os.Stderr, "FAIL integration setup: %s --version: %v\n%s", hakoBin, err, out)
		return 1
	}
	versionOut = string(out)
	isRunc = strings.HasPrefix(versionOut, "runc ")
	fmt.Printf("integration: runtime %s (%s)\n", hakoBin, firstLine(versionOut))

	sharedRootfs = filepath.Join(baseDir, "rootfs")
	cmd := exec.Command(filepath.Join(repoRoot, "test", "mkrootfs.sh"), sharedRootfs)
	if out, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "FAIL integration setup: test/mkrootfs.sh: %v\n%s", err, out)
		return 1
	}

	for _, ns := range nsTypes {
		link, err := os.Readlink("/proc/self/ns/" + ns)
		if err != nil {
			fmt.Fprintln(os.Stderr, "FAIL integration setup:", err)
			return 1
		}
		hostNS[ns] = link
	}
	cgroup2Root = findCgroup2Root()

	if err := startReaper(); err != nil {
		fmt.Fprintln(os.Stderr, "FAIL integration setup:", err)
		return 1
	}
	return m.Run()
}

// locateBinary returns $HAKO_BIN, or builds bin/hako with `make build`.
func locateBinary() (string, error) {
	if bin := os.Getenv("HAKO_BIN"); bin != "" {
		if !filepath.IsAbs(bin) {
			if p, err := exec.LookPath(bin); err == nil {
				bin = p
			}
			abs, err := filepath.Abs(bin)
			if err != nil {
				return "", err
			}
			bin = abs
		}
		if _, err := os.Stat(bin); err != nil {
			return "", fmt.Errorf("HAKO_BIN: %w", err)
		}
		return bin, nil
	}
	var cmd *exec.Cmd
	if _, err := exec.LookPath("make"); err == nil {
		cmd = exec.Command("make", "-C", repoRoot, "build")
	} else {
		cmd = exec.Command("go", "build", "-trimpath", "-tags", "netgo osusergo",
			"-ldflags", "-s -w -extldflags -static", "-o", "bin/hako", "./cmd/hako")
		cmd.Dir = repoRoot
		cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	}
	fmt.Printf("integration: HAKO_BIN not set; building: %s\n", strings.Join(cmd.Args, " "))
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("cannot build hako (%s): %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
	return filepath.Join(repoRoot, "bin", "hako"), nil
}

func findRepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for d := dir; ; d = filepath.Dir(d) {
		if _, err := os.Stat(filepath.Join(d, "go.mod")); err == nil {
			return d, nil
		}
		if d == filepath.Dir(d) {
			return "", fmt.Errorf("no go.mod above %s", dir)
		}
	}
}

// findCgroup2Root returns where the unified cgroup hierarchy is visible:
// /sys/fs/cgroup on a pure cgroup v2 host (or inside the private mount
// namespace used to run the suite against runc), /sys/fs/cgroup/unified on a
// hybrid host; "" if neither.
func findCgroup2Root() string {
	const cgroup2Magic = 0x63677270
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st syscall.Statfs_t
		if err := syscall.Statfs(p, &st); err == nil && st.Type == cgroup2Magic {
			return p
		}
	}
	return ""
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err)
	}
	return hex.EncodeToString(b)
}

func firstLine(s string) string {
	s, _, _ = strings.Cut(s, "\n")
	return s
}

// ---------------------------------------------------------------------------
// Child processes and the reaper.
//
// The test process makes itself a child subreaper, so that container
// processes whose runtime exited (after create) are reparented to it rather
// than to PID 1, which on these machines does not reap. A goroutine reaps
// those orphans once they are zombies; it leaves alone the processes the
// tests started themselves (exec.Cmd waits for those).

var (
	reapMu  sync.Mutex
	managed = map[int]bool{}
)

const prSetChildSubreaper = 36

func startReaper() error {
	if _, _, errno := syscall.RawSyscall(syscall.SYS_PRCTL, prSetChildSubreaper, 1, 0); errno != 0 {
		return fmt.Errorf("prctl(PR_SET_CHILD_SUBREAPER): %w", errno)
	}
	go func() {
		for {
			time.Sleep(50 * time.Millisecond)
			reapOrphans()
		}
	}()
	return nil
}

func reapOrphans() {
	reapMu.Lock()
	defer reapMu.Unlock()
	self := os.Getpid()
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || managed[pid] {
			continue
		}
		st, err := readProcStat(pid)
		if err != nil || st.ppid != self || st.state != "Z" {
			continue
		}
		var ws syscall.WaitStatus
		_, _ = syscall.Wait4(pid, &ws, syscall.WNOHANG, nil)
	}
}

// startManaged starts cmd so that the reaper leaves it to cmd.Wait.
func startManaged(cmd *exec.Cmd) error {
	reapMu.Lock()
	defer reapMu.Unlock()
	if err := cmd.Start(); err != nil {
		return err
	}
	managed[cmd.Process.Pid] = true
	return nil
}

func waitManaged(cmd *exec.Cmd) error {
	err := cmd.Wait()
	reapMu.Lock()
	delete(managed, cmd.Process.Pid)
	reapMu.Unlock()
	return err
}

// runManaged runs a helper command (not the runtime) to completion.
func runManaged(name string, args ...string) (string, error) {
	cmd := exec.Command(name, args...)
	f, err := os.CreateTemp(baseDir, "cmd-out-")
	if err != nil {
		return "", err
	}
	defer os.Remove(f.Name())
	defer f.Close()
	cmd.Stdout, cmd.Stderr = f, f
	if err := startManaged(cmd); err != nil {
		return "", err
	}
	err = waitManaged(cmd)
	out, _ := os.ReadFile(f.Name())
	if err != nil {
		return string(out), fmt.Errorf("%s %s: %w: %s", name, strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

type procStat struct {
	state string
	ppid  int
	// fields holds the fields after the command name: fields[0] is field 3
	// (state) of proc(5), so field N is fields[N-3].
	fields []string
}

func readProcStat(pid int) (procStat, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return procStat{}, err
	}
	return parseProcStat(string(b))
}

func parseProcStat(s string) (procStat, error) {
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return procStat{}, errors.New("malformed stat")
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return procStat{}, errors.New("malformed stat")
	}
	ppid, _ := strconv.Atoi(f[1])
	return procStat{state: f[0], ppid: ppid, fields: f}, nil
}

// processesMarked returns the live (non-zombie) processes whose environment
// holds HAKO_ITEST=<mark>.
func processesMarked(mark string) []int {
	needle := []byte("HAKO_ITEST=" + mark + "\x00")
	var pids []int
	entries, _ := os.ReadDir("/proc")
	self := os.Getpid()
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil || pid == self {
			continue
		}
		env, err := os.ReadFile(fmt.Sprintf("/proc/%d/environ", pid))
		if err != nil || !containsBytes(env, needle) {
			continue
		}
		if st, err := readProcStat(pid); err == nil && st.state == "Z" {
			continue
		}
		pids = append(pids, pid)
	}
	return pids
}

func containsBytes(hay, needle []byte) bool {
	return strings.Contains(string(hay), string(needle))
}

// ---------------------------------------------------------------------------
// Mounts and removal.

type mountEntry struct {
	ID, Parent   int
	Root         string
	MountPoint   string
	Options      []string // per-mount options
	Optional     []string // optional fields: shared:N, master:N, ...
	FSType       string
	Source       string
	SuperOptions []string
}

func (m mountEntry) hasOpt(o string) bool {
	for _, x := range m.Options {
		if x == o {
			return true
		}
	}
	return false
}

func (m mountEntry) hasSuperOpt(o string) bool {
	for _, x := range m.SuperOptions {
		if x == o {
			return true
		}
	}
	return false
}

func (m mountEntry) optionalPrefixed(p string) bool {
	for _, x := range m.Optional {
		if strings.HasPrefix(x, p) {
			return true
		}
	}
	return false
}

func readMountinfo(path string) ([]mountEntry, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return parseMountinfo(string(b)), nil
}

// parseMountinfo parses proc(5) mountinfo lines; other lines are ignored.
func parseMountinfo(s string) []mountEntry {
	var out []mountEntry
	sc := bufio.NewScanner(strings.NewReader(s))
	sc.Buffer(make([]byte, 64*1024), 4*1024*1024)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 10 {
			continue
		}
		sep := -1
		for i := 6; i < len(f); i++ {
			if f[i] == "-" {
				sep = i
				break
			}
		}
		if sep < 0 || sep+3 > len(f) {
			continue
		}
		id, err1 := strconv.Atoi(f[0])
		parent, err2 := strconv.Atoi(f[1])
		if err1 != nil || err2 != nil {
			continue
		}
		e := mountEntry{
			ID: id, Parent: parent,
			Root:       unescapeMount(f[3]),
			MountPoint: unescapeMount(f[4]),
			Options:    strings.Split(f[5], ","),
			Optional:   f[6:sep],
			FSType:     f[sep+1],
			Source:     unescapeMount(f[sep+2]),
		}
		if sep+3 < len(f) {
			e.SuperOptions = strings.Split(f[sep+3], ",")
		}
		out = append(out, e)
	}
	return out
}

// unescapeMount undoes the octal escapes (\040 etc.) of mountinfo.
func unescapeMount(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(v))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

// mountsUnder returns the mount points of this mount namespace at or under dir.
func mountsUnder(dir string) []string {
	mounts, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		return nil
	}
	var out []string
	for _, m := range mounts {
		if m.MountPoint == dir || strings.HasPrefix(m.MountPoint, dir+"/") {
			out = append(out, m.MountPoint)
		}
	}
	return out
}

// unmountUnder detaches every mount at or under dir (deepest first) and
// returns the mount points it found.
func unmountUnder(dir string) []string {
	var found []string
	for i := 0; i < 10; i++ {
		mps := mountsUnder(dir)
		if len(mps) == 0 {
			break
		}
		if i == 0 {
			found = mps
		}
		// Deepest (latest, longest) first.
		for j := len(mps) - 1; j >= 0; j-- {
			_ = syscall.Unmount(mps[j], syscall.MNT_DETACH)
		}
	}
	return found
}

// safeRemoveAll removes dir unless something is still mounted under it (a
// leftover bind mount would make RemoveAll delete the files of its source).
func safeRemoveAll(dir string) error {
	if mps := mountsUnder(dir); len(mps) > 0 {
		return fmt.Errorf("not removing %s: still mounted under it: %v", dir, mps)
	}
	return os.RemoveAll(dir)
}
