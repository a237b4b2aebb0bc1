package main

import (
	"encoding/json"
	"fmt"

	"github.com/hako-runtime/hako/spec"
)

// FeaturesCmd is `hako features`.
type FeaturesCmd struct{}

func (c *FeaturesCmd) Run(g *Globals) error {
	b, err := json.MarshalIndent(spec.Features(), "", "    ")
	if err != nil {
		return err
	}
	fmt.Println(string(b))
	return nil
}
