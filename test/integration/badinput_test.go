package integration

import (
	"bufio"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// expectNothingLeft checks, after a failed create, that the runtime left
// nothing behind: no state directory under --root, no mount under the
// test's directory (bundle, rootfs), no process, no cgroup.
func (e *Env) expectNothingLeft(id string, b *Bundle) {
	t := e.t
	t.Helper()
	for _, name := range dirEntries(e.Root) {
		if fi, err := os.Stat(filepath.Join(e.Root, name)); err == nil && fi.IsDir() {
			t.Errorf("state directory %q left under --root", name)
		}
	}
	if mps := mountsUnder(e.dir); len(mps) > 0 {
		t.Errorf("mounts left: %v", mps)
	}
	if b != nil && b.Spec.Root != nil && filepath.IsAbs(b.Spec.Root.Path) {
		if mps := mountsUnder(b.Spec.Root.Path); len(mps) > 0 {
			t.Errorf("mounts left on the rootfs: %v", mps)
		}
	}
	var pids []int
	for deadline := time.Now().Add(2 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		if pids = processesMarked(e.mark); len(pids) == 0 || time.Now().After(deadline) {
			break
		}
	}
	if len(pids) > 0 {
		t.Errorf("processes left: %s", describePids(pids))
	}
	if id != "" {
		if cgs := cgroupsOf([]string{id}); len(cgs) > 0 {
			t.Errorf("cgroups left: %v", cgs)
		}
	}
}

// expectOneLineError checks that a failed command printed its error as one
// line (hako) that contains every one of names.
func expectOneLineError(t *testing.T, r *result, names ...string) {
	t.Helper()
	msg := strings.TrimSpace(r.stderr)
	for _, n := range names {
		if !strings.Contains(msg, n) {
			t.Errorf("the error does not name %q: %q", n, msg)
		}
	}
	if !isRunc && strings.Count(msg, "\n") > 0 {
		t.Errorf("the error is not one line: %q", msg)
	}
}

func TestBadInput(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		// setup prepares the bundle and returns the words the error must
		// contain; hakoWords are only checked with hako (runc's wording
		// differs).
		setup     func(e *Env, b *Bundle) (words, hakoWords []string)
		id        string
		noConfig  bool
		rawConfig string
	}{
		{
			name:     "missing config.json",
			noConfig: true,
			setup:    func(e *Env, b *Bundle) ([]string, []string) { return []string{"config.json"}, nil },
		},
		{
			name:      "malformed config.json",
			rawConfig: `{"ociVersion": "1.3.0", "process": {"args": ["sh"]`,
			setup:     func(e *Env, b *Bundle) ([]string, []string) { return nil, []string{"config.json"} },
		},
		{
			name:      "wrong type",
			rawConfig: "uid",
			setup: func(e *Env, b *Bundle) ([]string, []string) {
				return []string{"uid"}, []string{"process.user.uid"}
			},
		},
		{
			name: "missing rootfs",
			setup: func(e *Env, b *Bundle) ([]string, []string) {
				b.Spec.Root.Path = filepath.Join(e.dir, "no-such-rootfs")
				return []string{b.Spec.Root.Path}, nil
			},
		},
		{
			name: "unknown namespace",
			setup: func(e *Env, b *Bundle) ([]string, []string) {
				b.Spec.Linux.Namespaces = append(b.Spec.Linux.Namespaces, specs.LinuxNamespace{Type: "bogusns"})
				return []string{"bogusns"}, nil
			},
		},
		{
			name:  "invalid ID with a slash",
			id:    "a/b",
			setup: func(e *Env, b *Bundle) ([]string, []string) { return nil, []string{"a/b"} },
		},
		{
			name:  "invalid ID ..",
			id:    "..",
			setup: func(e *Env, b *Bundle) ([]string, []string) { return nil, []string{".."} },
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle()
			b.sh("echo must-not-run")
			words, hakoWords := tc.setup(e, b)
			switch {
			case tc.noConfig:
				os.Remove(filepath.Join(b.Dir, "config.json"))
			case tc.rawConfig == "uid":
				data, _ := json.Marshal(b.Spec)
				data = []byte(strings.Replace(string(data), `"uid":0`, `"uid":"zero"`, 1))
				if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), data, 0o644); err != nil {
					t.Fatal(err)
				}
			case tc.rawConfig != "":
				if err := os.WriteFile(filepath.Join(b.Dir, "config.json"), []byte(tc.rawConfig), 0o644); err != nil {
					t.Fatal(err)
				}
			default:
				b.save()
			}
			id := tc.id
			if id == "" {
				id = e.newID()
			}
			// The --root directory itself may be made; nothing else.
			before := append(dirEntries(e.dir), "state")
			sort.Strings(before)
			out := filepath.Join(e.dir, "out")
			r := e.hako("create", "--bundle", b.Dir, id)
			expectFail(t, r, "create with "+tc.name)
			expectOneLineError(t, r, words...)
			if !isRunc {
				expectOneLineError(t, r, hakoWords...)
			}
			e.expectNothingLeft(id, b)
			after := dirEntries(e.dir)
			if !slices.Contains(after, "state") {
				after = append(after, "state")
				sort.Strings(after)
			}
			if strings.Join(after, " ") != strings.Join(before, " ") {
				t.Errorf("the test directory changed: %v -> %v", before, after)
			}
			if data, _ := os.ReadFile(out); strings.Contains(string(data), "must-not-run") {
				t.Errorf("the process ran")
			}
		})
	}
}

// TestBadInputJSONLog: with --log FILE --log-format json, an error is a JSON
// line with level "error", msg and time in FILE.
func TestBadInputJSONLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	os.Remove(filepath.Join(b.Dir, "config.json"))
	logFile := filepath.Join(e.dir, "log.json")
	id := e.newID()
	r := e.hakoWith(opts{globals: []string{"--log", logFile, "--log-format", "json"}}, "create", "--bundle", b.Dir, id)
	expectFail(t, r, "create without config.json")
	f, err := os.Open(logFile)
	if err != nil {
		t.Fatalf("no log file: %v", err)
	}
	defer f.Close()
	var found map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var line map[string]any
		if err := json.Unmarshal(sc.Bytes(), &line); err != nil {
			t.Errorf("log line is not JSON: %q", sc.Text())
			continue
		}
		if line["level"] == "error" {
			found = line
		}
	}
	if found == nil {
		t.Fatalf("no level=error line in the JSON log")
	}
	msg, _ := found["msg"].(string)
	if msg == "" {
		t.Errorf("error line without msg: %v", found)
	}
	ts, _ := found["time"].(string)
	if _, err := time.Parse(time.RFC3339Nano, ts); err != nil {
		t.Errorf("error line time %q: %v", ts, err)
	}
	t.Run("names config.json", func(t *testing.T) {
		hakoOnly(t, "wording")
		if !strings.Contains(msg, "config.json") {
			t.Errorf("error msg %q does not name config.json", msg)
		}
	})
	e.expectNothingLeft(id, b)
}

func TestBadInputTextLog(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	os.Remove(filepath.Join(b.Dir, "config.json"))
	logFile := filepath.Join(e.dir, "log.txt")
	r := e.hakoWith(opts{globals: []string{"--log", logFile, "--log-format", "text"}}, "create", "--bundle", b.Dir, e.newID())
	expectFail(t, r, "create without config.json")
	data, err := os.ReadFile(logFile)
	if err != nil {
		t.Fatalf("no log file: %v", err)
	}
	if !strings.Contains(string(data), "level=error") || !strings.Contains(string(data), "config.json") {
		t.Errorf("text log: %q", data)
	}
}
