package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/hooks"
)

func (c *Container) wrongStatus(op string, want ...specs.ContainerState) error {
	return fmt.Errorf("cannot %s container %q: it is %s (must be %v)", op, c.State.ID, c.State.Status, want)
}

// Start runs the user's program in a created container. It returns when
// the program has been exec'd, or with the init's error if it could not be.
func (c *Container) Start() error {
	if c.State.Status != specs.StateCreated {
		return c.wrongStatus("start", specs.StateCreated)
	}
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("start: %w", err)
	}
	conn := os.NewFile(uintptr(fd), "start")
	defer conn.Close()
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: sockPath(c.lock, startSock)}); err != nil {
		return fmt.Errorf("start container %q: connect to its init: %w", c.State.ID, err)
	}
	// From here the container counts as running, whatever happens to us.
	if err := os.Remove(filepath.Join(c.dir, startSock)); err != nil {
		return fmt.Errorf("start: %w", err)
	}
	// The init closes the connection by exec'ing; before, it may send a
	// seccomp listener fd, or an error.
	seccompConfig := func() *specs.LinuxSeccomp {
		if sp, err := c.Config(); err == nil && sp.Linux != nil {
			return sp.Linux.Seccomp
		}
		return nil
	}
	st := c.State.OCIState()
	st.Status = specs.StateRunning
	if err := awaitExec(conn, seccompConfig, c.State.Pid, st, nil); err != nil {
		return fmt.Errorf("start container %q: %w", c.State.ID, err)
	}
	c.State.Status = specs.StateRunning
	if err := c.save(); err != nil {
		return err
	}
	if c.State.Hooks != nil && len(c.State.Hooks.Poststart) > 0 {
		st, _ := json.Marshal(c.State.OCIState())
		if err := hooks.Run("poststart", c.State.Hooks.Poststart, st); err != nil {
			// runtime-spec: a failed poststart hook stops the container.
			c.signal(unix.SIGKILL, true)
			return err
		}
	}
	return nil
}

// Kill sends sig to the init, or with all to every process of the
// container.
//
// A stopped container: `kill --all` signals what is left in its cgroup
// (the processes of a container without its own pid namespace outlive
// its init; containerd's shim calls `kill --all ID 9` after such an init
// exits and fails the exit when that errors), and plain `kill` fails with
// runc's words "container not running", which the shim recognises as
// "already gone".
func (c *Container) Kill(sig unix.Signal, all bool) error {
	switch c.State.Status {
	case specs.StateCreated, specs.StateRunning, StatusPaused:
	case specs.StateStopped:
		if all {
			return c.signalLeftovers(sig)
		}
		return fmt.Errorf("cannot kill container %q: container not running (it is stopped)", c.State.ID)
	default:
		return c.wrongStatus("kill", specs.StateCreated, specs.StateRunning)
	}
	return c.signal(sig, all)
}

// signalLeftovers signals the processes left in a stopped container's
// cgroup. Only the cgroup says what belongs to a container whose init is
// gone (a joined pid namespace is shared), so without one there is nothing
// to do.
func (c *Container) signalLeftovers(sig unix.Signal) error {
	cg := c.cgroup()
	if cg == nil {
		return nil
	}
	if sig == unix.SIGKILL {
		if err := cg.Kill(); err != nil {
			return fmt.Errorf("kill container %q: %w", c.State.ID, err)
		}
	}
	pids, _ := cg.Pids()
	for _, pid := range pids {
		unix.Kill(pid, sig)
	}
	return nil
}

func (c *Container) signal(sig unix.Signal, all bool) error {
	if all {
		if cg := c.cgroup(); cg != nil && sig == unix.SIGKILL {
			if err := cg.Kill(); err != nil {
				return fmt.Errorf("kill container %q: %w", c.State.ID, err)
			}
		}
		for _, pid := range c.members() {
			if pid != c.State.Pid {
				unix.Kill(pid, sig)
			}
		}
	}
	fd, err := openProcess(c.State.Pid, c.State.InitStartTime)
	if err != nil {
		// With --all the init may have exited already, because the
		// processes it waited for are gone: that is success.
		if all && errors.Is(err, unix.ESRCH) {
			return nil
		}
		return fmt.Errorf("kill container %q: %w", c.State.ID, err)
	}
	defer unix.Close(fd)
	if err := unix.PidfdSendSignal(fd, sig, nil, 0); err != nil {
		if all && errors.Is(err, unix.ESRCH) {
			return nil
		}
		return fmt.Errorf("kill container %q: %w", c.State.ID, err)
	}
	return nil
}

// members lists the container's processes: those in its cgroup, else in
// its pid namespace when it has one, else in its mount namespace (daemons
// that left the init's process tree included).
func (c *Container) members() []int {
	if cg := c.cgroup(); cg != nil {
		if pids, err := cg.Pids(); err == nil {
			return pids
		}
	}
	name, ino := "pid", c.State.PidNS
	if ino == 0 {
		name, ino = "mnt", c.State.MntNS
	}
	if ino == 0 {
		return nil
	}
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return nil
	}
	var pids []int
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if got, err := nsInode(pid, name); err == nil && got == ino {
			pids = append(pids, pid)
		}
	}
	return pids
}

