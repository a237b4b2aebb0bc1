package containerinit

import (
	"encoding/binary"
	"encoding/json"
	"fmt"
	"unsafe"

	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp"
	"github.com/hako-runtime/hako/syncmsg"
)

// setSeccomp decodes the compiled filter the parent sent.
func (p *process) setSeccomp(compiled []byte) error {
	if len(compiled) == 0 {
		return nil
	}
	prog := new(seccomp.Program)
	if err := prog.UnmarshalBinary(compiled); err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	p.seccomp = prog
	if prog.NeedsListener() {
		n, err := newNotifySender()
		if err != nil {
			return err
		}
		p.notify = n
	}
	return nil
}

// notifySender sends the seccomp listener fd to hako's waiting command
// with one raw sendmsg: after the filter is loaded the init must make no
// system call but this and execve, and must not allocate (the garbage
// collector makes system calls of its own).
type notifySender struct {
	frame []byte
	oob   []byte
	fdAt  int // offset of the fd in oob
	iov   unix.Iovec
	msg   unix.Msghdr
}

func newNotifySender() (*notifySender, error) {
	payload, err := json.Marshal(&syncmsg.Message{Type: syncmsg.TypeSeccomp})
	if err != nil {
		return nil, err
	}
	n := &notifySender{frame: make([]byte, 4+len(payload))}
	binary.BigEndian.PutUint32(n.frame, uint32(len(payload)))
	copy(n.frame[4:], payload)
	// The fd goes in right after the cmsghdr once Load returns it.
	n.oob = unix.UnixRights(0)
	n.fdAt = unix.CmsgLen(0)
	n.iov.Base = &n.frame[0]
	n.iov.SetLen(len(n.frame))
	n.msg.Iov = &n.iov
	n.msg.Iovlen = 1
	n.msg.Control = &n.oob[0]
	n.msg.SetControllen(len(n.oob))
	return n, nil
}

func (n *notifySender) send(sock, fd int) error {
	binary.NativeEndian.PutUint32(n.oob[n.fdAt:], uint32(fd))
	r, _, errno := unix.RawSyscall(unix.SYS_SENDMSG, uintptr(sock), uintptr(unsafe.Pointer(&n.msg)), 0)
	if errno != 0 {
		return fmt.Errorf("send seccomp listener fd: %w", errno)
	}
	if int(r) != len(n.frame) {
		return fmt.Errorf("send seccomp listener fd: short write")
	}
	return nil
}

// loadSeccomp installs the filter and hands a listener fd on.
func (p *process) loadSeccomp(notifySock int) error {
	fd, err := p.seccomp.Load()
	if err != nil {
		return fmt.Errorf("linux.seccomp: %w", err)
	}
	if fd >= 0 {
		if p.notify == nil {
			return fmt.Errorf("linux.seccomp: unexpected listener fd")
		}
		if err := p.notify.send(notifySock, fd); err != nil {
			return err
		}
		unix.Close(fd)
	}
	return nil
}
