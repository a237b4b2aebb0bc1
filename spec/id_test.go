package spec

import (
	"strings"
	"testing"
)

func TestValidateID(t *testing.T) {
	tests := []struct {
		id   string
		want string // substring of the error; "" means valid
	}{
		{id: "a"},
		{id: "my-container_1.2+3"},
		{id: "ABCxyz0123456789"},
		{id: "..."},
		{id: ".hidden"},
		{id: strings.Repeat("a", 1024)},
		{id: "", want: `invalid container ID "": must not be empty`},
		{id: ".", want: `invalid container ID ".": must not be a relative path element`},
		{id: "..", want: `invalid container ID "..": must not be a relative path element`},
		{id: "x/y", want: `invalid container ID "x/y": character '/' at offset 1 is not allowed`},
		{id: "../etc", want: `invalid container ID "../etc": character '/'`},
		{id: `a\b`, want: `character '\\' at offset 1`},
		{id: "a b", want: `character ' '`},
		{id: "a:b", want: `character ':'`},
		{id: "a\x00", want: `character '\x00'`},
		{id: "caf\u00e9", want: `character 'é' at offset 3`},
		{id: strings.Repeat("a", 1025), want: "longer than 1024 bytes (1025)"},
	}
	for _, tc := range tests {
		err := ValidateID(tc.id)
		if tc.want == "" {
			if err != nil {
				t.Errorf("ValidateID(%q): %v", tc.id, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("ValidateID(%q) succeeded, want error containing %q", tc.id, tc.want)
			continue
		}
		if !strings.Contains(err.Error(), tc.want) {
			t.Errorf("ValidateID(%q) = %q, want it to contain %q", tc.id, err, tc.want)
		}
		if !strings.HasPrefix(err.Error(), "invalid container ID ") {
			t.Errorf("ValidateID(%q) = %q, want prefix %q", tc.id, err, "invalid container ID ")
		}
	}
}

func TestValidateIDShortensLongIDs(t *testing.T) {
	err := ValidateID(strings.Repeat("x", 5000))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error for a long ID should be short, got %d bytes", len(err.Error()))
	}
}
