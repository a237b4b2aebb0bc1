// Package container is hako's lifecycle core on the caller's side:
// create, start, state, kill, delete, run and list, the state directory of
// each container and its lock. It never prints: the CLI does.
package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/internal/rawfile"
	"github.com/hako-runtime/hako/spec"
	"github.com/hako-runtime/hako/userns"
)

// Files in a container's state directory.
const (
	stateFile    = "state.json"
	startSock    = "start.sock"
	configFile   = "config.json" // the validated config, for exec
	stateDirMode = 0o700
)

// Status values beyond the OCI ones.
const StatusPaused specs.ContainerState = "paused"

// ErrNotExist is returned (wrapped) for an ID with no state directory.
var ErrNotExist = errors.New("container does not exist")

type notExistError struct{ id string }

func (e *notExistError) Error() string { return fmt.Sprintf("container %q does not exist", e.id) }
func (e *notExistError) Unwrap() error { return ErrNotExist }

// State is what hako keeps in state.json. The first fields are the OCI
// state that `state` prints; the rest is private bookkeeping.
type State struct {
	OCIVersion  string               `json:"ociVersion"`
	ID          string               `json:"id"`
	Pid         int                  `json:"pid"`
	Status      specs.ContainerState `json:"status"`
	Bundle      string               `json:"bundle"`
	Rootfs      string               `json:"rootfs"`
	Created     time.Time            `json:"created"`
	Owner       string               `json:"owner"`
	Annotations map[string]string    `json:"annotations,omitempty"`

	// InitStartTime is the init's start time in clock ticks since boot
	// (/proc/PID/stat field 22): with the pid, it names the process
	// even after the pid is reused.
	InitStartTime uint64 `json:"initStartTime,omitempty"`
	// PidNS is the inode of the container's pid namespace, or 0 when it
	// shares the host's.
	PidNS uint64 `json:"pidNs,omitempty"`
	// MntNS is the inode of the container's mount namespace (always its
	// own): without a pid namespace, membership in it tells which
	// processes belong to the container.
	MntNS uint64 `json:"mntNs,omitempty"`
	// HostRootMount is the id of the rootfs bind that the init of a
	// container without a mount namespace of its own made in its
	// creator's; delete detaches it, with every mount of the container.
	HostRootMount uint64 `json:"hostRootMount,omitempty"`
	// Hooks are kept for poststop, which runs when the bundle may be gone.
	Hooks *specs.Hooks `json:"hooks,omitempty"`
	// Cgroup is the container's cgroup, relative to the unified
	// hierarchy's mount point ("" without one); CgroupCreated are the
	// levels of it that create made, for delete to remove.
	Cgroup        string   `json:"cgroup,omitempty"`
	CgroupCreated []string `json:"cgroupCreated,omitempty"`
	// SystemdUnit is the container's scope with --systemd-cgroup (its
	// cgroup is Cgroup), in the user's manager when SystemdUser.
	SystemdUnit string `json:"systemdUnit,omitempty"`
	SystemdUser bool   `json:"systemdUser,omitempty"`
}

// OCIState is the state in the form hooks read it on stdin.
func (s *State) OCIState() specs.State {
	return specs.State{
		Version:     specs.Version,
		ID:          s.ID,
		Status:      s.Status,
		Pid:         s.Pid,
		Bundle:      s.Bundle,
		Annotations: s.Annotations,
	}
}

// Store is a state root: one directory per container under it.
type Store struct {
	Root string
	// Rootless is --rootless resolved (auto: a normal user, or root in a
	// user namespace): the cgroup drivers use it.
	Rootless bool
	// SystemdCgroup is --systemd-cgroup.
	SystemdCgroup bool
}

