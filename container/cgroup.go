package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/cgroupv2"
	"github.com/hako-runtime/hako/systemd"
)

// setupCgroup makes the container's cgroup with the fs driver and applies
// its resources, or returns nil when the container runs without one.
//
// As root every container gets a cgroup (ps, kill --all, pause and delete
// rely on it). A rootless hako uses one only where it may: the cgroup's
// nearest existing ancestor must be writable by the user (a subtree an
// administrator delegated). Without that, a config that asks for limits is
// refused with an error naming the missing delegation; one that asks for
// none runs without a cgroup.
func (s *Store) setupCgroup(sp *specs.Spec, id string) (*cgroupv2.Manager, string, *cgroupv2.DeviceFilter, error) {
	var res *specs.LinuxResources
	cgPath := ""
	if sp.Linux != nil {
		res = sp.Linux.Resources
		cgPath = sp.Linux.CgroupsPath
	}
	path, err := cgroupv2.Path(cgPath, id)
	if err != nil {
		return nil, "", nil, err
	}
	if s.Rootless {
		if err := delegated(path); err != nil {
			if field := limitField(res); field != "" {
				return nil, "", nil, fmt.Errorf("%s: limits need a cgroup you may write, and %v: use a cgroupsPath inside a subtree delegated to you, or drop the limits", field, err)
			}
			return nil, "", nil, nil
		}
	}
	// The device filter is checked and compiled now, and loaded and
	// attached by the caller while the init starts (before the
	// container's process can run).
	var filter *cgroupv2.DeviceFilter
	if !s.Rootless {
		var rules []specs.LinuxDeviceCgroup
		if res != nil {
			rules = res.Devices
		}
		if filter, err = cgroupv2.NewDeviceFilter(withConfigDevices(rules, sp), true); err != nil {
			return nil, "", nil, err
		}
	}
	m := cgroupv2.New(path)
	if err := m.Create(res); err != nil {
		return nil, "", nil, err
	}
	if !s.Rootless && hasUserNamespace(sp) {
		if err := delegateToContainer(m, sp); err != nil {
			m.Destroy()
			return nil, "", nil, err
		}
	}
	return m, path, filter, nil
}

// withConfigDevices adds an allow rule for every linux.devices entry, which
// the container is meant to use, after the config's own rules. A FIFO ("p")
// is no device for the device controller and needs no rule; an unbuffered
// character device ("u") is a character device ("c") to it.
func withConfigDevices(rules []specs.LinuxDeviceCgroup, sp *specs.Spec) []specs.LinuxDeviceCgroup {
	if sp.Linux == nil || len(sp.Linux.Devices) == 0 {
		return rules
	}
	out := append([]specs.LinuxDeviceCgroup(nil), rules...)
	for _, d := range sp.Linux.Devices {
		typ := d.Type
		switch typ {
		case "p":
			continue
		case "u":
			typ = "c"
		}
		major, minor := d.Major, d.Minor
		out = append(out, specs.LinuxDeviceCgroup{Allow: true, Type: typ, Major: &major, Minor: &minor, Access: "rwm"})
	}
	return out
}

// delegated checks that the nearest existing level of path may be written
// by us.
func delegated(path string) error {
	mnt, err := cgroupv2.Mountpoint()
	if err != nil {
		return err
	}
	dir := filepath.Join(mnt, path)
	for {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		parent := filepath.Dir(dir)
		if parent == dir || len(parent) < len(mnt) {
			return fmt.Errorf("%s does not exist", mnt)
		}
		dir = parent
	}
	if err := unix.Faccessat(unix.AT_FDCWD, dir, unix.W_OK, unix.AT_EACCESS); err != nil {
		return fmt.Errorf("%s is not writable by you (no delegated cgroup)", dir)
	}
	return nil
}

// limitField names the first resource limit res asks for, or "".
func limitField(res *specs.LinuxResources) string {
	if res == nil {
		return ""
	}
	switch {
	case res.Memory != nil:
		return "linux.resources.memory"
	case res.CPU != nil:
		return "linux.resources.cpu"
	case res.Pids != nil:
		return "linux.resources.pids"
	case res.BlockIO != nil:
		return "linux.resources.blockIO"
	case len(res.HugepageLimits) > 0:
		return "linux.resources.hugepageLimits"
	case len(res.Rdma) > 0:
		return "linux.resources.rdma"
	case len(res.Unified) > 0:
		return "linux.resources.unified"
	}
	return ""
}

// cgroup returns the manager of the container's cgroup, or nil.
func (c *Container) cgroup() *cgroupv2.Manager {
	if c.State.Cgroup == "" {
		return nil
	}
	return cgroupv2.Restore(c.State.Cgroup, c.State.CgroupCreated)
}

// removeDefaultParent removes hako's default parent cgroup (/hako, used
// when cgroupsPath is empty) once its last container is gone, whichever
// container made it: it is hako's own, and rmdir fails while it is used.
func removeDefaultParent(path string) {
	if !strings.HasPrefix(path, "/hako/") || strings.Count(path, "/") != 2 {
		return
	}
	if mnt, err := cgroupv2.Mountpoint(); err == nil {
		unix.Rmdir(filepath.Join(mnt, "hako"))
	}
}

