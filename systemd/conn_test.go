package systemd

import (
	"errors"
	"net"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/cgroupv2"
)

// fakeCgroups makes a unified hierarchy with the given cgroup.controllers
// per cgroup (relative path -> content).
func fakeCgroups(t *testing.T, controllers map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for rel, content := range controllers {
		dir := filepath.Join(root, rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "cgroup.controllers"), []byte(content+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func dial(t *testing.T, f *fakeSystemd, rootless bool, cgroups map[string]string) *Conn {
	t.Helper()
	c, err := Dial(f.address(), rootless)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.cgroupRoot = fakeCgroups(t, cgroups)
	return c
}

var allControllers = "cpuset cpu io memory hugetlb pids rdma misc"

func TestStartScope(t *testing.T) {
	for _, name := range []string{"systemd/private", "bus"} {
		t.Run(name, func(t *testing.T) {
			f := newFakeSystemd(t, name)
			c := dial(t, f, false, map[string]string{"/": allControllers, "/system.slice": "cpu memory pids"})
			res := &specs.LinuxResources{
				Memory: &specs.LinuxMemory{Limit: i64(64 << 20)},
				Pids:   &specs.LinuxPids{Limit: i64(50)},
				CPU:    &specs.LinuxCPU{Cpus: "0"}, // not in system.slice, but the root has it
				// No property: left to the fs driver, not checked here.
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 0}},
			}
			ann := map[string]string{
				AnnotationPrefix + "TimeoutStopSec":      "5",
				AnnotationPrefix + "DefaultDependencies": "true",
				"unrelated":                              "x",
			}
			path, err := c.StartScope("system.slice", "hako-c1.scope", 1234, res, ann)
			if err != nil {
				t.Fatal(err)
			}
			if path != "/system.slice/hako-c1.scope" {
				t.Errorf("cgroup path %q", path)
			}
			want := map[string]any{
				"Description":         "hako container hako-c1",
				"Slice":               "system.slice",
				"Delegate":            true,
				"DefaultDependencies": true, // the annotation wins
				"CollectMode":         "inactive-or-failed",
				"PIDs":                []uint32{1234},
				"MemoryMax":           uint64(64 << 20),
				"TasksMax":            uint64(50),
				"AllowedCPUs":         []byte{1},
				"TimeoutStopUSec":     uint64(5000000),
			}
			started, matched, _ := f.state()
			if len(started) != 1 || !reflect.DeepEqual(started[0], want) {
				t.Errorf("properties\n got %v\nwant %v", started, want)
			}
			if matched != f.bus() {
				t.Errorf("AddMatch called: %v; on a bus: %v", matched, f.bus())
			}
			// A second job on the same connection: no second AddMatch.
			if err := c.StopUnit("hako-c1.scope"); err != nil {
				t.Fatal(err)
			}
			calls := f.callList()
			wantCalls := []string{"StartTransientUnit hako-c1.scope", "StopUnit hako-c1.scope"}
			if f.bus() {
				wantCalls = append([]string{"Hello", "AddMatch type='signal',sender='org.freedesktop.systemd1',path='/org/freedesktop/systemd1',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'"}, wantCalls...)
			}
			if !slices.Equal(calls, wantCalls) {
				t.Errorf("calls\n got %q\nwant %q", calls, wantCalls)
			}
		})
	}
}

func TestStartScopeFailedJob(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.startResult = "failed"
	c := dial(t, f, false, map[string]string{"/": ""})
	_, err := c.StartScope("system.slice", "hako-c1.scope", 1234, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "start the scope hako-c1.scope in system.slice: job failed (see `journalctl -u hako-c1.scope`)") {
		t.Fatalf("error %v", err)
	}
	if calls := f.callList(); !slices.Equal(calls, []string{"StartTransientUnit hako-c1.scope", "ResetFailedUnit hako-c1.scope"}) {
		t.Errorf("calls %q", calls)
	}
}

func TestStartScopeLeftoverUnit(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.unitExists = 1
	c := dial(t, f, false, map[string]string{"/": ""})
	if _, err := c.StartScope("system.slice", "hako-c1.scope", 1234, nil, nil); err != nil {
		t.Fatal(err)
	}
	want := []string{"StartTransientUnit hako-c1.scope", "ResetFailedUnit hako-c1.scope", "StartTransientUnit hako-c1.scope"}
	if calls := f.callList(); !slices.Equal(calls, want) {
		t.Errorf("calls %q, want %q", calls, want)
	}
}

func TestStartScopeActiveUnit(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.unitExists = 1
	f.units["hako-c1.scope"] = "active"
	c := dial(t, f, false, map[string]string{"/": ""})
	_, err := c.StartScope("system.slice", "hako-c1.scope", 1234, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "the unit exists and is active") {
		t.Fatalf("error %v", err)
	}
}

func TestStartScopeRefusedProperty(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.startError = "org.freedesktop.DBus.Error.InvalidArgs"
	c := dial(t, f, false, map[string]string{"/": ""})
	_, err := c.StartScope("system.slice", "hako-c1.scope", 1234, nil, map[string]string{AnnotationPrefix + "Bogus": "true"})
	if err == nil || !strings.Contains(err.Error(), "Cannot set property Bogus") || !strings.Contains(err.Error(), "properties from annotations: org.systemd.property.Bogus") {
		t.Fatalf("error %v", err)
	}
}

func TestStartScopeBadInput(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	c := dial(t, f, false, map[string]string{"/": allControllers})
	for _, tt := range []struct {
		slice, unit string
		pid         int
		res         *specs.LinuxResources
		ann         map[string]string
		err         string
	}{
		{"system.slice", "hako-c1.scope", 0, nil, nil, "no process (pid 0)"},
		{"system.slice", "hako-c1.service", 1, nil, nil, "is not a scope unit name"},
		{"system", "hako-c1.scope", 1, nil, nil, "is not a slice unit name"},
		{"system.slice", "hako-c1.scope", 1, &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "x"}}, nil, "linux.resources.cpu.cpus"},
		{"system.slice", "hako-c1.scope", 1, nil, map[string]string{AnnotationPrefix + "PIDs": "[uint32 1]"}, "annotation org.systemd.property.PIDs="},
	} {
		if _, err := c.StartScope(tt.slice, tt.unit, tt.pid, tt.res, tt.ann); err == nil || !strings.Contains(err.Error(), tt.err) {
			t.Errorf("StartScope(%q, %q, %d) error %v, want %q", tt.slice, tt.unit, tt.pid, err, tt.err)
		}
	}
	if calls := f.callList(); len(calls) != 0 {
		t.Errorf("systemd was called: %q", calls)
	}
}

