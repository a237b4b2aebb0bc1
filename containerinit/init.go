// Package containerinit is the container side of hako: the Go half of the
// init process. It runs as the container's first process, already inside
// the namespaces that nsexec made, builds the root filesystem, waits for
// `hako start`, applies the process attributes and execs the user's
// program. Everything here runs on the main thread, locked, because
// capabilities, no_new_privs, the scheduler and seccomp are per thread and
// the exec must come from the thread that holds them.
package containerinit

import (
	"encoding/json"
	"fmt"
	"math"
	"os"
	"strconv"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/hooks"
	"github.com/hako-runtime/hako/mounts"
	"github.com/hako-runtime/hako/nsexec"
	"github.com/hako-runtime/hako/syncmsg"
	"github.com/hako-runtime/hako/userns"
)

// EnvStartFD names the variable holding the fd of the listening socket on
// which the init waits for `hako start`.
const EnvStartFD = "_HAKO_START_FD"

// Config is what the parent sends the init once the namespaces exist.
type Config struct {
	// Exec marks an init that runs one more process in a running
	// container (`hako exec`): it has joined the container's namespaces
	// and does nothing but apply the process and exec.
	Exec bool        `json:"exec,omitempty"`
	Spec *specs.Spec `json:"spec"`
	// Rootfs is the absolute host path of the root filesystem.
	Rootfs  string `json:"rootfs"`
	NoPivot bool   `json:"noPivot,omitempty"`
	// HostMountNS: the config lists no mount namespace, the init runs in
	// the caller's (see mounts.RootfsConfig). For Exec, the process
	// chroots into Rootfs, the container's root in that namespace.
	HostMountNS  bool `json:"hostMountNS,omitempty"`
	NoNewKeyring bool `json:"noNewKeyring,omitempty"`
	PreserveFDs  int  `json:"preserveFds,omitempty"`
	// RuntimeHooks says the parent has prestart or createRuntime hooks
	// to run once the mounts are made: the init pauses for them.
	RuntimeHooks bool `json:"runtimeHooks,omitempty"`
	// State is the OCI state for the hooks the init runs itself.
	State specs.State `json:"state"`
	// Seccomp is the compiled filter (seccomp's binary form), compiled
	// (or taken from the cache) by the parent.
	Seccomp []byte `json:"seccomp,omitempty"`

	// detached are the idmapped mounts the parent prepared, by index.
	detached map[int]int
}

// IsInit says whether this process was started as a container init.
func IsInit() bool {
	_, ok := os.LookupEnv(nsexec.EnvSyncFD)
	return ok
}

// Main runs the init and never returns: it execs the container process or
// exits after reporting the error to whoever waits for it.
func Main() {
	syncFD, err1 := envFD(nsexec.EnvSyncFD)
	startFD, err2 := envFD(EnvStartFD)
	if err1 != nil {
		fmt.Fprintln(os.Stderr, "hako init: started without its sync sockets")
		os.Exit(1)
	}
	os.Clearenv()
	// The Go runtime raised our soft RLIMIT_NOFILE; the container's
	// process must inherit what its caller had.
	if cur, max, ok := nsexec.OrigNofile(); ok {
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &syscall.Rlimit{Cur: cur, Max: max})
	}
	syncSock := os.NewFile(uintptr(syncFD), "sync")
	cfg, err := receiveConfig(syncSock)
	if err != nil {
		_ = syncmsg.Write(syncSock, &syncmsg.Message{Type: syncmsg.TypeError, Error: err.Error()})
		os.Exit(1)
	}
	if cfg.Exec {
		err = execProcess(cfg, syncSock)
		_ = syncmsg.Write(syncSock, &syncmsg.Message{Type: syncmsg.TypeError, Error: err.Error()})
		os.Exit(1)
	}
	if err2 != nil {
		fmt.Fprintln(os.Stderr, "hako init: started without its start socket")
		os.Exit(1)
	}
	conn, err := create(cfg, syncSock, startFD)
	if err != nil {
		// Before start, the parent is listening; after, `hako start`.
		w := syncSock
		if conn != nil {
			w = conn
		}
		_ = syncmsg.Write(w, &syncmsg.Message{Type: syncmsg.TypeError, Error: err.Error()})
		os.Exit(1)
	}
	// Unreachable: create ends in exec.
	os.Exit(1)
}

