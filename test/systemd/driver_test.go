package systemdtier

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/cgroupv2"
	"github.com/hako-runtime/hako/systemd"
)

const (
	systemPrivate = "unix:path=/run/systemd/private"
	systemBus     = "unix:path=/run/dbus/system_bus_socket"
	userPrivate   = "unix:path=/run/user/1001/systemd/private"
	userBus       = "unix:path=/run/user/1001/bus"
	userManager   = "/user.slice/user-1001.slice/user@1001.service"
)

// connect is systemd.Connect, timed and closed at the end.
func connect(t *testing.T) *systemd.Conn {
	t.Helper()
	start := time.Now()
	c, err := systemd.Connect(rootless())
	if err != nil {
		t.Fatal(err)
	}
	timing(t, "Connect ("+strings.TrimPrefix(c.Address(), "unix:path=")+")", time.Since(start))
	t.Cleanup(func() { c.Close() })
	return c
}

func dial(t *testing.T, address string) *systemd.Conn {
	t.Helper()
	start := time.Now()
	c, err := systemd.Dial(address, rootless())
	if err != nil {
		t.Fatal(err)
	}
	timing(t, "Dial ("+strings.TrimPrefix(address, "unix:path=")+")", time.Since(start))
	t.Cleanup(func() { c.Close() })
	return c
}

