package main

// PauseCmd is `hako pause`.
type PauseCmd struct {
	ID string `arg:"" help:"Container ID."`
}

func (c *PauseCmd) Run(g *Globals) error {
	ct, err := g.open(c.ID)
	if err != nil {
		return err
	}
	defer ct.Close()
	return ct.Pause()
}

// ResumeCmd is `hako resume`.
type ResumeCmd struct {
	ID string `arg:"" help:"Container ID."`
}

func (c *ResumeCmd) Run(g *Globals) error {
	ct, err := g.open(c.ID)
	if err != nil {
		return err
	}
	defer ct.Close()
	return ct.Resume()
}