// DefaultRoot is /run/hako for root and $XDG_RUNTIME_DIR/hako otherwise.
// Root in a user namespace other than the initial one counts as a normal
// user when XDG_RUNTIME_DIR is set and USER is not root: rootless podman
// runs its runtime so, and /run/hako there is the host's, not writable.
func DefaultRoot() (string, error) {
	return defaultRoot(os.Geteuid(), userns.InUserNamespace, os.Getenv("XDG_RUNTIME_DIR"), os.Getenv("USER"))
}

func defaultRoot(euid int, inUserNS func() bool, xdg, user string) (string, error) {
	if euid == 0 && (xdg == "" || user == "root" || !inUserNS()) {
		return "/run/hako", nil
	}
	if xdg == "" {
		return "", errors.New("XDG_RUNTIME_DIR is not set: set it to a directory you own (e.g. /run/user/$(id -u)) or pass --root")
	}
	var st unix.Stat_t
	if err := unix.Stat(xdg, &st); err != nil {
		return "", fmt.Errorf("XDG_RUNTIME_DIR %s: %w", xdg, err)
	}
	if int(st.Uid) != euid {
		return "", fmt.Errorf("XDG_RUNTIME_DIR %s is owned by uid %d, not by you (uid %d): pass --root", xdg, st.Uid, euid)
	}
	return filepath.Join(xdg, "hako"), nil
}

func (s *Store) dir(id string) string { return filepath.Join(s.Root, id) }

// Container is an opened container: its state and its held lock.
type Container struct {
	store *Store
	dir   string
	lock  int // fd of the state directory, flocked; -1 when not held
	State State
	// console is the pty master of a container created for `run` with a
	// terminal and no console socket.
	console *os.File
	// initSock is the sync socket of an init being created.
	initSock *os.File
}

// lockDir takes a flock on the state directory. Exclusive for anything
// that changes the container, shared for readers that must not see a
// half-made one.
func lockDir(dir string, how int) (int, error) {
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, err
	}
	for {
		err = unix.Flock(fd, how)
		if err != unix.EINTR {
			break
		}
	}
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("lock %s: %w", dir, err)
	}
	return fd, nil
}

// Open loads a container's state under an exclusive lock. The caller must
// Close it.
func (s *Store) Open(id string) (*Container, error) {
	if err := spec.ValidateID(id); err != nil {
		return nil, err
	}
	dir := s.dir(id)
	fd, err := lockDir(dir, unix.LOCK_EX)
	if err != nil {
		if errors.Is(err, unix.ENOENT) {
			return nil, &notExistError{id}
		}
		return nil, fmt.Errorf("container %q: %w", id, err)
	}
	c := &Container{store: s, dir: dir, lock: fd}
	if err := c.load(); err != nil {
		c.Close()
		return nil, err
	}
	return c, nil
}

// Peek reads a container's state without waiting for its lock; a
// container still being created reports status "creating".
func (s *Store) Peek(id string) (*Container, error) {
	if err := spec.ValidateID(id); err != nil {
		return nil, err
	}
	c := &Container{store: s, dir: s.dir(id), lock: -1}
	if err := c.load(); err != nil {
		if errors.Is(err, ErrNotExist) {
			if _, serr := os.Stat(c.dir); serr == nil {
				// Directory without state: a create in progress, or
				// one that died half-way.
				c.State = State{OCIVersion: specs.Version, ID: id, Status: specs.StateCreating}
				if !c.creating() {
					c.State.Status = specs.StateStopped
				}
				return c, nil
			}
		}
		return nil, err
	}
	return c, nil
}

// creating says whether another process holds the lock of a directory
// that has no state yet.
func (c *Container) creating() bool {
	fd, err := unix.Open(c.dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd)
	return unix.Flock(fd, unix.LOCK_SH|unix.LOCK_NB) == unix.EWOULDBLOCK
}

