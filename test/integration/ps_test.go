package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestPs: `ps ID` is the host's ps filtered to the container's processes;
// `ps --format json ID` is the array of their host pids; ps of a stopped
// container is an error.
func TestPs(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// An unrelated host process, with a command line like the container's.
	host := exec.Command("sleep", "1001")
	host.Env = append(os.Environ(), "HAKO_ITEST="+e.mark)
	if err := startManaged(host); err != nil {
		t.Fatal(err)
	}
	defer func() {
		killPid(host.Process.Pid)
		_ = waitManaged(host)
	}()

	b := e.newBundle()
	b.sh(`sleep 1001 & sleep 1002 & echo started; wait`)
	c := e.mustCreate(b)
	initPid := e.mustState(c.id).Pid
	c.mustStart()
	c.waitOutput("started")
	pidFile := filepath.Join(e.dir, "exec.pid")
	e.mustHako("exec", "-d", "--pid-file", pidFile, c.id, "sleep", "1003")
	execPid := readPidFile(t, pidFile)

	// The sleeps are children of the init; wait until both exist.
	var kids []int
	waitFor(t, "the container's two sleeps", func() bool {
		kids = childrenOf(initPid)
		return len(kids) >= 2
	})

	r := e.mustHako("ps", "--format", "json", c.id)
	var pids []int
	if err := json.Unmarshal([]byte(r.stdout), &pids); err != nil {
		t.Fatalf("ps --format json: not a JSON array of pids: %v: %q", err, r.stdout)
	}
	in := map[int]bool{}
	for _, p := range pids {
		in[p] = true
	}
	for _, p := range append([]int{initPid, execPid}, kids...) {
		if !in[p] {
			t.Errorf("ps --format json %v lacks the container's process %s", pids, describePids([]int{p}))
		}
	}
	if in[host.Process.Pid] || in[os.Getpid()] {
		t.Errorf("ps --format json %v lists host processes (%d, %d)", pids, host.Process.Pid, os.Getpid())
	}
	if len(pids) != 4 {
		t.Errorf("ps --format json: %v, want the 4 processes of the container (init, 2 sleeps, exec'd sleep)", pids)
	}

	r = e.mustHako("ps", c.id)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) < 2 {
		t.Fatalf("ps: %q", r.stdout)
	}
	header := strings.Fields(lines[0])
	col := -1
	for i, f := range header {
		if f == "PID" {
			col = i
		}
	}
	if col < 0 || !strings.Contains(lines[0], "CMD") {
		t.Fatalf("ps: header %q has no PID and CMD", lines[0])
	}
	rows := map[int]string{}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		p, err := strconv.Atoi(f[col])
		if err != nil {
			t.Errorf("ps row %q: no pid", l)
			continue
		}
		rows[p] = l
		if !in[p] {
			t.Errorf("ps lists a process that is not the container's: %q", l)
		}
	}
	for _, want := range []string{"sleep 1001", "sleep 1002", "sleep 1003"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("ps lacks the container's %q:\n%s", want, r.stdout)
		}
	}
	if _, ok := rows[host.Process.Pid]; ok {
		t.Errorf("ps lists the host's sleep 1001 (pid %d):\n%s", host.Process.Pid, r.stdout)
	}
	if len(rows) != len(pids) {
		t.Errorf("ps lists %d processes, ps --format json %d:\n%s", len(rows), len(pids), r.stdout)
	}

	e.mustHako("kill", "--all", c.id, "KILL")
	e.waitStatus(c.id, "stopped")
	expectFail(t, e.hako("ps", e.newID()), "ps of a container that does not exist")
	t.Run("stopped", func(t *testing.T) {
		hakoOnly(t, "lists the (empty) cgroup of a stopped container")
		expectFail(t, e.hako("ps", c.id), "ps of a stopped container")
		expectFail(t, e.hako("ps", "--format", "json", c.id), "ps --format json of a stopped container")
	})
}

