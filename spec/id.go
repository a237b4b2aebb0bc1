package spec

import (
	"errors"
	"fmt"
	"unicode/utf8"
)

// MaxIDLength is the longest container ID ValidateID accepts.
const MaxIDLength = 1024

// ValidateID checks a container ID. IDs name a directory in the state
// store, so they must be non-empty, at most MaxIDLength bytes, made only of
// ASCII letters, digits and "_+.-" (which excludes every path separator),
// and not be "." or "..".
func ValidateID(id string) error {
	if err := checkID(id); err != nil {
		return fmt.Errorf("invalid container ID %q: %w", shorten(id), err)
	}
	return nil
}

func checkID(id string) error {
	switch id {
	case "":
		return errors.New("must not be empty")
	case ".", "..":
		return errors.New("must not be a relative path element")
	}
	if len(id) > MaxIDLength {
		return fmt.Errorf("longer than %d bytes (%d)", MaxIDLength, len(id))
	}
	for i := 0; i < len(id); i++ {
		if !idByte(id[i]) {
			r, _ := utf8.DecodeRuneInString(id[i:])
			return fmt.Errorf("character %q at offset %d is not allowed (use letters, digits and _ + . -)", r, i)
		}
	}
	return nil
}

func idByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '_' || c == '+' || c == '.' || c == '-'
}

// shorten keeps error messages on a readable line when an overlong value
// is echoed back.
func shorten(s string) string {
	const keep = 64
	if len(s) <= keep {
		return s
	}
	cut := keep
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "..."
}
