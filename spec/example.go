package spec

import (
	"slices"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Example returns the default configuration `hako spec` writes: a shell in
// a read-only rootfs/ with the usual pseudo-filesystems, a small set of
// capabilities and new pid, network, ipc, uts, mount and cgroup namespaces.
// Every call returns a fresh value the caller may modify.
//
// Unlike runc's default, process.terminal is false, so that `hako run`
// works without a terminal (in scripts, CI, over a pipe); set it to true
// for an interactive shell.
func Example() *specs.Spec {
	caps := []string{"CAP_AUDIT_WRITE", "CAP_KILL", "CAP_NET_BIND_SERVICE"}
	return &specs.Spec{
		Version: specs.Version,
		Process: &specs.Process{
			Terminal: false,
			User:     specs.User{UID: 0, GID: 0},
			Args:     []string{"sh"},
			Env: []string{
				"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
				"TERM=xterm",
			},
			Cwd: "/",
			Capabilities: &specs.LinuxCapabilities{
				Bounding:  slices.Clone(caps),
				Effective: slices.Clone(caps),
				Permitted: slices.Clone(caps),
			},
			Rlimits: []specs.POSIXRlimit{
				{Type: "RLIMIT_NOFILE", Hard: 1024, Soft: 1024},
			},
			NoNewPrivileges: true,
		},
		Root:     &specs.Root{Path: "rootfs", Readonly: true},
		Hostname: "hako",
		Mounts: []specs.Mount{
			{Destination: "/proc", Type: "proc", Source: "proc"},
			{Destination: "/dev", Type: "tmpfs", Source: "tmpfs",
				Options: []string{"nosuid", "strictatime", "mode=755", "size=65536k"}},
			{Destination: "/dev/pts", Type: "devpts", Source: "devpts",
				Options: []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}},
			{Destination: "/dev/shm", Type: "tmpfs", Source: "shm",
				Options: []string{"nosuid", "noexec", "nodev", "mode=1777", "size=65536k"}},
			{Destination: "/dev/mqueue", Type: "mqueue", Source: "mqueue",
				Options: []string{"nosuid", "noexec", "nodev"}},
			{Destination: "/sys", Type: "sysfs", Source: "sysfs",
				Options: []string{"nosuid", "noexec", "nodev", "ro"}},
			{Destination: "/sys/fs/cgroup", Type: "cgroup", Source: "cgroup",
				Options: []string{"nosuid", "noexec", "nodev", "relatime", "ro"}},
		},
		Linux: &specs.Linux{
			Namespaces: []specs.LinuxNamespace{
				{Type: specs.PIDNamespace},
				{Type: specs.NetworkNamespace},
				{Type: specs.IPCNamespace},
				{Type: specs.UTSNamespace},
				{Type: specs.MountNamespace},
				{Type: specs.CgroupNamespace},
			},
			MaskedPaths: []string{
				"/proc/acpi",
				"/proc/asound",
				"/proc/kcore",
				"/proc/keys",
				"/proc/latency_stats",
				"/proc/timer_list",
				"/proc/timer_stats",
				"/proc/sched_debug",
				"/sys/firmware",
				"/proc/scsi",
				"/sys/devices/virtual/powercap",
			},
			ReadonlyPaths: []string{
				"/proc/bus",
				"/proc/fs",
				"/proc/irq",
				"/proc/sys",
				"/proc/sysrq-trigger",
			},
		},
	}
}

// RootlessMapping describes the IDs a non-root user may use: the user's own
// UID and GID, and the subordinate ranges from /etc/subuid and /etc/subgid
// (only HostID and Size of those are used; ContainerID is ignored).
type RootlessMapping struct {
	UID, GID         uint32
	SubUIDs, SubGIDs []specs.LinuxIDMapping
}

// Rootless adapts a spec (normally from Example) for a non-root user:
//
//   - a new user namespace in which container ID 0 is the user and the
//     subordinate ranges follow consecutively from container ID 1;
//   - /sys is a read-only recursive bind of the host's /sys instead of a new
//     sysfs mount;
//   - the devpts gid=5 option is dropped when container GID 5 is not mapped
//     (the kernel refuses to mount with an unmapped gid);
//   - no cgroup resources, which a user may not be delegated.
//
// Unlike runc's rootless spec, the new network namespace is kept: creating
// one inside the user namespace needs no privilege on the host, and it
// isolates the container with only a loopback interface instead of sharing
// the host's network. The cgroup namespace and mount are kept too; they
// need no privilege either.
func Rootless(s *specs.Spec, m RootlessMapping) {
	if s.Linux == nil {
		s.Linux = &specs.Linux{}
	}
	l := s.Linux
	if i := namespaceIndex(l, specs.UserNamespace); i < 0 {
		l.Namespaces = append(l.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
	} else {
		l.Namespaces[i].Path = ""
	}
	l.UIDMappings = rootlessMappings(m.UID, m.SubUIDs)
	l.GIDMappings = rootlessMappings(m.GID, m.SubGIDs)
	l.Resources = nil

	gid5 := mapsContainerID(l.GIDMappings, 5)
	for i := range s.Mounts {
		mnt := &s.Mounts[i]
		switch {
		case mnt.Type == "sysfs":
			*mnt = specs.Mount{
				Destination: mnt.Destination,
				Type:        "bind",
				Source:      "/sys",
				Options:     []string{"rbind", "nosuid", "noexec", "nodev", "ro"},
			}
		case mnt.Type == "devpts" && !gid5:
			mnt.Options = slices.DeleteFunc(slices.Clone(mnt.Options), func(o string) bool { return o == "gid=5" })
		}
	}
}

// rootlessMappings maps container ID 0 to id and the ranges after it.
// Ranges that would pass the last valid ID (2^32-2) are cut short.
func rootlessMappings(id uint32, sub []specs.LinuxIDMapping) []specs.LinuxIDMapping {
	maps := []specs.LinuxIDMapping{{ContainerID: 0, HostID: id, Size: 1}}
	const end = uint64(1)<<32 - 1 // first ID past the last valid one
	next := uint64(1)
	for _, r := range sub {
		size := min(uint64(r.Size), end-next)
		if size == 0 {
			continue
		}
		maps = append(maps, specs.LinuxIDMapping{ContainerID: uint32(next), HostID: r.HostID, Size: uint32(size)})
		next += size
	}
	return maps
}

func mapsContainerID(maps []specs.LinuxIDMapping, id uint32) bool {
	for _, m := range maps {
		if uint64(m.ContainerID) <= uint64(id) && uint64(id) < uint64(m.ContainerID)+uint64(m.Size) {
			return true
		}
	}
	return false
}
