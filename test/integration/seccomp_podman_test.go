package integration

import (
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// podmanProfile is the JSON of containers/common's seccomp.json, which
// podman resolves (includes/excludes against the container's capabilities
// and architecture) before writing config.json.
type podmanProfile struct {
	DefaultAction   specs.LinuxSeccompAction `json:"defaultAction"`
	DefaultErrnoRet *uint                    `json:"defaultErrnoRet"`
	ArchMap         []struct {
		Arch    specs.Arch   `json:"architecture"`
		SubArch []specs.Arch `json:"subArchitectures"`
	} `json:"archMap"`
	Syscalls []struct {
		specs.LinuxSyscall
		Includes struct {
			Caps   []string `json:"caps"`
			Arches []string `json:"arches"`
		} `json:"includes"`
		Excludes struct {
			Caps   []string `json:"caps"`
			Arches []string `json:"arches"`
		} `json:"excludes"`
	} `json:"syscalls"`
}

// podmanDefaultCaps are podman's default capabilities.
var podmanDefaultCaps = []string{
	"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID", "CAP_KILL",
	"CAP_NET_BIND_SERVICE", "CAP_SETFCAP", "CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
}

// resolvePodmanProfile does what podman does with the profile for an
// amd64 container with the given capabilities.
func resolvePodmanProfile(t *testing.T, caps []string) *specs.LinuxSeccomp {
	t.Helper()
	path := filepath.Join(repoRoot, "_output", "podman-seccomp.json")
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("podman's profile (test/deps.sh fetches it): %v", err)
	}
	var p podmanProfile
	if err := json.Unmarshal(data, &p); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	out := &specs.LinuxSeccomp{DefaultAction: p.DefaultAction, DefaultErrnoRet: p.DefaultErrnoRet}
	for _, a := range p.ArchMap {
		if a.Arch == specs.ArchX86_64 {
			out.Architectures = append([]specs.Arch{a.Arch}, a.SubArch...)
		}
	}
	hasCap := func(c string) bool { return slices.Contains(caps, c) }
	for _, s := range p.Syscalls {
		if len(s.Includes.Arches) > 0 && !slices.Contains(s.Includes.Arches, "amd64") {
			continue
		}
		if slices.Contains(s.Excludes.Arches, "amd64") {
			continue
		}
		if len(s.Includes.Caps) > 0 && !slices.ContainsFunc(s.Includes.Caps, hasCap) {
			continue
		}
		if slices.ContainsFunc(s.Excludes.Caps, hasCap) {
			continue
		}
		out.Syscalls = append(out.Syscalls, s.LinuxSyscall)
	}
	if len(out.Syscalls) < 5 || len(out.Architectures) == 0 {
		t.Fatalf("resolved profile looks wrong: %d entries, arches %v", len(out.Syscalls), out.Architectures)
	}
	return out
}

// TestSeccompPodmanDefaultProfile: podman's real default profile loads,
// ordinary work goes through, and what it blocks fails with its errno
// (EPERM), not by killing the process.
func TestSeccompPodmanDefaultProfile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	profile := resolvePodmanProfile(t, podmanDefaultCaps)
	b := e.newBundle(func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{
			Bounding: podmanDefaultCaps, Effective: podmanDefaultCaps, Permitted: podmanDefaultCaps,
		}
		s.Process.NoNewPrivileges = false
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
		s.Linux.Seccomp = profile
	}).sh(`echo start; mkdir /tmp/d && echo mkdir-ok; ls /tmp;
unshare -m true 2>&1; echo "unshare=$?";
grep Seccomp: /proc/self/status; echo end`)
	out := e.mustRun(b)
	for _, want := range []string{"start", "mkdir-ok", "Seccomp:\t2", "end"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
	// unshare is allowed by the profile only with CAP_SYS_ADMIN.
	if !strings.Contains(out, "Operation not permitted") || strings.Contains(out, "unshare=0") {
		t.Errorf("unshare was not refused with EPERM:\n%s", out)
	}

	// An exec'd process runs under the same filter.
	b2 := e.newBundle(func(s *specs.Spec) { s.Linux.Seccomp = profile })
	b2.sh("sleep 60")
	c := e.mustCreate(b2)
	c.mustStart()
	r := e.hako("exec", c.id, "sh", "-c", "unshare -m true 2>&1; grep Seccomp: /proc/self/status")
	if !strings.Contains(r.stdout, "Operation not permitted") || !strings.Contains(r.stdout, "Seccomp:\t2") {
		t.Errorf("exec'd process not under the profile: %s", r)
	}
}
