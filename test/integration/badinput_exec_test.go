package integration

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// expectUnharmed checks that a running container survived a failed
// operation: same init, still running, exec still works.
func (e *Env) expectUnharmed(id string, pid int) {
	e.t.Helper()
	e.expectState(id, "running", pid)
	if r := e.hako("exec", id, "echo", "still-ok"); !r.ok() || strings.TrimSpace(r.stdout) != "still-ok" {
		e.t.Errorf("exec after the failure: %s", r)
	}
}

// TestBadInputExec: a bad exec fails with an error naming what is wrong,
// and the running container is unharmed.
func TestBadInputExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	c, pid := e.startLoop(b)

	t.Run("process file not JSON", func(t *testing.T) {
		file := e.writeFile("bad-process.json", `{"args": ["true"], "cwd": "/",`, 0o644)
		r := e.hako("exec", "--process", file, c.id)
		expectFail(t, r, "exec --process with invalid JSON")
		if !isRunc && !strings.Contains(r.stderr, "bad-process.json") { // runc: "unexpected EOF"
			t.Errorf("the error does not name the file: %q", r.stderr)
		}
		e.expectUnharmed(c.id, pid)
	})
	t.Run("process file missing", func(t *testing.T) {
		r := e.hako("exec", "--process", e.dir+"/no-such-process.json", c.id)
		expectFail(t, r, "exec --process with a missing file")
		if !strings.Contains(r.stderr, "no-such-process.json") {
			t.Errorf("the error does not name the file: %q", r.stderr)
		}
		e.expectUnharmed(c.id, pid)
	})
	t.Run("unknown user", func(t *testing.T) {
		hakoOnly(t, "takes only numeric uid[:gid]")
		for _, u := range []string{"nosuchuser", "nosuchuser:extra", "tester:nosuchgroup"} {
			r := e.hako("exec", "--user", u, c.id, "true")
			expectFail(t, r, "exec --user "+u)
			name := "nosuchuser"
			if strings.Contains(u, "nosuchgroup") {
				name = "nosuchgroup"
			}
			if !strings.Contains(r.stderr, name) {
				t.Errorf("exec --user %s: the error does not name %s: %q", u, name, r.stderr)
			}
		}
		e.expectUnharmed(c.id, pid)
	})
	t.Run("bad numbers", func(t *testing.T) {
		bad := [][]string{{"--user", "1000:x:y"}, {"--additional-gids", "abc"}}
		if !isRunc { // runc only warns about an unknown capability
			bad = append(bad, []string{"--cap", "CAP_NOT_A_CAP"})
		}
		for _, args := range bad {
			r := e.hako(append(append([]string{"exec"}, args...), c.id, "true")...)
			expectFail(t, r, "exec "+strings.Join(args, " "))
		}
		e.expectUnharmed(c.id, pid)
	})
	t.Run("missing cwd and binary", func(t *testing.T) {
		expectFail(t, e.hako("exec", "--cwd", "/no/such/dir", c.id, "true"), "exec --cwd of a missing directory")
		expectFail(t, e.hako("exec", c.id, "no-such-command"), "exec of a missing command")
		expectFail(t, e.hako("exec", c.id), "exec without a command")
		e.expectUnharmed(c.id, pid)
	})
}

// seccompMkdirEPERM is a filter that allows everything but mkdir, which
// fails with EPERM.
func seccompMkdirEPERM() *specs.LinuxSeccomp {
	eperm := uint(1)
	return &specs.LinuxSeccomp{
		DefaultAction: specs.ActAllow,
		Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
		Syscalls: []specs.LinuxSyscall{
			{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &eperm},
		},
	}
}

// TestBadInputSeccomp: an unknown syscall name is skipped (profiles list
// syscalls this kernel may not have), an unknown action, operator or
// architecture is an error naming the field and the value.
func TestBadInputSeccomp(t *testing.T) {
	t.Parallel()
	t.Run("unknown syscall name", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			s.Linux.Seccomp = seccompMkdirEPERM()
			s.Linux.Seccomp.Syscalls[0].Names = append([]string{"no_such_syscall_hako"}, s.Linux.Seccomp.Syscalls[0].Names...)
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
		})
		b.sh(`mkdir /tmp/x 2>&1; echo "mkdir=$?"`)
		r, _ := e.runBundle(b)
		if !r.ok() {
			t.Fatalf("run with an unknown syscall name in the profile: %s", r)
		}
		if !strings.Contains(r.stdout, "Operation not permitted") || !strings.Contains(r.stdout, "mkdir=1") {
			t.Errorf("the rest of the rule was not applied: mkdir printed %q", r.stdout)
		}
	})
	for _, tc := range []struct {
		name  string
		mut   func(*specs.LinuxSeccomp)
		value string
		field string
	}{
		{"unknown action", func(s *specs.LinuxSeccomp) { s.Syscalls[0].Action = "SCMP_ACT_NOPE" }, "SCMP_ACT_NOPE", "linux.seccomp.syscalls[0].action"},
		{"unknown default action", func(s *specs.LinuxSeccomp) { s.DefaultAction = "SCMP_ACT_BOGUS" }, "SCMP_ACT_BOGUS", "linux.seccomp.defaultAction"},
		{"unknown architecture", func(s *specs.LinuxSeccomp) { s.Architectures = append(s.Architectures, "SCMP_ARCH_NOPE") }, "SCMP_ARCH_NOPE", "linux.seccomp.architectures[3]"},
		{"unknown operator", func(s *specs.LinuxSeccomp) {
			s.Syscalls[0].Args = []specs.LinuxSeccompArg{{Index: 0, Value: 1, Op: "SCMP_CMP_NOPE"}}
		}, "SCMP_CMP_NOPE", "linux.seccomp.syscalls[0].args[0].op"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			// A container that runs next to the failing one, in the same
			// --root.
			bystander, pid := e.startLoop(e.newBundle())
			before := processesMarked(e.mark)
			b := e.newBundle(func(s *specs.Spec) {
				s.Linux.Seccomp = seccompMkdirEPERM()
				tc.mut(s.Linux.Seccomp)
			})
			c := e.create(b)
			expectFail(t, c.create, "create with "+tc.name)
			if !strings.Contains(c.create.stderr, tc.value) {
				t.Errorf("the error does not name the value %s: %q", tc.value, c.create.stderr)
			}
			t.Run("names the field", func(t *testing.T) {
				hakoOnly(t, "names only the value")
				if !strings.Contains(c.create.stderr, tc.field) {
					t.Errorf("the error does not name the field %s: %q", tc.field, c.create.stderr)
				}
			})
			if _, err := os.Lstat(filepath.Join(e.Root, c.id)); err == nil {
				t.Errorf("the failed create left its state directory")
			}
			if mps := mountsUnder(b.Dir); len(mps) > 0 {
				t.Errorf("the failed create left mounts: %v", mps)
			}
			waitFor(t, "the failed create's processes to go", func() bool {
				return len(processesMarked(e.mark)) <= len(before)
			})
			e.expectUnharmed(bystander.id, pid)
		})
	}
}
