package integration

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRootlessInUserNamespace: hako run by a user as root of a user
// namespace of its own, with a config that asks for no user namespace:
// how rootless podman calls its runtime. The state goes to
// $XDG_RUNTIME_DIR/hako (not /run/hako, the host's), and the devices are
// bind-mounted from the host since mknod is refused in that namespace.
func TestRootlessInUserNamespace(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	e := newUserEnv(t, w.a, modeMulti)
	b := e.specBundle(func(s *specs.Spec) {
		s.Linux.Namespaces = slices.DeleteFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool {
			return n.Type == specs.UserNamespace
		})
		s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
		// Only the user is mapped (unshare --map-root-user): no gid 5.
		for i := range s.Mounts {
			s.Mounts[i].Options = slices.DeleteFunc(s.Mounts[i].Options, func(o string) bool { return strings.HasPrefix(o, "gid=") })
		}
	})
	b.sh(`cat /proc/self/uid_map; stat -c '%F %t,%T' /dev/null /dev/zero /dev/tty`)
	b.save()
	wrapper := filepath.Join(e.userDir("wrap"), "hako-in-userns")
	if err := os.WriteFile(wrapper, []byte("#!/bin/sh\nexec unshare --user --map-root-user "+rl.bin+" \"$@\"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	id := e.newID()
	r := e.hakoWith(opts{bin: wrapper}, "run", "--bundle", b.Dir, id)
	if !r.ok() {
		t.Fatalf("run as root of the user's own user namespace: %s", r)
	}
	if got := strings.Fields(r.stdout); len(got) < 3 || got[0] != "0" || got[1] != itoa(w.a.uid) || got[2] != "1" {
		t.Errorf("uid_map inside: %q, want 0 %d 1 (the caller's namespace)", r.stdout, w.a.uid)
	}
	for _, want := range []string{"character special file 1,3", "character special file 1,5", "character special file 5,0"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("devices: no %q in %q", want, r.stdout)
		}
	}
	e.expectNoneLeft(id)
}
