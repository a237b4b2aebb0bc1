package main

import (
	"github.com/hako-runtime/hako/container"
)

// ExecCmd is `hako exec`.
type ExecCmd struct {
	ConsoleSocket  string   `help:"Unix socket to receive the pty master on." placeholder:"PATH"`
	Tty            bool     `short:"t" help:"Allocate a pseudo-terminal."`
	Detach         bool     `short:"d" help:"Do not wait for the process."`
	PidFile        string   `help:"Write the process's pid to this file." placeholder:"FILE"`
	Process        string   `short:"p" help:"A process.json describing the whole process." placeholder:"FILE"`
	Env            []string `short:"e" sep:"none" help:"Set an environment variable (NAME=value)." placeholder:"NAME=VALUE"`
	Cwd            string   `help:"Working directory in the container."`
	User           string   `short:"u" help:"User, as uid[:gid] or names of the container." placeholder:"UID[:GID]"`
	AdditionalGids []string `short:"g" help:"Additional group id." placeholder:"GID"`
	Cap            []string `short:"c" help:"Add a capability." placeholder:"CAP"`
	NoNewPrivs     bool     `help:"Set no_new_privs."`
	ProcessLabel   string   `help:"SELinux label (not supported)."`
	Apparmor       string   `help:"AppArmor profile (not supported)."`
	PreserveFds    int      `help:"Pass this many extra fds (from 3) to the process."`
	IgnorePaused   bool     `help:"Allow exec in a paused container."`
	Cgroup         []string `help:"Sub-cgroup to run the process in." placeholder:"PATH"`
	ID             string   `arg:"" help:"Container ID."`
	Command        []string `arg:"" optional:"" passthrough:"" help:"Command and arguments."`
}

func (c *ExecCmd) Run(g *Globals) error {
	ct, err := g.peek(c.ID)
	if err != nil {
		return err
	}
	p, err := ct.ExecProcess(&container.ExecProcessFlags{
		ProcessFile:    c.Process,
		Args:           c.Command,
		Env:            c.Env,
		Cwd:            c.Cwd,
		User:           c.User,
		AdditionalGids: c.AdditionalGids,
		Caps:           c.Cap,
		NoNewPrivs:     c.NoNewPrivs,
		Tty:            c.Tty,
		AppArmor:       c.Apparmor,
		ProcessLabel:   c.ProcessLabel,
	})
	if err != nil {
		return err
	}
	code, err := ct.Exec(&container.ExecOptions{
		Process:       p,
		PidFile:       c.PidFile,
		ConsoleSocket: c.ConsoleSocket,
		Detach:        c.Detach,
		PreserveFDs:   c.PreserveFds,
		IgnorePaused:  c.IgnorePaused,
	})
	if err != nil {
		return err
	}
	if code != 0 {
		return exitError{code}
	}
	return nil
}
