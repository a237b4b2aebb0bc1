package syncmsg

import (
	"bytes"
	"errors"
	"io"
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestRoundTrip(t *testing.T) {
	var buf bytes.Buffer
	msgs := []*Message{
		{Type: TypePid, Pid: 42},
		{Type: TypeConfig, Config: []byte(`{"a":1}`)},
		{Type: TypeReady},
	}
	for _, m := range msgs {
		if err := Write(&buf, m); err != nil {
			t.Fatal(err)
		}
	}
	for _, want := range msgs {
		got, err := Read(&buf)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != want.Type || got.Pid != want.Pid || string(got.Config) != string(want.Config) {
			t.Fatalf("got %+v, want %+v", got, want)
		}
	}
	if _, err := Read(&buf); !errors.Is(err, io.EOF) {
		t.Fatalf("after last frame: %v, want EOF", err)
	}
}

func TestExpect(t *testing.T) {
	tests := []struct {
		name    string
		msg     *Message
		want    string
		wantErr string
	}{
		{"match", &Message{Type: TypeReady}, TypeReady, ""},
		{"peer error", &Message{Type: TypeError, Error: "mount /proc: EPERM"}, TypeReady, "mount /proc: EPERM"},
		{"wrong type", &Message{Type: TypeHooks}, TypeReady, `unexpected sync message "hooks"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var buf bytes.Buffer
			if err := Write(&buf, tt.msg); err != nil {
				t.Fatal(err)
			}
			_, err := Expect(&buf, tt.want)
			if tt.wantErr == "" && err != nil {
				t.Fatal(err)
			}
			if tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)) {
				t.Fatalf("err %v, want %q", err, tt.wantErr)
			}
		})
	}
}

func TestTruncatedAndOversized(t *testing.T) {
	if _, err := ReadRaw(bytes.NewReader([]byte{0, 0, 0, 5, 'a'})); !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Fatalf("truncated: %v", err)
	}
	if _, err := ReadRaw(bytes.NewReader([]byte{0xff, 0, 0, 0})); err == nil {
		t.Fatal("oversized frame accepted")
	}
}

func TestFDPassing(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	a, b := os.NewFile(uintptr(pair[0]), "a"), os.NewFile(uintptr(pair[1]), "b")
	defer a.Close()
	defer b.Close()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	if err := WriteFD(a, &Message{Type: TypeConsole, Name: "/dev/pts/0"}, int(w.Fd())); err != nil {
		t.Fatal(err)
	}
	w.Close()
	// A plain message after it must not be mixed up with the first.
	if err := Write(a, &Message{Type: TypeReady}); err != nil {
		t.Fatal(err)
	}
	m, fds, err := ReadFD(b)
	if err != nil {
		t.Fatal(err)
	}
	if m.Type != TypeConsole || m.Name != "/dev/pts/0" || len(fds) != 1 {
		t.Fatalf("got %+v with fds %v", m, fds)
	}
	// The received fd is the pipe's write end: write through it.
	got := os.NewFile(uintptr(fds[0]), "got")
	if _, err := got.Write([]byte("x")); err != nil {
		t.Fatal(err)
	}
	got.Close()
	buf := make([]byte, 2)
	if n, _ := r.Read(buf); n != 1 || buf[0] != 'x' {
		t.Fatalf("read %q through the passed fd", buf[:n])
	}
	m, fds, err = ReadFD(b)
	if err != nil || m.Type != TypeReady || len(fds) != 0 {
		t.Fatalf("second message %+v fds %v err %v", m, fds, err)
	}
}
