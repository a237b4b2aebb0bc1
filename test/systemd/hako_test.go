package systemdtier

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/hako-runtime/hako/systemd"
)

// hako runs $HAKO_BIN with --systemd-cgroup and a state root of its own.
// Its output goes through a file: `create` hands its stdio to the
// container, so a pipe would stay open as long as the container runs.
func hako(t *testing.T, root string, args ...string) (string, error) {
	t.Helper()
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	all := append([]string{"--root", root, "--systemd-cgroup"}, args...)
	cmd := exec.Command(os.Getenv("HAKO_BIN"), all...)
	cmd.Stdout, cmd.Stderr = out, out
	err = cmd.Run()
	data, _ := os.ReadFile(out.Name())
	return strings.TrimSpace(string(data)), err
}

// hakoScope: `hako --systemd-cgroup create` puts the container's init in
// its scope (delegated), `delete --force` removes the scope. Skipped
// while the lifecycle refuses --systemd-cgroup.
func hakoScope(t *testing.T, cgroupsPath, wantCgroup string) {
	bin := os.Getenv("HAKO_BIN")
	rootfs := os.Getenv("HAKO_ROOTFS")
	if bin == "" || rootfs == "" {
		t.Skip("HAKO_BIN or HAKO_ROOTFS not set (run.sh could not build hako)")
	}
	dir := t.TempDir()
	bundle := filepath.Join(dir, "bundle")
	state := filepath.Join(dir, "state")
	if err := os.Mkdir(bundle, 0o755); err != nil {
		t.Fatal(err)
	}
	specArgs := []string{"spec", "--bundle", bundle}
	if rootless() {
		specArgs = append([]string{"--rootless=true"}, specArgs...)
	}
	if out, err := exec.Command(bin, specArgs...).CombinedOutput(); err != nil {
		t.Fatalf("hako spec: %v: %s", err, out)
	}
	var spec map[string]any
	data, err := os.ReadFile(filepath.Join(bundle, "config.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, &spec); err != nil {
		t.Fatal(err)
	}
	spec["root"] = map[string]any{"path": rootfs, "readonly": true}
	proc := spec["process"].(map[string]any)
	proc["args"] = []string{"sleep", "600"}
	proc["terminal"] = false
	linux := spec["linux"].(map[string]any)
	if rootless() {
		// The tier's /proc has /proc/sys bound read-only over it (so that
		// nothing in here changes the host's sysctls), which makes the
		// kernel refuse a new proc mount in a user namespace
		// (mount_too_revealing). Without a pid namespace, the container
		// binds the tier's /proc instead.
		var ns []any
		for _, n := range linux["namespaces"].([]any) {
			if n.(map[string]any)["type"] != "pid" {
				ns = append(ns, n)
			}
		}
		linux["namespaces"] = ns
		for _, m := range spec["mounts"].([]any) {
			if m := m.(map[string]any); m["destination"] == "/proc" {
				m["type"], m["source"], m["options"] = "bind", "/proc", []string{"rbind", "nosuid", "noexec", "nodev"}
			}
		}
	}
	id := newID(t)
	cgp := strings.ReplaceAll(cgroupsPath, "ID", id)
	if cgp != "" {
		linux["cgroupsPath"] = cgp
	}
	if data, err = json.MarshalIndent(spec, "", "\t"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(bundle, "config.json"), data, 0o644); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	out, err := hako(t, state, "create", "--bundle", bundle, id)
	if err != nil {
		if strings.Contains(out, "not implemented") {
			t.Skipf("the lifecycle does not use the systemd driver yet: %s", out)
		}
		t.Fatalf("hako create: %v: %s", err, out)
	}
	timing(t, "hako --systemd-cgroup create", time.Since(start))
	t.Cleanup(func() { hako(t, state, "delete", "--force", id) })
	out, err = hako(t, state, "state", id)
	if err != nil {
		t.Fatalf("hako state: %v: %s", err, out)
	}
	var st struct{ Pid int }
	if err := json.Unmarshal([]byte(out), &st); err != nil || st.Pid <= 0 {
		t.Fatalf("hako state: %q: %v", out, err)
	}
	want := strings.ReplaceAll(wantCgroup, "ID", id)
	if got := procCgroup(t, st.Pid); got != want && !strings.HasPrefix(got, want+"/") {
		t.Errorf("the container's init is in %q, want %q", got, want)
	}
	slice, unit, err := systemd.ParsePath(cgp, id, rootless())
	if err != nil {
		t.Fatal(err)
	}
	props := show(t, unit, "ActiveState", "Delegate", "Slice")
	if props["ActiveState"] != "active" || props["Delegate"] != "yes" || props["Slice"] != slice {
		t.Errorf("%s: %v", unit, props)
	}
	// update: a limit systemd has a property for goes through systemd
	// first (so a daemon-reload keeps it), whose controller check speaks;
	// one it has none for is the fs driver's alone.
	out, err = hako(t, state, "update", "--memory", "64m", id)
	if err == nil || !strings.Contains(out, "linux.resources.memory.limit: the memory controller is not available to the scope: systemd can only give it") {
		t.Errorf("hako update --memory 64m (no memory controller here): %v: %s", err, out)
	}
	res := filepath.Join(dir, "res.json")
	os.WriteFile(res, []byte(`{"unified": {"cgroup.max.descendants": "7"}}`), 0o644)
	if out, err := hako(t, state, "update", "--resources", res, id); err != nil {
		t.Errorf("hako update --resources %s: %v: %s", res, err, out)
	} else if got, _ := os.ReadFile(filepath.Join(cgroupDir(t, want), "cgroup.max.descendants")); strings.TrimSpace(string(got)) != "7" {
		t.Errorf("after update, cgroup.max.descendants = %q", got)
	}

	// exec: the new process joins the scope too.
	if out, err := hako(t, state, "start", id); err != nil {
		t.Fatalf("hako start: %v: %s", err, out)
	}
	pidFile := filepath.Join(dir, "exec.pid")
	start = time.Now()
	if out, err := hako(t, state, "exec", "--detach", "--pid-file", pidFile, id, "sleep", "600"); err != nil {
		t.Errorf("hako exec: %v: %s", err, out)
	} else {
		timing(t, "hako --systemd-cgroup exec --detach", time.Since(start))
		data, _ := os.ReadFile(pidFile)
		pid, err := strconv.Atoi(strings.TrimSpace(string(data)))
		if err != nil {
			t.Fatalf("exec pid file: %q", data)
		}
		if got := procCgroup(t, pid); got != want && !strings.HasPrefix(got, want+"/") {
			t.Errorf("the exec'd process is in %q, want %q", got, want)
		}
	}
	if out, err := hako(t, state, "delete", "--force", id); err != nil {
		t.Fatalf("hako delete --force: %v: %s", err, out)
	}
	if got := show(t, unit, "LoadState")["LoadState"]; got != "not-found" {
		t.Errorf("after delete, %s is %s, want not-found", unit, got)
	}
	waitGone(t, cgroupDir(t, want))
}

func TestHakoSystemScope(t *testing.T) {
	needMode(t, "root")
	hakoScope(t, "", "/system.slice/hako-ID.scope")
}

func TestHakoSystemScopePath(t *testing.T) {
	needMode(t, "root")
	hakoScope(t, "system.slice:hakotest:ID", "/system.slice/hakotest-ID.scope")
}

func TestHakoUserScope(t *testing.T) {
	needMode(t, "rootless")
	hakoScope(t, "", userManager+"/user.slice/hako-ID.scope")
}

func TestHakoUserScopePodman(t *testing.T) {
	needMode(t, "rootless")
	hakoScope(t, "user.slice:libpod:ID", userManager+"/user.slice/libpod-ID.scope")
}
