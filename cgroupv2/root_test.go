package cgroupv2

// Tests on the real unified hierarchy of the host. They need root and
// skip otherwise. Every test works in a cgroup of its own, named after the
// test process, directly under the mount point, and removes it in
// t.Cleanup whatever happened: the processes in it are only the ones the
// test started.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// testCgroup returns the mount point and a fresh top-level cgroup name
// (not created) that t.Cleanup removes with everything below it.
func testCgroup(t *testing.T) (mount, top string) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	mount, err := Mountpoint()
	if err != nil {
		t.Fatal(err)
	}
	top = fmt.Sprintf("/hako-test-%d-%08x", os.Getpid(), rand.Uint32())
	t.Cleanup(func() { removeTestCgroup(t, filepath.Join(mount, top)) })
	return mount, top
}

// removeTestCgroup kills what is left in the test's cgroup (only processes
// the test started can be there), thaws it, and removes it, deepest first.
func removeTestCgroup(t *testing.T, dir string) {
	var dirs []string
	_ = filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && d.IsDir() {
			dirs = append(dirs, p)
		}
		return nil
	})
	if len(dirs) == 0 {
		return
	}
	_ = writeFile(dir, "cgroup.freeze", "0")
	if err := writeFile(dir, "cgroup.kill", "1"); err == nil {
		_ = waitEvent(dir, "populated", 0, 5*time.Second)
	}
	for _, d := range slices.Backward(dirs) {
		if err := rmdirRetry(d); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	}
}

// start starts a process (killed and reaped in t.Cleanup).
func start(t *testing.T, cmd *exec.Cmd) *exec.Cmd {
	t.Helper()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		_ = cmd.Wait()
	})
	return cmd
}

// runIn runs argv directly in the cgroup with clone3(CLONE_INTO_CGROUP)
// and returns it once it has finished; its combined output.
func runIn(t *testing.T, m *Manager, argv ...string) (string, error) {
	t.Helper()
	fd, err := m.FD()
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fd)
	cmd := exec.Command(argv[0], argv[1:]...)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	err = cmd.Run()
	return out.String(), err
}

func cgroupOf(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(data), "\n") {
		if p, ok := strings.CutPrefix(line, "0::"); ok {
			return p
		}
	}
	t.Fatalf("pid %d has no 0:: line", pid)
	return ""
}