func envFD(name string) (int, error) {
	v, ok := os.LookupEnv(name)
	if !ok {
		return -1, fmt.Errorf("%s not set", name)
	}
	return strconv.Atoi(v)
}

// receiveConfig reads the config, and before it any detached mounts the
// parent prepared (idmapped mounts).
func receiveConfig(sock *os.File) (*Config, error) {
	detached := map[int]int{}
	for {
		m, fds, err := syncmsg.ReadFD(sock)
		if err != nil {
			return nil, fmt.Errorf("receive config: %w", err)
		}
		switch m.Type {
		case syncmsg.TypeMounts:
			if len(fds) != len(m.Indices) {
				return nil, fmt.Errorf("receive config: %d mount fds for %d mounts", len(fds), len(m.Indices))
			}
			for i, idx := range m.Indices {
				detached[idx] = fds[i]
			}
			continue
		case syncmsg.TypeConfig:
		case syncmsg.TypeError:
			return nil, fmt.Errorf("receive config: %s", m.Error)
		default:
			return nil, fmt.Errorf("receive config: unexpected message %q", m.Type)
		}
		var cfg Config
		if err := json.Unmarshal(m.Config, &cfg); err != nil {
			return nil, fmt.Errorf("decode config: %w", err)
		}
		if cfg.Spec == nil || cfg.Spec.Process == nil {
			return nil, fmt.Errorf("config has no process")
		}
		cfg.detached = detached
		return &cfg, nil
	}
}

// create does everything up to the exec. Once `hako start` has connected,
// conn is returned with any error so that start can report it.
func create(cfg *Config, syncSock *os.File, startFD int) (conn *os.File, err error) {
	s := cfg.Spec
	// Nothing the parent or the C stage left open may reach the
	// container (CVE-2024-21626); only the preserved fds stay.
	if err := unix.CloseRange(uint(3+cfg.PreserveFDs), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return nil, fmt.Errorf("mark inherited fds close-on-exec: %w", err)
	}
	// Other processes in the container must not be able to reach into
	// this one through /proc before it execs.
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return nil, fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}

	rc := rootfsConfig(cfg)
	if err := mounts.Prepare(rc); err != nil {
		return nil, err
	}
	if cfg.RuntimeHooks {
		if err := syncmsg.Write(syncSock, &syncmsg.Message{Type: syncmsg.TypeHooks}); err != nil {
			return nil, fmt.Errorf("ask parent to run hooks: %w", err)
		}
		if _, err := syncmsg.Expect(syncSock, syncmsg.TypeContinue); err != nil {
			return nil, fmt.Errorf("wait for createRuntime hooks: %w", err)
		}
	}
	// Hooks in the container's namespaces see the pid as the container
	// does (runtime-spec runtime.md, "State").
	cfg.State.Pid = os.Getpid()
	if s.Hooks != nil && len(s.Hooks.CreateContainer) > 0 {
		if err := runHooks("createContainer", s.Hooks.CreateContainer, cfg.State); err != nil {
			return nil, err
		}
	}
	if err := mounts.PivotRoot(rc); err != nil {
		return nil, err
	}
	if s.Process.Terminal {
		if err := setupTerminal(syncSock, s.Process.ConsoleSize, true); err != nil {
			return nil, err
		}
	}
	if err := setupNamespaced(cfg); err != nil {
		return nil, err
	}
	if err := mounts.Finalize(rc); err != nil {
		return nil, err
	}
	if !cfg.NoNewKeyring {
		if err := joinSessionKeyring(cfg.State.ID); err != nil {
			return nil, err
		}
	}
	p, err := prepareProcess(s, true)
	if err != nil {
		return nil, err
	}
	if err := p.setSeccomp(cfg.Seccomp); err != nil {
		return nil, err
	}

	if err := syncmsg.Write(syncSock, &syncmsg.Message{Type: syncmsg.TypeReady}); err != nil {
		return nil, fmt.Errorf("report ready: %w", err)
	}
	// The parent saves the state and then commits. If it dies first,
	// nobody could ever start or find us: leave.
	if _, err := syncmsg.Expect(syncSock, syncmsg.TypeCommitted); err != nil {
		os.Exit(1)
	}
	syncSock.Close()

	// Block until `hako start` connects.
	nfd, _, err := unix.Accept4(startFD, unix.SOCK_CLOEXEC)
	for err == unix.EINTR {
		nfd, _, err = unix.Accept4(startFD, unix.SOCK_CLOEXEC)
	}
	if err != nil {
		return nil, fmt.Errorf("wait for start: %w", err)
	}
	unix.Close(startFD)
	conn = os.NewFile(uintptr(nfd), "start")

	if s.Hooks != nil && len(s.Hooks.StartContainer) > 0 {
		st := cfg.State
		st.Status = specs.StateCreated
		if err := runHooks("startContainer", s.Hooks.StartContainer, st); err != nil {
			return conn, err
		}
	}
	// On success this does not return, and conn closes on exec: that is
	// how `hako start` learns the process runs. A seccomp listener fd
	// goes to `hako start` over conn.
	return conn, p.exec(int(conn.Fd()))
}

