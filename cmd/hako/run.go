package main

// RunCmd is `hako run`.
type RunCmd struct {
	createFlags
	Detach bool   `short:"d" help:"Return once the container runs."`
	Keep   bool   `help:"Keep the container's state after it exits."`
	ID     string `arg:"" help:"Container ID."`
}

func (c *RunCmd) Run(g *Globals) error {
	s, err := g.store()
	if err != nil {
		return err
	}
	code, err := s.Run(c.options(c.ID), c.Detach, c.Keep, g.log.warn)
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}
