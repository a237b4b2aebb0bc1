package integration

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// loopScript keeps the container running until SIGTERM (pid 1 of a PID
// namespace only gets the signals it has a handler for).
const loopScript = `trap 'echo got TERM; exit 0' TERM; echo started; while :; do sleep 0.05; done`

// procAlive reports whether pid is a live (non-zombie) process.
func procAlive(pid int) bool {
	st, err := readProcStat(pid)
	return err == nil && st.state != "Z"
}

// waitGone waits until pid is no longer a live process.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	deadline := time.Now().Add(statusTimeout)
	for procAlive(pid) {
		if time.Now().After(deadline) {
			t.Fatalf("process %d still alive", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// expectFail checks that a runtime call failed.
func expectFail(t *testing.T, r *result, what string) {
	t.Helper()
	if r.err != nil && r.code == -1 {
		t.Errorf("%s: did not complete: %s", what, r)
		return
	}
	if r.code == 0 {
		t.Errorf("%s: succeeded, want an error: %s", what, r)
	}
}

// expectState checks a container's status and pid.
func (e *Env) expectState(id, status string, pid int) {
	e.t.Helper()
	st, r := e.state(id)
	if st == nil {
		e.t.Errorf("state %s: %s", id, r)
		return
	}
	if st.Status != status || (pid != 0 && st.Pid != pid) {
		e.t.Errorf("state %s: status %q pid %d, want %q pid %d", id, st.Status, st.Pid, status, pid)
	}
}

func TestLifecycleStatuses(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	before := time.Now().Add(-2 * time.Second)
	c := e.mustCreate(b)

	st := e.mustState(c.id)
	for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner", "annotations"} {
		if _, ok := st.raw[k]; !ok {
			t.Errorf("state JSON has no %q: %v", k, st.raw)
		}
	}
	if st.ID != c.id || st.Status != "created" || st.Pid <= 0 {
		t.Errorf("after create: id %q status %q pid %d", st.ID, st.Status, st.Pid)
	}
	if !procAlive(st.Pid) {
		t.Errorf("state pid %d is not a live process", st.Pid)
	}
	if st.Bundle != b.Dir {
		t.Errorf("bundle %q, want %q", st.Bundle, b.Dir)
	}
	if st.Rootfs != sharedRootfs {
		t.Errorf("rootfs %q, want %q", st.Rootfs, sharedRootfs)
	}
	if st.Created.Before(before) || st.Created.After(time.Now().Add(2*time.Second)) {
		t.Errorf("created %v is not around now", st.Created)
	}
	if st.Owner != "root" && st.Owner != "" { // runc prints "" for root
		t.Errorf("owner %q, want root", st.Owner)
	}
	if st.Annotations["org.hako.test"] != "integration" {
		t.Errorf("annotations %v", st.Annotations)
	}
	t.Run("ociVersion", func(t *testing.T) {
		hakoOnly(t, "prints its own spec version")
		if st.OCIVersion != specs.Version {
			t.Errorf("ociVersion %q, want %q", st.OCIVersion, specs.Version)
		}
	})
	pid := st.Pid

	c.mustStart()
	e.expectState(c.id, "running", pid)
	c.waitOutput("started")

	e.mustHako("kill", c.id, "KILL")
	e.waitStatus(c.id, "stopped")
	waitGone(t, pid)

	e.mustHako("delete", c.id)
	if st, _ := e.state(c.id); st != nil {
		t.Errorf("state after delete: %+v", st)
	}
	if _, err := os.Lstat(filepath.Join(e.Root, c.id)); err == nil {
		t.Errorf("state dir %s left after delete", filepath.Join(e.Root, c.id))
	}
}

func TestLifecycleWrongStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	c := e.mustCreate(b)
	pid := e.mustState(c.id).Pid

	t.Run("delete created without force", func(t *testing.T) {
		hakoOnly(t, "deletes a created container; the spec says error")
		expectFail(t, e.hako("delete", c.id), "delete of a created container")
		e.expectState(c.id, "created", pid)
	})

	c.mustStart()
	e.expectState(c.id, "running", pid)

	expectFail(t, e.hako("start", c.id), "start of a running container")
	e.expectState(c.id, "running", pid)

	expectFail(t, e.hako("delete", c.id), "delete of a running container without --force")
	e.expectState(c.id, "running", pid)

	e.mustHako("kill", c.id, "KILL")
	e.waitStatus(c.id, "stopped")

	expectFail(t, e.hako("start", c.id), "start of a stopped container")
	e.expectState(c.id, "stopped", 0)

	expectFail(t, e.hako("kill", c.id, "KILL"), "kill of a stopped container")
	e.expectState(c.id, "stopped", 0)

	e.mustHako("delete", c.id)
	expectFail(t, e.hako("delete", c.id), "delete of a deleted container")
	if r := e.hako("delete", "--force", c.id); r.code != 0 {
		t.Errorf("delete --force of a deleted container must succeed: %s", r)
	}
}

func TestLifecycleNonexistent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	id := e.newID()
	for _, args := range [][]string{{"state", id}, {"start", id}, {"kill", id, "KILL"}, {"delete", id}} {
		r := e.hako(args...)
		expectFail(t, r, strings.Join(args, " ")+" of a container that does not exist")
	}
	if r := e.hako("delete", "-f", id); r.code != 0 {
		t.Errorf("delete -f of a container that does not exist must succeed: %s", r)
	}
}