func TestRootLifecycle(t *testing.T) {
	mount, top := testCgroup(t)
	m := New(top + "/c1")
	dir, _ := m.Dir()

	res := &specs.LinuxResources{}
	hugetlb := fileExists(filepath.Join(mount, "cgroup.controllers"), "hugetlb") && fileHas("/sys/kernel/mm/hugepages", "hugepages-2048kB")
	if !hugetlb {
		t.Log("no hugetlb controller or no 2MB huge pages: not testing hugetlb limits")
	} else {
		res.HugepageLimits = []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}}
	}
	if err := m.Create(res); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(m.Created(), " "); got != top+" "+top+"/c1" {
		t.Fatalf("Created = %q", got)
	}
	if hugetlb {
		if got := readFake(t, dir, "hugetlb.2MB.max"); got != "4194304\n" {
			t.Errorf("hugetlb.2MB.max = %q", got)
		}
		if fileHas(dir, "hugetlb.2MB.rsvd.max") {
			if got := readFake(t, dir, "hugetlb.2MB.rsvd.max"); got != "4194304\n" {
				t.Errorf("hugetlb.2MB.rsvd.max = %q", got)
			}
		}
		// Update: a new limit, then back to unlimited through unified.
		if err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 8 << 20}}}); err != nil {
			t.Fatal(err)
		}
		if got := readFake(t, dir, "hugetlb.2MB.max"); got != "8388608\n" {
			t.Errorf("after Set, hugetlb.2MB.max = %q", got)
		}
		if err := m.Set(&specs.LinuxResources{Unified: map[string]string{"hugetlb.2MB.max": "max"}}); err != nil {
			t.Fatal(err)
		}
		if got := readFake(t, dir, "hugetlb.2MB.max"); got != "max\n" {
			t.Errorf("after unified, hugetlb.2MB.max = %q", got)
		}
	}

	// One process moved in, one started in it with CLONE_INTO_CGROUP.
	placed := start(t, exec.Command("sleep", "100"))
	if err := m.Place(placed.Process.Pid); err != nil {
		t.Fatal(err)
	}
	if got := cgroupOf(t, placed.Process.Pid); got != m.path {
		t.Errorf("placed process is in %q, want %q", got, m.path)
	}
	fd, err := m.FD()
	if err != nil {
		t.Fatal(err)
	}
	cloned := exec.Command("sleep", "100")
	cloned.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	start(t, cloned)
	unix.Close(fd)
	if got := cgroupOf(t, cloned.Process.Pid); got != m.path {
		t.Errorf("cloned process is in %q, want %q", got, m.path)
	}
	// A third one in a child cgroup: Pids sees descendants.
	if err := os.Mkdir(filepath.Join(dir, "sub"), 0o755); err != nil {
		t.Fatal(err)
	}
	nested := start(t, exec.Command("sleep", "100"))
	if err := New(m.path + "/sub").Place(nested.Process.Pid); err != nil {
		t.Fatal(err)
	}
	want := []int{placed.Process.Pid, cloned.Process.Pid, nested.Process.Pid}
	slices.Sort(want)
	pids, err := m.Pids()
	if err != nil || !slices.Equal(pids, want) {
		t.Fatalf("Pids = %v, %v; want %v", pids, err, want)
	}

	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pids.Current != 3 {
		t.Errorf("stats: pids.current = %d, want 3", st.Pids.Current)
	}
	if hugetlb && st.Hugetlb["2MB"].Limit != 1<<64-1 {
		t.Errorf("stats: hugetlb = %+v", st.Hugetlb)
	}

	// Freeze and thaw.
	if err := m.Freeze(); err != nil {
		t.Fatal(err)
	}
	if frozen, err := m.State(); err != nil || !frozen {
		t.Fatalf("State after Freeze = %v, %v", frozen, err)
	}
	// The kernel may flip the frozen flag back for a moment when a task
	// leaves the freezer trap (seen here right after exec), and a child
	// cgroup may say so a moment later: wait a little for both.
	for _, d := range []string{dir, filepath.Join(dir, "sub")} {
		if err := waitEvent(d, "frozen", 1, 2*time.Second); err != nil {
			t.Errorf("%s: %v", d, err)
		}
	}
	// A child cgroup frozen through its parent is frozen too.
	if frozen, err := New(m.path + "/sub").State(); err != nil || !frozen {
		t.Errorf("child State = %v, %v", frozen, err)
	}
	if state := procState(t, nested.Process.Pid); state != "S" {
		t.Errorf("frozen process state %q, want S", state)
	}
	if err := m.Thaw(); err != nil {
		t.Fatal(err)
	}
	if frozen, err := m.State(); err != nil || frozen {
		t.Fatalf("State after Thaw = %v, %v", frozen, err)
	}

	// Kill everything, before the processes are reaped.
	if err := m.Kill(); err != nil {
		t.Fatal(err)
	}
	if pids, err := m.Pids(); err != nil || len(pids) != 0 {
		t.Fatalf("Pids after Kill = %v, %v", pids, err)
	}
	for _, c := range []*exec.Cmd{placed, cloned, nested} {
		err := c.Wait()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.Sys().(syscall.WaitStatus).Signal() != syscall.SIGKILL {
			t.Errorf("pid %d: %v, want killed", c.Process.Pid, err)
		}
	}

	// Destroy from "another process": a Manager restored from Created.
	if err := Restore(m.path, m.Created()).Destroy(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(mount, top)); !os.IsNotExist(err) {
		t.Fatalf("Destroy left %s: %v", top, err)
	}
	if err := m.Destroy(); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}

// procState returns the state letter of /proc/PID/stat.
func procState(t *testing.T, pid int) string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		t.Fatal(err)
	}
	s := string(data)
	return strings.Fields(s[strings.LastIndexByte(s, ')')+1:])[0]
}

func fileExists(file, word string) bool {
	data, err := os.ReadFile(file)
	return err == nil && slices.Contains(strings.Fields(string(data)), word)
}

func fileHas(dir, name string) bool {
	_, err := os.Stat(filepath.Join(dir, name))
	return err == nil
}

// Destroy leaves an ancestor it did not create, and one it created that
// another container now uses.
func TestRootDestroyKeepsSharedAncestors(t *testing.T) {
	mount, top := testCgroup(t)
	if err := os.Mkdir(filepath.Join(mount, top), 0o755); err != nil {
		t.Fatal(err)
	}
	a := New(top + "/shared/a")
	b := New(top + "/shared/b")
	if err := a.Create(nil); err != nil {
		t.Fatal(err)
	}
	if err := b.Create(nil); err != nil {
		t.Fatal(err)
	}
	if got := strings.Join(a.Created(), " "); got != top+"/shared "+top+"/shared/a" {
		t.Fatalf("a.Created = %q", got)
	}
	if got := strings.Join(b.Created(), " "); got != top+"/shared/b" {
		t.Fatalf("b.Created = %q", got)
	}
	if err := a.Destroy(); err != nil {
		t.Fatal(err)
	}
	if !fileHas(mount, top+"/shared/b") {
		t.Fatal("destroying a removed b's cgroup")
	}
	if err := b.Destroy(); err != nil {
		t.Fatal(err)
	}
	if fileHas(mount, top+"/shared/b") || !fileHas(mount, top+"/shared") {
		t.Fatal("b's Destroy: want shared kept (a made it, b did not), b gone")
	}
	if !fileHas(mount, top) {
		t.Fatal("Destroy removed an ancestor nobody created")
	}
}

