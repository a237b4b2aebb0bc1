package main

import (
	"context"
	"encoding/json"
	"os"
	"os/signal"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/cgroupv2"
)

// EventsCmd is `hako events`: runc's JSON event stream.
type EventsCmd struct {
	Stats    bool          `help:"Print the container's statistics once and exit."`
	Interval time.Duration `default:"5s" help:"How often to print statistics."`
	ID       string        `arg:"" help:"Container ID."`
}

// event is one line of runc's events output.
type event struct {
	Type string `json:"type"`
	ID   string `json:"id"`
	Data any    `json:"data,omitempty"`
}

// statsData is runc's stats payload: the cgroup's, plus fields that are
// not cgroup data.
type statsData struct {
	*cgroupv2.Stats
	IntelRdt          struct{} `json:"intel_rdt"`
	NetworkInterfaces []any    `json:"network_interfaces"`
}

func (c *EventsCmd) Run(g *Globals) error {
	ct, err := g.peek(c.ID)
	if err != nil {
		return err
	}
	enc := json.NewEncoder(os.Stdout)
	printStats := func() error {
		st, err := ct.Stats()
		if err != nil {
			return err
		}
		return enc.Encode(event{Type: "stats", ID: c.ID, Data: statsData{Stats: st}})
	}
	if c.Stats {
		return printStats()
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, unix.SIGTERM)
	defer stop()
	evs, err := ct.Watch(ctx)
	if err != nil {
		return err
	}
	tick := time.NewTicker(c.Interval)
	defer tick.Stop()
	if err := printStats(); err != nil {
		return err
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case ev, ok := <-evs:
			if !ok || ev.Type == "empty" {
				return nil
			}
			if ev.Type == "oom" {
				enc.Encode(event{Type: "oom", ID: c.ID})
			}
		case <-tick.C:
			// The container may have stopped meanwhile.
			if now, err := g.peek(c.ID); err != nil || now.State.Status == specs.StateStopped {
				return nil
			}
			if err := printStats(); err != nil {
				return err
			}
		}
	}
}
