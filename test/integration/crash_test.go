package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestCreateKilledHalfway: hako create killed with SIGKILL in the middle
// (while its createRuntime hook runs, after the init exists) leaves a
// state that `state` reports and `delete --force` removes; the init does
// not linger waiting for a start that can never come.
func TestCreateKilledHalfway(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	marker := filepath.Join(e.dir, "hook-state")
	stop := filepath.Join(e.dir, "hook-stop")
	defer os.WriteFile(stop, nil, 0o644)
	b := e.newBundle(func(s *specs.Spec) {
		s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{{
			Path: "/bin/sh",
			// It waits for the stop file, but never past its
			// test's directory or 30 s: it must not outlive the test.
			Args: []string{"sh", "-c", `cat > "$1.tmp"; mv "$1.tmp" "$1"; i=0; while [ ! -e "$2" ] && [ -d "${2%/*}" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done`, "sh", marker, stop},
		}}}
	})
	id := e.newID()
	bg := e.startHako(opts{}, "create", "--bundle", b.Dir, id)
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := os.Stat(marker); err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the createRuntime hook never ran")
		}
		time.Sleep(10 * time.Millisecond)
	}
	// The init exists now (the hook got its pid): it waits for the hook.
	var hookState specs.State
	data, _ := os.ReadFile(marker)
	if err := json.Unmarshal(data, &hookState); err != nil || hookState.Pid <= 0 {
		t.Fatalf("hook state %q: %v", data, err)
	}
	bg.cmd.Process.Kill()
	bg.wait()
	// The init sees EOF on its sync socket and exits by itself.
	for deadline := time.Now().Add(5 * time.Second); ; {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", hookState.Pid))
		if err != nil || strings.Contains(string(stat), ") Z ") {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("init %d still alive after its create was killed", hookState.Pid)
		}
		time.Sleep(20 * time.Millisecond)
	}

	st, r := e.state(id)
	if st == nil || st.Status != "stopped" {
		t.Errorf("state of a container whose create died: %s, want status stopped", r)
	}
	e.mustHako("delete", "--force", id)
	if _, err := os.Stat(filepath.Join(e.Root, id)); err == nil {
		t.Error("state directory left after delete --force")
	}
	if out := e.hako("list", "-q").stdout; strings.Contains(out, id) {
		t.Errorf("list still shows %s:\n%s", id, out)
	}
}