func TestLifecycleCreateDoesNotRunProcess(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.tempDir("out")
	b := e.newBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: out, Options: []string{"rbind", "rw"}})
	})
	b.sh(`touch /tmp/marker && echo touched`)
	start := time.Now()
	c := e.mustCreate(b)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("create took %v", d)
	}
	time.Sleep(300 * time.Millisecond)
	if _, err := os.Stat(filepath.Join(out, "marker")); err == nil {
		t.Fatalf("the user process ran at create: marker exists")
	}
	e.expectState(c.id, "created", 0)
	c.mustStart()
	e.waitStatus(c.id, "stopped")
	if _, err := os.Stat(filepath.Join(out, "marker")); err != nil {
		t.Errorf("marker absent after start: %v; output %q %q", err, c.output(), c.errOutput())
	}
}

func TestLifecycleCreateKeepsCallerStdio(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(`echo to-stdout; echo to-stderr >&2`)
	c := e.mustCreate(b)
	if s := strings.TrimSpace(c.create.stdout); s != "" {
		t.Errorf("create printed %q on stdout", s)
	}
	c.mustStart()
	e.waitStatus(c.id, "stopped")
	if got := c.output(); got != "to-stdout\n" {
		t.Errorf("create's stdout file has %q, want the container's %q", got, "to-stdout\n")
	}
	if got := c.errOutput(); !strings.Contains(got, "to-stderr") {
		t.Errorf("create's stderr file has %q, want the container's to-stderr", got)
	}
}

func TestLifecycleRunExitStatus(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 3", 3}, {"echo out; exit 42", 42}} {
		t.Run(tc.script, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle()
			b.sh(tc.script)
			r, id := e.runBundle(b)
			if r.err != nil || r.code != tc.want {
				t.Errorf("run: exit %d, want %d: %s", r.code, tc.want, r)
			}
			if _, err := os.Lstat(filepath.Join(e.Root, id)); err == nil {
				t.Errorf("run without --keep left its state dir")
			}
		})
	}
	t.Run("killed by SIGKILL", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(`echo ready; exec sleep 30`)
		b.save()
		id := e.newID()
		bg := e.startHako(opts{}, "run", "--bundle", b.Dir, id)
		e.waitStatus(id, "running")
		e.mustHako("kill", id, "KILL")
		r := bg.wait()
		if r.code != 137 {
			t.Errorf("run of a container killed by SIGKILL: exit %d, want 137: %s", r.code, r)
		}
	})
	t.Run("detach and pid-file", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(loopScript)
		pidFile := filepath.Join(e.dir, "pid")
		r, id := e.runBundle(b, "--detach", "--pid-file", pidFile)
		if !r.ok() {
			t.Fatalf("run -d: %s", r)
		}
		st := e.mustState(id)
		if st.Status != "running" {
			t.Errorf("after run -d: status %q", st.Status)
		}
		data, err := os.ReadFile(pidFile)
		if err != nil {
			t.Fatalf("pid file: %v", err)
		}
		if p, _ := strconv.Atoi(strings.TrimSpace(string(data))); p != st.Pid {
			t.Errorf("pid file has %q, state pid %d", data, st.Pid)
		}
		e.mustHako("kill", id)
		e.waitStatus(id, "stopped")
		e.mustHako("delete", id)
	})
	t.Run("keep", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh("exit 5")
		r, id := e.runBundle(b, "--keep")
		if r.code != 5 {
			t.Errorf("run --keep: exit %d, want 5: %s", r.code, r)
		}
		e.expectState(id, "stopped", 0)
		e.mustHako("delete", id)
	})
}

