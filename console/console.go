// Package console handles a container's pseudo-terminal on the caller's
// side: handing the pty master to a --console-socket the way runc does,
// or relaying it to hako's own terminal for `run -t` and `exec -t`.
package console

import (
	"fmt"
	"io"
	"os"
	"os/signal"
	"sync"

	"golang.org/x/sys/unix"
)

// SendToSocket connects to the unix socket at path and sends master over
// it with SCM_RIGHTS; the data is the pty's name, as runc sends it.
func SendToSocket(path string, master *os.File, name string) error {
	fd, err := unix.Socket(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	defer unix.Close(fd)
	if err := unix.Connect(fd, &unix.SockaddrUnix{Name: path}); err != nil {
		return fmt.Errorf("console socket %s: %w", path, err)
	}
	if err := unix.Sendmsg(fd, []byte(name), unix.UnixRights(int(master.Fd())), nil, 0); err != nil {
		return fmt.Errorf("send pty master to console socket %s: %w", path, err)
	}
	return nil
}

// Relay copies between the caller's stdio and the pty master until the
// master reports the other side closed. When stdin is a terminal it is
// put in raw mode (restored by Close) and its size follows SIGWINCH.
type Relay struct {
	master  *os.File
	stdin   *os.File
	saved   *unix.Termios
	winch   chan os.Signal
	outDone chan struct{}
	once    sync.Once
}

// StartRelay begins relaying.
func StartRelay(master, stdin, stdout *os.File) *Relay {
	r := &Relay{master: master, stdin: stdin, outDone: make(chan struct{})}
	if t, err := unix.IoctlGetTermios(int(stdin.Fd()), unix.TCGETS); err == nil {
		r.saved = t
		raw := *t
		// What cfmakeraw does.
		raw.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		raw.Oflag &^= unix.OPOST
		raw.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		raw.Cflag &^= unix.CSIZE | unix.PARENB
		raw.Cflag |= unix.CS8
		raw.Cc[unix.VMIN] = 1
		raw.Cc[unix.VTIME] = 0
		unix.IoctlSetTermios(int(stdin.Fd()), unix.TCSETS, &raw)
		r.resize()
		r.winch = make(chan os.Signal, 1)
		signal.Notify(r.winch, unix.SIGWINCH)
		go func() {
			for range r.winch {
				r.resize()
			}
		}()
	}
	go func() {
		io.Copy(master, stdin)
	}()
	go func() {
		// EIO once the last slave fd closes: the process is gone.
		io.Copy(stdout, master)
		close(r.outDone)
	}()
	return r
}

func (r *Relay) resize() {
	// A terminal that does not know its size (0x0) would wipe the
	// process.consoleSize the pty started with.
	if ws, err := unix.IoctlGetWinsize(int(r.stdin.Fd()), unix.TIOCGWINSZ); err == nil && ws.Row > 0 && ws.Col > 0 {
		unix.IoctlSetWinsize(int(r.master.Fd()), unix.TIOCSWINSZ, ws)
	}
}

// Close waits for the output to drain and restores the caller's terminal.
func (r *Relay) Close() {
	r.once.Do(func() {
		<-r.outDone
		if r.winch != nil {
			signal.Stop(r.winch)
			close(r.winch)
		}
		if r.saved != nil {
			unix.IoctlSetTermios(int(r.stdin.Fd()), unix.TCSETS, r.saved)
		}
		r.master.Close()
	})
}
