package spec

import (
	"encoding/json"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestExampleValidates(t *testing.T) {
	bundle := newBundle(t)
	s := Example()
	if err := Validate(s, bundle); err != nil {
		t.Fatalf("Example does not validate: %v", err)
	}
	if s.Version != specs.Version || s.Process.Terminal || s.Process.Args[0] != "sh" ||
		s.Root.Path != "rootfs" || !s.Root.Readonly || s.Hostname != "hako" || !s.Process.NoNewPrivileges {
		t.Errorf("unexpected example: %+v", s)
	}
	var dests []string
	for _, m := range s.Mounts {
		dests = append(dests, m.Destination)
	}
	want := []string{"/proc", "/dev", "/dev/pts", "/dev/shm", "/dev/mqueue", "/sys", "/sys/fs/cgroup"}
	if !slices.Equal(dests, want) {
		t.Errorf("mounts %v, want %v", dests, want)
	}
	var nss []string
	for _, ns := range s.Linux.Namespaces {
		nss = append(nss, string(ns.Type))
	}
	if !slices.Equal(nss, []string{"pid", "network", "ipc", "uts", "mount", "cgroup"}) {
		t.Errorf("namespaces %v", nss)
	}
	if len(s.Linux.MaskedPaths) != 11 || len(s.Linux.ReadonlyPaths) != 5 {
		t.Errorf("masked %d, readonly %d paths", len(s.Linux.MaskedPaths), len(s.Linux.ReadonlyPaths))
	}
}

func TestExampleRoundTrip(t *testing.T) {
	// What `hako spec` writes must load back to the same value.
	bundle := newBundle(t)
	data, err := json.MarshalIndent(Example(), "", "\t")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, ConfigName), data, 0o644); err != nil {
		t.Fatal(err)
	}
	s, err := Load(bundle)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(s, Example()) {
		t.Error("Example does not survive a JSON round trip")
	}
	if err := Validate(s, bundle); err != nil {
		t.Error(err)
	}
}

func TestExampleIsFresh(t *testing.T) {
	a := Example()
	a.Process.Capabilities.Bounding[0] = "CAP_SYS_ADMIN"
	a.Mounts[0].Destination = "/x"
	if b := Example(); b.Process.Capabilities.Bounding[0] != "CAP_AUDIT_WRITE" || b.Mounts[0].Destination != "/proc" {
		t.Error("Example shares storage between calls")
	}
	if &a.Process.Capabilities.Bounding[0] == &a.Process.Capabilities.Effective[0] {
		t.Error("capability sets share storage")
	}
}

func mountAt(t *testing.T, s *specs.Spec, dest string) specs.Mount {
	t.Helper()
	for _, m := range s.Mounts {
		if m.Destination == dest {
			return m
		}
	}
	t.Fatalf("no mount at %s", dest)
	return specs.Mount{}
}