// subdirs lists the directories in dir (sorted).
func subdirs(dir string) []string {
	var dirs []string
	for _, name := range dirEntries(dir) {
		if fi, err := os.Stat(filepath.Join(dir, name)); err == nil && fi.IsDir() {
			dirs = append(dirs, name)
		}
	}
	return dirs
}

func TestLifecycleStateDir(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	c1 := e.mustCreate(b)
	c2 := e.mustCreate(b)
	want := []string{c1.id, c2.id}
	sort.Strings(want)
	if dirs := subdirs(e.Root); strings.Join(dirs, " ") != strings.Join(want, " ") {
		t.Errorf("directories under --root: %v, want one per container %v", dirs, want)
	}
	t.Run("mode 0700", func(t *testing.T) {
		hakoOnly(t, "makes state dirs 0711")
		for _, id := range want {
			fi, err := os.Stat(filepath.Join(e.Root, id))
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != 0o700 {
				t.Errorf("state dir %s has mode %v, want 0700", id, fi.Mode().Perm())
			}
		}
	})
	e.mustHako("delete", "--force", c1.id)
	if dirs := subdirs(e.Root); strings.Join(dirs, " ") != c2.id {
		t.Errorf("after deleting %s, --root holds directories %v, want only %s", c1.id, dirs, c2.id)
	}
}

func TestLifecycleList(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	if r := e.mustHako("list", "-q"); strings.TrimSpace(r.stdout) != "" {
		t.Errorf("list -q with no containers: %q", r.stdout)
	}
	if r := e.mustHako("list", "--format", "json"); strings.TrimSpace(r.stdout) != "null" && strings.TrimSpace(r.stdout) != "[]" {
		t.Errorf("list --format json with no containers: %q", r.stdout)
	}
	b := e.newBundle()
	b.sh(loopScript)
	c1 := e.mustCreate(b)
	c2 := e.mustCreate(b)
	c2.mustStart()
	want := map[string]string{c1.id: "created", c2.id: "running"}

	r := e.mustHako("list", "--quiet")
	ids := strings.Fields(r.stdout)
	sort.Strings(ids)
	if len(ids) != 2 || want[ids[0]] == "" || want[ids[1]] == "" {
		t.Errorf("list -q: %q", r.stdout)
	}

	r = e.mustHako("list")
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !fieldsEqual(lines[0], "ID PID STATUS BUNDLE CREATED OWNER") {
		t.Errorf("list (table): %q", r.stdout)
	} else {
		for _, l := range lines[1:] {
			f := strings.Fields(l)
			if len(f) < 6 || want[f[0]] != f[2] || f[3] != b.Dir || f[len(f)-1] != "root" {
				t.Errorf("list row %q", l)
			}
		}
	}

	r = e.mustHako("list", "--format", "json")
	var list []map[string]any
	if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
		t.Fatalf("list --format json: %v: %q", err, r.stdout)
	}
	if len(list) != 2 {
		t.Fatalf("list --format json: %d entries", len(list))
	}
	for _, c := range list {
		for _, k := range []string{"ociVersion", "id", "pid", "status", "bundle", "rootfs", "created", "owner"} {
			if _, ok := c[k]; !ok {
				t.Errorf("list entry has no %q: %v", k, c)
			}
		}
		id, _ := c["id"].(string)
		if st, _ := c["status"].(string); want[id] != st {
			t.Errorf("list entry %v: status %q, want %q", id, st, want[id])
		}
		if bundle, _ := c["bundle"].(string); bundle != b.Dir {
			t.Errorf("list entry %v: bundle %q", id, bundle)
		}
	}
}

