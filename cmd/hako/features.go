package main

import (
	"encoding/json"
	"fmt"

	"github.com/opencontainers/runtime-spec/specs-go/features"

	"github.com/hako-runtime/hako/seccomp"
	"github.com/hako-runtime/hako/spec"
)

// FeaturesCmd is `hako features`.
type FeaturesCmd struct{}

func (c *FeaturesCmd) Run(g *Globals) error {
	f := spec.Features()
	if f.Linux != nil {
		enabled := true
		f.Linux.Seccomp = &features.Seccomp{
			Enabled:        &enabled,
			Actions:        seccomp.Actions(),
			Operators:      seccomp.Operators(),
			Archs:          seccomp.Archs(),
			KnownFlags:     seccomp.KnownFlags(),
			SupportedFlags: seccomp.SupportedFlags(),
		}
	}
	b, err := json.MarshalIndent(f, "", "    ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}
