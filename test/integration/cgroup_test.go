package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// unifiedMount is where this host's cgroup v2 hierarchy is.
func unifiedMount(t *testing.T) string {
	t.Helper()
	for _, p := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(p, "cgroup.controllers")); err == nil {
			return p
		}
	}
	t.Fatal("no cgroup v2 hierarchy on this host")
	return ""
}

func readTrim(t *testing.T, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return strings.TrimSpace(string(b))
}

// TestCgroupLifecycle: the init is born in the container's cgroup (the
// default /hako/<id>), which is the root of its cgroup namespace, exec'd
// processes join it, ps and kill --all use it, and delete removes it.
func TestCgroupLifecycle(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mnt := unifiedMount(t)
	b := e.newBundle().sh("echo cg=$(cat /proc/self/cgroup | grep '^0::'); sleep 60")
	c := e.mustCreate(b)
	st := e.mustState(c.id)
	dir := filepath.Join(mnt, "hako", c.id)
	if procs := readTrim(t, filepath.Join(dir, "cgroup.procs")); procs != strconv.Itoa(st.Pid) {
		t.Fatalf("cgroup.procs of %s: %q, want the init %d (placed at birth)", dir, procs, st.Pid)
	}
	c.mustStart()
	if out := c.waitOutput("cg="); !strings.Contains(out, "cg=0::/\n") {
		t.Errorf("inside, /proc/self/cgroup: %q, want 0::/ (a cgroup namespace rooted at the container's cgroup)", out)
	}
	r := e.mustHako("exec", "-d", "--pid-file", filepath.Join(e.dir, "exec.pid"), c.id, "sleep", "60")
	_ = r
	execPid := readTrim(t, filepath.Join(e.dir, "exec.pid"))
	procs := readTrim(t, filepath.Join(dir, "cgroup.procs"))
	if !strings.Contains("\n"+procs+"\n", "\n"+execPid+"\n") {
		t.Errorf("exec'd process %s not in the container's cgroup (procs %q)", execPid, procs)
	}
	ps := e.mustHako("ps", "--format", "json", c.id)
	var pids []int
	if err := json.Unmarshal([]byte(ps.stdout), &pids); err != nil || len(pids) != 2 {
		t.Errorf("ps --format json: %q (%v), want the init and the exec'd process", ps.stdout, err)
	}
	e.mustHako("kill", "--all", c.id, "KILL")
	e.waitStatus(c.id, "stopped")
	e.mustHako("delete", c.id)
	if _, err := os.Stat(dir); err == nil {
		t.Errorf("cgroup %s left after delete", dir)
	}
}

// TestCgroupsPath: an absolute cgroupsPath is used as given; the levels
// create made are removed by delete.
func TestCgroupsPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mnt := unifiedMount(t)
	parent := fmt.Sprintf("hakotest-%d", os.Getpid())
	id := e.newID()
	b := e.newBundle(func(s *specs.Spec) { s.Linux.CgroupsPath = "/" + parent + "/" + id })
	b.sh("sleep 60")
	c := e.createID(b, id)
	if !c.create.ok() {
		t.Fatalf("create: %s", c.create)
	}
	if _, err := os.Stat(filepath.Join(mnt, parent, id, "cgroup.procs")); err != nil {
		t.Fatalf("cgroup at cgroupsPath: %v", err)
	}
	e.mustHako("delete", "--force", id)
	if _, err := os.Stat(filepath.Join(mnt, parent)); err == nil {
		t.Errorf("%s, made by create, left after delete", parent)
		os.Remove(filepath.Join(mnt, parent))
	}
}

