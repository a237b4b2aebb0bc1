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
	t, err := ctx.Scan.PopValue("rootless")
	if err != nil {
		return err
	}
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
