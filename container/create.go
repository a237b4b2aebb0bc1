package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"syscall"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/cgroupv2"
	"github.com/hako-runtime/hako/console"
	"github.com/hako-runtime/hako/containerinit"
	"github.com/hako-runtime/hako/hooks"
	"github.com/hako-runtime/hako/nsexec"
	"github.com/hako-runtime/hako/spec"
	"github.com/hako-runtime/hako/syncmsg"
	"github.com/hako-runtime/hako/userns"
)

// CreateOptions are the flags of `hako create`.
type CreateOptions struct {
	ID            string
	Bundle        string // default: the current directory
	PidFile       string
	ConsoleSocket string
	PreserveFDs   int
	NoPivot       bool
	NoNewKeyring  bool
	// Stdio of the container; nil means the caller's own.
	Stdin, Stdout, Stderr *os.File

	// relayConsole keeps the pty master for `run` to relay.
	relayConsole bool
	// compiledSeccomp is the filter, compiled before anything starts.
	compiledSeccomp []byte
}

// Create makes a container up to the point where only the user's program
// is left to start. On success the container is returned locked; on
// failure nothing is left behind: no state directory and no process.
func (s *Store) Create(o *CreateOptions) (_ *Container, err error) {
	if err := spec.ValidateID(o.ID); err != nil {
		return nil, err
	}
	bundle := o.Bundle
	if bundle == "" {
		bundle = "."
	}
	bundle, err = filepath.Abs(bundle)
	if err != nil {
		return nil, fmt.Errorf("bundle %s: %w", o.Bundle, err)
	}
	sp, rawConfig, err := spec.LoadRaw(bundle)
	if err != nil {
		return nil, err
	}
	if err := spec.Validate(sp, bundle); err != nil {
		return nil, err
	}
	if sp.Process == nil {
		return nil, errors.New("config.json: process is required to create a container")
	}
	if os.Geteuid() != 0 && !hasUserNamespace(sp) {
		return nil, fmt.Errorf("running as uid %d, the config needs a user namespace in linux.namespaces: write one with `hako spec --rootless`", os.Geteuid())
	}
	if sp.Process.Terminal && o.ConsoleSocket == "" && !o.relayConsole {
		return nil, errors.New("process.terminal is true: pass --console-socket to receive the pty (or use `hako run` in the foreground)")
	}
	if !sp.Process.Terminal && o.ConsoleSocket != "" {
		return nil, errors.New("--console-socket given but process.terminal is false")
	}
	if sp.Linux != nil {
		// Compiled (or found in the cache) before anything exists, so
		// a bad profile leaves nothing to clean up.
		if o.compiledSeccomp, err = compileSeccomp(s.Root, sp.Linux.Seccomp); err != nil {
			return nil, err
		}
	}
	rootfs := sp.Root.Path
	if !filepath.IsAbs(rootfs) {
		rootfs = filepath.Join(bundle, rootfs)
	}

	if err := os.MkdirAll(s.Root, stateDirMode); err != nil {
		return nil, fmt.Errorf("state root %s: %w", s.Root, err)
	}
	dir := s.dir(o.ID)
	if err := os.Mkdir(dir, stateDirMode); err != nil {
		if errors.Is(err, os.ErrExist) {
			return nil, fmt.Errorf("container %q already exists", o.ID)
		}
		return nil, fmt.Errorf("state directory %s: %w", dir, err)
	}
	lock, err := lockDir(dir, unix.LOCK_EX)
	if err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	c := &Container{store: s, dir: dir, lock: lock}
	c.State = State{
		OCIVersion:  specs.Version,
		ID:          o.ID,
		Status:      specs.StateCreating,
		Bundle:      bundle,
		Rootfs:      rootfs,
		Annotations: sp.Annotations,
		Hooks:       sp.Hooks,
	}
	if u := os.Geteuid(); u != 0 {
		c.State.Owner = strconv.Itoa(u)
	}
	var initPid int
	var cg *cgroupv2.Manager
	var devices *cgroupv2.DeviceFilter
	// Without a mount namespace of its own, the init binds the rootfs onto
	// itself in ours: the mount on top of rootfs before and after tells
	// whether it did, so that a failure or delete detaches only that.
	hostMounts := sharesMountNS(sp)
	var rootMountBefore uint64
	if hostMounts {
		if rootMountBefore, err = mountID(rootfs); err != nil {
			os.RemoveAll(dir)
			c.Close()
			return nil, fmt.Errorf("root.path %s: %w", rootfs, err)
		}
	}
	defer func() {
		if err != nil {
			if c.initSock != nil {
				c.initSock.Close()
			}
			if initPid > 0 {
				unix.Kill(initPid, unix.SIGKILL)
				var ws unix.WaitStatus
				unix.Wait4(initPid, &ws, 0, nil)
			}
			if hostMounts {
				if id, _ := mountID(rootfs); id != rootMountBefore {
					unix.Unmount(rootfs, unix.MNT_DETACH)
				}
			}
			c.removeCgroup()
			os.RemoveAll(dir)
			c.Close()
		}
	}()
	var scope *scopeSetup
	if s.SystemdCgroup {
		if scope, err = s.prepareScope(sp, o.ID); err != nil {
			return nil, err
		}
		defer scope.conn.Close()
		// Saved before the scope exists: a create killed half-way
		// leaves a unit that delete --force stops.
		c.State.SystemdUnit, c.State.SystemdUser = scope.unit, scope.rootless
		if err = c.save(); err != nil {
			return nil, err
		}
	} else {
		var cgPath string
		if cg, cgPath, devices, err = s.setupCgroup(sp, o.ID); err != nil {
			return nil, err
		}
		if cg != nil {
			c.State.Cgroup, c.State.CgroupCreated = cgPath, cg.Created()
		}
		// Saved before the init exists, so that a create killed
		// half-way leaves a state that `delete --force` can clean up
		// after (a directory without one, killed earlier, reads as
		// stopped and is removed the same way).
		if err = c.save(); err != nil {
			return nil, err
		}
	}
	// Done while the init's Go runtime starts, off the critical path.
	afterLaunch := func() error {
		if devices != nil && cg != nil {
			if err := cg.ApplyDeviceFilter(devices); err != nil {
				return err
			}
		}
		return c.saveConfigRaw(rawConfig)
	}
	initPid, err = c.spawnInit(sp, o, cg, scope, afterLaunch)
	if err != nil {
		return nil, err
	}
	if hostMounts {
		if id, _ := mountID(rootfs); id != rootMountBefore {
			c.State.HostRootMount = id
		}
	}
	c.State.Status = specs.StateCreated
	c.State.Created = time.Now().UTC()
	if err = c.save(); err != nil {
		return nil, err
	}
	if o.PidFile != "" {
		if err = writePidFile(o.PidFile, initPid); err != nil {
			return nil, err
		}
	}
	// Only now may the init wait for start: if we die before this, it
	// sees EOF and exits instead of waiting for ever.
	if err = syncmsg.Write(c.initSock, &syncmsg.Message{Type: syncmsg.TypeCommitted}); err != nil {
		return nil, fmt.Errorf("container init %d: %w", initPid, err)
	}
	c.initSock.Close()
	c.initSock = nil
	return c, nil
}