func TestLifecycleDuplicateID(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	c := e.mustCreate(b)
	st := e.mustState(c.id)

	pidsBefore := processesMarked(e.mark)
	sort.Ints(pidsBefore)
	b2 := e.newBundle()
	c2 := e.createID(b2, c.id)
	expectFail(t, c2.create, "create with a duplicate ID")
	// Nothing new may be left running: the same processes as before.
	var pidsAfter []int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		pidsAfter = processesMarked(e.mark)
		sort.Ints(pidsAfter)
		if fmt.Sprint(pidsAfter) == fmt.Sprint(pidsBefore) || time.Now().After(deadline) {
			break
		}
	}
	if fmt.Sprint(pidsAfter) != fmt.Sprint(pidsBefore) {
		t.Errorf("the failed create changed the processes: %v -> %v", pidsBefore, pidsAfter)
	}
	if mps := mountsUnder(b2.Dir); len(mps) > 0 {
		t.Errorf("the failed create left mounts: %v", mps)
	}
	t.Run("error names the ID", func(t *testing.T) {
		hakoOnly(t, `says "container with given ID already exists"`)
		if !strings.Contains(c2.create.stderr, c.id) {
			t.Errorf("the error does not name the ID %s: %q", c.id, c2.create.stderr)
		}
	})
	st2 := e.mustState(c.id)
	if st2.Pid != st.Pid || st2.Status != "created" || st2.Bundle != b.Dir || !st2.Created.Equal(st.Created) {
		t.Errorf("first container changed: %+v, was %+v", st2, st)
	}
	c.mustStart()
	e.expectState(c.id, "running", st.Pid)
}

func TestLifecycleDeleteRemovesEverything(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.privateRootfs()
	data := e.tempDir("data")
	b.Spec.Mounts = append(b.Spec.Mounts,
		specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
		specs.Mount{Destination: "/root", Type: "bind", Source: data, Options: []string{"bind", "ro"}},
	)
	b.sh(loopScript)
	b.save()
	before := snapshot(t, b.Dir)
	hostMounts := len(mountsUnder("/"))

	c := e.mustCreate(b)
	pid := e.mustState(c.id).Pid
	c.mustStart()
	e.mustHako("kill", c.id, "KILL")
	e.waitStatus(c.id, "stopped")
	e.mustHako("delete", c.id)

	if d := diffSnapshots(before, snapshot(t, b.Dir)); len(d) > 0 {
		t.Errorf("the bundle changed between create and delete: %v", d)
	}
	if _, err := os.Lstat(filepath.Join(e.Root, c.id)); err == nil {
		t.Errorf("state dir left after delete")
	}
	if mps := mountsUnder(e.dir); len(mps) > 0 {
		t.Errorf("mounts left under the test dir: %v", mps)
	}
	if n := len(mountsUnder("/")); n != hostMounts {
		t.Logf("note: the host has %d mounts, had %d before (other tests run in parallel)", n, hostMounts)
	}
	waitGone(t, pid)
	if cgs := cgroupsOf([]string{c.id}); len(cgs) > 0 {
		t.Errorf("cgroups left after delete: %v", cgs)
	}
}

