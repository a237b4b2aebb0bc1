package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestIDMappedMounts: a host directory owned by uid/gid 1234 seen through
// idmapped mounts of a container with a user namespace 0->100000.
func TestIDMappedMounts(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	src := e.tempDir("idmap-src")
	f := filepath.Join(src, "owned")
	if err := os.WriteFile(f, []byte("x"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chown(f, 1234, 1234); err != nil {
		t.Fatal(err)
	}
	userNS := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = userNS, userNS
		s.Mounts = append(s.Mounts,
			specs.Mount{Destination: "/tmp/plain", Type: "bind", Source: src, Options: []string{"bind"}},
			specs.Mount{Destination: "/tmp/idmap", Type: "bind", Source: src, Options: []string{"bind", "idmap"}},
			specs.Mount{Destination: "/tmp/shifted", Type: "bind", Source: src, Options: []string{"rbind"},
				UIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 101000, Size: 65536}},
				GIDMappings: []specs.LinuxIDMapping{{ContainerID: 0, HostID: 101000, Size: 65536}}},
		)
	})
	// A private copy, so the mount points do not land in the shared
	// rootfs; it is host root's: the container's root can make them only
	// under the world-writable /tmp.
	b.privateRootfs()
	b.sh(`for d in plain idmap shifted; do echo "$d $(stat -c '%u:%g' /tmp/$d/owned)"; done`)
	out := e.mustRun(b)
	want := map[string]string{
		"plain":   "65534:65534", // host 1234 is not mapped into the container
		"idmap":   "1234:1234",   // the container's mapping applied to the mount
		"shifted": "2234:2234",   // the mount's own mapping: disk 1234 -> 102234 -> 2234 inside
	}
	for name, ids := range want {
		if !strings.Contains(out, name+" "+ids+"\n") {
			t.Errorf("%s: want owner %s; output:\n%s", name, ids, out)
		}
	}
}

// TestIDMappedMountErrors: a filesystem that cannot be idmapped, or idmap
// without any user namespace, is a clear error and leaves nothing behind.
func TestIDMappedMountErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	userNS := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	tests := []struct {
		name string
		mut  func(*specs.Spec)
		want string
	}{
		{"procfs cannot be idmapped", func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
			s.Linux.UIDMappings, s.Linux.GIDMappings = userNS, userNS
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp/p", Type: "bind", Source: "/proc/sys", Options: []string{"bind", "idmap"}})
		}, "cannot be idmapped"},
		{"idmap without a user namespace", func(s *specs.Spec) {
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp/p", Type: "bind", Source: "/tmp", Options: []string{"bind", "idmap"}})
		}, "needs a user namespace"},
	}
	for _, tt := range tests {
		b := e.newBundle(tt.mut)
		id := e.newID()
		r := e.hako("create", "--bundle", b.Dir, id)
		if r.ok() || !strings.Contains(r.stderr, tt.want) || !strings.Contains(r.stderr, "/tmp/p") {
			t.Errorf("%s: want an error naming the mount and %q: %s", tt.name, tt.want, r)
		}
		if _, err := os.Stat(filepath.Join(e.Root, id)); err == nil {
			t.Errorf("%s: state directory left behind", tt.name)
		}
	}
}

// TestRootlessIDMapError: a normal user cannot idmap a host filesystem
// (that needs CAP_SYS_ADMIN over it): a clear error, nothing left.
func TestRootlessIDMapError(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	e := newUserEnv(t, w.a, modeMulti)
	b := e.specBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp/m", Type: "bind", Source: "/tmp", Options: []string{"bind", "idmap"}})
		s.Process.Args = []string{"sh", "-c", "echo RAN"}
	})
	id := e.newID()
	r := e.hako("run", "--bundle", b.Dir, id)
	if r.ok() || !strings.Contains(r.stderr, "/tmp/m") || !strings.Contains(r.stderr, "cannot idmap") || strings.Contains(r.stdout, "RAN") {
		t.Errorf("rootless idmapped mount of a host directory: %s", r)
	}
	e.expectNoneLeft(id)
}