// spawnInit starts the init, drives it through the namespace and rootfs
// set-up and returns its pid once it waits for start.
func (c *Container) spawnInit(sp *specs.Spec, o *CreateOptions, cg *cgroupv2.Manager, scope *scopeSetup, afterLaunch func() error) (initPid int, err error) {
	boot, userns, err := bootstrapFor(sp)
	if err != nil {
		return 0, err
	}
	// The start socket: the init listens, `hako start` connects. Bound
	// through /proc/self/fd so that long --root paths fit in sun_path.
	listenFD, err := c.listenStart()
	if err != nil {
		return 0, err
	}
	listener := os.NewFile(uintptr(listenFD), startSock)
	defer listener.Close()

	extra := make([]*os.File, 0, o.PreserveFDs+1)
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	extra = append(extra, listener)
	cgfd, err := cgroupFD(cg)
	if err != nil {
		return 0, err
	}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
	}
	var started func(pid int) error
	if scope != nil {
		started = func(pid int) error {
			err := scope.start(pid)
			c.State.Cgroup = scope.path // "" unless the scope started
			return err
		}
	}
	ip, err := launch(&launchSpec{
		boot:       boot,
		userns:     userns,
		extra:      extra,
		cgroupFD:   cgfd,
		cgroupPath: c.State.Cgroup,
		started:    started,
		env:        []string{containerinit.EnvStartFD + "=" + strconv.Itoa(3+o.PreserveFDs)},
		stdin:      orDefault(o.Stdin, os.Stdin),
		stdout:     orDefault(o.Stdout, os.Stdout),
		stderr:     orDefault(o.Stderr, os.Stderr),
	})
	if err != nil {
		return 0, err
	}
	parentSock := ip.sock
	initPid = ip.pid
	defer func() {
		if err != nil {
			parentSock.Close()
		} else {
			c.initSock = parentSock
		}
	}()
	c.State.Pid = initPid
	if err := afterLaunch(); err != nil {
		return initPid, err
	}
	if _, c.State.InitStartTime, err = procStat(initPid); err != nil {
		return initPid, fmt.Errorf("container init %d: %w", initPid, err)
	}
	if boot.Unshare&unix.CLONE_NEWPID != 0 || hasJoin(boot, unix.CLONE_NEWPID) {
		if c.State.PidNS, err = nsInode(initPid, "pid"); err != nil {
			return initPid, err
		}
	}
	if !sharesMountNS(sp) {
		if c.State.MntNS, err = nsInode(initPid, "mnt"); err != nil {
			return initPid, err
		}
	}

	runtimeHooks := sp.Hooks != nil && (len(sp.Hooks.Prestart) > 0 || len(sp.Hooks.CreateRuntime) > 0)
	cfg := containerinit.Config{
		Spec:         sp,
		Rootfs:       c.State.Rootfs,
		NoPivot:      o.NoPivot,
		HostMountNS:  sharesMountNS(sp),
		NoNewKeyring: o.NoNewKeyring,
		PreserveFDs:  o.PreserveFDs,
		RuntimeHooks: runtimeHooks,
		State:        createHookState(&c.State),
		Seccomp:      o.compiledSeccomp,
	}
	raw, err := json.Marshal(&cfg)
	if err != nil {
		return initPid, err
	}
	idx, mfds, err := prepareIDMapped(sp, c.State.Bundle, initPid)
	if err != nil {
		return initPid, err
	}
	if len(mfds) > 0 {
		err := syncmsg.WriteFD(parentSock, &syncmsg.Message{Type: syncmsg.TypeMounts, Indices: idx}, mfds...)
		for _, fd := range mfds {
			unix.Close(fd)
		}
		if err != nil {
			return initPid, fmt.Errorf("send idmapped mounts to init: %w", err)
		}
	}
	if err := syncmsg.Write(parentSock, &syncmsg.Message{Type: syncmsg.TypeConfig, Config: raw}); err != nil {
		return initPid, fmt.Errorf("send config to init: %w", err)
	}
	for {
		m, fds, err := syncmsg.ReadFD(parentSock)
		if err != nil {
			return initPid, initDied(initPid, initExited("rootfs set-up", err))
		}
		switch m.Type {
		case syncmsg.TypeConsole:
			if c.console, err = takeConsole(m, fds, o.ConsoleSocket); err != nil {
				return initPid, err
			}
		case syncmsg.TypeHooks:
			st, _ := json.Marshal(createHookState(&c.State))
			if err := hooks.Run("prestart", sp.Hooks.Prestart, st); err != nil {
				return initPid, err
			}
			if err := hooks.Run("createRuntime", sp.Hooks.CreateRuntime, st); err != nil {
				return initPid, err
			}
			if err := syncmsg.Write(parentSock, &syncmsg.Message{Type: syncmsg.TypeContinue}); err != nil {
				return initPid, initDied(initPid, initExited("hooks", err))
			}
		case syncmsg.TypeReady:
			return initPid, nil
		case syncmsg.TypeError:
			return initPid, errors.New(m.Error)
		default:
			return initPid, fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}

// cgroupFD opens the cgroup for CLONE_INTO_CGROUP, or returns -1.
func cgroupFD(cg *cgroupv2.Manager) (int, error) {
	if cg == nil {
		return -1, nil
	}
	return cg.FD()
}

// launchSpec says how to start an init: the bootstrap for its C stage and
// the files it inherits. The sync socket is added after extra.
type launchSpec struct {
	boot                  *nsexec.Bootstrap
	userns                *userNS
	extra                 []*os.File
	env                   []string // more of the init's environment
	cgroupFD              int      // the cgroup to start the init in (CLONE_INTO_CGROUP), or -1
	cgroupPath            string   // that cgroup, for messages
	stdin, stdout, stderr *os.File
	// started, if set, runs on the init's pid once it exists and before
	// it gets its bootstrap (it waits for it, running nothing of the
	// container yet): the systemd driver puts it in the scope there.
	started func(pid int) error
}

// initProc is a started init that has reported its pid.
type initProc struct {
	pid  int
	sock *os.File // the parent's end of the sync socket
}

// launch starts /proc/self/exe as an init, feeds its C stage the
// bootstrap, writes id maps when asked and returns once the init's pid is
// known. The intermediate process of a fork is reaped here.
func launch(l *launchSpec) (_ *initProc, err error) {
	bootMsg, err := l.boot.Encode()
	if err != nil {
		return nil, err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("sync socketpair: %w", err)
	}
	parentSock := os.NewFile(uintptr(pair[0]), "sync-parent")
	childSock := os.NewFile(uintptr(pair[1]), "sync-child")
	defer func() {
		if err != nil {
			parentSock.Close()
		}
	}()
	extra := append(l.extra[:len(l.extra):len(l.extra)], childSock)
	syncFD := 3 + len(extra) - 1
	// One P is all the init needs: it runs one goroutine, locked to the
	// main thread, and with more the runtime starts idle threads to
	// serve them, each a clone the init waits for (Main clears the
	// environment before the container's process gets its own).
	env := append([]string{nsexec.EnvSyncFD + "=" + strconv.Itoa(syncFD), "GOMAXPROCS=1"}, l.env...)
	exe, err := sealedExe(3 + len(extra) + 16)
	if err != nil {
		childSock.Close()
		return nil, err
	}
	defer exe.Close()
	// syscall.ForkExec, not os/exec: os/exec probes pidfd support with a
	// throw-away clone on its first start, a process we do not need.
	files := []uintptr{l.stdin.Fd(), l.stdout.Fd(), l.stderr.Fd()}
	for _, f := range extra {
		files = append(files, f.Fd())
	}
	pid := 0
	reaped := false
	child, err := syscall.ForkExec(exePath(exe), []string{"hako", "init"}, &syscall.ProcAttr{
		Env:   env,
		Files: files,
		Sys:   &syscall.SysProcAttr{Setsid: true, UseCgroupFD: l.cgroupFD >= 0, CgroupFD: l.cgroupFD},
	})
	childSock.Close()
	if err != nil {
		if l.cgroupFD >= 0 && errors.Is(err, unix.EACCES) {
			// clone3(CLONE_INTO_CGROUP) needs write access to
			// cgroup.procs of the common ancestor of our cgroup and
			// the target.
			return nil, fmt.Errorf("start init in cgroup %s: %w: moving a process there needs write access to the cgroup that contains both it and hako's own cgroup (%s); run hako inside the delegated subtree (e.g. systemd-run --user --scope)", l.cgroupPath, err, ownCgroup())
		}
		return nil, fmt.Errorf("start init: %w", err)
	}
	reap := func() {
		var ws unix.WaitStatus
		for {
			if _, err := unix.Wait4(child, &ws, 0, nil); err != unix.EINTR {
				return
			}
		}
	}
	defer func() {
		if err != nil && pid == 0 && !reaped {
			unix.Kill(child, unix.SIGKILL)
			reap()
		}
	}()
	// died says how the init's first process ended, when it did before
	// finishing the handshake: the C stage reports its own errors on
	// the socket, so a silent end is a crash or a signal.
	died := func(err error) error {
		if why := exitReason(child); why != "" {
			reaped = true
			return fmt.Errorf("%w (%s)", err, why)
		}
		return err
	}
	if l.started != nil {
		if err := l.started(child); err != nil {
			return nil, err
		}
	}
	if err := syncmsg.WriteRaw(parentSock, bootMsg); err != nil {
		return nil, died(fmt.Errorf("send bootstrap to init: %w", err))
	}
	for pid == 0 {
		m, err := syncmsg.Read(parentSock)
		if err != nil {
			return nil, died(initExited("namespace set-up", err))
		}
		switch m.Type {
		case syncmsg.TypeMap:
			if err := writeIDMaps(m.Pid, l.userns); err != nil {
				return nil, err
			}
			if err := syncmsg.Write(parentSock, &syncmsg.Message{Type: syncmsg.TypeMapped}); err != nil {
				return nil, fmt.Errorf("tell init the id maps are written: %w", err)
			}
		case syncmsg.TypePid:
			if l.boot.Fork {
				// The intermediate process exits after reporting.
				reap()
				reaped = true
			}
			pid = m.Pid
		case syncmsg.TypeError:
			return nil, errors.New(m.Error)
		default:
			return nil, fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
	return &initProc{pid: pid, sock: parentSock}, nil
}

// takeConsole handles the pty master the init sent: it goes to the
// console socket, or is kept for relaying when there is none.
func takeConsole(m *syncmsg.Message, fds []int, socket string) (*os.File, error) {
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("init sent %d fds with the console message", len(fds))
	}
	master := os.NewFile(uintptr(fds[0]), "pty-master")
	if socket == "" {
		return master, nil
	}
	defer master.Close()
	return nil, console.SendToSocket(socket, master, m.Name)
}

// exitReason waits briefly for pid, a child of ours whose end of the sync
// socket just closed, and says how it ended ("" if it has not).
func exitReason(pid int) string {
	for i := 0; i < 100; i++ {
		var ws unix.WaitStatus
		p, err := unix.Wait4(pid, &ws, unix.WNOHANG|unix.WALL, nil)
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return ""
		}
		if p == pid {
			switch {
			case ws.Signaled():
				return fmt.Sprintf("init %d killed by signal %v", pid, ws.Signal())
			case ws.Exited():
				return fmt.Sprintf("init %d exited with status %d", pid, ws.ExitStatus())
			}
			return ""
		}
		time.Sleep(time.Millisecond)
	}
	return ""
}

// initDied adds to err how the init ended, when it is gone.
func initDied(pid int, err error) error {
	if why := exitReason(pid); why != "" {
		return fmt.Errorf("%w (%s)", err, why)
	}
	return err
}

// initExited turns EOF on the sync socket into an error that says when the
// init died.
func initExited(step string, err error) error {
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return fmt.Errorf("container init exited during %s", step)
	}
	return err
}

