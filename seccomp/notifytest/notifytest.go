// Package notifytest is a minimal seccomp agent for tests: it receives a
// listener fd sent with SCM_RIGHTS (as a runtime does to
// linux.seccomp.listenerPath) and answers the notifications on it with
// SECCOMP_IOCTL_NOTIF_RECV and SECCOMP_IOCTL_NOTIF_SEND.
package notifytest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// Data is struct seccomp_data: the system call that was intercepted.
type Data struct {
	Nr                 int32
	Arch               uint32
	InstructionPointer uint64
	Args               [6]uint64
}

// Notif is struct seccomp_notif.
type Notif struct {
	ID    uint64
	Pid   uint32
	Flags uint32
	Data  Data
}

// Resp is struct seccomp_notif_resp. Error is a negated errno (0 to return
// Val).
type Resp struct {
	ID    uint64
	Val   int64
	Error int32
	Flags uint32
}

// FlagContinue (SECCOMP_USER_NOTIF_FLAG_CONTINUE) lets the system call run.
const FlagContinue = unix.SECCOMP_USER_NOTIF_FLAG_CONTINUE

// The ioctl numbers encode the structure sizes.
var (
	_ [unsafe.Sizeof(Notif{}) - 80]struct{}
	_ [unsafe.Sizeof(Resp{}) - 24]struct{}
)

// Errno answers id with the system call failing with errno.
func Errno(id uint64, errno unix.Errno) Resp { return Resp{ID: id, Error: -int32(errno)} }

// Value answers id with the system call returning val.
func Value(id uint64, val int64) Resp { return Resp{ID: id, Val: val} }

// Continue answers id by letting the system call run.
func Continue(id uint64) Resp { return Resp{ID: id, Flags: FlagContinue} }

// Recv waits for the next notification on the listener fd.
func Recv(fd int) (*Notif, error) {
	for {
		n := new(Notif) // the kernel wants it zeroed
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_RECV, uintptr(unsafe.Pointer(n)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return nil, fmt.Errorf("SECCOMP_IOCTL_NOTIF_RECV: %w", errno)
		}
		return n, nil
	}
}

// Send answers a notification. ENOENT means the caller is gone (or was
// interrupted); the error wraps it.
func Send(fd int, r Resp) error {
	for {
		_, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(fd), unix.SECCOMP_IOCTL_NOTIF_SEND, uintptr(unsafe.Pointer(&r)))
		if errno == unix.EINTR {
			continue
		}
		if errno != 0 {
			return fmt.Errorf("SECCOMP_IOCTL_NOTIF_SEND: %w", errno)
		}
		return nil
	}
}

// Handler decides the answer to a notification.
type Handler func(*Notif) Resp

// Serve answers the notifications on fd with h until every process that
// uses the filter is gone (then it returns nil), ctx is done, or an error.
// Notifications whose caller went away in the meantime are skipped. Serve
// does not close fd.
func Serve(ctx context.Context, fd int, h Handler) error {
	for {
		if err := ctx.Err(); err != nil {
			return err
		}
		pfd := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(pfd, int((100 * time.Millisecond).Milliseconds()))
		if errors.Is(err, unix.EINTR) || n == 0 {
			continue
		}
		if err != nil {
			return fmt.Errorf("poll seccomp listener: %w", err)
		}
		if pfd[0].Revents&unix.POLLIN == 0 {
			if pfd[0].Revents&unix.POLLHUP != 0 {
				return nil
			}
			return fmt.Errorf("poll seccomp listener: revents %#x", pfd[0].Revents)
		}
		req, err := Recv(fd)
		if errors.Is(err, unix.ENOENT) {
			continue
		}
		if err != nil {
			return err
		}
		if err := Send(fd, h(req)); err != nil && !errors.Is(err, unix.ENOENT) {
			return err
		}
	}
}

// RecvFD reads from conn until EOF, as an agent listening on
// linux.seccomp.listenerPath does, and returns the one fd that came with
// SCM_RIGHTS (the listener) and the bytes (the container process state).
func RecvFD(conn *net.UnixConn) (fd int, payload []byte, err error) {
	var fds []int
	defer func() {
		if err != nil {
			for _, f := range fds {
				unix.Close(f)
			}
		}
	}()
	buf := make([]byte, 64<<10)
	oob := make([]byte, unix.CmsgSpace(4*8))
	for {
		n, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		payload = append(payload, buf[:n]...)
		if oobn > 0 {
			msgs, perr := unix.ParseSocketControlMessage(oob[:oobn])
			if perr != nil {
				return -1, nil, perr
			}
			for _, m := range msgs {
				got, perr := unix.ParseUnixRights(&m)
				if perr != nil {
					return -1, nil, perr
				}
				fds = append(fds, got...)
			}
		}
		if errors.Is(err, io.EOF) || err == nil && n == 0 && oobn == 0 {
			break
		}
		if err != nil {
			return -1, nil, err
		}
	}
	if len(fds) != 1 {
		return -1, nil, fmt.Errorf("received %d fds, want 1", len(fds))
	}
	return fds[0], payload, nil
}
