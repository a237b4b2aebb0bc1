package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/spec"
)

// SpecCmd is `hako spec`.
type SpecCmd struct {
	Bundle string `short:"b" help:"Directory to write config.json in (default: current directory)." placeholder:"DIR"`
	// --rootless is the global flag: runc spells both the same.
}

func (c *SpecCmd) Run(g *Globals) error {
	s := spec.Example()
	if g.Rootless == "true" {
		spec.Rootless(s, spec.RootlessMapping{UID: uint32(os.Geteuid()), GID: uint32(os.Getegid())})
	} else if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "hako: note: this config needs root; run `hako spec --rootless` for one that works as your user")
	}
	return writeConfig(c.Bundle, s)
}

func writeConfig(bundle string, s *specs.Spec) error {
	p := filepath.Join(bundle, "config.json")
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists: remove it first", p)
		}
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	return f.Close()
}