func orDefault(f, def *os.File) *os.File {
	if f != nil {
		return f
	}
	return def
}

func hasUserNamespace(sp *specs.Spec) bool {
	if sp.Linux == nil {
		return false
	}
	for _, ns := range sp.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			return true
		}
	}
	return false
}

func hasJoin(b *nsexec.Bootstrap, typ int) bool {
	for _, j := range b.Joins {
		if j.Type == typ {
			return true
		}
	}
	return false
}

// sockPath names a file of the state directory through an open fd of it,
// which keeps the path short enough for a unix socket address.
func sockPath(dirfd int, name string) string {
	return "/proc/self/fd/" + strconv.Itoa(dirfd) + "/" + name
}

func (c *Container) listenStart() (int, error) {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("start socket: %w", err)
	}
	if err := unix.Bind(fd, &unix.SockaddrUnix{Name: sockPath(c.lock, startSock)}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind start socket in %s: %w", c.dir, err)
	}
	if err := unix.Listen(fd, 1); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("listen on start socket: %w", err)
	}
	return fd, nil
}

var nsFlags = map[specs.LinuxNamespaceType]int{
	specs.PIDNamespace:     unix.CLONE_NEWPID,
	specs.NetworkNamespace: unix.CLONE_NEWNET,
	specs.MountNamespace:   unix.CLONE_NEWNS,
	specs.IPCNamespace:     unix.CLONE_NEWIPC,
	specs.UTSNamespace:     unix.CLONE_NEWUTS,
	specs.UserNamespace:    unix.CLONE_NEWUSER,
	specs.CgroupNamespace:  unix.CLONE_NEWCGROUP,
	specs.TimeNamespace:    unix.CLONE_NEWTIME,
}

