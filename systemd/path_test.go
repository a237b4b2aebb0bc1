package systemd

import (
	"strings"
	"testing"
)

func TestParsePath(t *testing.T) {
	long := strings.Repeat("x", 250)
	tests := []struct {
		name        string
		cgroupsPath string
		id          string
		rootless    bool
		slice, unit string
		err         string
	}{
		{"runc form", "system.slice:docker:abc", "id", false, "system.slice", "docker-abc.scope", ""},
		{"podman rootless", "user.slice:libpod:0123abcd", "id", true, "user.slice", "libpod-0123abcd.scope", ""},
		{"nested slice", "machine-pods.slice:crio:c1", "id", false, "machine-pods.slice", "crio-c1.scope", ""},
		{"root slice", "-.slice:hako:c", "id", false, "-.slice", "hako-c.scope", ""},
		{"empty prefix", "system.slice::c1", "id", false, "system.slice", "c1.scope", ""},
		{"empty slice, root", ":hako:c1", "id", false, "system.slice", "hako-c1.scope", ""},
		{"empty slice, rootless", ":hako:c1", "id", true, "user.slice", "hako-c1.scope", ""},
		{"default, root", "", "c1", false, "system.slice", "hako-c1.scope", ""},
		{"default, rootless", "", "c1", true, "user.slice", "hako-c1.scope", ""},
		{"default escapes +", "", "a+b", false, "system.slice", `hako-a\x2bb.scope`, ""},
		{"default keeps _ . -", "", "a_b.c-d", false, "system.slice", "hako-a_b.c-d.scope", ""},
		{"default without id", "", "", false, "", "", "no container ID"},
		{"default id too long", "", long, false, "", "", "more than systemd's 255"},
		{"cgroupfs path", "/hako/c1", "id", false, "", "", "is not of the form slice:prefix:name"},
		{"relative path", "hako/c1", "id", false, "", "", "is not of the form slice:prefix:name"},
		{"two parts", "system.slice:c1", "id", false, "", "", "is not of the form slice:prefix:name"},
		{"four parts", "a.slice:b:c:d", "id", false, "", "", "is not of the form slice:prefix:name"},
		{"slice without suffix", "system:hako:c1", "id", false, "", "", `slice "system" is not a slice unit name`},
		{"slice with slash", "a/b.slice:hako:c1", "id", false, "", "", "character '/'"},
		{"slice with double dash", "a--b.slice:hako:c1", "id", false, "", "", "not a valid slice name"},
		{"slice starting with dash", "-a.slice:hako:c1", "id", false, "", "", "not a valid slice name"},
		{"slice ending with dash", "a-.slice:hako:c1", "id", false, "", "", "not a valid slice name"},
		{"empty name", "system.slice:hako:", "id", false, "", "", "empty name"},
		{"slice unit refused", "system.slice::kubepods.slice", "id", false, "", "", "names a slice unit"},
		{"bad name char", "system.slice:hako:a/b", "id", false, "", "", "character '/'"},
		{"template char", "system.slice:hako:a@b", "id", false, "", "", "character '@'"},
		{"plus in explicit name", "system.slice:hako:a+b", "id", false, "", "", "character '+'"},
		{"name too long", "system.slice:hako:" + long, "id", false, "", "", "more than systemd's 255"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			slice, unit, err := ParsePath(tt.cgroupsPath, tt.id, tt.rootless)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParsePath(%q, %q, %v) = %q, %q, %v; want error containing %q", tt.cgroupsPath, tt.id, tt.rootless, slice, unit, err, tt.err)
				}
				return
			}
			if err != nil || slice != tt.slice || unit != tt.unit {
				t.Fatalf("ParsePath(%q, %q, %v) = %q, %q, %v; want %q, %q", tt.cgroupsPath, tt.id, tt.rootless, slice, unit, err, tt.slice, tt.unit)
			}
		})
	}
}

func TestSliceCgroup(t *testing.T) {
	tests := []struct{ slice, want string }{
		{"-.slice", "/"},
		{"system.slice", "/system.slice"},
		{"user-1000.slice", "/user.slice/user-1000.slice"},
		{"a-b-c.slice", "/a.slice/a-b.slice/a-b-c.slice"},
		{"machine-pods-x_y.slice", "/machine.slice/machine-pods.slice/machine-pods-x_y.slice"},
	}
	for _, tt := range tests {
		got, err := sliceCgroup(tt.slice)
		if err != nil || got != tt.want {
			t.Errorf("sliceCgroup(%q) = %q, %v; want %q", tt.slice, got, err, tt.want)
		}
	}
	for _, bad := range []string{"", ".slice", "system", "a--b.slice", "-a.slice", "a-.slice", "a b.slice"} {
		if got, err := sliceCgroup(bad); err == nil {
			t.Errorf("sliceCgroup(%q) = %q, want an error", bad, got)
		}
	}
}

func TestUnitPath(t *testing.T) {
	tests := []struct{ unit, want string }{
		{"hako-c1.scope", "/org/freedesktop/systemd1/unit/hako_2dc1_2escope"},
		{"user@1001.service", "/org/freedesktop/systemd1/unit/user_401001_2eservice"},
		{"1x.scope", "/org/freedesktop/systemd1/unit/_31x_2escope"},
		{`hako-a\x2bb.scope`, "/org/freedesktop/systemd1/unit/hako_2da_5cx2bb_2escope"},
		{"", "/org/freedesktop/systemd1/unit/_"},
	}
	for _, tt := range tests {
		if got := unitPath(tt.unit); string(got) != tt.want {
			t.Errorf("unitPath(%q) = %q, want %q", tt.unit, got, tt.want)
		}
	}
}
