package spec

import (
	"encoding/json"
	"slices"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

func TestFeatures(t *testing.T) {
	f := Features()
	data, err := json.Marshal(f)
	if err != nil {
		t.Fatal(err)
	}
	var back features.Features
	if err := json.Unmarshal(data, &back); err != nil {
		t.Fatal(err)
	}
	if back.OCIVersionMin != "1.0.0" || back.OCIVersionMax != specs.Version {
		t.Errorf("versions %s..%s", back.OCIVersionMin, back.OCIVersionMax)
	}
	if len(back.Hooks) != 6 {
		t.Errorf("hooks %v", back.Hooks)
	}
	for _, o := range []string{"defaults", "rbind", "idmap", "ridmap", "rro", "nosymfollow", "rsymfollow", "tmpcopyup", "runbindable"} {
		if !slices.Contains(back.MountOptions, o) {
			t.Errorf("mount option %q missing", o)
		}
	}
	seen := map[string]bool{}
	for _, o := range back.MountOptions {
		if seen[o] {
			t.Errorf("mount option %q listed twice", o)
		}
		seen[o] = true
	}
	l := back.Linux
	if l == nil {
		t.Fatal("no linux section")
	}
	if len(l.Namespaces) != 8 {
		t.Errorf("namespaces %v", l.Namespaces)
	}
	for _, ns := range l.Namespaces {
		if _, ok := procNSName[specs.LinuxNamespaceType(ns)]; !ok {
			t.Errorf("unknown namespace %q", ns)
		}
	}
	if !slices.Equal(l.Capabilities, KnownCapabilities()) {
		t.Error("capabilities differ from KnownCapabilities")
	}
	is := func(name string, b *bool, want bool) {
		t.Helper()
		if b == nil || *b != want {
			t.Errorf("%s = %v, want %v", name, b, want)
		}
	}
	is("cgroup.v1", l.Cgroup.V1, false)
	is("cgroup.v2", l.Cgroup.V2, false)
	is("cgroup.systemd", l.Cgroup.Systemd, false)
	is("cgroup.systemdUser", l.Cgroup.SystemdUser, false)
	is("cgroup.rdma", l.Cgroup.Rdma, false)
	is("seccomp.enabled", l.Seccomp.Enabled, true)
	is("apparmor.enabled", l.Apparmor.Enabled, false)
	is("selinux.enabled", l.Selinux.Enabled, false)
	is("intelRdt.enabled", l.IntelRdt.Enabled, false)
	is("mountExtensions.idmap.enabled", l.MountExtensions.IDMap.Enabled, true)
	is("netDevices.enabled", l.NetDevices.Enabled, false)

	// Fresh values each call.
	f.MountOptions[0] = "x"
	*f.Linux.Seccomp.Enabled = false
	g := Features()
	if g.MountOptions[0] != "defaults" || !*g.Linux.Seccomp.Enabled {
		t.Error("Features shares storage between calls")
	}
}

func TestFeaturesJSONShape(t *testing.T) {
	data, err := json.Marshal(Features())
	if err != nil {
		t.Fatal(err)
	}
	var raw map[string]any
	if err := json.Unmarshal(data, &raw); err != nil {
		t.Fatal(err)
	}
	for _, k := range []string{"ociVersionMin", "ociVersionMax", "hooks", "mountOptions", "linux"} {
		if _, ok := raw[k]; !ok {
			t.Errorf("key %q missing from %s", k, data)
		}
	}
	if _, ok := raw["annotations"]; ok {
		t.Error("annotations present")
	}
	linux := raw["linux"].(map[string]any)
	if cg := linux["cgroup"].(map[string]any); cg["v1"] != false {
		t.Errorf("cgroup.v1 = %v, want explicit false", cg["v1"])
	}
}