// userNS is what the parent needs to map a new user namespace.
type userNS struct {
	uidMap, gidMap []specs.LinuxIDMapping
}

// bootstrapFor turns the config's namespaces into the constructor's
// instructions.
func bootstrapFor(sp *specs.Spec) (*nsexec.Bootstrap, *userNS, error) {
	b := &nsexec.Bootstrap{}
	var u *userNS
	if sp.Linux == nil {
		return b, nil, nil
	}
	for i, ns := range sp.Linux.Namespaces {
		flag, ok := nsFlags[ns.Type]
		if !ok {
			return nil, nil, fmt.Errorf("linux.namespaces[%d].type: unknown namespace type %q", i, ns.Type)
		}
		if ns.Path != "" {
			b.Joins = append(b.Joins, nsexec.Join{Type: flag, Path: ns.Path})
			continue
		}
		b.Unshare |= uintptr(flag)
		if ns.Type == specs.UserNamespace {
			u = &userNS{uidMap: sp.Linux.UIDMappings, gidMap: sp.Linux.GIDMappings}
		}
	}
	if b.Unshare&unix.CLONE_NEWTIME != 0 {
		for _, clock := range []string{"monotonic", "boottime"} {
			if off, ok := sp.Linux.TimeOffsets[clock]; ok {
				b.TimeOffsets = append(b.TimeOffsets, fmt.Sprintf("%s %d %d", clock, off.Secs, off.Nanosecs))
			}
		}
	}
	b.Fork = nsexec.NeedsFork(b.Unshare, b.Joins)
	return b, u, nil
}