// TestKillAll: kill --all signals every process of the container, not only
// its init.
func TestKillAll(t *testing.T) {
	t.Parallel()
	// With a pid namespace, SIGKILL to the init ends everything anyway:
	// send SIGTERM, which the init traps (and survives) but its children
	// and an exec'd process do not.
	t.Run("TERM with a pid namespace", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(`trap 'echo got TERM' TERM; sleep 1001 & sleep 1002 & echo started; while :; do sleep 0.05; done`)
		c := e.mustCreate(b)
		initPid := e.mustState(c.id).Pid
		c.mustStart()
		c.waitOutput("started")
		pidFile := filepath.Join(e.dir, "exec.pid")
		e.mustHako("exec", "-d", "--pid-file", pidFile, c.id, "sleep", "1003")
		execPid := readPidFile(t, pidFile)
		victims := sleepsOf(t, initPid, "1001", "1002")
		victims = append(victims, execPid)

		e.mustHako("kill", "--all", c.id, "TERM")
		for _, p := range victims {
			waitGone(t, p)
		}
		c.waitOutput("got TERM")
		e.expectState(c.id, "running", initPid)
	})
	t.Run("KILL without a pid namespace", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			setNamespaces(s, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace)
		})
		// One child of the init, one daemon that left its process tree.
		b.sh(`sleep 1001 & setsid sh -c 'sleep 1002 & exit 0'; echo started; wait`)
		c := e.mustCreate(b)
		initPid := e.mustState(c.id).Pid
		c.mustStart()
		c.waitOutput("started")
		pidFile := filepath.Join(e.dir, "exec.pid")
		e.mustHako("exec", "-d", "--pid-file", pidFile, c.id, "sleep", "1003")
		execPid := readPidFile(t, pidFile)
		victims := []int{initPid, execPid}
		victims = append(victims, sleepsOf(t, initPid, "1001")...)
		victims = append(victims, markedSleeps(t, e.mark, "1002")...)

		e.mustHako("kill", "--all", c.id, "KILL")
		e.waitStatus(c.id, "stopped")
		for _, p := range victims {
			waitGone(t, p)
		}
	})
	// Without a pid namespace, processes outlive the init: the container
	// is stopped and they are still in its cgroup. containerd's shim then
	// runs `kill --all ID 9`, which must reach them and succeed, and reads
	// "container not running" in a plain kill's error as "already gone".
	t.Run("stopped container without a pid namespace", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			setNamespaces(s, specs.NetworkNamespace, specs.IPCNamespace, specs.UTSNamespace, specs.MountNamespace, specs.CgroupNamespace)
		})
		b.sh(`setsid sleep 1004 & echo started`)
		c := e.mustCreate(b)
		c.mustStart()
		c.waitOutput("started")
		e.waitStatus(c.id, "stopped")
		left := markedSleeps(t, e.mark, "1004")

		r := e.hako("kill", c.id, "KILL")
		expectFail(t, r, "kill of a stopped container")
		if !strings.Contains(r.stderr, "container not running") {
			t.Errorf("kill of a stopped container: stderr %q, want runc's \"container not running\"", r.stderr)
		}
		e.mustHako("kill", "--all", c.id, "KILL")
		for _, p := range left {
			waitGone(t, p)
		}
		e.mustHako("kill", "--all", c.id, "KILL") // nothing left: still success
		e.expectState(c.id, "stopped", 0)
	})
}

// sleepsOf waits for the children of pid running `sleep ARG`, one per arg.
func sleepsOf(t *testing.T, pid int, args ...string) []int {
	t.Helper()
	var found []int
	waitFor(t, fmt.Sprintf("sleeps %v under %d", args, pid), func() bool {
		found = nil
		for _, k := range childrenOf(pid) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", k))
			for _, a := range args {
				if string(cmdline) == "sleep\x00"+a+"\x00" {
					found = append(found, k)
				}
			}
		}
		return len(found) == len(args)
	})
	return found
}

// markedSleeps waits for the processes of the test running `sleep ARG`.
func markedSleeps(t *testing.T, mark string, args ...string) []int {
	t.Helper()
	var found []int
	deadline := time.Now().Add(statusTimeout)
	for {
		found = nil
		for _, p := range processesMarked(mark) {
			cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", p))
			for _, a := range args {
				if string(cmdline) == "sleep\x00"+a+"\x00" {
					found = append(found, p)
				}
			}
		}
		if len(found) == len(args) {
			return found
		}
		if time.Now().After(deadline) {
			t.Fatalf("sleeps %v of the test: found %v", args, found)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
