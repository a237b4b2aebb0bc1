// Command hako is a rootless-first OCI container runtime with runc's
// command line. This package only parses flags and prints: the work is in
// package container (the caller's side) and containerinit (the
// container's side).
package main

import (
	"errors"
	"fmt"
	"os"
	"runtime"

	"github.com/alecthomas/kong"

	"github.com/hako-runtime/hako/cgroupv2"
	"github.com/hako-runtime/hako/container"
	"github.com/hako-runtime/hako/containerinit"
	_ "github.com/hako-runtime/hako/nsexec" // the init's pre-runtime stage
	"github.com/hako-runtime/hako/userns"
)

// Set by the Makefile.
var (
	version   = "0.1.0-dev"
	gitCommit = "unknown"
)

func init() {
	// The container init applies per-thread attributes and execs from
	// the main thread: keep the main goroutine on it.
	if containerinit.IsInit() {
		runtime.LockOSThread()
	}
}

// Globals are runc's global flags.
type Globals struct {
	Root          string           `help:"Root directory for container state (default /run/hako, or $XDG_RUNTIME_DIR/hako for a normal user)." placeholder:"DIR"`
	Log           string           `help:"Write log lines to this file (default: stderr)." placeholder:"FILE"`
	LogFormat     string           `help:"Log format: text or json." enum:"text,json" default:"text"`
	Debug         bool             `help:"Log debug messages."`
	SystemdCgroup bool             `help:"Manage cgroups with systemd (cgroupsPath slice:prefix:name)." name:"systemd-cgroup"`
	Rootless      rootlessMode     `help:"Rootless mode: auto, true or false (after spec: write a rootless config)." default:"auto"`
	Criu          string           `help:"Ignored; accepted for runc compatibility." hidden:""`
	Version       kong.VersionFlag `help:"Print the version." short:"v"`

	log *logger
}

// store opens the state root the flags select.
func (g *Globals) store() (*container.Store, error) {
	root := g.Root
	if root == "" {
		var err error
		if root, err = container.DefaultRoot(); err != nil {
			return nil, err
		}
	}
	return &container.Store{Root: root, Rootless: userns.Rootless(string(g.Rootless)), SystemdCgroup: g.SystemdCgroup}, nil
}

// peek opens a container for reading, without waiting for its lock.
func (g *Globals) peek(id string) (*container.Container, error) {
	s, err := g.store()
	if err != nil {
		return nil, err
	}
	return s.Peek(id)
}

// open opens a container for a change, holding its lock; the caller
// closes it.
func (g *Globals) open(id string) (*container.Container, error) {
	s, err := g.store()
	if err != nil {
		return nil, err
	}
	return s.Open(id)
}

// CLI is the whole command line.
type CLI struct {
	Globals

	Create   CreateCmd   `cmd:"" help:"Create a container: set it up and wait for start."`
	Start    StartCmd    `cmd:"" help:"Start the user's program in a created container."`
	State    StateCmd    `cmd:"" help:"Print the state of a container as JSON."`
	Kill     KillCmd     `cmd:"" help:"Send a signal to a container's init (default SIGTERM)."`
	Delete   DeleteCmd   `cmd:"" help:"Delete a stopped container, or any with --force."`
	Run      RunCmd      `cmd:"" help:"Create, start and wait for a container."`
	Exec     ExecCmd     `cmd:"" help:"Run another process in a running container."`
	Ps       PsCmd       `cmd:"" help:"List the processes of a container."`
	Pause    PauseCmd    `cmd:"" help:"Freeze every process of a container."`
	Resume   ResumeCmd   `cmd:"" help:"Thaw a paused container."`
	Update   UpdateCmd   `cmd:"" help:"Change the resources of a container live."`
	Events   EventsCmd   `cmd:"" help:"Print statistics and OOM events as JSON."`
	List     ListCmd     `cmd:"" help:"List containers."`
	Spec     SpecCmd     `cmd:"" help:"Write a default config.json."`
	Features FeaturesCmd `cmd:"" help:"Print the features hako supports as JSON."`
}

func main() {
	if containerinit.IsInit() {
		containerinit.Main()
		return
	}
	var cli CLI
	if cmd := fastParse(&cli, os.Args[1:]); cmd != nil {
		cli.log = newLogger(&cli.Globals)
		cgroupv2.Warn = func(msg string) { cli.log.warn(errors.New(msg)) }
		if err := cmd.Run(&cli.Globals); err != nil {
			cli.log.fatal(err)
		}
		return
	}
	cli = CLI{} // kong starts from scratch
	parser, err := kong.New(&cli,
		kong.Name("hako"),
		kong.Description("hako: a rootless-first OCI container runtime."),
		kong.UsageOnError(),
		kong.Vars{"version": versionText()},
		kong.Exit(func(code int) { os.Exit(code) }),
	)
	if err != nil {
		fmt.Fprintln(os.Stderr, "hako:", err)
		os.Exit(2)
	}
	ctx, err := parser.Parse(os.Args[1:])
	if err != nil {
		// Flag errors: one line, non-zero, like any other error.
		cli.log = newLogger(&cli.Globals)
		cli.log.fatal(err)
	}
	cli.log = newLogger(&cli.Globals)
	cgroupv2.Warn = func(msg string) { cli.log.warn(errors.New(msg)) }
	if err := ctx.Run(&cli.Globals); err != nil {
		cli.log.fatal(err)
	}
}

// exitError carries a status to exit with and no message.
type exitError struct{ code int }

func (e exitError) Error() string { return fmt.Sprintf("exit status %d", e.code) }
