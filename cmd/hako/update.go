package main

import (
	"fmt"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/container"
)

// UpdateCmd is `hako update`: runc's flags, or a whole linux.resources
// document with --resources.
type UpdateCmd struct {
	Resources         string `short:"r" help:"A linux.resources JSON file ('-' for stdin); the other flags are then ignored." placeholder:"FILE"`
	BlkioWeight       string `help:"Block IO weight (10-1000)."`
	CPUPeriod         string `name:"cpu-period" help:"CPU CFS period (µs)."`
	CPUQuota          string `name:"cpu-quota" help:"CPU CFS quota (µs, -1 for none)."`
	CPUShare          string `name:"cpu-share" help:"CPU shares (relative weight)."`
	CPURtPeriod       string `name:"cpu-rt-period" help:"Not in cgroup v2: refused."`
	CPURtRuntime      string `name:"cpu-rt-runtime" help:"Not in cgroup v2: refused."`
	CpusetCpus        string `help:"CPUs to run on (e.g. 0-3,5)."`
	CpusetMems        string `help:"Memory nodes (e.g. 0-1)."`
	Memory            string `help:"Memory limit (bytes, or 512k, 64m, 1g; -1 for none)."`
	MemoryReservation string `help:"Memory soft limit (as --memory)."`
	MemorySwap        string `help:"Memory plus swap limit (as --memory)."`
	PidsLimit         string `help:"Maximum number of processes (-1 for none)."`
	L3CacheSchema     string `name:"l3-cache-schema" help:"Intel RDT: not supported." hidden:""`
	MemBwSchema       string `name:"mem-bw-schema" help:"Intel RDT: not supported." hidden:""`
	ID                string `arg:"" help:"Container ID."`
}

func (c *UpdateCmd) Run(g *Globals) error {
	res, err := c.resources()
	if err != nil {
		return err
	}
	ct, err := g.open(c.ID)
	if err != nil {
		return err
	}
	defer ct.Close()
	return ct.Update(res)
}

func (c *UpdateCmd) resources() (*specs.LinuxResources, error) {
	if c.Resources != "" {
		return container.ReadResources(c.Resources)
	}
	if c.L3CacheSchema != "" || c.MemBwSchema != "" {
		return nil, fmt.Errorf("--l3-cache-schema/--mem-bw-schema: Intel RDT is not supported")
	}
	res := &specs.LinuxResources{}
	var perr error
	i64 := func(flag, v string) *int64 {
		if v == "" || perr != nil {
			return nil
		}
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			perr = fmt.Errorf("--%s %q: not a number", flag, v)
			return nil
		}
		return &n
	}
	u64 := func(flag, v string) *uint64 {
		if v == "" || perr != nil {
			return nil
		}
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			perr = fmt.Errorf("--%s %q: not a non-negative number", flag, v)
			return nil
		}
		return &n
	}
	size := func(flag, v string) *int64 {
		if v == "" || perr != nil {
			return nil
		}
		n, err := parseSize(v)
		if err != nil {
			perr = fmt.Errorf("--%s %q: %w", flag, v, err)
			return nil
		}
		return &n
	}
	if c.CPURtPeriod != "" || c.CPURtRuntime != "" {
		return nil, fmt.Errorf("--cpu-rt-period/--cpu-rt-runtime: real-time CPU limits do not exist in cgroup v2")
	}
	if v := u64("blkio-weight", c.BlkioWeight); v != nil {
		w := uint16(*v)
		res.BlockIO = &specs.LinuxBlockIO{Weight: &w}
	}
	cpu := &specs.LinuxCPU{
		Period: u64("cpu-period", c.CPUPeriod),
		Quota:  i64("cpu-quota", c.CPUQuota),
		Shares: u64("cpu-share", c.CPUShare),
		Cpus:   c.CpusetCpus,
		Mems:   c.CpusetMems,
	}
	if cpu.Period != nil || cpu.Quota != nil || cpu.Shares != nil || cpu.Cpus != "" || cpu.Mems != "" {
		res.CPU = cpu
	}
	mem := &specs.LinuxMemory{
		Limit:       size("memory", c.Memory),
		Reservation: size("memory-reservation", c.MemoryReservation),
		Swap:        size("memory-swap", c.MemorySwap),
	}
	if mem.Limit != nil || mem.Reservation != nil || mem.Swap != nil {
		res.Memory = mem
	}
	if v := i64("pids-limit", c.PidsLimit); v != nil {
		res.Pids = &specs.LinuxPids{Limit: v}
	}
	return res, perr
}

// parseSize reads a byte count with an optional binary suffix (k, m, g,
// t, with or without a trailing b), or -1 for no limit.
func parseSize(v string) (int64, error) {
	if v == "-1" {
		return -1, nil
	}
	s := strings.ToLower(strings.TrimSpace(v))
	s = strings.TrimSuffix(s, "b")
	mult := int64(1)
	if s != "" {
		switch s[len(s)-1] {
		case 'k':
			mult = 1 << 10
		case 'm':
			mult = 1 << 20
		case 'g':
			mult = 1 << 30
		case 't':
			mult = 1 << 40
		}
		if mult != 1 {
			s = s[:len(s)-1]
		}
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil || n < 0 {
		return 0, fmt.Errorf("not a size (bytes, or a number with k, m, g or t)")
	}
	return int64(n * float64(mult)), nil
}
