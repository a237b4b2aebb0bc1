package systemd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/cgroupv2"
)

// StartScope starts the transient scope unit in slice with the process pid
// in it, and returns the scope's cgroup relative to the unified
// hierarchy's mount point (its ControlGroup property), for
// cgroupv2.Restore(path, nil).
//
// The scope has Delegate=yes (its subtree is the container's to manage:
// the fs driver writes what systemd has no property for, and nested
// cgroups are allowed), DefaultDependencies=no (it neither waits for nor
// is stopped by ordinary targets), CollectMode=inactive-or-failed (it is
// forgotten once stopped, even after a failure, so its name can be used
// again), a Description naming the container, and the properties of res
// that systemd has (see resourceProperties), so that systemd keeps them
// across daemon-reload. The annotations org.systemd.property.NAME add or
// replace properties (see annotationProperties); anything hako cannot
// convert is refused before systemd is asked, with an error naming the
// annotation or the field.
//
// Before that, each controller the properties need is checked: a
// controller neither in the cgroup.controllers of the slice's cgroup (its
// nearest existing level) nor in that of the manager's own cgroup cannot
// be given to the scope, and systemd would silently ignore the limit.
// The error names the field, the controller and the cgroup, and,
// rootless, how to delegate controllers to the user manager. It matches
// cgroupv2.ErrControllerUnavailable.
//
// It waits (Timeout) for the start job. A job that fails is reported with
// its result, and the unit reset; a leftover unit of the same name that
// is no longer active (a crashed hako) is reset and the start retried
// once; an active one is an error (another container uses the name).
// After a timeout the caller should StopUnit the unit.
func (c *Conn) StartScope(slice, unit string, pid int, res *specs.LinuxResources, annotations map[string]string) (cgroupPath string, err error) {
	if pid <= 0 {
		return "", fmt.Errorf("systemd: start %s: no process (pid %d)", unit, pid)
	}
	if !strings.HasSuffix(unit, ".scope") {
		return "", fmt.Errorf("systemd: %s is not a scope unit name", unit)
	}
	sliceRel, err := sliceCgroup(slice)
	if err != nil {
		return "", fmt.Errorf("systemd: %w", err)
	}
	resProps, needs, err := resourceProperties(res)
	if err != nil {
		return "", err
	}
	annProps, err := annotationProperties(annotations)
	if err != nil {
		return "", err
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	if len(needs) > 0 {
		root, err := c.managerCgroup(ctx)
		if err != nil {
			return "", err
		}
		if err := c.checkControllers(path.Join(root, sliceRel), root, needs); err != nil {
			return "", err
		}
	}

	var p props
	p.set("Description", "hako container "+strings.TrimSuffix(unit, ".scope"))
	p.set("Slice", slice)
	p.set("Delegate", true)
	p.set("DefaultDependencies", false)
	p.set("CollectMode", "inactive-or-failed")
	p.set("PIDs", []uint32{uint32(pid)})
	for _, q := range resProps {
		p.setVariant(q.Name, q.Value)
	}
	for _, q := range annProps {
		p.setVariant(q.Name, q.Value)
	}
	aux := []struct {
		Name  string
		Props []property
	}{}

	what := "the scope " + unit + " in " + slice
	for attempt := 0; ; attempt++ {
		var result string
		result, err = c.callJob(ctx, "StartTransientUnit", unit, "replace", []property(p), aux)
		if dbusErrorName(err) == errUnitExists && attempt == 0 {
			// A leftover of a hako that died? Only an inactive or
			// failed unit may be replaced.
			if state, serr := c.unitString(ctx, unit, "org.freedesktop.systemd1.Unit", "ActiveState"); serr == nil && (state == "active" || state == "activating" || state == "reloading" || state == "deactivating") {
				return "", fmt.Errorf("systemd: cannot start %s: the unit exists and is %s (another container uses this cgroupsPath?)", what, state)
			}
			if rerr := c.ResetFailed(unit); rerr != nil {
				return "", fmt.Errorf("systemd: start %s: %w; and %w", what, err, rerr)
			}
			continue
		}
		switch {
		case err != nil:
			return "", c.startError(what, err, annProps)
		case result != "done":
			_ = c.ResetFailed(unit)
			return "", fmt.Errorf("systemd: start %s: job %s (see `journalctl%s -u %s`)", what, result, userFlag(c.rootless), unit)
		}
		break
	}
	cg, err := c.unitString(ctx, unit, "org.freedesktop.systemd1.Scope", "ControlGroup")
	if err != nil {
		return "", fmt.Errorf("systemd: started %s but cannot read its cgroup: %w", what, err)
	}
	if cg == "" {
		return "", fmt.Errorf("systemd: started %s but it has no cgroup (did its process %d exit?)", what, pid)
	}
	return cg, nil
}

// startError explains a refused StartTransientUnit.
func (c *Conn) startError(what string, err error, annProps props) error {
	msg := fmt.Sprintf("systemd: start %s: %v", what, err)
	if dbusErrorName(err) == "org.freedesktop.DBus.Error.InvalidArgs" || dbusErrorName(err) == "org.freedesktop.DBus.Error.PropertyReadOnly" {
		if len(annProps) > 0 {
			names := make([]string, len(annProps))
			for i, q := range annProps {
				names[i] = AnnotationPrefix + q.Name
			}
			msg += fmt.Sprintf(" (properties from annotations: %s; check their names and types)", strings.Join(names, ", "))
		}
	}
	return errors.New(msg)
}

func userFlag(rootless bool) string {
	if rootless {
		return " --user"
	}
	return ""
}

// SetResources changes the unit properties of res on a running scope
// (SetUnitProperties, runtime only), for `update`: the same conversion
// and controller checks as StartScope. The caller then writes res with
// the fs driver, as after StartScope.
func (c *Conn) SetResources(unit string, res *specs.LinuxResources) error {
	p, needs, err := resourceProperties(res)
	if err != nil {
		return err
	}
	if len(p) == 0 {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	if len(needs) > 0 {
		root, err := c.managerCgroup(ctx)
		if err != nil {
			return err
		}
		cg, err := c.unitString(ctx, unit, "org.freedesktop.systemd1.Scope", "ControlGroup")
		if err != nil {
			return fmt.Errorf("systemd: read the cgroup of %s: %w", unit, err)
		}
		if err := c.checkControllers(cg, root, needs); err != nil {
			return err
		}
	}
	err = c.conn.Object(busName, managerPath).CallWithContext(ctx, managerIf+".SetUnitProperties", 0, unit, true, []property(p)).Err
	if err != nil {
		return fmt.Errorf("systemd: set the resources of %s: %w", unit, err)
	}
	return nil
}

// AttachProcesses moves processes into a running unit's cgroup, or into
// subcgroup below it ("/sub"; "" is the unit's own), through the
// manager (AttachProcessesToUnit, systemd 238). It is how a rootless
// `exec` joins a container in a scope: the user cannot move a process out
// of a cgroup the user does not own (a login session's scope, a system
// service), so clone3(CLONE_INTO_CGROUP) and writes to cgroup.procs fail
// with EACCES, but the user manager can, by asking PID 1. As root,
// CLONE_INTO_CGROUP is cheaper.
func (c *Conn) AttachProcesses(unit, subcgroup string, pids ...int) error {
	if len(pids) == 0 {
		return nil
	}
	ps := make([]uint32, len(pids))
	for i, pid := range pids {
		if pid <= 0 {
			return fmt.Errorf("systemd: attach to %s: bad pid %d", unit, pid)
		}
		ps[i] = uint32(pid)
	}
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	err := c.conn.Object(busName, managerPath).CallWithContext(ctx, managerIf+".AttachProcessesToUnit", 0, unit, subcgroup, ps).Err
	if err != nil {
		return fmt.Errorf("systemd: move processes %v into %s%s: %w", pids, unit, subcgroup, err)
	}
	return nil
}

// controllerError says that a controller a property needs cannot be had.
type controllerError struct {
	field, controller, dir, available string
	rootless                          bool
}

func (e *controllerError) Error() string {
	have := "its cgroup.controllers: " + e.available
	if e.available == "" {
		have = "its cgroup.controllers is empty"
	}
	msg := fmt.Sprintf("%s: the %s controller is not available to the scope: systemd can only give it what %s has (%s)", e.field, e.controller, e.dir, have)
	if e.rootless {
		msg += "; delegate controllers to your user manager: `sudo systemctl edit user@.service` with \"[Service]\" and \"Delegate=cpu cpuset io memory pids\", then `sudo systemctl daemon-reload` and log in again (or restart user@UID.service)"
	} else if e.available == "" {
		msg += "; on a hybrid cgroup host the controllers are in the v1 hierarchies, which hako does not use"
	}
	return msg
}

func (e *controllerError) Is(target error) bool {
	return target == cgroupv2.ErrControllerUnavailable
}

func (c *Conn) mount() (string, error) {
	if c.cgroupRoot != "" {
		return c.cgroupRoot, nil
	}
	return cgroupv2.Mountpoint()
}

// checkControllers checks that every controller of needs is in the
// cgroup.controllers of cg (its nearest existing level, at or below the
// manager's cgroup root) or, failing that, of the manager's cgroup itself,
// from which systemd can enable it down to cg.
func (c *Conn) checkControllers(cg, root string, needs []need) error {
	mnt, err := c.mount()
	if err != nil {
		return fmt.Errorf("systemd cgroup driver: %w", err)
	}
	rootDir := filepath.Join(mnt, root)
	dir := filepath.Join(mnt, cg)
	for dir != rootDir && strings.HasPrefix(dir, rootDir+"/") {
		if _, err := os.Stat(dir); err == nil {
			break
		}
		dir = filepath.Dir(dir)
	}
	have, _, err := readControllers(dir)
	if err != nil {
		return err
	}
	var missing []need
	for _, n := range needs {
		if !have[n.controller] {
			missing = append(missing, n)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if dir != rootDir {
		have, text, err := readControllers(rootDir)
		if err != nil {
			return err
		}
		for _, n := range missing {
			if !have[n.controller] {
				return &controllerError{n.field, n.controller, rootDir, text, c.rootless}
			}
		}
		return nil
	}
	_, text, _ := readControllers(rootDir)
	n := missing[0]
	return &controllerError{n.field, n.controller, rootDir, text, c.rootless}
}

func readControllers(dir string) (map[string]bool, string, error) {
	data, err := os.ReadFile(filepath.Join(dir, "cgroup.controllers"))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, "", fmt.Errorf("systemd cgroup driver: %s does not exist: is this systemd's cgroup hierarchy (the unified one)?", dir)
		}
		return nil, "", fmt.Errorf("systemd cgroup driver: %w", err)
	}
	set := map[string]bool{}
	for f := range strings.FieldsSeq(string(data)) {
		set[f] = true
	}
	return set, strings.TrimSpace(string(data)), nil
}
