// Package cgroupv2 is hako's cgroup v2 filesystem driver: it finds the
// unified hierarchy, turns a container's cgroupsPath into a cgroup, creates
// that cgroup with exactly the controllers its linux.resources need, writes
// the resources to the v2 interface files (converting the v1-shaped values
// of the runtime spec the way runc and crun do), places processes in it,
// freezes, thaws and kills it, reads its statistics for `events --stats`,
// and compiles linux.resources.devices into an eBPF device program.
//
// The unified hierarchy is wherever cgroup2 is mounted: /sys/fs/cgroup on a
// pure v2 host, /sys/fs/cgroup/unified on a hybrid one (where the v1
// controllers keep their own hierarchies and the unified one usually has
// few controllers, often none but hugetlb). Nothing here touches v1.
//
// Errors name the configuration field they come from
// ("linux.resources.memory.limit: ..."), and a controller the host or the
// parent cgroup does not offer is reported with the controller's name, the
// cgroup that lacks it and what that cgroup does offer; such errors match
// ErrControllerUnavailable with errors.Is.
package cgroupv2

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/internal/rawfile"
)

// ErrControllerUnavailable is matched (errors.Is) by the errors that say a
// controller a resource needs is not available to the container's cgroup.
var ErrControllerUnavailable = errors.New("cgroup controller not available")

// The candidates for the unified hierarchy, in order.
var mountCandidates = []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"}

var mountpoint = sync.OnceValues(func() (string, error) {
	for _, p := range mountCandidates {
		var st unix.Statfs_t
		if err := unix.Statfs(p, &st); err == nil && st.Type == unix.CGROUP2_SUPER_MAGIC {
			return p, nil
		}
	}
	return "", fmt.Errorf("cgroup v2: neither %s is a cgroup2 file system: this host has no cgroup v2 (unified) hierarchy",
		strings.Join(mountCandidates, " nor "))
})

// Mountpoint returns where the unified (cgroup v2) hierarchy is mounted:
// /sys/fs/cgroup when that is a cgroup2 file system, else
// /sys/fs/cgroup/unified when that is one (hybrid hosts). The answer is
// computed once per process.
func Mountpoint() (string, error) {
	return mountpoint()
}

// selfCgroupFile is read for the caller's own cgroup (tests replace it).
var selfCgroupFile = "/proc/self/cgroup"

// Path returns the container's cgroup, as a path relative to the mount
// point of the unified hierarchy (always starting with "/"), for the
// config's linux.cgroupsPath and the container's ID:
//
//   - an absolute cgroupsPath is taken as is, cleaned (".." cannot climb
//     above the root); the root cgroup itself is refused;
//   - a relative cgroupsPath is relative to the caller's own cgroup (the
//     "0::" line of /proc/self/cgroup) and must stay below it;
//   - an empty cgroupsPath gives the default "/hako/<id>";
//   - "slice:prefix:name" is the systemd driver's form and is refused here
//     (the caller wants --systemd-cgroup).
func Path(cgroupsPath, id string) (string, error) {
	if strings.ContainsRune(cgroupsPath, 0) {
		return "", errors.New("linux.cgroupsPath: contains a NUL byte")
	}
	switch {
	case cgroupsPath == "":
		if id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\x00") {
			return "", fmt.Errorf("cgroup: container ID %q cannot name a cgroup", id)
		}
		return "/hako/" + id, nil
	case strings.HasPrefix(cgroupsPath, "/"):
		p := path.Clean(cgroupsPath)
		if p == "/" {
			return "", fmt.Errorf("linux.cgroupsPath: %q is the root cgroup; a container needs a cgroup of its own", cgroupsPath)
		}
		return p, nil
	case strings.Count(cgroupsPath, ":") == 2:
		return "", fmt.Errorf("linux.cgroupsPath: %q has the systemd form slice:prefix:name; use --systemd-cgroup for it (the cgroupfs driver takes a path)", cgroupsPath)
	}
	rel := path.Clean(cgroupsPath)
	if rel == "." || rel == ".." || strings.HasPrefix(rel, "../") {
		return "", fmt.Errorf("linux.cgroupsPath: relative path %q must name a cgroup below the caller's own", cgroupsPath)
	}
	own, err := ownCgroup()
	if err != nil {
		return "", fmt.Errorf("linux.cgroupsPath: relative path %q: %w", cgroupsPath, err)
	}
	return path.Join(own, rel), nil
}

