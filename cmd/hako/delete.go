package main

import (
	"errors"

	"github.com/hako-runtime/hako/container"
)

// DeleteCmd is `hako delete`.
type DeleteCmd struct {
	Force bool   `short:"f" help:"Kill the container first if it is still running."`
	ID    string `arg:"" help:"Container ID."`
}

func (c *DeleteCmd) Run(g *Globals) error {
	ct, err := g.open(c.ID)
	if err != nil {
		// containerd deletes with --force what may already be gone.
		if c.Force && errors.Is(err, container.ErrNotExist) {
			return nil
		}
		return err
	}
	defer ct.Close()
	return ct.Delete(c.Force, g.log.warn)
}