// stopAtEnd stops and forgets the unit when the test ends, whatever
// happened.
func stopAtEnd(t *testing.T, c *systemd.Conn, unit string) {
	t.Cleanup(func() {
		if err := c.StopUnit(unit); err != nil {
			t.Errorf("cleanup: %v", err)
		}
		if err := c.ResetFailed(unit); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
}

// roundTrip is the driver's main path: a scope for a running process
// (cgroupsPath of the form slice:prefix:name, "%s" standing for the ID),
// its cgroup where wantCgroup says (with ID for the ID), delegated, used
// with the fs driver, then stopped and gone.
func roundTrip(t *testing.T, c *systemd.Conn, cgroupsPath, wantCgroup string) {
	id := newID(t)
	if cgroupsPath != "" {
		cgroupsPath = strings.ReplaceAll(cgroupsPath, "ID", id)
	}
	slice, unit, err := systemd.ParsePath(cgroupsPath, id, rootless())
	if err != nil {
		t.Fatal(err)
	}
	sleep := startSleep(t)
	pid := sleep.Process.Pid
	before := procCgroup(t, pid)

	start := time.Now()
	path, err := c.StartScope(slice, unit, pid, nil, map[string]string{
		systemd.AnnotationPrefix + "TimeoutStopSec": "7",
	})
	if err != nil {
		t.Fatal(err)
	}
	timing(t, "StartScope", time.Since(start))
	stopAtEnd(t, c, unit)

	want := regexp.MustCompile("^" + regexp.QuoteMeta(strings.ReplaceAll(wantCgroup, "ID", id)) + "$")
	if !want.MatchString(path) {
		t.Errorf("StartScope returned %q, want %s", path, want)
	}
	if got := procCgroup(t, pid); got != path {
		t.Errorf("process %d is in %q (was %q), want %q", pid, got, before, path)
	}
	props := show(t, unit, "ActiveState", "Delegate", "Slice", "ControlGroup", "TimeoutStopUSec", "CollectMode", "DefaultDependencies", "Description")
	wantProps := map[string]string{
		"ActiveState": "active", "Delegate": "yes", "Slice": slice, "ControlGroup": path,
		"TimeoutStopUSec": "7s", "CollectMode": "inactive-or-failed", "DefaultDependencies": "no",
		"Description": "hako container " + strings.TrimSuffix(unit, ".scope"),
	}
	for k, v := range wantProps {
		if props[k] != v {
			t.Errorf("%s: %s=%q, want %q", unit, k, props[k], v)
		}
	}

	// Delegation: the cgroup and its cgroup.procs belong to the caller,
	// who can make cgroups below it and move the process there.
	dir := cgroupDir(t, path)
	for _, f := range []string{dir, filepath.Join(dir, "cgroup.procs"), filepath.Join(dir, "cgroup.subtree_control")} {
		var st syscall.Stat_t
		if err := syscall.Stat(f, &st); err != nil {
			t.Fatal(err)
		}
		if int(st.Uid) != os.Getuid() {
			t.Errorf("%s is owned by uid %d, want %d (delegation)", f, st.Uid, os.Getuid())
		}
	}
	sub := filepath.Join(dir, "payload")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatalf("delegated scope: %v", err)
	}
	if err := os.WriteFile(filepath.Join(sub, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("delegated scope: move %d into %s: %v", pid, sub, err)
	}

	// The fs driver serves the scope.
	m := cgroupv2.Restore(path, nil)
	if pids, err := m.Pids(); err != nil || !slices.Contains(pids, pid) {
		t.Errorf("fs driver: Pids = %v, %v; want %d in it", pids, err, pid)
	}
	if err := m.Freeze(); err != nil {
		t.Errorf("fs driver: Freeze: %v", err)
	} else if frozen, err := m.State(); err != nil || !frozen {
		t.Errorf("fs driver: State after Freeze = %v, %v", frozen, err)
	}
	if err := m.Thaw(); err != nil {
		t.Errorf("fs driver: Thaw: %v", err)
	}

	// StopUnit: the process gets SIGTERM, the unit and its cgroup (with
	// the one made below it) go.
	start = time.Now()
	if err := c.StopUnit(unit); err != nil {
		t.Fatal(err)
	}
	timing(t, "StopUnit", time.Since(start))
	var ee *exec.ExitError
	if err := waitExit(t, sleep, 5*time.Second); !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGTERM {
		t.Errorf("the scope's process ended with %v, want SIGTERM", err)
	}
	if got := show(t, unit, "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after StopUnit, %s is %s, want not-found (gone)", unit, got)
	}
	waitGone(t, dir)
	if err := c.StopUnit(unit); err != nil {
		t.Errorf("StopUnit of a unit already gone: %v", err)
	}
	if err := c.ResetFailed(unit); err != nil {
		t.Errorf("ResetFailed of a unit already gone: %v", err)
	}
}

func TestSystemScopeConnect(t *testing.T) {
	needMode(t, "root")
	c := connect(t)
	if c.Address() != systemBus {
		t.Errorf("Connect(false) chose %s, want %s", c.Address(), systemBus)
	}
	roundTrip(t, c, "", "/system.slice/hako-ID.scope")
}

func TestSystemScopePrivateSocket(t *testing.T) {
	needMode(t, "root")
	roundTrip(t, dial(t, systemPrivate), "system.slice:hakotest:ID", "/system.slice/hakotest-ID.scope")
}

func TestSystemScopeNestedSlice(t *testing.T) {
	needMode(t, "root")
	c := connect(t)
	roundTrip(t, c, "hakotest-nested.slice:hako:ID", "/hakotest.slice/hakotest-nested.slice/hako-ID.scope")
	// The slices systemd made for it stay (as for runc): stop them.
	for _, s := range []string{"hakotest-nested.slice", "hakotest.slice"} {
		if err := c.StopUnit(s); err != nil {
			t.Error(err)
		}
	}
}

func TestUserScopeConnect(t *testing.T) {
	needMode(t, "rootless")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
	c := connect(t)
	if c.Address() != userBus {
		t.Errorf("Connect(true) chose %s, want %s", c.Address(), userBus)
	}
	roundTrip(t, c, "", userManager+"/user.slice/hako-ID.scope")
}

func TestUserScopePrivateSocket(t *testing.T) {
	needMode(t, "rootless")
	roundTrip(t, dial(t, userPrivate), ":hakotest:ID", userManager+"/user.slice/hakotest-ID.scope")
}

// DBUS_SESSION_BUS_ADDRESS comes first (here: the private socket).
func TestUserScopeSessionBusAddress(t *testing.T) {
	needMode(t, "rootless")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", userPrivate)
	c := connect(t)
	if c.Address() != userPrivate {
		t.Errorf("Connect(true) with DBUS_SESSION_BUS_ADDRESS=%s chose %s", userPrivate, c.Address())
	}
	roundTrip(t, c, "app.slice:hakotest:ID", userManager+"/app.slice/hakotest-ID.scope")
}

func TestUserNoManager(t *testing.T) {
	needMode(t, "rootless")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
	t.Setenv("XDG_RUNTIME_DIR", t.TempDir())
	_, err := systemd.Connect(true)
	if err == nil || !strings.Contains(err.Error(), "loginctl enable-linger $USER") || !strings.Contains(err.Error(), "dbus-user-session") {
		t.Fatalf("Connect(true) without a user manager: %v", err)
	}
}

// missingController: a memory limit, with no memory controller to give
// (the host's unified hierarchy has none): refused before systemd is
// asked, with the controller named.
func missingController(t *testing.T) {
	c := connect(t)
	id := newID(t)
	slice, unit, err := systemd.ParsePath("", id, rootless())
	if err != nil {
		t.Fatal(err)
	}
	sleep := startSleep(t)
	before := procCgroup(t, sleep.Process.Pid)
	stopAtEnd(t, c, unit)
	limit := int64(64 << 20)
	_, err = c.StartScope(slice, unit, sleep.Process.Pid, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}, nil)
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "linux.resources.memory.limit: the memory controller is not available") {
		t.Fatalf("StartScope with a memory limit: %v", err)
	}
	if !errors.Is(err, cgroupv2.ErrControllerUnavailable) {
		t.Errorf("error does not match cgroupv2.ErrControllerUnavailable")
	}
	if rootless() && !strings.Contains(err.Error(), "Delegate=cpu cpuset io memory pids") {
		t.Errorf("rootless error does not say how to delegate")
	}
	if got := show(t, unit, "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("%s is %s, want not-found: systemd was asked", unit, got)
	}
	if got := procCgroup(t, sleep.Process.Pid); got != before {
		t.Errorf("the process moved to %s", got)
	}
}

