package spec

import (
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"github.com/opencontainers/runtime-spec/specs-go/features"
)

// mountOptions lists the mount options hako's mount code understands.
// Filesystem-specific data options (mode=, size=, ...) are passed through
// to the kernel and are not listed, as runtime-spec's features document
// prescribes.
var mountOptions = []string{
	"defaults", "rw", "ro", "suid", "nosuid", "dev", "nodev", "exec", "noexec",
	"sync", "async", "dirsync", "remount", "mand", "nomand",
	"atime", "noatime", "diratime", "nodiratime", "bind", "rbind",
	"relatime", "norelatime", "strictatime", "nostrictatime",
	"lazytime", "nolazytime", "silent", "loud",
	"shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable",
	"tmpcopyup", "idmap", "ridmap",
	"rro", "rrw", "rnosuid", "rsuid", "rnodev", "rdev", "rnoexec", "rexec",
	"rnoatime", "ratime", "rnodiratime", "rdiratime", "rrelatime", "rnorelatime",
	"rstrictatime", "rnostrictatime",
	"nosymfollow", "rnosymfollow", "symfollow", "rsymfollow",
}

// Features returns the runtime-spec features document (`hako features`)
// describing what this build of hako supports. Every call returns a fresh
// value.
func Features() *features.Features {
	t := func() *bool { b := true; return &b }
	f := func() *bool { b := false; return &b }
	return &features.Features{
		OCIVersionMin: "1.0.0",
		OCIVersionMax: specs.Version,
		Hooks: []string{
			"prestart", "createRuntime", "createContainer",
			"startContainer", "poststart", "poststop",
		},
		MountOptions: append([]string(nil), mountOptions...),
		Linux: &features.Linux{
			Namespaces: []string{
				string(specs.CgroupNamespace), string(specs.IPCNamespace),
				string(specs.MountNamespace), string(specs.NetworkNamespace),
				string(specs.PIDNamespace), string(specs.TimeNamespace),
				string(specs.UserNamespace), string(specs.UTSNamespace),
			},
			Capabilities: KnownCapabilities(),
			// No cgroup driver yet (the cgroup issue brings the v2 fs
			// and systemd drivers): say so rather than promise it.
			Cgroup: &features.Cgroup{
				V1:          f(),
				V2:          f(),
				Systemd:     f(),
				SystemdUser: f(),
				Rdma:        f(),
			},
			Seccomp: &features.Seccomp{
				Enabled: t(),
				// Actions, operators, archs and flags come from package
				// seccomp, which needs cgo: cmd/hako fills them in.
			},
			Apparmor: &features.Apparmor{Enabled: f()},
			Selinux:  &features.Selinux{Enabled: f()},
			IntelRdt: &features.IntelRdt{Enabled: f()},
			MountExtensions: &features.MountExtensions{
				IDMap: &features.IDMap{Enabled: t()},
			},
			NetDevices: &features.NetDevices{Enabled: f()},
		},
	}
}