// Delete removes a stopped container, or with force any container after
// killing it. Poststop hook failures are reported through warn only.
func (c *Container) Delete(force bool, warn func(error)) error {
	switch c.State.Status {
	case specs.StateStopped:
	case specs.StateCreated, specs.StateRunning, StatusPaused, specs.StateCreating:
		if !force {
			return fmt.Errorf("cannot delete container %q: it is %s (stop it first, or use --force)", c.State.ID, c.State.Status)
		}
		if err := c.killAndWait(); err != nil {
			return err
		}
	}
	c.State.Status = specs.StateStopped
	// Whatever is left in the cgroup (daemons of a container without a
	// pid namespace) goes with it.
	if err := c.removeCgroup(); err != nil {
		return fmt.Errorf("delete container %q: %w", c.State.ID, err)
	}
	if err := c.detachHostMounts(); err != nil {
		return fmt.Errorf("delete container %q: %w", c.State.ID, err)
	}
	if c.State.Hooks != nil && len(c.State.Hooks.Poststop) > 0 {
		st, _ := json.Marshal(c.State.OCIState())
		hooks.RunAll("poststop", c.State.Hooks.Poststop, st, warn)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		return fmt.Errorf("remove state of %q: %w", c.State.ID, err)
	}
	return nil
}

func (c *Container) killAndWait() error {
	if c.State.Pid <= 0 {
		return nil
	}
	fd, err := openProcess(c.State.Pid, c.State.InitStartTime)
	if err != nil {
		// Already gone.
		return nil
	}
	defer unix.Close(fd)
	if cg := c.cgroup(); cg != nil {
		cg.Kill()
	}
	for _, pid := range c.members() {
		unix.Kill(pid, unix.SIGKILL)
	}
	if err := unix.PidfdSendSignal(fd, unix.SIGKILL, nil, 0); err != nil && err != unix.ESRCH {
		return fmt.Errorf("kill container %q: %w", c.State.ID, err)
	}
	return waitExit(fd)
}

// List returns every container under the store, sorted by ID.
func (s *Store) List() ([]*Container, error) {
	ents, err := os.ReadDir(s.Root)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("list %s: %w", s.Root, err)
	}
	var ids []string
	for _, e := range ents {
		// Dot entries are hako's own (the seccomp cache).
		if e.IsDir() && !strings.HasPrefix(e.Name(), ".") {
			ids = append(ids, e.Name())
		}
	}
	// Each container costs a few small reads (state.json, the init's
	// /proc stat, the start socket, cgroup.events) and a JSON decode:
	// spread them over the CPUs, which matters with hundreds.
	found := make([]*Container, len(ids))
	var next atomic.Int64
	var wg sync.WaitGroup
	for w := min(runtime.GOMAXPROCS(0), len(ids)); w > 0; w-- {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(ids) {
					return
				}
				if c, err := s.Peek(ids[i]); err == nil {
					found[i] = c
				}
			}
		}()
	}
	wg.Wait()
	out := make([]*Container, 0, len(ids))
	for _, c := range found {
		if c != nil {
			out = append(out, c)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].State.ID < out[j].State.ID })
	return out, nil
}

// Pids lists the host pids of the container's processes.
func (c *Container) Pids() ([]int, error) {
	switch c.State.Status {
	case specs.StateCreated, specs.StateRunning, StatusPaused:
	default:
		return nil, c.wrongStatus("list processes of", specs.StateCreated, specs.StateRunning)
	}
	pids := c.members()
	sort.Ints(pids)
	return pids, nil
}

// Pause freezes every process of the container (cgroup.freeze).
func (c *Container) Pause() error {
	if c.State.Status != specs.StateRunning {
		return c.wrongStatus("pause", specs.StateRunning)
	}
	cg := c.cgroup()
	if cg == nil {
		return fmt.Errorf("cannot pause container %q: it has no cgroup (a rootless container without a delegated cgroup)", c.State.ID)
	}
	return cg.Freeze()
}

// Resume thaws a paused container.
func (c *Container) Resume() error {
	if c.State.Status != StatusPaused {
		return c.wrongStatus("resume", StatusPaused)
	}
	return c.cgroup().Thaw()
}

// detachHostMounts detaches the rootfs bind, and every mount under it, of
// a container without a mount namespace of its own, if it is still the
// mount on top of the rootfs here. From another mount namespace it is not
// visible (delete from there leaves it, as the namespace's owner would).
func (c *Container) detachHostMounts() error {
	if c.State.HostRootMount == 0 {
		return nil
	}
	if id, err := mountID(c.State.Rootfs); err != nil || id != c.State.HostRootMount {
		return nil
	}
	if err := unix.Unmount(c.State.Rootfs, unix.MNT_DETACH); err != nil {
		return fmt.Errorf("detach the mounts at %s: %w", c.State.Rootfs, err)
	}
	return nil
}