// execProcess is the whole of an exec init. setns into the mount
// namespace already made the container's root our root and cwd.
func execProcess(cfg *Config, syncSock *os.File) error {
	if err := unix.CloseRange(uint(3+cfg.PreserveFDs), math.MaxUint32, unix.CLOSE_RANGE_CLOEXEC); err != nil {
		return fmt.Errorf("mark inherited fds close-on-exec: %w", err)
	}
	if err := unix.Prctl(unix.PR_SET_DUMPABLE, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_DUMPABLE): %w", err)
	}
	if cfg.HostMountNS {
		// No mount namespace to join: the container's root is its
		// rootfs in this one.
		if err := mounts.Chroot(cfg.Rootfs); err != nil {
			return err
		}
	}
	if cfg.Spec.Process.Terminal {
		if err := setupTerminal(syncSock, cfg.Spec.Process.ConsoleSize, false); err != nil {
			return err
		}
	}
	p, err := prepareProcess(cfg.Spec, false)
	if err != nil {
		return err
	}
	if err := p.setSeccomp(cfg.Seccomp); err != nil {
		return err
	}
	return p.exec(int(syncSock.Fd()))
}

func runHooks(phase string, hs []specs.Hook, st specs.State) error {
	b, err := json.Marshal(st)
	if err != nil {
		return err
	}
	return hooks.Run(phase, hs, b)
}

func rootfsConfig(cfg *Config) *mounts.RootfsConfig {
	s := cfg.Spec
	rc := &mounts.RootfsConfig{
		Rootfs:      cfg.Rootfs,
		Mounts:      s.Mounts,
		NoPivot:     cfg.NoPivot,
		HostMountNS: cfg.HostMountNS,
		Detached:    cfg.detached,
	}
	if s.Root != nil {
		rc.Readonly = s.Root.Readonly
	}
	if l := s.Linux; l != nil {
		rc.Propagation = l.RootfsPropagation
		rc.Devices = l.Devices
		rc.MaskedPaths = l.MaskedPaths
		rc.ReadonlyPaths = l.ReadonlyPaths
		for _, ns := range l.Namespaces {
			if ns.Type == specs.UserNamespace {
				rc.InUserNS = true
			}
		}
	}
	// hako itself may run in a user namespace without the config asking
	// for one (rootless podman runs its runtime in its own): mknod of a
	// device is refused there too.
	if !rc.InUserNS && userns.InUserNamespace() {
		rc.InUserNS = true
	}
	return rc
}
