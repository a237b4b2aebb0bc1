package cgroupv2

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestPath(t *testing.T) {
	self := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(self, []byte("12:pids:/x\n1:name=systemd:/y\n0::/user.slice/session-1.scope\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := selfCgroupFile
	selfCgroupFile = self
	t.Cleanup(func() { selfCgroupFile = old })

	tests := []struct {
		cgroupsPath, id string
		want            string
		wantErr         string
	}{
		{"", "abc", "/hako/abc", ""},
		{"", "", "", "cannot name a cgroup"},
		{"", "..", "", "cannot name a cgroup"},
		{"", "a/b", "", "cannot name a cgroup"},
		{"/machine/ctr", "x", "/machine/ctr", ""},
		{"//machine//ctr/", "x", "/machine/ctr", ""},
		{"/a/../../../b", "x", "/b", ""},
		{"/a/./b/..", "x", "/a", ""},
		{"/", "x", "", "is the root cgroup"},
		{"/..", "x", "", "is the root cgroup"},
		{"sub/ctr", "x", "/user.slice/session-1.scope/sub/ctr", ""},
		{"./sub", "x", "/user.slice/session-1.scope/sub", ""},
		{"a/../b", "x", "/user.slice/session-1.scope/b", ""},
		{"../escape", "x", "", "must name a cgroup below the caller's own"},
		{"a/../../escape", "x", "", "must name a cgroup below the caller's own"},
		{".", "x", "", "must name a cgroup below the caller's own"},
		{"with:colon", "x", "/user.slice/session-1.scope/with:colon", ""},
		{"system.slice:docker:abc", "x", "", "use --systemd-cgroup"},
		{":hako:abc", "x", "", "use --systemd-cgroup"},
		{"/ab\x00c", "x", "", "NUL"},
	}
	for _, tt := range tests {
		got, err := Path(tt.cgroupsPath, tt.id)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Path(%q, %q) = %q, %v; want error with %q", tt.cgroupsPath, tt.id, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Path(%q, %q) = %q, %v; want %q", tt.cgroupsPath, tt.id, got, err, tt.want)
		}
	}
}

func TestPathWithoutUnifiedLine(t *testing.T) {
	self := filepath.Join(t.TempDir(), "cgroup")
	if err := os.WriteFile(self, []byte("4:memory:/x\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	old := selfCgroupFile
	selfCgroupFile = self
	t.Cleanup(func() { selfCgroupFile = old })
	if _, err := Path("rel", "x"); err == nil || !strings.Contains(err.Error(), "no cgroup v2 (0::) line") {
		t.Fatalf("err = %v", err)
	}
}

func TestMountpointIsCgroup2(t *testing.T) {
	p, err := Mountpoint()
	if err != nil {
		t.Skipf("no cgroup v2 here: %v", err)
	}
	if _, err := os.Stat(filepath.Join(p, "cgroup.controllers")); err != nil {
		t.Fatalf("%s has no cgroup.controllers: %v", p, err)
	}
}

func TestLevels(t *testing.T) {
	got := strings.Join(levels("/a/b/c"), " ")
	if got != "/a /a/b /a/b/c" {
		t.Fatalf("levels = %q", got)
	}
	if got := strings.Join(levels("/a"), " "); got != "/a" {
		t.Fatalf("levels = %q", got)
	}
}

func TestRestore(t *testing.T) {
	m := Restore("/hako/x/c1", []string{"/hako/x/c1", "/hako", "/other", "/hako/x", "/", "/hako/xy"})
	got := strings.Join(m.Created(), " ")
	if got != "/hako /hako/x /hako/x/c1" {
		t.Fatalf("created = %q", got)
	}
}

func TestParseKeyed(t *testing.T) {
	kv := parseKeyed([]byte("populated 1\nfrozen 0\nbad\nmax max\n"))
	if kv["populated"] != 1 || kv["frozen"] != 0 || kv["max"] != 1<<64-1 || len(kv) != 3 {
		t.Fatalf("parseKeyed = %v", kv)
	}
}

func TestWaitEventTimeout(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cgroup.events"), []byte("populated 1\nfrozen 0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := waitEvent(dir, "frozen", 0, 0); err != nil {
		t.Fatalf("already there: %v", err)
	}
	err := waitEvent(dir, "frozen", 1, 50e6)
	if err == nil || !strings.Contains(err.Error(), "timed out") {
		t.Fatalf("err = %v", err)
	}
	if err := waitEvent(dir, "nosuch", 1, 0); err == nil {
		t.Fatal("a missing key was accepted")
	}
}

func TestNewCleansPath(t *testing.T) {
	if m := New("hako//x/"); m.path != "/hako/x" {
		t.Fatalf("path = %q", m.path)
	}
	m := &Manager{root: t.TempDir(), path: "/"}
	if err := m.Create(nil); err == nil {
		t.Fatal("Create of the root cgroup accepted")
	}
	if err := m.Destroy(); err == nil {
		t.Fatal("Destroy of the root cgroup accepted")
	}
}

func TestKillMissingCgroup(t *testing.T) {
	m := &Manager{root: t.TempDir(), path: "/gone"}
	if err := m.Kill(); err != nil {
		t.Fatalf("Kill of a missing cgroup: %v", err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatalf("Destroy of a missing cgroup: %v", err)
	}
	if _, err := m.Pids(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Pids of a missing cgroup: %v", err)
	}
	if _, err := m.Stats(); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Stats of a missing cgroup: %v", err)
	}
}
