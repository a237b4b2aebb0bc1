// Package syncmsg frames the messages that hako's parent process and a
// container's init exchange over their socket: a 4-byte big-endian length,
// then a JSON payload. The same framing is spoken by the C stage of the
// init (nsexec), so it stays deliberately simple.
package syncmsg

import (
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// maxFDs bounds the fds one message can carry.
const maxFDs = 64

// MaxFrame bounds a frame so that a confused peer cannot make us allocate
// without limit. Configurations with large seccomp profiles fit easily.
const MaxFrame = 16 << 20

// Message types.
const (
	TypeMap       = "map"       // init -> parent: write the id maps of Pid
	TypeMapped    = "mapped"    // parent -> init: id maps written
	TypePid       = "pid"       // init -> parent: the init's pid
	TypeConfig    = "config"    // parent -> init: Config holds the init config
	TypeHooks     = "hooks"     // init -> parent: run prestart/createRuntime hooks now
	TypeContinue  = "continue"  // parent -> init: hooks done
	TypeReady     = "ready"     // init -> parent: set up; waiting for TypeCommitted
	TypeCommitted = "committed" // parent -> init: state saved; wait for start
	TypeError     = "error"     // either way: Error says what failed
	TypeConsole   = "console"   // init -> parent: the pty master is attached
	TypeSeccomp   = "seccomp"   // init -> parent: the seccomp listener fd is attached
	TypeMounts    = "mounts"    // parent -> init: detached mounts for the mounts at Indices are attached
)

// Message is one frame's payload.
type Message struct {
	Type   string          `json:"type"`
	Pid    int             `json:"pid,omitempty"`
	Error  string          `json:"error,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
	// Name is the pty's name in the container, with TypeConsole.
	Name string `json:"name,omitempty"`
	// Indices are the mounts the attached fds belong to, with TypeMounts.
	Indices []int `json:"indices,omitempty"`
}

// WriteRaw writes one frame with the given payload.
func WriteRaw(w io.Writer, payload []byte) error {
	if len(payload) > MaxFrame {
		return fmt.Errorf("sync message of %d bytes is too large", len(payload))
	}
	buf := make([]byte, 4+len(payload))
	binary.BigEndian.PutUint32(buf, uint32(len(payload)))
	copy(buf[4:], payload)
	_, err := w.Write(buf)
	return err
}

// Write sends m as one frame.
func Write(w io.Writer, m *Message) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	return WriteRaw(w, b)
}

// ReadRaw reads one frame's payload. A peer that closed the socket before
// a frame began gives io.EOF.
func ReadRaw(r io.Reader) ([]byte, error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		return nil, fmt.Errorf("sync message of %d bytes is too large", n)
	}
	buf := make([]byte, n)
	if _, err := io.ReadFull(r, buf); err != nil {
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, err
	}
	return buf, nil
}

// Read reads one message.
func Read(r io.Reader) (*Message, error) {
	b, err := ReadRaw(r)
	if err != nil {
		return nil, err
	}
	var m Message
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, fmt.Errorf("decode sync message: %w", err)
	}
	return &m, nil
}

// Expect reads a message and checks its type; an error message from the
// peer becomes an error.
func Expect(r io.Reader, typ string) (*Message, error) {
	m, err := Read(r)
	if err != nil {
		return nil, err
	}
	if m.Type == TypeError {
		return nil, errors.New(m.Error)
	}
	if m.Type != typ {
		return nil, fmt.Errorf("unexpected sync message %q (want %q)", m.Type, typ)
	}
	return m, nil
}

// WriteFD sends m as one frame with fds attached (SCM_RIGHTS). The frame
// must be small enough for one sendmsg on a stream socket.
func WriteFD(sock *os.File, m *Message, fds ...int) error {
	b, err := json.Marshal(m)
	if err != nil {
		return err
	}
	buf := make([]byte, 4+len(b))
	binary.BigEndian.PutUint32(buf, uint32(len(b)))
	copy(buf[4:], b)
	rc, err := sock.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	err = rc.Write(func(s uintptr) bool {
		var n int
		n, serr = unix.SendmsgN(int(s), buf, unix.UnixRights(fds...), nil, 0)
		if serr == nil && n != len(buf) {
			serr = fmt.Errorf("short sendmsg: %d of %d bytes", n, len(buf))
		}
		return serr != unix.EAGAIN
	})
	if err != nil {
		return err
	}
	return serr
}

// ReadFD reads one message like Read and also returns the fds that came
// with it. Any message may be read this way.
func ReadFD(sock *os.File) (*Message, []int, error) {
	rc, err := sock.SyscallConn()
	if err != nil {
		return nil, nil, err
	}
	var fds []int
	recv := func(buf []byte) error {
		for len(buf) > 0 {
			oob := make([]byte, unix.CmsgSpace(4*maxFDs))
			var n, oobn int
			var rerr error
			err := rc.Read(func(s uintptr) bool {
				n, oobn, _, _, rerr = unix.Recvmsg(int(s), buf, oob, unix.MSG_CMSG_CLOEXEC)
				return rerr != unix.EAGAIN
			})
			if err == nil {
				err = rerr
			}
			if err != nil {
				return err
			}
			if oobn > 0 {
				msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
				if err != nil {
					return err
				}
				for _, cm := range msgs {
					if got, err := unix.ParseUnixRights(&cm); err == nil {
						fds = append(fds, got...)
					}
				}
			}
			if n == 0 {
				return io.EOF
			}
			buf = buf[n:]
		}
		return nil
	}
	var hdr [4]byte
	if err := recv(hdr[:]); err != nil {
		closeAll(fds)
		return nil, nil, err
	}
	n := binary.BigEndian.Uint32(hdr[:])
	if n > MaxFrame {
		closeAll(fds)
		return nil, nil, fmt.Errorf("sync message of %d bytes is too large", n)
	}
	payload := make([]byte, n)
	if err := recv(payload); err != nil {
		closeAll(fds)
		if errors.Is(err, io.EOF) {
			err = io.ErrUnexpectedEOF
		}
		return nil, nil, err
	}
	var m Message
	if err := json.Unmarshal(payload, &m); err != nil {
		closeAll(fds)
		return nil, nil, fmt.Errorf("decode sync message: %w", err)
	}
	return &m, fds, nil
}

func closeAll(fds []int) {
	for _, fd := range fds {
		unix.Close(fd)
	}
}
