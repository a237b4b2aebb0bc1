package container

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/cgroupv2"
)

// Update changes the container's resources live: the fields set in res
// replace the config's, the merged set is written to the cgroup, and the
// kept config is updated so later reads (exec, events) see it.
func (c *Container) Update(res *specs.LinuxResources) error {
	switch c.State.Status {
	case specs.StateCreated, specs.StateRunning, StatusPaused:
	default:
		return c.wrongStatus("update", specs.StateCreated, specs.StateRunning)
	}
	cg := c.cgroup()
	if cg == nil {
		return fmt.Errorf("cannot update container %q: it has no cgroup", c.State.ID)
	}
	sp, err := c.Config()
	if err != nil {
		return err
	}
	if sp.Linux == nil {
		sp.Linux = &specs.Linux{}
	}
	merged := mergeResources(sp.Linux.Resources, res)
	if unit := c.State.SystemdUnit; unit != "" {
		// systemd rewrites a unit's cgroup files from its properties
		// (at daemon-reload): they must follow.
		if err := setScopeResources(unit, c.State.SystemdUser, merged); err != nil {
			return err
		}
	}
	if err := cg.Set(merged); err != nil {
		return err
	}
	// New device rules replace the filter (the new program is attached
	// before the old one goes: the container is never without one).
	if res != nil && len(res.Devices) > 0 && c.State.Owner == "" {
		if err := cg.SetDevices(withConfigDevices(merged.Devices, sp), true); err != nil {
			return err
		}
	}
	sp.Linux.Resources = merged
	return c.saveConfig(sp)
}

// mergeResources overlays the fields upd sets on old.
func mergeResources(old, upd *specs.LinuxResources) *specs.LinuxResources {
	var out specs.LinuxResources
	if old != nil {
		out = *old
	}
	if upd == nil {
		return &out
	}
	if upd.Memory != nil {
		m := specs.LinuxMemory{}
		if out.Memory != nil {
			m = *out.Memory
		}
		u := upd.Memory
		overlay(&m.Limit, u.Limit)
		overlay(&m.Reservation, u.Reservation)
		overlay(&m.Swap, u.Swap)
		overlay(&m.Swappiness, u.Swappiness)
		overlay(&m.DisableOOMKiller, u.DisableOOMKiller)
		overlay(&m.CheckBeforeUpdate, u.CheckBeforeUpdate)
		out.Memory = &m
	}
	if upd.CPU != nil {
		cp := specs.LinuxCPU{}
		if out.CPU != nil {
			cp = *out.CPU
		}
		u := upd.CPU
		overlay(&cp.Shares, u.Shares)
		overlay(&cp.Quota, u.Quota)
		overlay(&cp.Burst, u.Burst)
		overlay(&cp.Period, u.Period)
		overlay(&cp.RealtimeRuntime, u.RealtimeRuntime)
		overlay(&cp.RealtimePeriod, u.RealtimePeriod)
		overlay(&cp.Idle, u.Idle)
		if u.Cpus != "" {
			cp.Cpus = u.Cpus
		}
		if u.Mems != "" {
			cp.Mems = u.Mems
		}
		out.CPU = &cp
	}
	if upd.Pids != nil {
		out.Pids = upd.Pids
	}
	if upd.BlockIO != nil {
		out.BlockIO = upd.BlockIO
	}
	if len(upd.HugepageLimits) > 0 {
		out.HugepageLimits = upd.HugepageLimits
	}
	if len(upd.Rdma) > 0 {
		out.Rdma = upd.Rdma
	}
	if len(upd.Unified) > 0 {
		u := map[string]string{}
		for k, v := range out.Unified {
			u[k] = v
		}
		for k, v := range upd.Unified {
			u[k] = v
		}
		out.Unified = u
	}
	if len(upd.Devices) > 0 {
		out.Devices = upd.Devices
	}
	return &out
}

// overlay sets *dst to src when src is set.
func overlay[T any](dst **T, src *T) {
	if src != nil {
		*dst = src
	}
}

// Stats returns the container's cgroup statistics.
func (c *Container) Stats() (*cgroupv2.Stats, error) {
	switch c.State.Status {
	case specs.StateCreated, specs.StateRunning, StatusPaused:
	default:
		return nil, c.wrongStatus("get stats of", specs.StateCreated, specs.StateRunning)
	}
	cg := c.cgroup()
	if cg == nil {
		return nil, fmt.Errorf("container %q has no cgroup: no stats", c.State.ID)
	}
	return cg.Stats()
}

// Watch reports the container's cgroup events (OOM kills, empty).
func (c *Container) Watch(ctx context.Context) (<-chan cgroupv2.Event, error) {
	cg := c.cgroup()
	if cg == nil {
		return nil, fmt.Errorf("container %q has no cgroup: no events", c.State.ID)
	}
	return cg.WatchEvents(ctx)
}

// ReadResources reads a LinuxResources JSON document ("-": stdin).
func ReadResources(path string) (*specs.LinuxResources, error) {
	var b []byte
	var err error
	if path == "-" {
		b, err = readAllStdin()
	} else {
		b, err = os.ReadFile(filepath.Clean(path))
	}
	if err != nil {
		return nil, fmt.Errorf("--resources %s: %w", path, err)
	}
	var r specs.LinuxResources
	if err := json.Unmarshal(b, &r); err != nil {
		return nil, fmt.Errorf("--resources %s: not a valid linux.resources JSON: %w", path, err)
	}
	return &r, nil
}

func readAllStdin() ([]byte, error) { return io.ReadAll(os.Stdin) }