func TestStartScopeTimeout(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.noSignal = true
	c := dial(t, f, false, map[string]string{"/": ""})
	c.Timeout = 200 * time.Millisecond
	start := time.Now()
	_, err := c.StartScope("system.slice", "hako-c1.scope", 1234, nil, nil)
	if err == nil || !strings.Contains(err.Error(), "did not finish in 200ms") {
		t.Fatalf("error %v", err)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Errorf("took %v", d)
	}
}

func TestStartScopeMissingController(t *testing.T) {
	for _, rootless := range []bool{false, true} {
		t.Run("rootless="+strconv.FormatBool(rootless), func(t *testing.T) {
			f := newFakeSystemd(t, "systemd/private")
			managed := "/"
			if rootless {
				managed = "/user.slice/user-1001.slice/user@1001.service"
				f.managed = managed
			}
			c := dial(t, f, rootless, map[string]string{
				"/":     allControllers,
				managed: "cpu memory", // what is delegated to the manager
			})
			res := &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}, Pids: &specs.LinuxPids{Limit: i64(10)}}
			_, err := c.StartScope("user.slice", "hako-c1.scope", 1234, res, nil)
			want := "linux.resources.pids.limit: the pids controller is not available to the scope: systemd can only give it what " +
				filepath.Join(c.cgroupRoot, managed) + " has (its cgroup.controllers: cpu memory)"
			if rootless {
				want = filepath.Join(c.cgroupRoot, managed) + " has (its cgroup.controllers: cpu memory); delegate controllers to your user manager: `sudo systemctl edit user@.service` with \"[Service]\" and \"Delegate=cpu cpuset io memory pids\""
			}
			if rootless && managed == "/" {
				t.Fatal("bad test")
			}
			if err == nil || !strings.Contains(err.Error(), want) {
				t.Fatalf("error %v\nwant %q", err, want)
			}
			if !errors.Is(err, cgroupv2.ErrControllerUnavailable) {
				t.Errorf("error does not match cgroupv2.ErrControllerUnavailable")
			}
			if calls := f.callList(); len(calls) != 0 {
				t.Errorf("systemd was asked to start the scope: %q", calls)
			}
		})
	}
}