// ownCgroup returns the caller's cgroup in the unified hierarchy.
func ownCgroup() (string, error) {
	data, err := os.ReadFile(selfCgroupFile)
	if err != nil {
		return "", err
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			p = strings.TrimSuffix(p, " (deleted)")
			if !strings.HasPrefix(p, "/") {
				break
			}
			return path.Clean(p), nil
		}
	}
	return "", fmt.Errorf("%s has no cgroup v2 (0::) line: the caller is not in a unified hierarchy", selfCgroupFile)
}

// Manager manages one container's cgroup. It is cheap: it holds the path,
// the mount point, and the levels of the path its Create made.
type Manager struct {
	// root is the mount point of the unified hierarchy; empty means
	// Mountpoint() (tests point it at a fake tree).
	root string
	// path is the cgroup relative to root, starting with "/".
	path string
	// created are the levels of path Create made, relative to root,
	// outermost first (see Destroy).
	created []string
}

// New returns a Manager for the cgroup path (as returned by Path, relative
// to the unified hierarchy's mount point). It touches nothing.
func New(path string) *Manager {
	return &Manager{path: cleanAbs(path)}
}

// Restore returns a Manager for path that knows that the levels created
// (as returned by Created in the process that ran Create) were made for
// this container, so that Destroy may remove them once empty. Levels that
// are not path or one of its ancestors are ignored.
func Restore(path string, created []string) *Manager {
	m := New(path)
	for _, c := range created {
		c = cleanAbs(c)
		if c != "/" && (c == m.path || strings.HasPrefix(m.path, c+"/")) && !slices.Contains(m.created, c) {
			m.created = append(m.created, c)
		}
	}
	slices.SortFunc(m.created, func(a, b string) int { return strings.Count(a, "/") - strings.Count(b, "/") })
	return m
}

func cleanAbs(p string) string {
	return path.Join("/", p)
}

// Created returns the levels of the cgroup path that Create made (the
// container's cgroup and any ancestor that did not exist), relative to the
// mount point, outermost first. Keep them with the container's state and
// pass them to Restore to let Destroy remove them from another process.
func (m *Manager) Created() []string {
	return slices.Clone(m.created)
}

// Dir returns the cgroup's directory.
func (m *Manager) Dir() (string, error) {
	root, err := m.mount()
	if err != nil {
		return "", err
	}
	return filepath.Join(root, m.path), nil
}

func (m *Manager) mount() (string, error) {
	if m.root != "" {
		return m.root, nil
	}
	return Mountpoint()
}

// Place moves the process pid (all its threads) into the cgroup.
func (m *Manager) Place(pid int) error {
	dir, err := m.Dir()
	if err != nil {
		return err
	}
	if err := writeFile(dir, "cgroup.procs", strconv.Itoa(pid)); err != nil {
		return fmt.Errorf("cgroup: move process %d into %s: %w", pid, dir, err)
	}
	return nil
}

// FD opens the cgroup's directory with O_PATH|O_DIRECTORY|O_CLOEXEC, for
// clone3(CLONE_INTO_CGROUP): the child starts in the cgroup, so it never
// runs a single instruction outside it. With os/exec:
//
//	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
//
// The caller closes fd once the process has started.
func (m *Manager) FD() (int, error) {
	dir, err := m.Dir()
	if err != nil {
		return -1, err
	}
	fd, err := unix.Open(dir, unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("cgroup: open %s: %w", dir, err)
	}
	return fd, nil
}

