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
	ct, err := g.peek(c.ID)
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