// TestPauseResume: pause freezes the cgroup (status paused, the kernel
// reports it frozen), exec refuses a paused container unless told
// otherwise, resume thaws it.
func TestPauseResume(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mnt := unifiedMount(t)
	b := e.newBundle().sh("sleep 60")
	c := e.mustCreate(b)
	if r := e.hako("pause", c.id); r.ok() {
		t.Error("pause of a created container succeeded")
	}
	c.mustStart()
	e.mustHako("pause", c.id)
	if st := e.mustState(c.id); st.Status != "paused" {
		t.Errorf("status after pause: %s", st.Status)
	}
	events := readTrim(t, filepath.Join(mnt, "hako", c.id, "cgroup.events"))
	if !strings.Contains(events, "frozen 1") {
		t.Errorf("cgroup.events after pause: %q", events)
	}
	if r := e.hako("exec", c.id, "true"); r.ok() || !strings.Contains(r.stderr, "paused") {
		t.Errorf("exec into a paused container: %s", r)
	}
	if r := e.hako("pause", c.id); r.ok() {
		t.Error("pause of a paused container succeeded")
	}
	e.mustHako("resume", c.id)
	if st := e.mustState(c.id); st.Status != "running" {
		t.Errorf("status after resume: %s", st.Status)
	}
	if r := e.hako("resume", c.id); r.ok() {
		t.Error("resume of a running container succeeded")
	}
	e.mustHako("exec", c.id, "true")
	// delete --force of a paused container works too.
	e.mustHako("pause", c.id)
	e.mustHako("delete", "--force", c.id)
}

// TestUpdateAndStats: update writes limits live (hugetlb, the controller
// this host has); a limit whose controller is missing is refused naming
// it; events --stats prints runc's JSON.
func TestUpdateAndStats(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mnt := unifiedMount(t)
	b := e.newBundle().sh("sleep 60")
	c := e.mustCreate(b)
	c.mustStart()
	upd := e.writeFile("res.json", `{"hugepageLimits":[{"pageSize":"2MB","limit":4194304}]}`, 0o644)
	e.mustHako("update", "--resources", upd, c.id)
	if v := readTrim(t, filepath.Join(mnt, "hako", c.id, "hugetlb.2MB.max")); v != "4194304" {
		t.Errorf("hugetlb.2MB.max after update: %s", v)
	}
	if controllers := readTrim(t, filepath.Join(mnt, "cgroup.controllers")); !strings.Contains(controllers, "pids") {
		r := e.hako("update", "--pids-limit", "10", c.id)
		if r.ok() || !strings.Contains(r.stderr, "pids controller") {
			t.Errorf("update --pids-limit without the pids controller: %s", r)
		}
	}
	r := e.mustHako("events", "--stats", c.id)
	var ev struct {
		Type string `json:"type"`
		ID   string `json:"id"`
		Data struct {
			Pids struct {
				Current uint64 `json:"current"`
			} `json:"pids"`
			CPU struct {
				Usage struct {
					Total uint64 `json:"total"`
				} `json:"usage"`
			} `json:"cpu"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(r.stdout), &ev); err != nil {
		t.Fatalf("events --stats: %v\n%s", err, r.stdout)
	}
	if ev.Type != "stats" || ev.ID != c.id || ev.Data.Pids.Current < 1 {
		t.Errorf("events --stats: %s", r.stdout)
	}
}

// TestCgroupMissingController: a limit of a controller this host does not
// offer is refused at create, naming the controller, with nothing left.
func TestCgroupMissingController(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mnt := unifiedMount(t)
	if strings.Contains(readTrim(t, filepath.Join(mnt, "cgroup.controllers")), "memory") {
		t.Skip("this host has the memory controller: the VM tier tests limits")
	}
	limit := int64(64 << 20)
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: &limit}}
	})
	id := e.newID()
	r := e.hako("create", "--bundle", b.Dir, id)
	if r.ok() || !strings.Contains(r.stderr, "memory controller") {
		t.Errorf("create with a memory limit: %s", r)
	}
	if _, err := os.Stat(filepath.Join(e.Root, id)); err == nil {
		t.Error("state directory left")
	}
	if _, err := os.Stat(filepath.Join(mnt, "hako", id)); err == nil {
		t.Error("cgroup left")
	}
}

// TestCgroupSharesWithoutCPUController: on a host whose cgroup v2
// hierarchy has no cpu controller (hybrid), cpu.shares alone (what ctr and
// containerd's CRI always send) runs, with a warning in the --log file
// only: under containerd hako's stderr is the container's.
func TestCgroupSharesWithoutCPUController(t *testing.T) {
	t.Parallel()
	hakoOnly(t, "runc applies shares in cgroup v1 on a hybrid host")
	e := newEnv(t)
	mnt := unifiedMount(t)
	if strings.Contains(" "+readTrim(t, filepath.Join(mnt, "cgroup.controllers"))+" ", " cpu ") {
		t.Skip("this host has the cpu controller in cgroup v2")
	}
	shares := uint64(1024)
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares}}
	})
	b.sh("echo ran").save()
	logFile := filepath.Join(e.dir, "log.json")
	r := e.hako("--log", logFile, "--log-format", "json", "run", "--bundle", b.Dir, e.newID())
	if !r.ok() || strings.TrimSpace(r.stdout) != "ran" || r.stderr != "" {
		t.Fatalf("run with cpu.shares: %s", r)
	}
	if log := readTrim(t, logFile); !strings.Contains(log, `"level":"warning","msg":"linux.resources.cpu.shares (1024) ignored`) {
		t.Errorf("log file: %q, want the warning", log)
	}
	// A cpu limit still needs the controller.
	quota := int64(50000)
	b2 := e.newBundle(func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: &shares, Quota: &quota}}
	})
	b2.sh("echo ran").save()
	if r := e.hako("run", "--bundle", b2.Dir, e.newID()); r.ok() || !strings.Contains(r.stderr, "cpu controller is not available") {
		t.Errorf("run with cpu.shares and a quota: %s", r)
	}
}

