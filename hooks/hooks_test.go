package hooks

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestRun(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	one := 1
	tests := []struct {
		name    string
		hook    specs.Hook
		wantErr string
		check   func(t *testing.T)
	}{
		{
			name: "state on stdin, args and env",
			hook: specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", `cat > "$OUT"; echo "$1" >> "$OUT"`, "sh", "arg1"}, Env: []string{"OUT=" + out}},
			check: func(t *testing.T) {
				b, err := os.ReadFile(out)
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != `{"id":"x"}arg1`+"\n" {
					t.Fatalf("hook saw %q", b)
				}
			},
		},
		{name: "failure carries output", hook: specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo boom >&2; exit 3"}}, wantErr: "exit status 3: boom"},
		{name: "timeout", hook: specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "sleep 5"}, Timeout: &one}, wantErr: "timed out after 1s"},
		{name: "does not read stdin", hook: specs.Hook{Path: "/bin/true"}},
		{name: "missing binary", hook: specs.Hook{Path: "/nonexistent/hook"}, wantErr: "/nonexistent/hook"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := Run("prestart", []specs.Hook{tt.hook}, []byte(`{"id":"x"}`))
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "prestart hook #0") {
				t.Fatalf("err %v, want it to contain %q", err, tt.wantErr)
			}
			if tt.check != nil {
				tt.check(t)
			}
		})
	}
}

func TestLargeStateToHookThatDoesNotRead(t *testing.T) {
	big := []byte(strings.Repeat("x", 1<<20))
	if err := Run("poststop", []specs.Hook{{Path: "/bin/true"}}, big); err != nil {
		t.Fatal(err)
	}
}

func TestRunAllContinuesAfterFailures(t *testing.T) {
	out := filepath.Join(t.TempDir(), "out")
	appendHook := func(word string) specs.Hook {
		return specs.Hook{Path: "/bin/sh", Args: []string{"sh", "-c", "echo " + word + ` >> "$OUT"`}, Env: []string{"OUT=" + out}}
	}
	tests := []struct {
		name     string
		hooks    []specs.Hook
		wantOut  string
		wantErrs []string
	}{
		{name: "all succeed", hooks: []specs.Hook{appendHook("a"), appendHook("b")}, wantOut: "a\nb\n"},
		{name: "first fails", hooks: []specs.Hook{{Path: "/bin/false"}, appendHook("b")}, wantOut: "b\n",
			wantErrs: []string{"poststop hook #0 (/bin/false): exit status 1"}},
		{name: "every other fails", hooks: []specs.Hook{appendHook("a"), {Path: "/nonexistent/hook"}, appendHook("c"), {Path: "/bin/false"}},
			wantOut: "a\nc\n", wantErrs: []string{"poststop hook #1 (/nonexistent/hook)", "poststop hook #3 (/bin/false)"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			os.Remove(out)
			var errs []error
			RunAll("poststop", tt.hooks, []byte(`{}`), func(err error) { errs = append(errs, err) })
			b, _ := os.ReadFile(out)
			if string(b) != tt.wantOut {
				t.Errorf("hooks wrote %q, want %q", b, tt.wantOut)
			}
			if len(errs) != len(tt.wantErrs) {
				t.Fatalf("failures %v, want %d", errs, len(tt.wantErrs))
			}
			for i, w := range tt.wantErrs {
				if !strings.Contains(errs[i].Error(), w) {
					t.Errorf("failure %d: %v, want it to contain %q", i, errs[i], w)
				}
			}
		})
	}
}
