package container

import (
	"os"
	"path/filepath"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

func TestBootstrapFor(t *testing.T) {
	tests := []struct {
		name     string
		ns       []specs.LinuxNamespace
		offsets  map[string]specs.LinuxTimeOffset
		unshare  uintptr
		joins    int
		fork     bool
		userns   bool
		timeLine []string
	}{
		{
			name:    "usual set",
			ns:      []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}, {Type: "ipc"}, {Type: "uts"}, {Type: "mount"}},
			unshare: unix.CLONE_NEWPID | unix.CLONE_NEWNET | unix.CLONE_NEWIPC | unix.CLONE_NEWUTS | unix.CLONE_NEWNS,
			fork:    true,
		},
		{
			// The caller's mount namespace is inherited (and no fork).
			name:    "no mount namespace",
			ns:      []specs.LinuxNamespace{{Type: "network"}, {Type: "uts"}},
			unshare: unix.CLONE_NEWNET | unix.CLONE_NEWUTS,
		},
		{
			name: "no namespace at all",
		},
		{
			name:    "no pid namespace: no fork",
			ns:      []specs.LinuxNamespace{{Type: "mount"}, {Type: "uts"}},
			unshare: unix.CLONE_NEWNS | unix.CLONE_NEWUTS,
		},
		{
			name:    "join network by path",
			ns:      []specs.LinuxNamespace{{Type: "mount"}, {Type: "network", Path: "/run/netns/x"}},
			unshare: unix.CLONE_NEWNS,
			joins:   1,
		},
		{
			name:    "joined pid namespace needs a fork",
			ns:      []specs.LinuxNamespace{{Type: "mount"}, {Type: "pid", Path: "/proc/1/ns/pid"}},
			unshare: unix.CLONE_NEWNS,
			joins:   1,
			fork:    true,
		},
		{
			name:     "time offsets",
			ns:       []specs.LinuxNamespace{{Type: "mount"}, {Type: "time"}},
			offsets:  map[string]specs.LinuxTimeOffset{"boottime": {Secs: 5}, "monotonic": {Secs: -3, Nanosecs: 7}},
			unshare:  unix.CLONE_NEWNS | unix.CLONE_NEWTIME,
			fork:     true,
			timeLine: []string{"monotonic -3 7", "boottime 5 0"},
		},
		{
			name:    "user namespace",
			ns:      []specs.LinuxNamespace{{Type: "mount"}, {Type: "user"}},
			unshare: unix.CLONE_NEWNS | unix.CLONE_NEWUSER,
			userns:  true,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := &specs.Spec{Linux: &specs.Linux{Namespaces: tt.ns, TimeOffsets: tt.offsets}}
			b, u, err := bootstrapFor(sp)
			if err != nil {
				t.Fatal(err)
			}
			if b.Unshare != tt.unshare {
				t.Errorf("unshare %#x, want %#x", b.Unshare, tt.unshare)
			}
			if len(b.Joins) != tt.joins {
				t.Errorf("joins %v, want %d", b.Joins, tt.joins)
			}
			if b.Fork != tt.fork {
				t.Errorf("fork %v, want %v", b.Fork, tt.fork)
			}
			if (u != nil) != tt.userns {
				t.Errorf("userns %v, want %v", u != nil, tt.userns)
			}
			if len(b.TimeOffsets) != len(tt.timeLine) {
				t.Fatalf("time offsets %q, want %q", b.TimeOffsets, tt.timeLine)
			}
			for i := range tt.timeLine {
				if b.TimeOffsets[i] != tt.timeLine[i] {
					t.Errorf("time offset %d: %q, want %q", i, b.TimeOffsets[i], tt.timeLine[i])
				}
			}
		})
	}
	if _, _, err := bootstrapFor(&specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "bogus"}}}}); err == nil {
		t.Error("unknown namespace type accepted")
	}
}

func TestProcStatSelf(t *testing.T) {
	state, start, err := procStat(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if state != 'R' && state != 'S' {
		t.Errorf("own state %q", state)
	}
	if !processAlive(os.Getpid(), start) {
		t.Error("self not alive with own start time")
	}
	if processAlive(os.Getpid(), start+1) {
		t.Error("self alive with a wrong start time: pid reuse would go unnoticed")
	}
}

func TestWritePidFileAtomic(t *testing.T) {
	p := filepath.Join(t.TempDir(), "pid")
	if err := writePidFile(p, 1234); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(p)
	if err != nil || string(b) != "1234" {
		t.Fatalf("pid file %q, %v", b, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(p))
	if len(ents) != 1 {
		t.Errorf("temp file left behind: %v", ents)
	}
}

func TestPeekCreatingAndStale(t *testing.T) {
	s := &Store{Root: t.TempDir()}
	dir := filepath.Join(s.Root, "c1")
	if err := os.Mkdir(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	fd, err := lockDir(dir, unix.LOCK_EX)
	if err != nil {
		t.Fatal(err)
	}
	c, err := s.Peek("c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Status != specs.StateCreating {
		t.Errorf("locked dir without state: %s, want creating", c.State.Status)
	}
	unix.Close(fd)
	c, err = s.Peek("c1")
	if err != nil {
		t.Fatal(err)
	}
	if c.State.Status != specs.StateStopped {
		t.Errorf("abandoned dir: %s, want stopped", c.State.Status)
	}
	if _, err := s.Peek("nope"); err == nil {
		t.Error("missing container found")
	}
}

func TestSharesMountNS(t *testing.T) {
	tests := []struct {
		name string
		sp   *specs.Spec
		want bool
	}{
		{"no linux section", &specs.Spec{}, true},
		{"no namespaces", &specs.Spec{Linux: &specs.Linux{}}, true},
		{"others only", &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "network"}}}}, true},
		{"new mount namespace", &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "pid"}, {Type: "mount"}}}}, false},
		{"joined mount namespace", &specs.Spec{Linux: &specs.Linux{Namespaces: []specs.LinuxNamespace{{Type: "mount", Path: "/proc/1/ns/mnt"}}}}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := sharesMountNS(tt.sp); got != tt.want {
				t.Errorf("sharesMountNS = %v, want %v", got, tt.want)
			}
		})
	}
}