func TestSystemMissingController(t *testing.T) { needMode(t, "root"); missingController(t) }
func TestUserMissingController(t *testing.T)   { needMode(t, "rootless"); missingController(t) }

// activeUnit: a second container with the same cgroupsPath is refused
// while the first runs.
func activeUnit(t *testing.T) {
	c := connect(t)
	id := newID(t)
	slice, unit, _ := systemd.ParsePath("", id, rootless())
	first := startSleep(t)
	if _, err := c.StartScope(slice, unit, first.Process.Pid, nil, nil); err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, c, unit)
	second := startSleep(t)
	_, err := c.StartScope(slice, unit, second.Process.Pid, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "the unit exists and is active") {
		t.Fatalf("second StartScope of %s: %v", unit, err)
	}
}

func TestSystemActiveUnit(t *testing.T) { needMode(t, "root"); activeUnit(t) }
func TestUserActiveUnit(t *testing.T)   { needMode(t, "rootless"); activeUnit(t) }

// deadProcess: a scope for a process that is gone fails clearly and
// leaves no unit.
func deadProcess(t *testing.T) {
	c := connect(t)
	id := newID(t)
	slice, unit, _ := systemd.ParsePath("", id, rootless())
	cmd := exec.Command("true")
	if err := cmd.Run(); err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, c, unit)
	_, err := c.StartScope(slice, unit, cmd.Process.Pid, nil, nil)
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "start the scope "+unit) {
		t.Fatalf("StartScope for an exited process: %v", err)
	}
	if got := show(t, unit, "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("%s is %s, want not-found", unit, got)
	}
}

func TestSystemDeadProcess(t *testing.T) { needMode(t, "root"); deadProcess(t) }
func TestUserDeadProcess(t *testing.T)   { needMode(t, "rootless"); deadProcess(t) }

// badProperty: an annotation systemd refuses names the annotation.
func badProperty(t *testing.T) {
	c := connect(t)
	id := newID(t)
	slice, unit, _ := systemd.ParsePath("", id, rootless())
	sleep := startSleep(t)
	stopAtEnd(t, c, unit)
	_, err := c.StartScope(slice, unit, sleep.Process.Pid, nil, map[string]string{systemd.AnnotationPrefix + "HakoBogus": "true"})
	t.Logf("error: %v", err)
	if err == nil || !strings.Contains(err.Error(), "properties from annotations: org.systemd.property.HakoBogus") {
		t.Fatalf("StartScope with a bogus property: %v", err)
	}
}

