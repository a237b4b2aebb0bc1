package container

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/syncmsg"
)

// forwardListener sends a seccomp listener fd to the agent at
// linux.seccomp.listenerPath with the container process state, as
// runtime-spec config-linux.md describes, and closes fd.
func forwardListener(sc *specs.LinuxSeccomp, pid int, st specs.State, fds []int) error {
	defer func() {
		for _, fd := range fds {
			unix.Close(fd)
		}
	}()
	if len(fds) != 1 {
		return fmt.Errorf("seccomp listener: init sent %d fds", len(fds))
	}
	if sc == nil || sc.ListenerPath == "" {
		return fmt.Errorf("seccomp listener fd without linux.seccomp.listenerPath")
	}
	b, err := json.Marshal(&specs.ContainerProcessState{
		Version:  specs.Version,
		Fds:      []string{specs.SeccompFdName},
		Pid:      pid,
		Metadata: sc.ListenerMetadata,
		State:    st,
	})
	if err != nil {
		return err
	}
	sock, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath %s: %w", sc.ListenerPath, err)
	}
	defer unix.Close(sock)
	if err := unix.Connect(sock, &unix.SockaddrUnix{Name: sc.ListenerPath}); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath %s: %w", sc.ListenerPath, err)
	}
	if err := unix.Sendmsg(sock, b, unix.UnixRights(fds[0]), nil, 0); err != nil {
		return fmt.Errorf("linux.seccomp.listenerPath %s: send: %w", sc.ListenerPath, err)
	}
	return nil
}

// awaitExec reads what an init sends once its process is set up: a
// seccomp listener fd to forward, an error, or EOF when the exec closed
// the socket and the program runs. onConsole handles a pty master. The
// seccomp config is asked for only when a listener fd arrives: start
// then need not decode the whole config.
func awaitExec(sock *os.File, seccompConfig func() *specs.LinuxSeccomp, pid int, st specs.State, onConsole func(*syncmsg.Message, []int) error) error {
	for {
		m, fds, err := syncmsg.ReadFD(sock)
		if errors.Is(err, io.EOF) {
			return nil
		}
		if err != nil {
			return err
		}
		switch m.Type {
		case syncmsg.TypeSeccomp:
			if err := forwardListener(seccompConfig(), pid, st, fds); err != nil {
				return err
			}
		case syncmsg.TypeConsole:
			if onConsole == nil {
				for _, fd := range fds {
					unix.Close(fd)
				}
				return fmt.Errorf("unexpected console from init")
			}
			if err := onConsole(m, fds); err != nil {
				return err
			}
		case syncmsg.TypeError:
			return errors.New(m.Error)
		default:
			return fmt.Errorf("unexpected message %q from init", m.Type)
		}
	}
}
