package main

import (
	"testing"

	"golang.org/x/sys/unix"
)

func TestParseSignal(t *testing.T) {
	tests := []struct {
		in   string
		want unix.Signal
		ok   bool
	}{
		{"KILL", unix.SIGKILL, true},
		{"SIGKILL", unix.SIGKILL, true},
		{"sigterm", unix.SIGTERM, true},
		{"term", unix.SIGTERM, true},
		{"9", unix.SIGKILL, true},
		{"15", unix.SIGTERM, true},
		{"SIGRTMIN", 34, true},
		{"RTMIN+2", 36, true},
		{"SIGRTMAX-1", 63, true},
		{"SIGFOO", 0, false},
		{"0", 0, false},
		{"65", 0, false},
		{"-1", 0, false},
		{"", 0, false},
	}
	for _, tt := range tests {
		got, err := parseSignal(tt.in)
		if (err == nil) != tt.ok {
			t.Errorf("parseSignal(%q): err %v, want ok=%v", tt.in, err, tt.ok)
			continue
		}
		if tt.ok && got != tt.want {
			t.Errorf("parseSignal(%q) = %d, want %d", tt.in, got, tt.want)
		}
		if !tt.ok && err != nil && !containsQuoted(err.Error(), tt.in) {
			t.Errorf("parseSignal(%q): error %q does not name the value", tt.in, err)
		}
	}
}

func containsQuoted(s, v string) bool {
	q := `"` + v + `"`
	for i := 0; i+len(q) <= len(s); i++ {
		if s[i:i+len(q)] == q {
			return true
		}
	}
	return false
}
