package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func TestCLIVersion(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.hakoWith(opts{noRoot: true}, "--version")
	if !r.ok() {
		t.Fatalf("%s", r)
	}
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	patterns := []string{
		`^\S+ version \S+`,
		`^commit: \S+`,
		`^spec: \d+\.\d+\.\d+`,
		`^go: go1\.\d+`,
		`^libseccomp: \d+\.\d+\.\d+$`,
	}
	if len(lines) != len(patterns) {
		t.Fatalf("--version printed %d lines, want %d: %q", len(lines), len(patterns), r.stdout)
	}
	for i, p := range patterns {
		if !regexp.MustCompile(p).MatchString(lines[i]) {
			t.Errorf("--version line %d %q does not match %s", i+1, lines[i], p)
		}
	}
	t.Run("hako values", func(t *testing.T) {
		hakoOnly(t, "prints its own")
		version, _ := os.ReadFile(filepath.Join(repoRoot, "VERSION"))
		if want := "hako version " + strings.TrimSpace(string(version)); lines[0] != want {
			t.Errorf("first line %q, want %q", lines[0], want)
		}
		if lines[2] != "spec: "+specs.Version {
			t.Errorf("spec line %q, want spec: %s", lines[2], specs.Version)
		}
		if !strings.HasPrefix(lines[3], "go: go1.26") {
			t.Errorf("go line %q, want go1.26...", lines[3])
		}
	})
}

func TestCLIFeatures(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	r := e.hakoWith(opts{noRoot: true}, "features")
	if !r.ok() {
		t.Fatalf("%s", r)
	}
	var f features.Features
	if err := json.Unmarshal([]byte(r.stdout), &f); err != nil {
		t.Fatalf("features is not JSON: %v\n%s", err, r.stdout)
	}
	if f.OCIVersionMin == "" || f.OCIVersionMax == "" {
		t.Errorf("ociVersionMin/Max missing: %q %q", f.OCIVersionMin, f.OCIVersionMax)
	}
	for _, h := range []string{"prestart", "createRuntime", "createContainer", "startContainer", "poststart", "poststop"} {
		if !slices.Contains(f.Hooks, h) {
			t.Errorf("features hooks %v lacks %s", f.Hooks, h)
		}
	}
	for _, o := range []string{"bind", "rbind", "ro", "rw", "nosuid", "nodev", "noexec", "rprivate", "rshared", "rslave"} {
		if !slices.Contains(f.MountOptions, o) {
			t.Errorf("features mountOptions lacks %s", o)
		}
	}
	if f.Linux == nil {
		t.Fatalf("features has no linux section")
	}
	for _, ns := range []string{"cgroup", "ipc", "mount", "network", "pid", "user", "uts"} {
		if !slices.Contains(f.Linux.Namespaces, ns) {
			t.Errorf("features namespaces %v lacks %s", f.Linux.Namespaces, ns)
		}
	}
	if !slices.Contains(f.Linux.Capabilities, "CAP_SYS_ADMIN") || !slices.Contains(f.Linux.Capabilities, "CAP_CHOWN") {
		t.Errorf("features capabilities: %v", f.Linux.Capabilities)
	}
	t.Run("hako values", func(t *testing.T) {
		hakoOnly(t, "runc 1.1.5 speaks spec 1.0.2-dev and has no time namespace")
		if f.OCIVersionMax != specs.Version {
			t.Errorf("ociVersionMax %q, want %q", f.OCIVersionMax, specs.Version)
		}
		if !slices.Contains(f.Linux.Namespaces, "time") {
			t.Errorf("features namespaces %v lacks time", f.Linux.Namespaces)
		}
		if len(f.Linux.Capabilities) < 41 {
			t.Errorf("features lists %d capabilities, want every one the kernel knows", len(f.Linux.Capabilities))
		}
		// No cgroup driver yet: features must not claim one.
		if f.Linux.Cgroup == nil || f.Linux.Cgroup.V2 == nil || *f.Linux.Cgroup.V2 {
			t.Errorf("features linux.cgroup.v2 is not false: %+v", f.Linux.Cgroup)
		}
		if f.Linux.Seccomp == nil || f.Linux.Seccomp.Enabled == nil || !*f.Linux.Seccomp.Enabled {
			t.Errorf("features linux.seccomp.enabled is not true: %+v", f.Linux.Seccomp)
		}
		if sc := f.Linux.Seccomp; sc == nil || !slices.Contains(sc.Actions, "SCMP_ACT_NOTIFY") || !slices.Contains(sc.Operators, "SCMP_CMP_MASKED_EQ") || !slices.Contains(sc.Archs, "SCMP_ARCH_X86_64") {
			t.Errorf("features linux.seccomp lacks actions, operators or archs: %+v", f.Linux.Seccomp)
		}
	})
}

