package spec

import (
	"strings"
	"testing"
)

func TestCapabilityValue(t *testing.T) {
	tests := []struct {
		name    string
		want    int
		wantErr bool
	}{
		{"CAP_CHOWN", 0, false},
		{"CAP_KILL", 5, false},
		{"CAP_NET_BIND_SERVICE", 10, false},
		{"CAP_SYS_ADMIN", 21, false},
		{"CAP_AUDIT_WRITE", 29, false},
		{"CAP_CHECKPOINT_RESTORE", 40, false},
		{"cap_sys_admin", 21, false},
		{"cap_checkpoint_restore", 40, false},
		{"Cap_Sys_Admin", 0, true},
		{"SYS_ADMIN", 0, true},
		{"sys_admin", 0, true},
		{"CAP_FOO", 0, true},
		{"CAP_LAST_CAP", 0, true},
		{"", 0, true},
	}
	for _, tc := range tests {
		got, err := CapabilityValue(tc.name)
		if tc.wantErr {
			if err == nil {
				t.Errorf("CapabilityValue(%q) = %d, want error", tc.name, got)
			} else if !strings.Contains(err.Error(), `unknown capability "`+tc.name+`"`) {
				t.Errorf("CapabilityValue(%q) error %q does not name the value", tc.name, err)
			}
			continue
		}
		if err != nil || got != tc.want {
			t.Errorf("CapabilityValue(%q) = %d, %v; want %d", tc.name, got, err, tc.want)
		}
	}
}

func TestKnownCapabilities(t *testing.T) {
	caps := KnownCapabilities()
	if len(caps) != 41 {
		t.Fatalf("KnownCapabilities has %d entries, want 41", len(caps))
	}
	for i, name := range caps {
		v, err := CapabilityValue(name)
		if err != nil || v != i {
			t.Errorf("KnownCapabilities()[%d] = %s with value %d, %v; want value %d", i, name, v, err, i)
		}
		if !strings.HasPrefix(name, "CAP_") || strings.ToUpper(name) != name {
			t.Errorf("capability name %q is not upper case with CAP_ prefix", name)
		}
	}
	if caps[0] != "CAP_CHOWN" || caps[40] != "CAP_CHECKPOINT_RESTORE" {
		t.Errorf("first/last = %s/%s", caps[0], caps[40])
	}
	// The result is a copy.
	caps[0] = "changed"
	if KnownCapabilities()[0] != "CAP_CHOWN" {
		t.Error("KnownCapabilities returned shared storage")
	}
}

func TestRlimitValue(t *testing.T) {
	names := []string{
		"RLIMIT_CPU", "RLIMIT_FSIZE", "RLIMIT_DATA", "RLIMIT_STACK", "RLIMIT_CORE", "RLIMIT_RSS",
		"RLIMIT_NPROC", "RLIMIT_NOFILE", "RLIMIT_MEMLOCK", "RLIMIT_AS", "RLIMIT_LOCKS",
		"RLIMIT_SIGPENDING", "RLIMIT_MSGQUEUE", "RLIMIT_NICE", "RLIMIT_RTPRIO", "RLIMIT_RTTIME",
	}
	seen := map[int]string{}
	for _, n := range names {
		v, err := RlimitValue(n)
		if err != nil {
			t.Errorf("RlimitValue(%q): %v", n, err)
			continue
		}
		if v < 0 || v > 15 {
			t.Errorf("RlimitValue(%q) = %d, outside 0..15", n, v)
		}
		if other, dup := seen[v]; dup {
			t.Errorf("RlimitValue(%q) = %d, same as %s", n, v, other)
		}
		seen[v] = n
		if lv, err := RlimitValue(strings.ToLower(n)); err != nil || lv != v {
			t.Errorf("RlimitValue(%q) = %d, %v; want %d", strings.ToLower(n), lv, err, v)
		}
	}
	if len(rlimitNames) != len(names) {
		t.Errorf("rlimitNames has %d entries, want %d", len(rlimitNames), len(names))
	}
	if v, _ := RlimitValue("RLIMIT_CPU"); v != 0 {
		t.Errorf("RLIMIT_CPU = %d, want 0", v)
	}
	for _, bad := range []string{"RLIMIT_FOO", "NOFILE", "Rlimit_Nofile", ""} {
		if _, err := RlimitValue(bad); err == nil || !strings.Contains(err.Error(), `unknown rlimit "`+bad+`"`) {
			t.Errorf("RlimitValue(%q) error = %v, want one naming the value", bad, err)
		}
	}
}
