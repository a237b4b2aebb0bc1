package main

import (
	"fmt"

	"github.com/alecthomas/kong"
)

// rootlessMode is runc's --rootless: auto, true or false. It is also the
// bare `--rootless` of `spec`, which runc spells the same way, so the flag
// takes an optional value: `--rootless` alone means true.
type rootlessMode string

func (r rootlessMode) IsBool() bool { return true }

func (r *rootlessMode) Decode(ctx *kong.DecodeContext) error {
	// Bare --rootless: kong gives a bool flag no value token. runc also
	// takes the value as the next word: `--rootless false`.
	if next := ctx.Scan.Peek(); next.Type != kong.FlagValueToken {
		if v, ok := next.Value.(string); ok && next.Type == kong.UntypedToken && (v == "auto" || v == "true" || v == "false") {
			ctx.Scan.Pop()
			*r = rootlessMode(v)
			return nil
		}
		*r = "true"
		return nil
	}
	t := ctx.Scan.Pop()
	switch v := t.Value.(type) {
	case bool:
		*r = "false"
		if v {
			*r = "true"
		}
		return nil
	case string:
		switch v {
		case "auto", "true", "false":
			*r = rootlessMode(v)
			return nil
		}
		return fmt.Errorf("invalid value %q (want auto, true or false)", v)
	}
	return fmt.Errorf("invalid value %v", t.Value)
}