func TestCLISpec(t *testing.T) {
	t.Parallel()
	for _, rootless := range []bool{false, true} {
		name := "default"
		if rootless {
			name = "rootless"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			dir := e.tempDir("spec")
			args := []string{"spec", "--bundle", dir}
			if rootless {
				args = append(args, "--rootless")
			}
			r := e.hakoWith(opts{noRoot: true}, args...)
			if !r.ok() {
				t.Fatalf("%s", r)
			}
			data, err := os.ReadFile(filepath.Join(dir, "config.json"))
			if err != nil {
				t.Fatal(err)
			}
			var s specs.Spec
			if err := json.Unmarshal(data, &s); err != nil {
				t.Fatalf("config.json is not a spec: %v", err)
			}
			if s.Version == "" || s.Process == nil || len(s.Process.Args) == 0 || s.Root == nil || s.Root.Path != "rootfs" || s.Linux == nil {
				t.Errorf("spec lacks the basics: %s", data)
			}
			hasUserNS := slices.ContainsFunc(s.Linux.Namespaces, func(n specs.LinuxNamespace) bool { return n.Type == specs.UserNamespace })
			if rootless && (!hasUserNS || len(s.Linux.UIDMappings) == 0 || len(s.Linux.GIDMappings) == 0) {
				t.Errorf("spec --rootless: no user namespace with mappings")
			}
			if !rootless && hasUserNS {
				t.Errorf("spec: user namespace without --rootless")
			}
			// An existing config.json is not overwritten.
			r = e.hakoWith(opts{noRoot: true}, args...)
			expectFail(t, r, "spec over an existing config.json")
			if again, _ := os.ReadFile(filepath.Join(dir, "config.json")); string(again) != string(data) {
				t.Errorf("spec overwrote config.json")
			}
		})
	}
}

func TestCLIUsage(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.hakoWith(opts{noRoot: true}, "--help"); !r.ok() || !strings.Contains(strings.ToLower(r.stdout+r.stderr), "usage") {
		t.Errorf("--help: %s", r)
	}
	expectFail(t, e.hako("no-such-command"), "an unknown command")
	expectFail(t, e.hako("list", "--no-such-flag"), "an unknown flag")
	expectFail(t, e.hako("start"), "start without an ID")
	expectFail(t, e.hako("state"), "state without an ID")
	expectFail(t, e.hako("delete"), "delete without an ID")
	expectFail(t, e.hako("kill"), "kill without an ID")
}

func TestCLIGlobalFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	logFile := filepath.Join(e.dir, "log")
	for _, globals := range [][]string{
		{"--debug"},
		{"--log", logFile},
		{"--log", logFile, "--log-format", "text"},
		{"--log", logFile, "--log-format", "json"},
		{"--systemd-cgroup"},
		{"--rootless", "auto"},
		{"--rootless", "true"},
		{"--rootless", "false"},
	} {
		if r := e.hakoWith(opts{globals: globals}, "list", "-q"); !r.ok() {
			t.Errorf("global flags %v: %s", globals, r)
		}
	}
	expectFail(t, e.hakoWith(opts{globals: []string{"--log-format", "yaml"}}, "list"), "--log-format yaml")
	t.Run("--rootless bogus", func(t *testing.T) {
		hakoOnly(t, "accepts any --rootless value")
		expectFail(t, e.hakoWith(opts{globals: []string{"--rootless", "bogus"}}, "list"), "--rootless bogus")
	})

	// A container made with one --root is invisible under another.
	b := e.newBundle()
	b.sh(loopScript)
	c := e.mustCreate(b)
	other := filepath.Join(e.dir, "other-root")
	r := e.hakoWith(opts{noRoot: true}, "--root", other, "state", c.id)
	expectFail(t, r, "state under another --root")
	if r := e.mustHako("list", "-q"); strings.TrimSpace(r.stdout) != c.id {
		t.Errorf("list -q: %q, want %s", r.stdout, c.id)
	}
}

// TestCLIShortFlags uses the one-letter forms runc accepts: create -b,
// run -d -b, list -q, delete -f.
func TestCLIShortFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	b.save()
	id1, id2 := e.newID(), e.newID()
	e.mustHako("create", "-b", b.Dir, id1)
	e.mustHako("run", "-d", "-b", b.Dir, id2)
	ids := strings.Fields(e.mustHako("list", "-q").stdout)
	slices.Sort(ids)
	want := []string{id1, id2}
	slices.Sort(want)
	if !slices.Equal(ids, want) {
		t.Errorf("list -q: %v, want %v", ids, want)
	}
	e.expectState(id2, "running", 0)
	e.mustHako("delete", "-f", id1)
	e.mustHako("delete", "-f", id2)
	if out := strings.TrimSpace(e.mustHako("list", "-q").stdout); out != "" {
		t.Errorf("list -q after delete -f: %q", out)
	}
}