func TestStartScopeNoControllers(t *testing.T) {
	// The systemd tier's situation: cgroup.controllers empty everywhere.
	f := newFakeSystemd(t, "systemd/private")
	c := dial(t, f, false, map[string]string{"/": "", "/system.slice": ""})
	_, err := c.StartScope("system.slice", "hako-c1.scope", 1234, &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}}, nil)
	if err == nil || !strings.Contains(err.Error(), "the memory controller is not available") || !strings.Contains(err.Error(), "its cgroup.controllers is empty") {
		t.Fatalf("error %v", err)
	}
	// No limits: no check, the scope starts.
	if _, err := c.StartScope("system.slice", "hako-c1.scope", 1234, &specs.LinuxResources{}, nil); err != nil {
		t.Fatal(err)
	}
}

func TestStopUnitAndResetFailed(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.units["x.scope"] = "failed"
	c := dial(t, f, false, map[string]string{"/": ""})
	if err := c.StopUnit("gone.scope"); err != nil {
		t.Errorf("StopUnit of a unit that is not loaded: %v", err)
	}
	if err := c.ResetFailed("gone.scope"); err != nil {
		t.Errorf("ResetFailed of a unit that is not loaded: %v", err)
	}
	if err := c.ResetFailed("x.scope"); err != nil {
		t.Errorf("ResetFailed: %v", err)
	}
}

func TestSetResources(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.units["hako-c1.scope"] = "active"
	c := dial(t, f, false, map[string]string{"/": "memory", "/system.slice/hako-c1.scope": "memory"})
	if err := c.SetResources("hako-c1.scope", &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}}); err != nil {
		t.Fatal(err)
	}
	err := c.SetResources("hako-c1.scope", &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(5)}})
	if !errors.Is(err, cgroupv2.ErrControllerUnavailable) {
		t.Fatalf("error %v", err)
	}
	if calls := f.callList(); !slices.Equal(calls, []string{"SetUnitProperties hako-c1.scope"}) {
		t.Errorf("calls %q", calls)
	}
}

func TestConnectRootless(t *testing.T) {
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "")
	os.Unsetenv("DBUS_SESSION_BUS_ADDRESS")
	t.Setenv("XDG_RUNTIME_DIR", "")
	os.Unsetenv("XDG_RUNTIME_DIR")
	_, err := Connect(true)
	if err == nil || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR is not set") || !strings.Contains(err.Error(), "loginctl enable-linger $USER") || !strings.Contains(err.Error(), "dbus-user-session") {
		t.Fatalf("error %v", err)
	}
	empty := t.TempDir()
	t.Setenv("XDG_RUNTIME_DIR", empty)
	_, err = Connect(true)
	if err == nil || !strings.Contains(err.Error(), "neither "+empty+"/bus nor "+empty+"/systemd/private exists") {
		t.Fatalf("error %v", err)
	}

	// The user manager's private socket, when there is no user bus.
	f := newFakeSystemd(t, "systemd/private")
	xdg := filepath.Dir(filepath.Dir(f.socket))
	t.Setenv("XDG_RUNTIME_DIR", xdg)
	c, err := Connect(true)
	if err != nil {
		t.Fatal(err)
	}
	if c.Address() != f.address() || !c.direct {
		t.Errorf("connected to %s (direct %v)", c.Address(), c.direct)
	}
	c.Close()

	// The user bus comes first.
	b := newFakeSystemd(t, "bus")
	if err := os.Rename(b.socket, filepath.Join(xdg, "bus")); err != nil {
		t.Fatal(err)
	}
	b.socket = filepath.Join(xdg, "bus")
	if c, err = Connect(true); err != nil {
		t.Fatal(err)
	}
	if c.Address() != b.address() || c.direct {
		t.Errorf("connected to %s (direct %v)", c.Address(), c.direct)
	}
	c.Close()

	// DBUS_SESSION_BUS_ADDRESS comes before both.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", f.address())
	if c, err = Connect(true); err != nil {
		t.Fatal(err)
	}
	if c.Address() != f.address() {
		t.Errorf("connected to %s", c.Address())
	}
	c.Close()

	// A socket nobody listens on.
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+empty+"/nothing")
	t.Setenv("XDG_RUNTIME_DIR", empty)
	_, err = Connect(true)
	if err == nil || !strings.Contains(err.Error(), "cannot reach your systemd user manager") {
		t.Fatalf("error %v", err)
	}
}

