package main

import (
	"fmt"
	"os"
)

// StateCmd is `hako state`.
type StateCmd struct {
	ID string `arg:"" help:"Container ID."`
}

func (c *StateCmd) Run(g *Globals) error {
	s, err := g.store()
	if err != nil {
		return err
	}
	ct, err := s.Peek(c.ID)
	if err != nil {
		return err
	}
	b, err := ct.OCIStateJSON()
	if err != nil {
		return err
	}
	fmt.Fprintf(os.Stdout, "%s\n", b)
	return nil
}