// TestDeviceCgroup: the device filter lets the default devices through
// and denies any other device node, even one made inside the container,
// unless linux.resources.devices allows it.
func TestDeviceCgroup(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	caps := []string{"CAP_MKNOD", "CAP_DAC_OVERRIDE", "CAP_SYSLOG"}
	// /dev/kmsg (1:11) is not among the default devices; one record is
	// read with a buffer large enough for it.
	script := `mknod /scratch/kmsg c 1 11 || echo mknod-failed
dd if=/scratch/kmsg of=/dev/null bs=65536 count=1 2>/dev/null && echo kmsg=open || echo kmsg=denied
echo x > /dev/null && echo null=ok`
	mut := func(s *specs.Spec) {
		s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"dev"}})
	}
	b := e.newBundle(mut).sh(script)
	b.privateRootfs()
	out := e.mustRun(b)
	if !strings.Contains(out, "kmsg=denied") || !strings.Contains(out, "null=ok") || strings.Contains(out, "mknod-failed") {
		t.Errorf("default device filter: %q, want the new node denied and /dev/null usable", out)
	}
	major, minor := int64(1), int64(11)
	b2 := e.newBundle(mut, func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{
			{Allow: false, Access: "rwm"},
			{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rm"},
		}}
	}).sh(script)
	b2.privateRootfs()
	if out := e.mustRun(b2); !strings.Contains(out, "kmsg=open") {
		t.Errorf("device allowed by linux.resources.devices: %q, want it readable", out)
	}
}

// TestRootlessLimitsWithoutDelegation: a normal user without a delegated
// cgroup gets a clear error for a config with limits (naming the limit and
// the missing delegation) and nothing left; without limits the container
// runs, with no cgroup.
func TestRootlessLimitsWithoutDelegation(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	e := newUserEnv(t, w.a, modeMulti)
	limit := int64(100)
	b := e.specBundle(func(s *specs.Spec) {
		s.Linux.Resources = &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: &limit}}
		s.Process.Args = []string{"sh", "-c", "echo RAN"}
	})
	id := e.newID()
	r := e.hako("run", "--bundle", b.Dir, id)
	if r.ok() || !strings.Contains(r.stderr, "linux.resources.pids") || !strings.Contains(r.stderr, "delegated") || strings.Contains(r.stdout, "RAN") {
		t.Errorf("rootless run with a pids limit and no delegation: %s", r)
	}
	e.expectNoneLeft(id)

	b.Spec.Linux.Resources = nil
	b.save()
	if r := e.hako("run", "--bundle", b.Dir, e.newID()); !r.ok() || !strings.Contains(r.stdout, "RAN") {
		t.Errorf("rootless run without limits: %s", r)
	}
}

