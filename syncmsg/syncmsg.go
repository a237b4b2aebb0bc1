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
)

// MaxFrame bounds a frame so that a confused peer cannot make us allocate
// without limit. Configurations with large seccomp profiles fit easily.
const MaxFrame = 16 << 20

// Message types.
const (
	TypeMap      = "map"      // init -> parent: write the id maps of Pid
	TypeMapped   = "mapped"   // parent -> init: id maps written
	TypePid      = "pid"      // init -> parent: the init's pid
	TypeConfig   = "config"   // parent -> init: Config holds the init config
	TypeHooks    = "hooks"    // init -> parent: run prestart/createRuntime hooks now
	TypeContinue = "continue" // parent -> init: hooks done
	TypeReady    = "ready"    // init -> parent: created, waiting for start
	TypeError    = "error"    // either way: Error says what failed
)

// Message is one frame's payload.
type Message struct {
	Type   string          `json:"type"`
	Pid    int             `json:"pid,omitempty"`
	Error  string          `json:"error,omitempty"`
	Config json.RawMessage `json:"config,omitempty"`
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