func TestSystemBadProperty(t *testing.T) { needMode(t, "root"); badProperty(t) }
func TestUserBadProperty(t *testing.T)   { needMode(t, "rootless"); badProperty(t) }

// TestSystemFsDriverWrites: what systemd has no property for is the fs
// driver's: a hugetlb limit (the one controller this host's unified
// hierarchy has, which systemd does not manage) and the eBPF device
// filter. Destroy after systemd removed the scope is fine.
func TestSystemFsDriverWrites(t *testing.T) {
	needMode(t, "root")
	c := connect(t)
	id := newID(t)
	slice, unit, _ := systemd.ParsePath("", id, false)
	sleep := startSleep(t)
	path, err := c.StartScope(slice, unit, sleep.Process.Pid, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, c, unit)
	m := cgroupv2.Restore(path, nil)
	dir := cgroupDir(t, path)

	root, _ := os.ReadFile(cgroupDir(t, "/cgroup.controllers"))
	if strings.Contains(string(root), "hugetlb") {
		res := &specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 21}}}
		if err := m.Set(res); err != nil {
			t.Errorf("fs driver: Set hugetlb on the scope: %v", err)
		} else if got, _ := os.ReadFile(filepath.Join(dir, "hugetlb.2MB.max")); strings.TrimSpace(string(got)) != strconv.Itoa(4<<21) {
			t.Errorf("hugetlb.2MB.max = %q", got)
		}
	} else {
		t.Logf("no hugetlb controller here (cgroup.controllers %q): hugetlb not tried", strings.TrimSpace(string(root)))
	}
	if err := m.SetDevices(nil, true); err != nil {
		t.Errorf("fs driver: SetDevices on the scope: %v", err)
	}
	if err := c.StopUnit(unit); err != nil {
		t.Fatal(err)
	}
	waitExit(t, sleep, 5*time.Second)
	waitGone(t, dir)
	if err := m.Destroy(); err != nil {
		t.Errorf("fs driver: Destroy of a scope systemd removed: %v", err)
	}
}

// TestUserFsDriverWrites: rootless, the fs driver writes into the
// delegated scope too.
func TestUserFsDriverWrites(t *testing.T) {
	needMode(t, "rootless")
	c := connect(t)
	id := newID(t)
	slice, unit, _ := systemd.ParsePath("", id, true)
	sleep := startSleep(t)
	path, err := c.StartScope(slice, unit, sleep.Process.Pid, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, c, unit)
	m := cgroupv2.Restore(path, nil)
	if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"cgroup.max.descendants": "5"}}); err != nil {
		t.Errorf("fs driver: Set on the delegated scope: %v", err)
	}
	if got, _ := os.ReadFile(filepath.Join(cgroupDir(t, path), "cgroup.max.descendants")); strings.TrimSpace(string(got)) != "5" {
		t.Errorf("cgroup.max.descendants = %q", got)
	}
}

// fsKill: the fs driver's Kill (cgroup.kill) on a scope. The scope's
// cgroup empties, so systemd stops the scope and removes the cgroup at
// once, often before Kill has read cgroup.events again: Kill must still
// report success. Several rounds, as it is a race.
func fsKill(t *testing.T) {
	c := connect(t)
	const rounds = 10
	var failures []string
	for i := 0; i < rounds; i++ {
		id := newID(t)
		slice, unit, _ := systemd.ParsePath("", id, rootless())
		sleep := startSleep(t)
		path, err := c.StartScope(slice, unit, sleep.Process.Pid, nil, nil)
		if err != nil {
			t.Fatal(err)
		}
		stopAtEnd(t, c, unit)
		if err := cgroupv2.Restore(path, nil).Kill(); err != nil {
			failures = append(failures, err.Error())
		}
		if err := waitExit(t, sleep, 5*time.Second); err == nil {
			t.Fatalf("the scope's process survived cgroup.kill")
		}
		deadline := time.Now().Add(5 * time.Second)
		for show(t, unit, "LoadState")["LoadState"] != "not-found" {
			if time.Now().After(deadline) {
				t.Fatalf("%s still loaded after its cgroup emptied: %v", unit, show(t, unit, "ActiveState", "SubState", "Result"))
			}
			time.Sleep(10 * time.Millisecond)
		}
		waitGone(t, cgroupDir(t, path))
	}
	if len(failures) > 0 {
		t.Errorf("cgroupv2 Manager.Kill failed in %d of %d rounds although every process died: systemd removed the emptied scope's cgroup "+
			"while Kill waited on its cgroup.events (ENODEV); Kill (waitEvent) must take a cgroup that vanished as emptied. First error: %s",
			len(failures), rounds, failures[0])
	}
}

