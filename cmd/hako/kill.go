package main

import (
	"fmt"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// KillCmd is `hako kill`.
type KillCmd struct {
	All    bool   `short:"a" help:"Signal every process of the container." hidden:""`
	ID     string `arg:"" help:"Container ID."`
	Signal string `arg:"" optional:"" default:"SIGTERM" help:"Signal name (with or without SIG) or number."`
}

func (c *KillCmd) Run(g *Globals) error {
	sig, err := parseSignal(c.Signal)
	if err != nil {
		return err
	}
	ct, err := g.peek(c.ID)
	if err != nil {
		return err
	}
	return ct.Kill(sig, c.All)
}

// parseSignal accepts "KILL", "SIGKILL", "sigkill" or "9".
func parseSignal(s string) (unix.Signal, error) {
	if n, err := strconv.Atoi(s); err == nil {
		if n <= 0 || n > 64 {
			return 0, fmt.Errorf("invalid signal %q: out of range", s)
		}
		return unix.Signal(n), nil
	}
	name := strings.ToUpper(s)
	if !strings.HasPrefix(name, "SIG") {
		name = "SIG" + name
	}
	if sig := unix.SignalNum(name); sig != 0 {
		return sig, nil
	}
	// Real-time signals: SIGRTMIN+N, SIGRTMAX-N.
	if rest, ok := strings.CutPrefix(name, "SIGRTMIN"); ok {
		if n, err := rtOffset(rest, "+"); err == nil && 34+n <= 64 {
			return unix.Signal(34 + n), nil
		}
	}
	if rest, ok := strings.CutPrefix(name, "SIGRTMAX"); ok {
		if n, err := rtOffset(rest, "-"); err == nil && 64-n >= 34 {
			return unix.Signal(64 - n), nil
		}
	}
	return 0, fmt.Errorf("invalid signal %q: unknown signal name", s)
}

func rtOffset(rest, sign string) (int, error) {
	if rest == "" {
		return 0, nil
	}
	v, ok := strings.CutPrefix(rest, sign)
	if !ok {
		return 0, fmt.Errorf("bad offset")
	}
	return strconv.Atoi(v)
}
