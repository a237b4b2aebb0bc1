package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/console"
	"github.com/hako-runtime/hako/containerinit"
	"github.com/hako-runtime/hako/nsexec"
	"github.com/hako-runtime/hako/spec"
	"github.com/hako-runtime/hako/syncmsg"
)

// ExecOptions are the flags of `hako exec` once turned into a process.
type ExecOptions struct {
	Process       *specs.Process
	PidFile       string
	ConsoleSocket string
	Detach        bool
	PreserveFDs   int
	// IgnorePaused allows exec into a paused container.
	IgnorePaused bool
	// Stdio of the process; nil means the caller's own.
	Stdin, Stdout, Stderr *os.File
}

// Exec runs another process in a running container: it joins all of the
// container's namespaces and gets its process attributes. Unless detached
// it waits and returns the process's exit status (128+N for signal N).
func (c *Container) Exec(o *ExecOptions) (int, error) {
	switch c.State.Status {
	case specs.StateRunning:
	case StatusPaused:
		if !o.IgnorePaused {
			return -1, fmt.Errorf("cannot exec in container %q: it is paused (use --ignore-paused)", c.State.ID)
		}
	default:
		return -1, c.wrongStatus("exec in", specs.StateRunning)
	}
	if o.Process == nil || len(o.Process.Args) == 0 {
		return -1, errors.New("exec: no command given (args or --process)")
	}
	if o.Process.Terminal && o.ConsoleSocket == "" && o.Detach {
		return -1, errors.New("exec --tty --detach needs --console-socket to receive the pty")
	}
	if !o.Process.Terminal && o.ConsoleSocket != "" {
		return -1, errors.New("--console-socket given without --tty")
	}
	sp, err := c.Config()
	if err != nil {
		return -1, err
	}
	pidfd, err := openProcess(c.State.Pid, c.State.InitStartTime)
	if err != nil {
		return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
	}
	pidfdFile := os.NewFile(uintptr(pidfd), "pidfd")
	defer pidfdFile.Close()

	// Join every namespace the container has apart from ours: setns
	// refuses to "join" the user namespace one is already in.
	var flags uintptr
	if sp.Linux != nil {
		for _, ns := range sp.Linux.Namespaces {
			name := spec.NamespaceProcName(ns.Type)
			theirs, err1 := nsInode(c.State.Pid, name)
			ours, err2 := nsInode(os.Getpid(), name)
			if err1 != nil || err2 != nil || theirs != ours {
				flags |= uintptr(nsFlags[ns.Type])
			}
		}
	}
	extra := make([]*os.File, 0, o.PreserveFDs+1)
	for i := 0; i < o.PreserveFDs; i++ {
		extra = append(extra, os.NewFile(uintptr(3+i), "preserved"))
	}
	extra = append(extra, pidfdFile)
	// The filter is compiled (or taken from the cache) before anything
	// starts, and a process without a terminal or a seccomp listener is
	// resolved into an exec plan that the init's C stage runs: no Go
	// runtime then starts in the container.
	var compiled []byte
	if sp.Linux != nil {
		if compiled, err = compileSeccomp(c.store.Root, sp.Linux.Seccomp); err != nil {
			return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
		}
	}
	var plan []byte
	// A container in the caller's mount namespace is entered with a
	// chroot, which the Go path does.
	if !sharesMountNS(sp) && containerinit.PlanFits(o.Process, compiled) {
		pl, err := containerinit.BuildExecPlan(sp, o.Process, compiled, o.PreserveFDs)
		if err != nil {
			return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
		}
		if plan, err = pl.Encode(); err != nil {
			return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
		}
	}
	boot := &nsexec.Bootstrap{
		JoinPidfd:      3 + o.PreserveFDs,
		JoinPidfdFlags: flags,
		Fork:           flags&unix.CLONE_NEWPID != 0,
		ExecPlan:       plan != nil,
	}

	// Catch signals before the process exists, so none is lost.
	var sigs chan os.Signal
	if !o.Detach {
		sigs = make(chan os.Signal, 32)
		signal.Notify(sigs)
		defer signal.Stop(sigs)
	}
	// The process joins the container's cgroup at birth.
	cgfd, err := cgroupFD(c.cgroup())
	if err != nil {
		return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
	}
	if cgfd >= 0 {
		defer unix.Close(cgfd)
	}
	ls := &launchSpec{
		boot:       boot,
		extra:      extra,
		cgroupFD:   cgfd,
		cgroupPath: c.State.Cgroup,
		stdin:      orDefault(o.Stdin, os.Stdin),
		stdout:     orDefault(o.Stdout, os.Stdout),
		stderr:     orDefault(o.Stderr, os.Stderr),
	}
	ip, err := launch(ls)
	if err != nil && cgfd >= 0 && errors.Is(err, unix.EACCES) && c.State.SystemdUnit != "" {
		// A rootless hako outside the user's own cgroup tree (a login
		// session, a system service) may not clone into the scope; the
		// user's systemd may move the process there (it asks PID 1).
		ls.cgroupFD, ls.started = -1, func(pid int) error { return attachToScope(c.State.SystemdUnit, c.State.SystemdUser, pid) }
		ip, err = launch(ls)
	}
	if err != nil {
		return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
	}
	defer ip.sock.Close()
	pid := ip.pid
	fail := func(err error) (int, error) {
		unix.Kill(pid, unix.SIGKILL)
		var ws unix.WaitStatus
		unix.Wait4(pid, &ws, 0, nil)
		return -1, fmt.Errorf("exec in container %q: %w", c.State.ID, err)
	}

	if plan != nil {
		if err := syncmsg.WriteRaw(ip.sock, plan); err != nil {
			return fail(fmt.Errorf("send exec plan: %w", err))
		}
	} else {
		// The Go path: the init gets the process as a spec of its own
		// (only what the process needs of the container's config).
		execSpec := specs.Spec{Version: sp.Version, Process: o.Process}
		if sp.Linux != nil {
			execSpec.Linux = &specs.Linux{Personality: sp.Linux.Personality}
		}
		raw, err := json.Marshal(&containerinit.Config{
			Exec:        true,
			Spec:        &execSpec,
			Rootfs:      c.State.Rootfs,
			HostMountNS: sharesMountNS(sp),
			PreserveFDs: o.PreserveFDs,
			State:       c.State.OCIState(),
			Seccomp:     compiled,
		})
		if err != nil {
			return fail(err)
		}
		if err := syncmsg.Write(ip.sock, &syncmsg.Message{Type: syncmsg.TypeConfig, Config: raw}); err != nil {
			return fail(fmt.Errorf("send config: %w", err))
		}
	}
	// EOF: the sync socket closed on exec, the program runs.
	var master *os.File
	var sc *specs.LinuxSeccomp
	if sp.Linux != nil {
		sc = sp.Linux.Seccomp
	}
	err = awaitExec(ip.sock, func() *specs.LinuxSeccomp { return sc }, pid, c.State.OCIState(), func(m *syncmsg.Message, fds []int) (err error) {
		master, err = takeConsole(m, fds, o.ConsoleSocket)
		return err
	})
	if err != nil {
		return fail(err)
	}
	if master != nil {
		relay := console.StartRelay(master, orDefault(o.Stdin, os.Stdin), orDefault(o.Stdout, os.Stdout))
		defer relay.Close()
	}
	if o.PidFile != "" {
		if err := writePidFile(o.PidFile, pid); err != nil {
			return fail(err)
		}
	}
	if o.Detach {
		return 0, nil
	}
	return waitForward(pid, sigs), nil
}

// waitForward waits for a child, forwarding the signals that arrive on
// sigs, and returns its exit status the way a shell reports it.
func waitForward(pid int, sigs chan os.Signal) int {
	done := make(chan unix.WaitStatus, 1)
	go func() {
		var ws unix.WaitStatus
		for {
			_, err := unix.Wait4(pid, &ws, 0, nil)
			if err != unix.EINTR {
				break
			}
		}
		done <- ws
	}()
	for {
		select {
		case sig := <-sigs:
			switch sig {
			case syscall.SIGCHLD, syscall.SIGURG, syscall.SIGWINCH, syscall.SIGPIPE:
				continue
			}
			unix.Kill(pid, sig.(syscall.Signal))
		case ws := <-done:
			if ws.Signaled() {
				return 128 + int(ws.Signal())
			}
			return ws.ExitStatus()
		}
	}
}