func TestLifecycleDeleteForce(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(`sleep 1000 & sleep 1000 & wait`)
	for _, start := range []bool{false, true} {
		c := e.mustCreate(b)
		pid := e.mustState(c.id).Pid
		if start {
			c.mustStart()
		}
		e.mustHako("delete", "--force", c.id)
		if st, _ := e.state(c.id); st != nil {
			t.Errorf("state after delete --force: %+v", st)
		}
		waitGone(t, pid)
		if pids := processesMarked(e.mark); len(pids) > 0 {
			// Give the kernel a moment to tear the PID namespace down.
			time.Sleep(200 * time.Millisecond)
			if pids := processesMarked(e.mark); len(pids) > 0 {
				t.Errorf("delete --force (started=%v) left processes: %s", start, describePids(pids))
			}
		}
	}
}

func TestLifecycleKill(t *testing.T) {
	t.Parallel()
	for _, sig := range []string{"", "TERM", "SIGTERM", "15", "KILL", "SIGKILL", "9"} {
		name := sig
		if name == "" {
			name = "default"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle()
			b.sh(loopScript)
			c := e.mustCreate(b)
			c.mustStart()
			c.waitOutput("started")
			args := []string{"kill", c.id}
			if sig != "" {
				args = append(args, sig)
			}
			e.mustHako(args...)
			e.waitStatus(c.id, "stopped")
			if strings.Contains(sig, "KILL") || sig == "9" {
				if strings.Contains(c.output(), "got TERM") {
					t.Errorf("SIGKILL ran the TERM trap")
				}
			} else if !strings.Contains(c.output(), "got TERM") {
				t.Errorf("kill %q did not deliver SIGTERM; output %q", sig, c.output())
			}
		})
	}
	t.Run("USR1", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(`trap 'echo got USR1' USR1; echo started; while :; do sleep 0.05; done`)
		c := e.mustCreate(b)
		c.mustStart()
		c.waitOutput("started")
		e.mustHako("kill", c.id, "SIGUSR1")
		c.waitOutput("got USR1")
		e.expectState(c.id, "running", 0)
	})
	t.Run("unknown signal", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(loopScript)
		c := e.mustCreate(b)
		c.mustStart()
		pid := e.mustState(c.id).Pid
		for _, sig := range []string{"SIGNOPE", "NOPE", "999"} {
			r := e.hako("kill", c.id, sig)
			expectFail(t, r, "kill with signal "+sig)
			if isRunc && sig == "999" {
				continue // runc: "unable to signal init: invalid argument"
			}
			if !strings.Contains(r.stderr, sig) {
				t.Errorf("kill %s: error does not name the signal: %q", sig, r.stderr)
			}
		}
		e.expectState(c.id, "running", pid)
	})
	t.Run("all", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			// Without a PID namespace, killing the init leaves its
			// children: only --all reaches them.
			setNamespaces(s, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace)
		})
		b.sh(`sleep 1000 & echo "child=$!"; wait`)
		c := e.mustCreate(b)
		c.mustStart()
		out := c.waitOutput("\n")
		child, err := strconv.Atoi(strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(out), "child=")))
		if err != nil {
			t.Fatalf("container printed %q", out)
		}
		e.mustHako("kill", "--all", c.id, "KILL")
		e.waitStatus(c.id, "stopped")
		waitGone(t, child)
	})
}

func TestLifecyclePidFile(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	pidFile := filepath.Join(e.dir, "ctr.pid")
	c := e.mustCreate(b, "--pid-file", pidFile)
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("pid file: %v", err)
	}
	if p, _ := strconv.Atoi(strings.TrimSpace(string(data))); p != e.mustState(c.id).Pid || p <= 0 {
		t.Errorf("pid file %q, state pid %d", data, e.mustState(c.id).Pid)
	}
}

