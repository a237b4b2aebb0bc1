package integration

import (
	"encoding/json"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The same process, exec'd once from the exec plan of the init's C stage
// (no terminal) and once by the init's Go half (a terminal takes that
// path), must come out the same: user, groups, every capability set,
// no_new_privs, rlimits, umask, cwd, oom_score_adj, HOME from the
// container's /etc/passwd (tester: /tmp) and the environment.
func TestExecPlanMatchesGoPath(t *testing.T) {
	t.Parallel()
	hakoOnly(t, "compares hako's two exec paths")
	e := newEnv(t)
	c, _ := e.startLoop(e.newBundle())
	defer e.hako("delete", "--force", c.id)

	umask := uint32(0o027)
	adj := 321
	probe := `id -u; id -g; umask; pwd; echo "home=$HOME"; echo "only=$ONLY"; ulimit -n; ulimit -Hn; ` +
		`cat /proc/self/oom_score_adj; grep -E '^(Groups|Cap(Inh|Prm|Eff|Bnd|Amb)|NoNewPrivs|Seccomp):' /proc/self/status`
	process := func(terminal bool) string {
		p := specs.Process{
			Terminal: terminal,
			Args:     []string{"sh", "-c", probe},
			Env:      []string{"PATH=/bin:/usr/bin", "ONLY=the-process", "HAKO_ITEST=" + e.mark},
			Cwd:      "/dev",
			User:     specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 7}, Umask: &umask},
			Capabilities: &specs.LinuxCapabilities{
				Bounding:    []string{"CAP_KILL", "CAP_CHOWN", "CAP_NET_BIND_SERVICE"},
				Permitted:   []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_KILL"},
				Inheritable: []string{"CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_NET_BIND_SERVICE"},
			},
			Rlimits:         []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Soft: 321, Hard: 654}},
			NoNewPrivileges: true,
			OOMScoreAdj:     &adj,
		}
		data, err := json.Marshal(p)
		if err != nil {
			t.Fatal(err)
		}
		return e.writeFile("process-"+randomHex(3)+".json", string(data), 0o644)
	}

	plain := e.hako("exec", "--process", process(false), c.id)
	if !plain.ok() {
		t.Fatalf("exec without a terminal (the exec plan): %s", plain)
	}
	tty := e.runUnderScript("", "exec", "--tty", "--process", process(true), c.id)
	if !tty.ok() {
		t.Fatalf("exec with a terminal (the Go path): %s", tty)
	}
	norm := func(s string) []string {
		var out []string
		// The terminal may echo control characters script sends
		// (NUL, end of file) as ^@ or ^D.
		s = strings.NewReplacer("\r", "", "^@", "", "^D", "", "\x00", "", "\x04", "").Replace(s)
		for _, l := range strings.Split(s, "\n") {
			if l = strings.TrimSpace(l); l != "" {
				out = append(out, strings.Join(strings.Fields(l), " "))
			}
		}
		return out
	}
	got, want := norm(plain.stdout), norm(tty.stdout)
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("the exec plan and the Go path differ:\nplan:\n%s\nGo path:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// And both are what was asked for (the comparison alone would pass
	// if both were wrong the same way).
	for _, w := range []string{"1000", "0027", "/dev", "home=/tmp", "only=the-process", "321", "654", "Groups: 5 7", "NoNewPrivs: 1"} {
		found := false
		for _, l := range got {
			if l == w || strings.HasPrefix(l, w) {
				found = true
			}
		}
		if !found {
			t.Errorf("exec plan output lacks %q:\n%s", w, strings.Join(got, "\n"))
		}
	}
}
