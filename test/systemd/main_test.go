// Package systemdtier holds the systemd tier's tests: the systemd cgroup
// driver against a real systemd, as root (PID 1, over its private socket
// and over the system bus) and rootless (user@1001.service, over its
// private socket and the user bus), and, once the lifecycle uses it, hako
// --systemd-cgroup itself.
//
// test/systemd/run.sh boots systemd in a namespace container and runs
// this package's test binary inside it with HAKO_SYSTEMD_TIER=root or
// rootless. Anywhere else (go test ./... on the host) it runs nothing.
package systemdtier

import (
	"bufio"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hako-runtime/hako/cgroupv2"
)

// mode is "root" or "rootless" inside the tier, "" elsewhere.
var mode = os.Getenv("HAKO_SYSTEMD_TIER")

// TestMain runs nothing outside the tier: these tests need systemd as
// PID 1 and would only add skips to the host suite's count.
func TestMain(m *testing.M) {
	if mode == "" {
		fmt.Println("systemd tier: nothing to run here (HAKO_SYSTEMD_TIER unset); run test/systemd/run.sh as root")
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// needMode skips the test unless the tier runs it in mode m.
func needMode(t *testing.T, m string) {
	t.Helper()
	switch mode {
	case "":
		t.Skip("systemd tier: run test/systemd/run.sh (needs systemd as PID 1; HAKO_SYSTEMD_TIER unset)")
	case m:
	default:
		t.Skipf("runs in the tier's %s pass (this one is %s)", m, mode)
	}
}

func rootless() bool { return mode == "rootless" }

// newID returns a container ID unique to this run.
func newID(t *testing.T) string {
	b := make([]byte, 4)
	rand.Read(b)
	name := strings.ToLower(strings.NewReplacer("/", "-", "_", "-").Replace(t.Name()))
	if len(name) > 40 {
		name = name[:40]
	}
	return name + "-" + hex.EncodeToString(b)
}

// startSleep starts a process to put in scopes; it is killed at the end.
func startSleep(t *testing.T) *exec.Cmd {
	t.Helper()
	cmd := exec.Command("sleep", "600")
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	return cmd
}

// waitExit waits (bounded) for cmd to exit and returns how it ended.
func waitExit(t *testing.T, cmd *exec.Cmd, within time.Duration) error {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	select {
	case err := <-done:
		return err
	case <-time.After(within):
		t.Fatalf("process %d still runs after %v", cmd.Process.Pid, within)
		return nil
	}
}

// procCgroup returns the cgroup v2 path of pid.
func procCgroup(t *testing.T, pid int) string {
	t.Helper()
	f, err := os.Open(fmt.Sprintf("/proc/%d/cgroup", pid))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if p, ok := strings.CutPrefix(sc.Text(), "0::"); ok {
			return p
		}
	}
	t.Fatalf("/proc/%d/cgroup has no 0:: line", pid)
	return ""
}

// show returns properties of a unit from systemctl (--user rootless).
func show(t *testing.T, unit string, props ...string) map[string]string {
	t.Helper()
	args := []string{"show", "--no-pager", "-p", strings.Join(props, ","), unit}
	if rootless() {
		args = append([]string{"--user"}, args...)
	}
	out, err := exec.Command("systemctl", args...).CombinedOutput()
	if err != nil {
		t.Fatalf("systemctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	m := map[string]string{}
	for line := range strings.SplitSeq(strings.TrimSpace(string(out)), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok {
			m[k] = v
		}
	}
	return m
}

// cgroupDir is the directory of a cgroup path.
func cgroupDir(t *testing.T, p string) string {
	t.Helper()
	mnt, err := cgroupv2.Mountpoint()
	if err != nil {
		t.Fatal(err)
	}
	return filepath.Join(mnt, p)
}

// waitGone waits (bounded) until path does not exist.
func waitGone(t *testing.T, path string) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := os.Stat(path)
		if errors.Is(err, os.ErrNotExist) {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s still exists", path)
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// timing records a measurement in $HAKO_TIMINGS (run.sh prints it).
func timing(t *testing.T, what string, d time.Duration) {
	t.Logf("%s: %v", what, d)
	if f := os.Getenv("HAKO_TIMINGS"); f != "" {
		if fd, err := os.OpenFile(f, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			fmt.Fprintf(fd, "  %-52s %8.2f ms\n", what, float64(d.Microseconds())/1000)
			fd.Close()
		}
	}
}