func TestLifecyclePreserveFDs(t *testing.T) {
	t.Parallel()
	// ls runs while the shell waits, holding no temporary fds (unlike a
	// pipeline, whose pipe the shell holds while it forks).
	const script = `ls /proc/$$/fd; echo @@; { echo via-fd3 >&3; } 2>/dev/null; ls -l /proc/$$/fd >&2`
	for _, preserve := range []bool{false, true} {
		t.Run(fmt.Sprintf("preserve=%v", preserve), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle()
			b.sh(script)
			b.save()
			extra, err := os.Create(filepath.Join(e.dir, "fd3"))
			if err != nil {
				t.Fatal(err)
			}
			defer extra.Close()
			out, _ := os.Create(filepath.Join(e.dir, "out"))
			defer out.Close()
			errOut, _ := os.Create(filepath.Join(e.dir, "err"))
			defer errOut.Close()
			id := e.newID()
			args := []string{"create", "--bundle", b.Dir}
			if preserve {
				args = append(args, "--preserve-fds", "1")
			}
			r := e.hakoWith(opts{stdout: out, stderr: errOut, extraFiles: []*os.File{extra}}, append(args, id)...)
			if !r.ok() {
				t.Fatalf("create: %s", r)
			}
			e.mustHako("start", id)
			e.waitStatus(id, "stopped")
			got, _ := os.ReadFile(out.Name())
			fd3, _ := os.ReadFile(extra.Name())
			list, _, _ := strings.Cut(string(got), "@@")
			fds := strings.Join(strings.Fields(list), " ")
			details, _ := os.ReadFile(errOut.Name())
			if preserve {
				if fds != "0 1 2 3" || string(fd3) != "via-fd3\n" {
					t.Errorf("with --preserve-fds 1: fds %q (want 0 1 2 3), fd 3 got %q\n%s", fds, fd3, details)
				}
			} else if fds != "0 1 2" || len(fd3) != 0 {
				t.Errorf("without --preserve-fds: the container has fds %q (want 0 1 2: no fd may leak), fd 3 got %q\n%s", fds, fd3, details)
			}
		})
	}
}

func TestLifecycleConsoleSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.Spec.Process.Terminal = true
	b.sh(`tty; [ -t 0 ] && [ -t 1 ] && echo stdio-is-tty; echo hello-tty`)
	sock := filepath.Join(e.dir, "console.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	master := make(chan *os.File, 1)
	go func() {
		_ = l.SetDeadline(time.Now().Add(cmdTimeout))
		conn, err := l.AcceptUnix()
		if err != nil {
			master <- nil
			return
		}
		defer conn.Close()
		buf, oob := make([]byte, 1024), make([]byte, 1024)
		_, oobn, _, _, err := conn.ReadMsgUnix(buf, oob)
		if err != nil {
			master <- nil
			return
		}
		msgs, err := syscall.ParseSocketControlMessage(oob[:oobn])
		if err != nil || len(msgs) == 0 {
			master <- nil
			return
		}
		fds, err := syscall.ParseUnixRights(&msgs[0])
		if err != nil || len(fds) == 0 {
			master <- nil
			return
		}
		_ = syscall.SetNonblock(fds[0], true)
		master <- os.NewFile(uintptr(fds[0]), "pty-master")
	}()
	c := e.mustCreate(b, "--console-socket", sock)
	m := <-master
	if m == nil {
		t.Fatal("no pty master received on the console socket")
	}
	defer m.Close()
	c.mustStart()
	var out strings.Builder
	buf := make([]byte, 4096)
	deadline := time.Now().Add(statusTimeout)
	_ = m.SetReadDeadline(deadline)
	for !strings.Contains(out.String(), "hello-tty") {
		n, err := m.Read(buf)
		out.Write(buf[:n])
		if err != nil {
			break
		}
	}
	got := out.String()
	if !strings.Contains(got, "/dev/pts/0") || !strings.Contains(got, "stdio-is-tty") || !strings.Contains(got, "hello-tty") {
		t.Errorf("terminal output %q, want /dev/pts/0, stdio-is-tty and hello-tty", got)
	}
	e.waitStatus(c.id, "stopped")
}

func TestLifecycleNoNewKeyring(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(`echo ok`)
	c := e.mustCreate(b, "--no-new-keyring")
	c.mustStart()
	e.waitStatus(c.id, "stopped")
	if c.output() != "ok\n" {
		t.Errorf("output %q", c.output())
	}
}
