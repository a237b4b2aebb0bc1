package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
)

// PsCmd is `hako ps`: the host's ps(1), filtered to the container.
type PsCmd struct {
	Format string   `short:"f" enum:"table,json" default:"table" help:"Output format: table or json (pids only)."`
	ID     string   `arg:"" help:"Container ID."`
	Args   []string `arg:"" optional:"" passthrough:"" help:"Options for ps (default -ef)."`
}

func (c *PsCmd) Run(g *Globals) error {
	ct, err := g.peek(c.ID)
	if err != nil {
		return err
	}
	pids, err := ct.Pids()
	if err != nil {
		return err
	}
	if c.Format == "json" {
		if pids == nil {
			pids = []int{}
		}
		return json.NewEncoder(os.Stdout).Encode(pids)
	}
	args := c.Args
	if len(args) == 0 {
		args = []string{"-ef"}
	}
	out, err := exec.Command("ps", args...).Output()
	if err != nil {
		return fmt.Errorf("ps %s: %w", strings.Join(args, " "), err)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	col := -1
	for i, f := range strings.Fields(lines[0]) {
		if f == "PID" {
			col = i
		}
	}
	if col < 0 {
		return fmt.Errorf("ps %s: output has no PID column", strings.Join(args, " "))
	}
	in := make(map[int]bool, len(pids))
	for _, p := range pids {
		in[p] = true
	}
	var b bytes.Buffer
	b.WriteString(lines[0] + "\n")
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		if len(f) <= col {
			continue
		}
		if p, err := strconv.Atoi(f[col]); err == nil && in[p] {
			b.WriteString(l + "\n")
		}
	}
	_, err = os.Stdout.Write(b.Bytes())
	return err
}
