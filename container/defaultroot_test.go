package container

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestDefaultRoot(t *testing.T) {
	me := os.Geteuid()
	mine := t.TempDir() // owned by the test's euid
	yes := func() bool { return true }
	no := func() bool { return false }
	if me == 0 {
		for _, c := range []struct {
			name      string
			inUserNS  func() bool
			xdg, user string
			want      string
		}{
			{"root on the host", no, mine, "hakopod", "/run/hako"},
			{"root in a user namespace, no XDG_RUNTIME_DIR", yes, "", "hakopod", "/run/hako"},
			{"root in a user namespace, USER=root", yes, mine, "root", "/run/hako"},
			{"root in a user namespace (rootless podman)", yes, mine, "hakopod", filepath.Join(mine, "hako")},
		} {
			got, err := defaultRoot(0, c.inUserNS, c.xdg, c.user)
			if err != nil || got != c.want {
				t.Errorf("%s: got %q, %v; want %q", c.name, got, err, c.want)
			}
		}
		// Root in a user namespace whose XDG_RUNTIME_DIR belongs to
		// another (mapped) user: refused, as for a normal user.
		if _, err := defaultRoot(0, yes, "/proc/self/fdinfo/nonexistent", "hakopod"); err == nil {
			t.Errorf("a missing XDG_RUNTIME_DIR is accepted")
		}
		return
	}
	got, err := defaultRoot(me, no, mine, "someone")
	if err != nil || got != filepath.Join(mine, "hako") {
		t.Errorf("normal user: got %q, %v", got, err)
	}
	if _, err := defaultRoot(me, no, "", "someone"); err == nil || !strings.Contains(err.Error(), "XDG_RUNTIME_DIR") {
		t.Errorf("normal user without XDG_RUNTIME_DIR: %v", err)
	}
}