func TestConnectRoot(t *testing.T) {
	dir := t.TempDir()
	oldPrivate, oldBus := systemPrivateSocket, systemBusSocket
	t.Cleanup(func() { systemPrivateSocket, systemBusSocket = oldPrivate, oldBus })
	systemPrivateSocket, systemBusSocket = dir+"/private", dir+"/bus"
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "")
	os.Unsetenv("DBUS_SYSTEM_BUS_ADDRESS")
	_, err := Connect(false)
	if err == nil || !strings.Contains(err.Error(), "no systemd to talk to: neither "+dir+"/bus nor "+dir+"/private exists") {
		t.Fatalf("error %v", err)
	}
	p := newFakeSystemd(t, "systemd/private")
	systemPrivateSocket = p.socket
	c, err := Connect(false)
	if err != nil {
		t.Fatal(err)
	}
	if c.Address() != p.address() || !c.direct {
		t.Errorf("connected to %s", c.Address())
	}
	c.Close()
	// The system bus comes first.
	b := newFakeSystemd(t, "bus")
	systemBusSocket = b.socket
	if c, err = Connect(false); err != nil {
		t.Fatal(err)
	}
	if c.Address() != b.address() || c.direct {
		t.Errorf("connected to %s", c.Address())
	}
	c.Close()
	// A bus that does not answer: the private socket.
	systemBusSocket = dir + "/dead"
	l, err := net.Listen("unix", systemBusSocket)
	if err != nil {
		t.Fatal(err)
	}
	l.(*net.UnixListener).SetUnlinkOnClose(false)
	l.Close() // the socket file stays, nobody listens
	if !isSocket(systemBusSocket) {
		t.Fatal("the dead socket is gone")
	}
	if c, err = Connect(false); err != nil {
		t.Fatal(err)
	}
	if c.Address() != p.address() {
		t.Errorf("connected to %s", c.Address())
	}
	c.Close()
}

func TestAuthUsesPeerCredentials(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	c, err := Dial(f.address(), true)
	if err != nil {
		t.Fatal(err)
	}
	c.Close()
	if _, _, uid := f.state(); uid != "peer" {
		t.Errorf("EXTERNAL claimed uid %q; want none (the socket credentials)", uid)
	}
}

func TestAuthRejected(t *testing.T) {
	f := newFakeSystemd(t, "bus")
	f.mu.Lock()
	f.reject = true
	f.mu.Unlock()
	_, err := Dial(f.address(), false)
	if err == nil || !strings.Contains(err.Error(), "authentication rejected") {
		t.Fatalf("error %v", err)
	}
}

func TestUnixSocketPath(t *testing.T) {
	for _, tt := range []struct {
		address, path string
		ok            bool
	}{
		{"unix:path=/run/user/1000/bus", "/run/user/1000/bus", true},
		{"unix:path=/run/a%20b/bus,guid=1234", "/run/a b/bus", true},
		{"unix:guid=1234,path=/x", "/x", true},
		{"unix:abstract=/tmp/dbus-XYZ,guid=1", "@/tmp/dbus-XYZ", true},
		{"tcp:host=localhost,port=1;unix:path=/y", "/y", true},
		{"tcp:host=localhost,port=1", "", false},
		{"unix:tmpdir=/tmp", "", false},
		{"", "", false},
	} {
		path, ok := unixSocketPath(tt.address)
		if path != tt.path || ok != tt.ok {
			t.Errorf("unixSocketPath(%q) = %q, %v; want %q, %v", tt.address, path, ok, tt.path, tt.ok)
		}
	}
}

func TestDialNoSocket(t *testing.T) {
	_, err := Dial("unix:path="+t.TempDir()+"/none", false)
	if err == nil || !strings.Contains(err.Error(), "no such file or directory") {
		t.Fatalf("error %v", err)
	}
	if _, err := Dial("tcp:host=127.0.0.1,port=1", false); err == nil {
		t.Fatal("Dial of a closed tcp port succeeded")
	}
}

func TestAttachProcesses(t *testing.T) {
	f := newFakeSystemd(t, "systemd/private")
	f.units["hako-c1.scope"] = "active"
	c := dial(t, f, true, map[string]string{"/": ""})
	if err := c.AttachProcesses("hako-c1.scope", "/sub", 10, 11); err != nil {
		t.Fatal(err)
	}
	if err := c.AttachProcesses("hako-c1.scope", ""); err != nil {
		t.Fatal(err)
	}
	if err := c.AttachProcesses("gone.scope", "", 10); err == nil || !strings.Contains(err.Error(), "move processes [10] into gone.scope") {
		t.Errorf("error %v", err)
	}
	if err := c.AttachProcesses("hako-c1.scope", "", -1); err == nil {
		t.Error("bad pid accepted")
	}
	if calls := f.callList(); !slices.Equal(calls, []string{"AttachProcessesToUnit hako-c1.scope /sub [10 11]", "AttachProcessesToUnit gone.scope"}) {
		t.Errorf("calls %q", calls)
	}
}