// On this host the unified hierarchy lacks most controllers: asking for
// their limits fails with an error naming the controller, and leaves
// nothing behind.
func TestRootMissingControllers(t *testing.T) {
	mount, top := testCgroup(t)
	avail, text, err := readFields(mount, "cgroup.controllers")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		controller, field string
		res               specs.LinuxResources
	}{
		{"memory", "linux.resources.memory.limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20)}}},
		{"pids", "linux.resources.pids.limit", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(50)}}},
		// shares alone are skipped without a cpu controller (TestSharesWithoutCPUControllerSkipped)
		{"cpu", "linux.resources.cpu.shares", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512), Quota: i64(50000)}}},
		{"cpu", "linux.resources.cpu.quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}}},
		{"io", "linux.resources.blockIO.weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}}},
		{"memory", `linux.resources.unified["memory.high"]`, specs.LinuxResources{Unified: map[string]string{"memory.high": "1000000"}}},
		// No host has this one, so the test always tests something.
		{"nosuch", `linux.resources.unified["nosuch.max"]`, specs.LinuxResources{Unified: map[string]string{"nosuch.max": "1"}}},
	}
	for _, tt := range tests {
		if avail[tt.controller] {
			t.Logf("this host has the %s controller", tt.controller)
			continue
		}
		m := New(top + "/c")
		err := m.Create(&tt.res)
		have := "cgroup.controllers: " + text
		if text == "" {
			have = "cgroup.controllers is empty"
		}
		want := fmt.Sprintf("%s: the %s controller is not available in %s (%s)", tt.field, tt.controller, mount, have)
		if err == nil || err.Error() != want {
			t.Errorf("got  %v\nwant %s", err, want)
		}
		if fileHas(mount, top) {
			t.Fatalf("a failed Create left %s", top)
		}
	}
}