// Pids returns the processes in the cgroup and in all its descendants,
// sorted.
func (m *Manager) Pids() ([]int, error) {
	dir, err := m.Dir()
	if err != nil {
		return nil, err
	}
	var pids []int
	err = walkCgroups(dir, func(d string) error {
		data, err := os.ReadFile(filepath.Join(d, "cgroup.procs"))
		if err != nil {
			// A descendant removed meanwhile, or a threaded cgroup
			// (whose cgroup.procs cannot be read): no processes.
			if d != dir && (errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.ENODEV) || errors.Is(err, unix.EOPNOTSUPP)) {
				return nil
			}
			return err
		}
		for f := range strings.FieldsSeq(string(data)) {
			pid, err := strconv.Atoi(f)
			if err != nil {
				return fmt.Errorf("%s/cgroup.procs: bad pid %q", d, f)
			}
			pids = append(pids, pid)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("cgroup: list processes: %w", err)
	}
	slices.Sort(pids)
	return pids, nil
}

// walkCgroups calls fn for dir and every cgroup below it, parents first.
func walkCgroups(dir string, fn func(string) error) error {
	return filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if p != dir && errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if !d.IsDir() {
			return nil
		}
		return fn(p)
	})
}

// How long Freeze, Thaw and Kill wait for the kernel to confirm.
var (
	freezeTimeout = 10 * time.Second
	killTimeout   = 10 * time.Second
)

// Freeze freezes every process of the cgroup and its descendants
// (cgroup.freeze) and waits until cgroup.events says "frozen 1". If the
// cgroup does not freeze in time, it is thawed again and an error returned.
func (m *Manager) Freeze() error {
	dir, err := m.Dir()
	if err != nil {
		return err
	}
	if err := writeFile(dir, "cgroup.freeze", "1"); err != nil {
		return fmt.Errorf("cgroup: freeze %s: %w", dir, err)
	}
	if err := waitEvent(dir, "frozen", 1, freezeTimeout); err != nil {
		_ = writeFile(dir, "cgroup.freeze", "0")
		return fmt.Errorf("cgroup: freeze %s: %w (thawed it again)", dir, err)
	}
	return nil
}

// Thaw undoes Freeze and waits until cgroup.events says "frozen 0" (which
// it does not while an ancestor is frozen).
func (m *Manager) Thaw() error {
	dir, err := m.Dir()
	if err != nil {
		return err
	}
	if err := writeFile(dir, "cgroup.freeze", "0"); err != nil {
		return fmt.Errorf("cgroup: thaw %s: %w", dir, err)
	}
	if err := waitEvent(dir, "frozen", 0, freezeTimeout); err != nil {
		return fmt.Errorf("cgroup: thaw %s: %w", dir, err)
	}
	return nil
}

// State reports whether the cgroup is frozen: its cgroup.freeze is 1 (it
// was asked to freeze: the container is paused, even while the kernel is
// still stopping its processes or briefly lets one out of the freezer
// trap, which the frozen flag of cgroup.events shows), or cgroup.events
// says frozen 1 (an ancestor is frozen).
func (m *Manager) State() (frozen bool, err error) {
	dir, err := m.Dir()
	if err != nil {
		return false, err
	}
	data, err := rawfile.Read(filepath.Join(dir, "cgroup.freeze"))
	if err != nil {
		return false, fmt.Errorf("cgroup: state of %s: %w", dir, err)
	}
	if strings.TrimSpace(string(data)) == "1" {
		return true, nil
	}
	ev, err := readKeyed(dir, "cgroup.events")
	if err != nil {
		return false, fmt.Errorf("cgroup: state of %s: %w", dir, err)
	}
	return ev["frozen"] == 1, nil
}