func TestSystemFsKill(t *testing.T) { needMode(t, "root"); fsKill(t) }
func TestUserFsKill(t *testing.T)   { needMode(t, "rootless"); fsKill(t) }

// attach: a process started outside the scope (as `exec` starts one)
// joins it, and a cgroup below it, through the manager.
func attach(t *testing.T) {
	c := connect(t)
	id := newID(t)
	slice, unit, _ := systemd.ParsePath("", id, rootless())
	first := startSleep(t)
	path, err := c.StartScope(slice, unit, first.Process.Pid, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	stopAtEnd(t, c, unit)
	if err := os.Mkdir(filepath.Join(cgroupDir(t, path), "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	second, third := startSleep(t), startSleep(t)
	if rootless() {
		// Not by hand: the common ancestor is not ours.
		err := os.WriteFile(filepath.Join(cgroupDir(t, path), "cgroup.procs"), []byte(strconv.Itoa(second.Process.Pid)), 0)
		t.Logf("moving it by hand: %v", err)
	}
	start := time.Now()
	if err := c.AttachProcesses(unit, "", second.Process.Pid); err != nil {
		t.Fatal(err)
	}
	timing(t, "AttachProcesses", time.Since(start))
	if err := c.AttachProcesses(unit, "/sub", third.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if got := procCgroup(t, second.Process.Pid); got != path {
		t.Errorf("attached process in %q, want %q", got, path)
	}
	if got := procCgroup(t, third.Process.Pid); got != path+"/sub" {
		t.Errorf("attached process in %q, want %q", got, path+"/sub")
	}
}

func TestSystemAttach(t *testing.T) { needMode(t, "root"); attach(t) }
func TestUserAttach(t *testing.T)   { needMode(t, "rootless"); attach(t) }

// Start-stop cost, averaged, over each way to reach the manager.
func TestSystemStartStopCost(t *testing.T) {
	needMode(t, "root")
	for _, a := range []string{systemPrivate, systemBus} {
		startStopCost(t, a)
	}
}

func TestUserStartStopCost(t *testing.T) {
	needMode(t, "rootless")
	for _, a := range []string{userPrivate, userBus} {
		startStopCost(t, a)
	}
}

func startStopCost(t *testing.T, address string) {
	const n = 30
	where := strings.TrimPrefix(address, "unix:path=")
	var dialTotal time.Duration
	for i := 0; i < 5; i++ {
		start := time.Now()
		c, err := systemd.Dial(address, rootless())
		if err != nil {
			t.Fatal(err)
		}
		dialTotal += time.Since(start)
		c.Close()
	}
	timing(t, "Dial "+where+", mean of 5", dialTotal/5)
	c, err := systemd.Dial(address, rootless())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	var startTotal, stopTotal time.Duration
	for i := 0; i < n; i++ {
		id := newID(t)
		slice, unit, _ := systemd.ParsePath("", id, rootless())
		cmd := exec.Command("sleep", "600")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t0 := time.Now()
		_, err := c.StartScope(slice, unit, cmd.Process.Pid, nil, nil)
		startTotal += time.Since(t0)
		if err != nil {
			cmd.Process.Kill()
			cmd.Wait()
			t.Fatal(err)
		}
		t0 = time.Now()
		err = c.StopUnit(unit)
		stopTotal += time.Since(t0)
		cmd.Wait()
		if err != nil {
			t.Fatal(err)
		}
	}
	timing(t, fmt.Sprintf("StartScope %s, mean of %d", where, n), startTotal/n)
	timing(t, fmt.Sprintf("StopUnit (SIGTERM) %s, mean of %d", where, n), stopTotal/n)
}