func TestRootless(t *testing.T) {
	sub := func(h, n uint32) specs.LinuxIDMapping { return specs.LinuxIDMapping{HostID: h, Size: n} }
	m := func(c, h, n uint32) specs.LinuxIDMapping {
		return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
	}
	tests := []struct {
		name       string
		mapping    RootlessMapping
		uids, gids []specs.LinuxIDMapping
		gid5       bool
		skipValid  bool // the input host ranges themselves are invalid
	}{
		{
			name:    "no subordinate ranges",
			mapping: RootlessMapping{UID: 1000, GID: 1001},
			uids:    []specs.LinuxIDMapping{m(0, 1000, 1)},
			gids:    []specs.LinuxIDMapping{m(0, 1001, 1)},
		},
		{
			name: "one range each",
			mapping: RootlessMapping{UID: 1000, GID: 1000,
				SubUIDs: []specs.LinuxIDMapping{sub(100000, 65536)},
				SubGIDs: []specs.LinuxIDMapping{sub(200000, 65536)}},
			uids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)},
			gids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 200000, 65536)},
			gid5: true,
		},
		{
			name: "several ranges are consecutive, container IDs in input ignored",
			mapping: RootlessMapping{UID: 1000, GID: 1000,
				SubUIDs: []specs.LinuxIDMapping{m(77, 100000, 10), sub(300000, 0), sub(500000, 20)},
				SubGIDs: []specs.LinuxIDMapping{sub(100000, 3)}},
			uids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 10), m(11, 500000, 20)},
			gids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 3)},
			gid5: false, // GIDs 0..3 only
		},
		{
			name: "gid range just reaching 5",
			mapping: RootlessMapping{UID: 1000, GID: 1000,
				SubGIDs: []specs.LinuxIDMapping{sub(100000, 5)}},
			uids: []specs.LinuxIDMapping{m(0, 1000, 1)},
			gids: []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 5)},
			gid5: true,
		},
		{
			name: "ranges cut at the end of the ID space",
			mapping: RootlessMapping{UID: 1000, GID: 1000,
				SubUIDs: []specs.LinuxIDMapping{sub(1, ^uint32(0)), sub(5, 5)}},
			uids:      []specs.LinuxIDMapping{m(0, 1000, 1), m(1, 1, ^uint32(0)-1)},
			gids:      []specs.LinuxIDMapping{m(0, 1000, 1)},
			skipValid: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: ptr(int64(10))}}
			Rootless(s, tc.mapping)

			if !reflect.DeepEqual(s.Linux.UIDMappings, tc.uids) {
				t.Errorf("uidMappings = %v, want %v", s.Linux.UIDMappings, tc.uids)
			}
			if !reflect.DeepEqual(s.Linux.GIDMappings, tc.gids) {
				t.Errorf("gidMappings = %v, want %v", s.Linux.GIDMappings, tc.gids)
			}
			if i := namespaceIndex(s.Linux, specs.UserNamespace); i < 0 || s.Linux.Namespaces[i].Path != "" {
				t.Error("no new user namespace")
			}
			if namespaceIndex(s.Linux, specs.NetworkNamespace) < 0 {
				t.Error("network namespace was dropped")
			}
			if namespaceIndex(s.Linux, specs.CgroupNamespace) < 0 {
				t.Error("cgroup namespace was dropped")
			}
			if s.Linux.Resources != nil {
				t.Error("resources kept")
			}
			sys := mountAt(t, s, "/sys")
			if sys.Type != "bind" || sys.Source != "/sys" ||
				!slices.Equal(sys.Options, []string{"rbind", "nosuid", "noexec", "nodev", "ro"}) {
				t.Errorf("/sys mount = %+v", sys)
			}
			if cg := mountAt(t, s, "/sys/fs/cgroup"); cg.Type != "cgroup" {
				t.Errorf("cgroup mount = %+v", cg)
			}
			pts := mountAt(t, s, "/dev/pts")
			if got := slices.Contains(pts.Options, "gid=5"); got != tc.gid5 {
				t.Errorf("devpts options %v: gid=5 present = %v, want %v", pts.Options, got, tc.gid5)
			}
			if err := Validate(s, newBundle(t)); err != nil && !tc.skipValid {
				t.Errorf("rootless spec does not validate: %v", err)
			}
		})
	}
}

func TestRootlessDoesNotAliasExample(t *testing.T) {
	s := Example()
	opts := s.Mounts[2].Options
	Rootless(s, RootlessMapping{UID: 1000, GID: 1000})
	if !slices.Contains(opts, "gid=5") {
		t.Error("Rootless modified the devpts options slice in place")
	}
}

func TestRootlessIdempotentUserNS(t *testing.T) {
	s := Example()
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace, Path: "/proc/1/ns/user"})
	Rootless(s, RootlessMapping{UID: 1000, GID: 1000})
	Rootless(s, RootlessMapping{UID: 1000, GID: 1000})
	n := 0
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == specs.UserNamespace {
			n++
			if ns.Path != "" {
				t.Errorf("user namespace path kept: %q", ns.Path)
			}
		}
	}
	if n != 1 {
		t.Errorf("%d user namespaces", n)
	}
}

func TestRootlessNilLinux(t *testing.T) {
	s := &specs.Spec{}
	Rootless(s, RootlessMapping{UID: 1, GID: 2})
	if s.Linux == nil || len(s.Linux.UIDMappings) != 1 || namespaceIndex(s.Linux, specs.UserNamespace) < 0 {
		t.Errorf("Rootless on an empty spec: %+v", s.Linux)
	}
}
