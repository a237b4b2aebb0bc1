package main

// StartCmd is `hako start`.
type StartCmd struct {
	ID string `arg:"" help:"Container ID."`
}

func (c *StartCmd) Run(g *Globals) error {
	ct, err := g.open(c.ID)
	if err != nil {
		return err
	}
	defer ct.Close()
	return ct.Start()
}