// Kill sends SIGKILL to every process of the cgroup and its descendants and
// waits (bounded) until none is left. It writes cgroup.kill (Linux 5.14);
// on older kernels it signals every pid of cgroup.procs, again and again
// until the cgroup is empty. A cgroup that does not exist has nothing to
// kill.
func (m *Manager) Kill() error {
	dir, err := m.Dir()
	if err != nil {
		return err
	}
	if _, err := os.Stat(dir); errors.Is(err, fs.ErrNotExist) {
		return nil
	}
	err = writeFile(dir, "cgroup.kill", "1")
	switch {
	case err == nil:
		if err := waitEvent(dir, "populated", 0, killTimeout); err != nil {
			if _, serr := os.Stat(dir); errors.Is(serr, fs.ErrNotExist) {
				return nil // emptied, and removed at once (a systemd scope)
			}
			return fmt.Errorf("cgroup: kill %s: %w", dir, err)
		}
		return nil
	case errors.Is(err, unix.ENODEV):
		return nil // removed since the Stat above
	case errors.Is(err, fs.ErrNotExist):
		return m.killEach(dir)
	default:
		return fmt.Errorf("cgroup: kill %s: %w", dir, err)
	}
}

// killEach is Kill without cgroup.kill: a process may fork between the read
// of cgroup.procs and the signal, so it goes on until the cgroup is empty.
func (m *Manager) killEach(dir string) error {
	deadline := time.Now().Add(killTimeout)
	for {
		pids, err := m.Pids()
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				return nil
			}
			return err
		}
		if len(pids) == 0 {
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("cgroup: kill %s: processes %v still there after %v", dir, pids, killTimeout)
		}
		for _, pid := range pids {
			if err := unix.Kill(pid, unix.SIGKILL); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("cgroup: kill %d in %s: %w", pid, dir, err)
			}
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// OOMKills returns how many processes of the cgroup (and its descendants)
// the OOM killer has killed (oom_kill of memory.events); 0 without the
// memory controller.
func (m *Manager) OOMKills() (uint64, error) {
	dir, err := m.Dir()
	if err != nil {
		return 0, err
	}
	ev, err := readKeyed(dir, "memory.events")
	if errors.Is(err, fs.ErrNotExist) {
		if _, serr := os.Stat(dir); serr == nil {
			return 0, nil
		}
	}
	if err != nil {
		return 0, fmt.Errorf("cgroup: %w", err)
	}
	return ev["oom_kill"], nil
}

// Destroy removes the cgroup and every cgroup below it (deepest first),
// retrying briefly while the last processes exit (EBUSY). A cgroup that is
// already gone is not an error. Then it removes the ancestors that Create
// made for this container (see Created and Restore), innermost first, as
// long as they are empty: they may be shared with other containers
// created meanwhile, which keep them alive. Ancestors it did not make are
// never removed.
func (m *Manager) Destroy() error {
	root, err := m.mount()
	if err != nil {
		return err
	}
	if m.path == "/" {
		return errors.New("cgroup: refusing to remove the root cgroup")
	}
	dir := filepath.Join(root, m.path)
	var dirs []string
	err = walkCgroups(dir, func(d string) error {
		dirs = append(dirs, d)
		return nil
	})
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cgroup: remove %s: %w", dir, err)
	}
	for _, d := range slices.Backward(dirs) {
		if err := rmdirRetry(d); err != nil {
			return fmt.Errorf("cgroup: remove %s: %w", d, err)
		}
	}
	for _, c := range slices.Backward(m.created) {
		if c == m.path {
			continue
		}
		err := unix.Rmdir(filepath.Join(root, c))
		if err != nil && !errors.Is(err, unix.ENOENT) {
			break // in use by someone else now: leave it and its parents
		}
	}
	m.created = nil
	return nil
}

// rmdirRetry removes one empty cgroup, retrying on EBUSY while its last
// processes finish exiting.
func rmdirRetry(d string) error {
	delay := time.Millisecond
	deadline := time.Now().Add(2 * time.Second)
	for {
		err := unix.Rmdir(d)
		if err == nil || errors.Is(err, unix.ENOENT) {
			return nil
		}
		if !errors.Is(err, unix.EBUSY) || time.Now().After(deadline) {
			if errors.Is(err, unix.EBUSY) {
				return fmt.Errorf("%w (processes still in it)", err)
			}
			return err
		}
		time.Sleep(delay)
		delay = min(2*delay, 50*time.Millisecond)
	}
}