func TestRootKillWithoutCgroupKill(t *testing.T) {
	_, top := testCgroup(t)
	m := New(top)
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	dir, _ := m.Dir()
	// A shell with two children, all in the cgroup.
	fd, err := m.FD()
	if err != nil {
		t.Fatal(err)
	}
	sh := exec.Command("sh", "-c", "sleep 100 & sleep 100 & wait")
	sh.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	start(t, sh)
	unix.Close(fd)
	deadline := time.Now().Add(5 * time.Second)
	for {
		pids, _ := m.Pids()
		if len(pids) == 3 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("pids = %v, want 3", pids)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if err := m.killEach(dir); err != nil {
		t.Fatal(err)
	}
	if pids, _ := m.Pids(); len(pids) != 0 {
		t.Fatalf("left: %v", pids)
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func TestRootWatchEvents(t *testing.T) {
	_, top := testCgroup(t)
	m := New(top)
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	fd, err := m.FD()
	if err != nil {
		t.Fatal(err)
	}
	sleeper := exec.Command("sleep", "100")
	sleeper.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: fd}
	start(t, sleeper)
	unix.Close(fd)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	events, err := m.WatchEvents(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_ = sleeper.Process.Kill()
	var got []Event
	for e := range events {
		got = append(got, e)
	}
	if len(got) != 1 || got[0].Type != "empty" {
		t.Fatalf("events = %+v, want one empty", got)
	}
	if ctx.Err() != nil {
		t.Fatal("the watch ended by the timeout")
	}
}

// deviceRun runs `sh -c script` in the cgroup and reports whether it
// succeeded, and its output.
func deviceRun(t *testing.T, m *Manager, script string) (bool, string) {
	t.Helper()
	out, err := runIn(t, m, "sh", "-c", script)
	return err == nil, out
}

func TestRootDevices(t *testing.T) {
	_, top := testCgroup(t)
	m := New(top)
	if err := m.Create(nil); err != nil {
		t.Fatal(err)
	}
	const write, read = "echo x > /dev/null", "exec 3< /dev/zero"
	if ok, out := deviceRun(t, m, write); !ok {
		t.Fatalf("without a filter: %s", out)
	}
	denyAll := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	steps := []struct {
		name        string
		rules       []specs.LinuxDeviceCgroup
		defaults    bool
		write, read bool
	}{
		{"deny all", []specs.LinuxDeviceCgroup{denyAll}, false, false, false},
		{"allow null", []specs.LinuxDeviceCgroup{denyAll, rule(true, "c", 1, 3, "rw")}, false, true, false},
		{"defaults", []specs.LinuxDeviceCgroup{denyAll}, true, true, true},
		{"hole: null not writable", []specs.LinuxDeviceCgroup{rule(true, "a", anyNum, anyNum, "rwm"), rule(false, "c", 1, 3, "w")}, false, false, true},
		{"defaults win", []specs.LinuxDeviceCgroup{denyAll, rule(false, "c", 1, 3, "rwm"), rule(false, "c", 1, 5, "rwm")}, true, true, true},
	}
	for _, s := range steps {
		if err := m.SetDevices(s.rules, s.defaults); err != nil {
			t.Fatalf("%s: %v", s.name, err)
		}
		if ok, out := deviceRun(t, m, write); ok != s.write {
			t.Errorf("%s: writing /dev/null: ok=%v, want %v (%s)", s.name, ok, s.write, strings.TrimSpace(out))
		} else if !ok && !strings.Contains(out, "Operation not permitted") {
			t.Errorf("%s: writing /dev/null failed otherwise: %s", s.name, out)
		}
		if ok, out := deviceRun(t, m, read); ok != s.read {
			t.Errorf("%s: reading /dev/zero: ok=%v, want %v (%s)", s.name, ok, s.read, strings.TrimSpace(out))
		}
		// Exactly one hako program, replaced each time.
		if n := countHakoPrograms(t, m); n != 1 {
			t.Errorf("%s: %d hako device programs attached", s.name, n)
		}
	}
	// A foreign program stays when hako replaces its own.
	foreign := attachForeign(t, m)
	if err := m.SetDevices([]specs.LinuxDeviceCgroup{denyAll}, true); err != nil {
		t.Fatal(err)
	}
	if n := countHakoPrograms(t, m); n != 1 {
		t.Errorf("%d hako device programs attached", n)
	}
	if !programAttached(t, m, foreign) {
		t.Error("the foreign program was detached")
	}
	if err := m.Destroy(); err != nil {
		t.Fatal(err)
	}
}

func cgroupFD(t *testing.T, m *Manager) int {
	t.Helper()
	dir, _ := m.Dir()
	fd, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	return fd
}

func countHakoPrograms(t *testing.T, m *Manager) int {
	t.Helper()
	progs, err := hakoDevicePrograms(cgroupFD(t, m))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		p.Close()
	}
	return len(progs)
}

// attachForeign attaches an allow-all device program under another name.
func attachForeign(t *testing.T, m *Manager) ebpf.ProgramID {
	t.Helper()
	rs, _ := deviceRules([]specs.LinuxDeviceCgroup{rule(true, "a", anyNum, anyNum, "rwm")}, false)
	prog, err := ebpf.NewProgram(&ebpf.ProgramSpec{
		Name: "not_hako", Type: ebpf.CGroupDevice, License: "Apache-2.0", Instructions: compileDevices(rs),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer prog.Close()
	if err := progAttach(cgroupFD(t, m), prog.FD(), unix.BPF_F_ALLOW_MULTI, -1); err != nil {
		t.Fatal(err)
	}
	info, err := prog.Info()
	if err != nil {
		t.Fatal(err)
	}
	id, _ := info.ID()
	return id
}

func programAttached(t *testing.T, m *Manager, id ebpf.ProgramID) bool {
	t.Helper()
	q, err := link.QueryPrograms(link.QueryOptions{Target: cgroupFD(t, m), Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		t.Fatal(err)
	}
	return slices.ContainsFunc(q.Programs, func(p link.AttachedProgram) bool { return p.ID == id })
}

// The verifier accepts what compileDevices makes, for edge cases and for
// random rule lists.
func TestRootDeviceProgramsLoad(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	lists := [][]specs.LinuxDeviceCgroup{
		nil,
		{rule(true, "a", anyNum, anyNum, "rwm")},
		{rule(false, "a", anyNum, anyNum, "rwm")},
		{rule(true, "b", 4294967295, 4294967295, "m")},
	}
	rnd := rand.New(rand.NewPCG(3, 4))
	for range 30 {
		var rules []specs.LinuxDeviceCgroup
		for range rnd.IntN(40) {
			rules = append(rules, rule(rnd.IntN(2) == 0, []string{"a", "b", "c"}[rnd.IntN(3)],
				[]int64{anyNum, 1, 8}[rnd.IntN(3)], []int64{anyNum, 3, 0}[rnd.IntN(3)], []string{"r", "rw", "m", "rwm"}[rnd.IntN(4)]))
		}
		lists = append(lists, rules)
	}
	for _, rules := range lists {
		for _, defaults := range []bool{false, true} {
			rs, err := deviceRules(rules, defaults)
			if err != nil {
				t.Fatal(err)
			}
			prog, err := loadDeviceProgram(compileDevices(rs))
			if err != nil {
				t.Fatalf("rules %s (defaults %v): %v", describeRules(rules), defaults, err)
			}
			prog.Close()
		}
	}
}