func (c *Container) load() error {
	b, err := rawfile.Read(filepath.Join(c.dir, stateFile))
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return &notExistError{filepath.Base(c.dir)}
		}
		return fmt.Errorf("read state of %q: %w", filepath.Base(c.dir), err)
	}
	if err := json.Unmarshal(b, &c.State); err != nil {
		return fmt.Errorf("state of %q: %s: %w", filepath.Base(c.dir), stateFile, err)
	}
	// A state saved while creating is still being created only as long
	// as its creator holds the lock; otherwise that create died.
	if c.State.Status == specs.StateCreating && c.lock < 0 && c.creating() {
		return nil
	}
	c.State.Status = c.liveStatus()
	if c.State.Status == specs.StateStopped {
		c.State.Pid = 0
	}
	return nil
}

// save writes state.json atomically: a reader sees the old or the new
// state, never a torn one.
func (c *Container) save() error {
	b, err := json.Marshal(&c.State)
	if err != nil {
		return err
	}
	tmp := filepath.Join(c.dir, "."+stateFile)
	if err := os.WriteFile(tmp, b, 0o600); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(c.dir, stateFile)); err != nil {
		return fmt.Errorf("write state: %w", err)
	}
	return nil
}

// Close releases the lock.
func (c *Container) Close() {
	if c.lock >= 0 {
		unix.Close(c.lock)
		c.lock = -1
	}
}

// liveStatus derives the status from the init process itself: the file
// alone would lie after a crash or a reboot.
func (c *Container) liveStatus() specs.ContainerState {
	st := &c.State
	if st.Pid <= 0 || !processAlive(st.Pid, st.InitStartTime) {
		return specs.StateStopped
	}
	if _, err := os.Lstat(filepath.Join(c.dir, startSock)); err == nil {
		return specs.StateCreated
	}
	if cg := c.cgroup(); cg != nil {
		if frozen, err := cg.State(); err == nil && frozen {
			return StatusPaused
		}
	}
	return specs.StateRunning
}

// PublicState is the state as `hako state` and `hako list --format json`
// print it: runc's fields, without hako's bookkeeping.
type PublicState struct {
	OCIVersion  string               `json:"ociVersion"`
	ID          string               `json:"id"`
	Pid         int                  `json:"pid"`
	Status      specs.ContainerState `json:"status"`
	Bundle      string               `json:"bundle"`
	Rootfs      string               `json:"rootfs"`
	Created     time.Time            `json:"created"`
	Owner       string               `json:"owner"`
	Annotations map[string]string    `json:"annotations,omitempty"`
}

// Public returns the printed part of the state.
func (c *Container) Public() PublicState {
	st := c.State
	return PublicState{st.OCIVersion, st.ID, st.Pid, st.Status, st.Bundle, st.Rootfs, st.Created, st.Owner, st.Annotations}
}

// OCIStateJSON is what `hako state` prints.
func (c *Container) OCIStateJSON() ([]byte, error) {
	return json.MarshalIndent(c.Public(), "", "  ")
}

// saveConfig keeps the config the container was created with: exec takes
// its defaults (capabilities, seccomp, rlimits...) from it, and the bundle
// may have changed since.
func (c *Container) saveConfig(sp *specs.Spec) error {
	b, err := json.Marshal(sp)
	if err != nil {
		return err
	}
	return c.saveConfigRaw(b)
}

// saveConfigRaw keeps config bytes as they are: create stores the
// config.json it decoded rather than encoding the spec again.
func (c *Container) saveConfigRaw(b []byte) error {
	if err := os.WriteFile(filepath.Join(c.dir, configFile), b, 0o600); err != nil {
		return fmt.Errorf("save config: %w", err)
	}
	return nil
}

// Config returns the config the container was created with.
func (c *Container) Config() (*specs.Spec, error) {
	b, err := os.ReadFile(filepath.Join(c.dir, configFile))
	if err != nil {
		return nil, fmt.Errorf("config of %q: %w", c.State.ID, err)
	}
	var sp specs.Spec
	if err := json.Unmarshal(b, &sp); err != nil {
		return nil, fmt.Errorf("config of %q: %w", c.State.ID, err)
	}
	return &sp, nil
}