// waitEvent waits until key of cgroup.events has the value want. The
// kernel signals changes of cgroup.events as POLLPRI; the poll is also
// bounded by short timeouts, so a missed notification only costs time.
func waitEvent(dir, key string, want uint64, timeout time.Duration) error {
	f, err := os.Open(filepath.Join(dir, "cgroup.events"))
	if err != nil {
		return err
	}
	defer f.Close()
	deadline := time.Now().Add(timeout)
	buf := make([]byte, 512)
	for {
		n, err := f.ReadAt(buf, 0)
		if err != nil && n == 0 {
			return fmt.Errorf("read cgroup.events: %w", err)
		}
		v, ok := parseKeyed(buf[:n])[key]
		if !ok {
			return fmt.Errorf("cgroup.events has no %q", key)
		}
		if v == want {
			return nil
		}
		left := time.Until(deadline)
		if left <= 0 {
			return fmt.Errorf("timed out after %v waiting for cgroup.events %s %d", timeout, key, want)
		}
		ms := int(min(left, 100*time.Millisecond) / time.Millisecond)
		fds := []unix.PollFd{{Fd: int32(f.Fd()), Events: unix.POLLPRI}}
		if _, err := unix.Poll(fds, max(ms, 1)); err != nil && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("poll cgroup.events: %w", err)
		}
	}
}

// writeFile writes value to the interface file dir/name (which must
// exist). Each line of a multi-line value is a write of its own, as the
// kernel takes one command per write.
func writeFile(dir, name, value string) error {
	f, err := os.OpenFile(filepath.Join(dir, name), os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		return err
	}
	if !strings.Contains(value, "\n") {
		_, err = f.WriteString(value)
	} else {
		for line := range strings.SplitSeq(value, "\n") {
			if strings.TrimSpace(line) == "" {
				continue
			}
			if _, err = f.WriteString(line + "\n"); err != nil {
				break
			}
		}
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		// Keep the errno reachable and the file in the message.
		var pe *fs.PathError
		if !errors.As(err, &pe) {
			err = &fs.PathError{Op: "write", Path: filepath.Join(dir, name), Err: err}
		}
	}
	return err
}

// readFields returns the space-separated words of dir/name as a set.
func readFields(dir, name string) (map[string]bool, string, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return nil, "", err
	}
	set := map[string]bool{}
	for f := range strings.FieldsSeq(string(data)) {
		set[f] = true
	}
	return set, strings.TrimSpace(string(data)), nil
}

// readKeyed reads a flat keyed file ("key value" lines: cpu.stat,
// memory.events, cgroup.events, ...).
func readKeyed(dir, name string) (map[string]uint64, error) {
	data, err := rawfile.Read(filepath.Join(dir, name))
	if err != nil {
		return nil, err
	}
	return parseKeyed(data), nil
}

func parseKeyed(data []byte) map[string]uint64 {
	m := map[string]uint64{}
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), " ")
		if !ok {
			continue
		}
		if n, err := parseUint(strings.TrimSpace(v)); err == nil {
			m[k] = n
		}
	}
	return m
}

// parseUint parses a value of an interface file; "max" is the largest.
func parseUint(s string) (uint64, error) {
	if s == "max" {
		return 1<<64 - 1, nil
	}
	return strconv.ParseUint(s, 10, 64)
}

// readUint reads a single-value file.
func readUint(dir, name string) (uint64, error) {
	data, err := os.ReadFile(filepath.Join(dir, name))
	if err != nil {
		return 0, err
	}
	v, err := parseUint(strings.TrimSpace(string(data)))
	if err != nil {
		return 0, fmt.Errorf("%s: %w", filepath.Join(dir, name), err)
	}
	return v, nil
}
