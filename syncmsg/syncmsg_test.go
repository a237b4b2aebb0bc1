package syncmsg

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
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