// delegateToContainer gives a container with its own user namespace its
// cgroup, the way a cgroup is delegated to a user (cgroups(7), "Cgroups
// delegation"): the directory and the files the kernel lists in
// /sys/kernel/cgroup/delegate are chowned to the host ids of the
// container's root, so that it can manage its own subtree (nested
// containers, systemd inside) and nothing above it.
func delegateToContainer(m *cgroupv2.Manager, sp *specs.Spec) error {
	uid, ok1 := hostID(sp.Linux.UIDMappings, 0)
	gid, ok2 := hostID(sp.Linux.GIDMappings, 0)
	if !ok1 || !ok2 {
		return nil // root of the container is not mapped: nothing to give
	}
	dir, err := m.Dir()
	if err != nil {
		return err
	}
	files := []string{"cgroup.procs", "cgroup.threads", "cgroup.subtree_control"}
	if b, err := os.ReadFile("/sys/kernel/cgroup/delegate"); err == nil {
		files = strings.Fields(string(b))
	}
	if err := os.Chown(dir, int(uid), int(gid)); err != nil {
		return fmt.Errorf("delegate cgroup %s to the container's root: %w", dir, err)
	}
	for _, f := range files {
		p := filepath.Join(dir, filepath.Base(f))
		if err := os.Chown(p, int(uid), int(gid)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("delegate cgroup %s to the container's root: %w", p, err)
		}
	}
	return nil
}

// hostID maps a container id to the host through a user namespace map.
func hostID(m []specs.LinuxIDMapping, id uint32) (uint32, bool) {
	for _, e := range m {
		if id >= e.ContainerID && id-e.ContainerID < e.Size {
			return e.HostID + (id - e.ContainerID), true
		}
	}
	return 0, false
}

// scopeSetup is the container's systemd scope (--systemd-cgroup). A scope
// holds existing processes only, so it is started around the init once
// the init exists and before its bootstrap is sent (start, called by
// launch): the init has run nothing of the container yet.
type scopeSetup struct {
	conn        *systemd.Conn
	slice, unit string
	res         *specs.LinuxResources
	annotations map[string]string
	devices     []specs.LinuxDeviceCgroup // the device filter (root only)
	rootless    bool
	userns      *specs.Spec       // the config, when its cgroup goes to a user namespace's root
	path        string            // the scope's cgroup, once started
	cg          *cgroupv2.Manager // the fs driver on it, once started
}

// prepareScope parses the cgroupsPath and connects to systemd, before
// anything is started.
func (s *Store) prepareScope(sp *specs.Spec, id string) (*scopeSetup, error) {
	var res *specs.LinuxResources
	cgPath := ""
	if sp.Linux != nil {
		res = sp.Linux.Resources
		cgPath = sp.Linux.CgroupsPath
	}
	slice, unit, err := systemd.ParsePath(cgPath, id, s.Rootless)
	if err != nil {
		return nil, err
	}
	conn, err := systemd.Connect(s.Rootless)
	if err != nil {
		return nil, err
	}
	sc := &scopeSetup{conn: conn, slice: slice, unit: unit, res: res, annotations: sp.Annotations, rootless: s.Rootless}
	if !s.Rootless {
		var rules []specs.LinuxDeviceCgroup
		if res != nil {
			rules = res.Devices
		}
		sc.devices = withConfigDevices(rules, sp)
		if hasUserNamespace(sp) {
			sc.userns = sp
		}
	}
	return sc, nil
}

// start puts pid in a new scope and applies the resources: the ones
// systemd has properties for as properties, then all of them (and the
// device filter, as root) with the fs driver.
func (sc *scopeSetup) start(pid int) error {
	path, err := sc.conn.StartScope(sc.slice, sc.unit, pid, sc.res, sc.annotations)
	if err != nil {
		return err
	}
	sc.path, sc.cg = path, cgroupv2.Restore(path, nil)
	if err := sc.cg.Set(sc.res); err != nil {
		return err
	}
	if sc.userns != nil {
		if err := delegateToContainer(sc.cg, sc.userns); err != nil {
			return err
		}
	}
	if !sc.rootless {
		if err := sc.cg.SetDevices(sc.devices, true); err != nil {
			return err
		}
	}
	return nil
}

// removeCgroup kills whatever is left in the container's cgroup and
// removes it: for a systemd scope, stops the unit (which removes the
// cgroup) and forgets it if it failed.
func (c *Container) removeCgroup() error {
	var errs []error
	cg := c.cgroup()
	if cg != nil {
		if err := cg.Kill(); err != nil {
			errs = append(errs, err)
		}
	}
	if unit := c.State.SystemdUnit; unit != "" {
		if conn, err := systemd.Connect(c.State.SystemdUser); err != nil {
			errs = append(errs, err)
		} else {
			if err := conn.StopUnit(unit); err != nil {
				errs = append(errs, err)
			} else if err := conn.ResetFailed(unit); err != nil {
				errs = append(errs, err)
			}
			conn.Close()
		}
	}
	if cg != nil {
		if err := cg.Destroy(); err != nil {
			errs = append(errs, err)
		} else {
			removeDefaultParent(c.State.Cgroup)
		}
	}
	return errors.Join(errs...)
}

// attachToScope moves pid into the container's systemd scope through
// systemd.
func attachToScope(unit string, user bool, pid int) error {
	conn, err := systemd.Connect(user)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.AttachProcesses(unit, "", pid)
}

// setScopeResources sets the unit properties of res on the container's
// systemd scope.
func setScopeResources(unit string, user bool, res *specs.LinuxResources) error {
	conn, err := systemd.Connect(user)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.SetResources(unit, res)
}

// ownCgroup is this process's cgroup v2 path, for messages.
func ownCgroup() string {
	b, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return "?"
	}
	for _, l := range strings.Split(string(b), "\n") {
		if p, ok := strings.CutPrefix(l, "0::"); ok {
			return p
		}
	}
	return "?"
}
