package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/hako-runtime/hako/container"
)

// ListCmd is `hako list`.
type ListCmd struct {
	Format string `short:"f" enum:"table,json" default:"table" help:"Output format: table or json."`
	Quiet  bool   `short:"q" help:"Print only the IDs."`
}

func (c *ListCmd) Run(g *Globals) error {
	s, err := g.store()
	if err != nil {
		return err
	}
	cs, err := s.List()
	if err != nil {
		return err
	}
	// One write for the whole listing, not one per cell.
	bw := bufio.NewWriterSize(os.Stdout, 64<<10)
	if c.Quiet {
		for _, ct := range cs {
			fmt.Fprintln(bw, ct.State.ID)
		}
		return bw.Flush()
	}
	if c.Format == "json" {
		out := make([]container.PublicState, 0, len(cs))
		for _, ct := range cs {
			out = append(out, ct.Public())
		}
		if err := json.NewEncoder(bw).Encode(out); err != nil {
			return err
		}
		return bw.Flush()
	}
	w := tabwriter.NewWriter(bw, 12, 1, 3, ' ', 0)
	fmt.Fprint(w, "ID\tPID\tSTATUS\tBUNDLE\tCREATED\tOWNER\n")
	for _, ct := range cs {
		st := ct.State
		owner := st.Owner
		if owner == "" {
			owner = "root"
		}
		fmt.Fprintf(w, "%s\t%d\t%s\t%s\t%s\t%s\n", st.ID, st.Pid, st.Status, st.Bundle, st.Created.Format(time.RFC3339Nano), owner)
	}
	if err := w.Flush(); err != nil {
		return err
	}
	return bw.Flush()
}
