package nsexec

import (
	"encoding/binary"
	"strings"
	"testing"
)

// records splits an encoded plan into its tags, checking the framing.
func records(t *testing.T, b []byte) string {
	t.Helper()
	var tags strings.Builder
	for len(b) > 0 {
		if len(b) < 5 {
			t.Fatalf("truncated record header: %q", b)
		}
		n := int(binary.BigEndian.Uint32(b[1:5]))
		if len(b) < 5+n {
			t.Fatalf("record %c: %d bytes announced, %d left", b[0], n, len(b)-5)
		}
		tags.WriteByte(b[0])
		b = b[5+n:]
	}
	return tags.String()
}

func TestExecPlanEncode(t *testing.T) {
	adj := -500
	tests := []struct {
		name string
		plan ExecPlan
		tags string
		err  string
	}{
		{name: "minimal", plan: ExecPlan{Args: []string{"true"}, Personality: -1, IOPrio: -1}, tags: "aumf"},
		{name: "everything", plan: ExecPlan{
			Args: []string{"sh", "-c", "x"}, Env: []string{"A=1"}, Cwd: "/w", AdditionalGids: []uint32{1, 2},
			Caps: &CapSets{Bounding: 1}, Rlimits: []Rlimit{{Resource: 7, Soft: 1, Max: 2}}, NoNewPrivs: true,
			OOMScoreAdj: &adj, Personality: 8, IOPrio: 1, SchedAttr: make([]byte, 56),
			Seccomp: make([]byte, 16), SeccompFlags: 1, PreserveFDs: 2,
		}, tags: "aaaecuGGmCrnoPiSsf"},
		{name: "no args", plan: ExecPlan{}, err: "process.args: empty"},
		{name: "NUL in an argument", plan: ExecPlan{Args: []string{"a", "b\x00c"}}, err: "process.args[1]: contains a NUL byte"},
		{name: "NUL in the environment", plan: ExecPlan{Args: []string{"a"}, Env: []string{"X=\x00"}}, err: "process.env[0]: contains a NUL byte"},
		{name: "too large", plan: ExecPlan{Args: []string{strings.Repeat("x", maxBootstrap)}}, err: "at most"},
	}
	for _, tt := range tests {
		b, err := tt.plan.Encode()
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: err %v, want %q", tt.name, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v", tt.name, err)
			continue
		}
		if got := records(t, b); got != tt.tags {
			t.Errorf("%s: records %q, want %q", tt.name, got, tt.tags)
		}
	}
}
