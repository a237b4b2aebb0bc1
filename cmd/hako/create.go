package main

import "github.com/hako-runtime/hako/container"

// createFlags are shared by create and run.
type createFlags struct {
	Bundle        string `short:"b" help:"Bundle directory (default: current directory)." placeholder:"DIR"`
	PidFile       string `help:"Write the init's pid to this file." placeholder:"FILE"`
	ConsoleSocket string `help:"Unix socket to receive the pty master on." placeholder:"PATH"`
	PreserveFds   int    `help:"Pass this many extra fds (from 3) to the container."`
	NoPivot       bool   `help:"Use MS_MOVE and chroot instead of pivot_root."`
	NoNewKeyring  bool   `help:"Keep the caller's session keyring."`
	NoSubreaper   bool   `help:"Ignored; accepted for runc compatibility." hidden:""`
}

func (f *createFlags) options(id string) *container.CreateOptions {
	return &container.CreateOptions{
		ID:            id,
		Bundle:        f.Bundle,
		PidFile:       f.PidFile,
		ConsoleSocket: f.ConsoleSocket,
		PreserveFDs:   f.PreserveFds,
		NoPivot:       f.NoPivot,
		NoNewKeyring:  f.NoNewKeyring,
	}
}

// CreateCmd is `hako create`.
type CreateCmd struct {
	createFlags
	ID string `arg:"" help:"Container ID."`
}

func (c *CreateCmd) Run(g *Globals) error {
	s, err := g.store()
	if err != nil {
		return err
	}
	ct, err := s.Create(c.options(c.ID))
	if err != nil {
		return err
	}
	ct.Close()
	return nil
}