// writeIDMaps writes the maps of the init's new user namespace.
func writeIDMaps(pid int, u *userNS) error {
	if u == nil {
		return errors.New("init asked for id maps without a new user namespace")
	}
	return userns.WriteMaps(pid, u.uidMap, u.gidMap)
}

// writePidFile writes the pid atomically: clients poll for the file and
// must never read it half-written.
func writePidFile(path string, pid int) error {
	abs, err := filepath.Abs(path)
	if err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	tmp := filepath.Join(filepath.Dir(abs), "."+filepath.Base(abs)+".tmp")
	if err := os.WriteFile(tmp, []byte(strconv.Itoa(pid)), 0o644); err != nil {
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	if err := os.Rename(tmp, abs); err != nil {
		os.Remove(tmp)
		return fmt.Errorf("pid file %s: %w", path, err)
	}
	return nil
}

// createHookState is the state the prestart, createRuntime and
// createContainer hooks read: status "created", because they are steps 3
// to 5 of the lifecycle and runtime-spec's "creating" is step 2 (the
// environment being made), "created" what follows it.
func createHookState(s *State) specs.State {
	st := s.OCIState()
	st.Status = specs.StateCreated
	return st
}

// sharesMountNS says the config lists no mount namespace: the container
// runs in its creator's (runtime-spec config-linux.md: a namespace type
// that is not listed is inherited from the runtime).
func sharesMountNS(sp *specs.Spec) bool {
	if sp.Linux == nil {
		return true
	}
	for _, ns := range sp.Linux.Namespaces {
		if ns.Type == specs.MountNamespace {
			return false
		}
	}
	return true
}

// mountID is the id of the mount on top of path, in this mount namespace.
func mountID(path string) (uint64, error) {
	var stx unix.Statx_t
	if err := unix.Statx(unix.AT_FDCWD, path, unix.AT_SYMLINK_NOFOLLOW, unix.STATX_MNT_ID, &stx); err != nil {
		return 0, err
	}
	return stx.Mnt_id, nil
}