// TestCgroupDelegatedToUserNamespace: a container with its own user
// namespace gets its cgroup delegated (directory and the files of
// /sys/kernel/cgroup/delegate owned by its root's host id), so its root
// can make child cgroups and move processes into them.
func TestCgroupDelegatedToUserNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	mnt := unifiedMount(t)
	userNS := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings, s.Linux.GIDMappings = userNS, userNS
		for i := range s.Mounts {
			if s.Mounts[i].Destination == "/sys/fs/cgroup" {
				s.Mounts[i].Options = []string{"nosuid", "noexec", "nodev", "rw"}
			}
		}
	}).sh(`mkdir /sys/fs/cgroup/child && echo $$ > /sys/fs/cgroup/child/cgroup.procs && echo moved=$(grep '^0::' /proc/self/cgroup)`)
	c := e.mustCreate(b)
	dir := filepath.Join(mnt, "hako", c.id)
	var st syscallStat
	if err := statOwner(dir, &st); err != nil || st.uid != 100000 || st.gid != 100000 {
		t.Errorf("cgroup %s owned by %d:%d (%v), want 100000:100000", dir, st.uid, st.gid, err)
	}
	if err := statOwner(filepath.Join(dir, "cgroup.procs"), &st); err != nil || st.uid != 100000 {
		t.Errorf("cgroup.procs owned by %d (%v), want 100000", st.uid, err)
	}
	if err := statOwner(filepath.Join(dir, "hugetlb.2MB.max"), &st); err == nil && st.uid == 100000 {
		t.Error("a limit file (hugetlb.2MB.max) was given to the container: it could raise its own limits")
	}
	c.mustStart()
	if out := c.waitOutput("moved="); !strings.Contains(out, "moved=0::/child") {
		t.Errorf("container root could not manage its delegated cgroup: %q\n%s", out, c.errOutput())
	}
}

type syscallStat struct{ uid, gid uint32 }

func statOwner(p string, st *syscallStat) error {
	fi, err := os.Stat(p)
	if err != nil {
		return err
	}
	s := fi.Sys().(*syscall.Stat_t)
	st.uid, st.gid = s.Uid, s.Gid
	return nil
}

// TestUpdateDevices: update with device rules replaces the filter live.
func TestUpdateDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/scratch", Type: "tmpfs", Source: "tmpfs", Options: []string{"dev"}})
	}).sh("sleep 60")
	b.privateRootfs()
	c := e.mustCreate(b)
	c.mustStart()
	try := func() string {
		return e.hako("exec", c.id, "sh", "-c", "echo x > /dev/null && echo null=ok || echo null=denied").stdout
	}
	if out := try(); !strings.Contains(out, "null=ok") {
		t.Fatalf("before update: %q", out)
	}
	maj, min := int64(1), int64(3)
	res := e.writeFile("dev.json", fmt.Sprintf(`{"devices":[{"allow":false,"type":"c","major":%d,"minor":%d,"access":"w"}]}`, maj, min), 0o644)
	e.mustHako("update", "-r", res, c.id)
	// runc's default devices come after the config's rules and allow
	// /dev/null again: the update must keep them (the container keeps
	// working), so the filter's replacement shows through a device that
	// is not a default one.
	if out := try(); !strings.Contains(out, "null=ok") {
		t.Errorf("after update, /dev/null (a default device): %q", out)
	}
	kmsg := e.writeFile("dev2.json", `{"devices":[{"allow":true,"type":"c","major":1,"minor":11,"access":"rwm"}]}`, 0o644)
	e.mustHako("update", "-r", kmsg, c.id)
	r := e.hako("exec", "--cap", "CAP_MKNOD", "--cap", "CAP_SYSLOG", c.id, "sh", "-c",
		"mknod /scratch/k c 1 11 && dd if=/scratch/k of=/dev/null bs=65536 count=1 2>/dev/null && echo kmsg=open || echo kmsg=denied")
	if !strings.Contains(r.stdout, "kmsg=open") {
		t.Errorf("after allowing 1:11 by update: %s", r)
	}
}
