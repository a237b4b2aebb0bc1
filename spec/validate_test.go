package spec

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// newBundle returns a bundle directory with an empty rootfs/.
func newBundle(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, "rootfs"), 0o755); err != nil {
		t.Fatal(err)
	}
	return dir
}

func ptr[T any](v T) *T { return &v }

// setNS replaces (or adds) the namespace of type t.
func setNS(s *specs.Spec, t specs.LinuxNamespaceType, path string) {
	if i := namespaceIndex(s.Linux, t); i >= 0 {
		s.Linux.Namespaces[i].Path = path
		return
	}
	s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: t, Path: path})
}

func dropNS(s *specs.Spec, t specs.LinuxNamespaceType) {
	if i := namespaceIndex(s.Linux, t); i >= 0 {
		s.Linux.Namespaces = append(s.Linux.Namespaces[:i], s.Linux.Namespaces[i+1:]...)
	}
}

type validateCase struct {
	name   string
	mutate func(s *specs.Spec)
	want   string // substring of the error; "" means valid
}

func runValidateCases(t *testing.T, tests []validateCase) {
	t.Helper()
	bundle := newBundle(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := Example()
			if tc.mutate != nil {
				tc.mutate(s)
			}
			err := Validate(s, bundle)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("Validate: %v", err)
				}
				return
			}
			if err == nil {
				t.Fatalf("Validate succeeded, want error containing %q", tc.want)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error is not one line: %q", err)
			}
			if !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %q does not contain %q", err, tc.want)
			}
		})
	}
}

func TestValidateNil(t *testing.T) {
	if err := Validate(nil, t.TempDir()); err == nil {
		t.Fatal("Validate(nil) succeeded")
	}
}

func TestValidateVersionAndRoot(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "example is valid"},
		{name: "version 1.0.0", mutate: func(s *specs.Spec) { s.Version = "1.0.0" }},
		{name: "version with suffix", mutate: func(s *specs.Spec) { s.Version = "1.0.2-dev" }},
		{name: "newer minor", mutate: func(s *specs.Spec) { s.Version = "1.9.0" }},
		{name: "version missing", mutate: func(s *specs.Spec) { s.Version = "" }, want: "ociVersion: missing"},
		{name: "version 2", mutate: func(s *specs.Spec) { s.Version = "2.0.0" }, want: `ociVersion: unsupported version "2.0.0"`},
		{name: "version 0.x", mutate: func(s *specs.Spec) { s.Version = "0.5.0" }, want: `ociVersion: unsupported version "0.5.0"`},
		{name: "version garbage", mutate: func(s *specs.Spec) { s.Version = "one" }, want: `ociVersion: unsupported version "one"`},
		{name: "version major only", mutate: func(s *specs.Spec) { s.Version = "1" }, want: `ociVersion: unsupported version "1"`},
		{name: "root missing", mutate: func(s *specs.Spec) { s.Root = nil }, want: "root: missing"},
		{name: "root path empty", mutate: func(s *specs.Spec) { s.Root.Path = "" }, want: "root.path: must not be empty"},
		{name: "rootfs missing", mutate: func(s *specs.Spec) { s.Root.Path = "nope" }, want: "root.path: rootfs: stat "},
		{name: "rootfs missing names path", mutate: func(s *specs.Spec) { s.Root.Path = "nope" }, want: "nope: no such file or directory"},
		{name: "rootfs relative with dot", mutate: func(s *specs.Spec) { s.Root.Path = "./rootfs" }},
		{name: "linux missing", mutate: func(s *specs.Spec) { s.Linux = nil; s.Hostname = "" }, want: "linux: missing"},
	})
}

func TestValidateRootfsAbsoluteAndFile(t *testing.T) {
	bundle := newBundle(t)
	s := Example()
	s.Root.Path = filepath.Join(bundle, "rootfs")
	if err := Validate(s, "/nonexistent-bundle"); err != nil {
		t.Errorf("absolute rootfs: %v", err)
	}
	file := filepath.Join(bundle, "file")
	if err := os.WriteFile(file, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	s.Root.Path = "file"
	err := Validate(s, bundle)
	if err == nil || !strings.Contains(err.Error(), "root.path: rootfs "+file+" is not a directory") {
		t.Errorf("rootfs is a file: got %v", err)
	}
}

func TestValidateProcess(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "no process", mutate: func(s *specs.Spec) { s.Process = nil }},
		{name: "args empty", mutate: func(s *specs.Spec) { s.Process.Args = nil }, want: "process.args: must not be empty"},
		{name: "args NUL", mutate: func(s *specs.Spec) { s.Process.Args = []string{"sh", "a\x00b"} }, want: "process.args[1]: contains a NUL byte"},
		{name: "cwd relative", mutate: func(s *specs.Spec) { s.Process.Cwd = "tmp" }, want: `process.cwd: must be an absolute path, got "tmp"`},
		{name: "cwd empty", mutate: func(s *specs.Spec) { s.Process.Cwd = "" }, want: `process.cwd: must be an absolute path, got ""`},
		{name: "env ok with empty value", mutate: func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "EMPTY=", "A=b=c") }},
		{name: "env without =", mutate: func(s *specs.Spec) { s.Process.Env = append(s.Process.Env, "FOO") }, want: `process.env[2]: "FOO" is not of the form NAME=value`},
		{name: "env empty name", mutate: func(s *specs.Spec) { s.Process.Env = []string{"=x"} }, want: `process.env[0]: "=x" is not of the form`},
		{name: "env NUL", mutate: func(s *specs.Spec) { s.Process.Env = []string{"A=x\x00y"} }, want: "process.env[0]: A contains a NUL byte"},
		{name: "user ids", mutate: func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{5, 10}, Umask: ptr(uint32(0o022))}
		}},
		{name: "uid -1", mutate: func(s *specs.Spec) { s.Process.User.UID = ^uint32(0) }, want: "process.user.uid: 4294967295 is not a valid user ID"},
		{name: "gid -1", mutate: func(s *specs.Spec) { s.Process.User.GID = ^uint32(0) }, want: "process.user.gid: 4294967295"},
		{name: "additional gid -1", mutate: func(s *specs.Spec) { s.Process.User.AdditionalGids = []uint32{1, ^uint32(0)} }, want: "process.user.additionalGids[1]"},
		{name: "umask too big", mutate: func(s *specs.Spec) { s.Process.User.Umask = ptr(uint32(0o1022)) }, want: "process.user.umask: 01022"},
		{name: "oomScoreAdj bounds", mutate: func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1000) }},
		{name: "oomScoreAdj max", mutate: func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(1000) }},
		{name: "oomScoreAdj too high", mutate: func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(1001) }, want: "process.oomScoreAdj: 1001 is outside -1000..1000"},
		{name: "oomScoreAdj too low", mutate: func(s *specs.Spec) { s.Process.OOMScoreAdj = ptr(-1001) }, want: "process.oomScoreAdj: -1001"},
		{name: "cpu affinity ok", mutate: func(s *specs.Spec) {
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "0-3,7", Final: "1"}
		}},
		{name: "cpu affinity initial bad", mutate: func(s *specs.Spec) {
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Initial: "3-1"}
		}, want: `process.execCPUAffinity.initial: invalid CPU list "3-1"`},
		{name: "cpu affinity final bad", mutate: func(s *specs.Spec) {
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0,,1"}
		}, want: "process.execCPUAffinity.final:"},
		{name: "cpu affinity open range", mutate: func(s *specs.Spec) {
			s.Process.ExecCPUAffinity = &specs.CPUAffinity{Final: "0-"}
		}, want: "process.execCPUAffinity.final:"},
	})
}

func TestValidateCapabilities(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "all known", mutate: func(s *specs.Spec) {
			all := KnownCapabilities()
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: all, Effective: all, Inheritable: all, Permitted: all, Ambient: all}
		}},
		{name: "lower case", mutate: func(s *specs.Spec) { s.Process.Capabilities.Effective = []string{"cap_kill"} }},
		{name: "nil capabilities", mutate: func(s *specs.Spec) { s.Process.Capabilities = nil }},
		{name: "bounding", mutate: func(s *specs.Spec) { s.Process.Capabilities.Bounding = []string{"CAP_KILL", "CAP_FOO"} },
			want: `process.capabilities.bounding: unknown capability "CAP_FOO"`},
		{name: "effective", mutate: func(s *specs.Spec) { s.Process.Capabilities.Effective = []string{"SYS_ADMIN"} },
			want: `process.capabilities.effective: unknown capability "SYS_ADMIN"`},
		{name: "inheritable", mutate: func(s *specs.Spec) { s.Process.Capabilities.Inheritable = []string{"Cap_Kill"} },
			want: `process.capabilities.inheritable: unknown capability "Cap_Kill"`},
		{name: "permitted", mutate: func(s *specs.Spec) { s.Process.Capabilities.Permitted = []string{""} },
			want: `process.capabilities.permitted: unknown capability ""`},
		{name: "ambient", mutate: func(s *specs.Spec) { s.Process.Capabilities.Ambient = []string{"CAP_LAST_CAP"} },
			want: `process.capabilities.ambient: unknown capability "CAP_LAST_CAP"`},
	})
}

func TestValidateRlimits(t *testing.T) {
	rl := func(rls ...specs.POSIXRlimit) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Process.Rlimits = rls }
	}
	runValidateCases(t, []validateCase{
		{name: "several", mutate: rl(
			specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1024, Hard: 4096},
			specs.POSIXRlimit{Type: "RLIMIT_CORE", Soft: 0, Hard: ^uint64(0)},
			specs.POSIXRlimit{Type: "RLIMIT_STACK", Soft: ^uint64(0), Hard: ^uint64(0)},
		)},
		{name: "unknown", mutate: rl(specs.POSIXRlimit{Type: "RLIMIT_FOO"}), want: `process.rlimits[0].type: unknown rlimit "RLIMIT_FOO"`},
		{name: "soft above hard", mutate: rl(specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 2048, Hard: 1024}),
			want: "process.rlimits[0]: soft limit 2048 exceeds hard limit 1024 for RLIMIT_NOFILE"},
		{name: "duplicate", mutate: rl(
			specs.POSIXRlimit{Type: "RLIMIT_NOFILE", Soft: 1, Hard: 1},
			specs.POSIXRlimit{Type: "RLIMIT_CPU", Soft: 1, Hard: 1},
			specs.POSIXRlimit{Type: "rlimit_nofile", Soft: 1, Hard: 1},
		), want: "process.rlimits[2].type: duplicate rlimit_nofile (also process.rlimits[0])"},
	})
}

func TestValidateScheduler(t *testing.T) {
	sched := func(sc specs.Scheduler) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Process.Scheduler = &sc }
	}
	runValidateCases(t, []validateCase{
		{name: "other with nice", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: -20})},
		{name: "batch", mutate: sched(specs.Scheduler{Policy: specs.SchedBatch, Nice: 19})},
		{name: "iso", mutate: sched(specs.Scheduler{Policy: specs.SchedISO})},
		{name: "idle", mutate: sched(specs.Scheduler{Policy: specs.SchedIdle})},
		{name: "fifo", mutate: sched(specs.Scheduler{Policy: specs.SchedFIFO, Priority: 1})},
		{name: "rr with flags", mutate: sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 99, Flags: []specs.LinuxSchedulerFlag{
			specs.SchedFlagResetOnFork, specs.SchedFlagReclaim, specs.SchedFlagDLOverrun, specs.SchedFlagKeepPolicy,
			specs.SchedFlagKeepParams, specs.SchedFlagUtilClampMin, specs.SchedFlagUtilClampMax,
		}})},
		{name: "deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 10_000_000, Deadline: 20_000_000, Period: 30_000_000})},
		{name: "deadline without period", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 100, Deadline: 100})},
		{name: "policy missing", mutate: sched(specs.Scheduler{}), want: "process.scheduler.policy: must be set"},
		{name: "policy unknown", mutate: sched(specs.Scheduler{Policy: "SCHED_FAST"}), want: `process.scheduler.policy: unknown policy "SCHED_FAST"`},
		{name: "nice too low", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: -21}), want: "process.scheduler.nice: -21 is outside -20..19"},
		{name: "nice too high", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Nice: 20}), want: "process.scheduler.nice: 20"},
		{name: "fifo priority 0", mutate: sched(specs.Scheduler{Policy: specs.SchedFIFO}), want: "process.scheduler.priority: 0 is outside 1..99 for SCHED_FIFO"},
		{name: "rr priority 100", mutate: sched(specs.Scheduler{Policy: specs.SchedRR, Priority: 100}), want: "process.scheduler.priority: 100 is outside 1..99 for SCHED_RR"},
		{name: "other with priority", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Priority: 5}), want: "process.scheduler.priority: must be 0 for SCHED_OTHER, got 5"},
		{name: "unknown flag", mutate: sched(specs.Scheduler{Policy: specs.SchedOther, Flags: []specs.LinuxSchedulerFlag{specs.SchedFlagReclaim, "SCHED_FLAG_X"}}),
			want: `process.scheduler.flags[1]: unknown flag "SCHED_FLAG_X"`},
		{name: "deadline missing", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 5}), want: "process.scheduler.deadline: must be set for SCHED_DEADLINE"},
		{name: "runtime above deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 20, Deadline: 10}), want: "process.scheduler.runtime: 20 exceeds deadline 10"},
		{name: "period below deadline", mutate: sched(specs.Scheduler{Policy: specs.SchedDeadline, Runtime: 5, Deadline: 10, Period: 8}), want: "process.scheduler.period: 8 is less than deadline 10"},
	})
}

func TestValidateIOPriority(t *testing.T) {
	iop := func(c specs.IOPriorityClass, p int) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Process.IOPriority = &specs.LinuxIOPriority{Class: c, Priority: p} }
	}
	runValidateCases(t, []validateCase{
		{name: "rt", mutate: iop(specs.IOPRIO_CLASS_RT, 0)},
		{name: "be", mutate: iop(specs.IOPRIO_CLASS_BE, 7)},
		{name: "idle", mutate: iop(specs.IOPRIO_CLASS_IDLE, 4)},
		{name: "unknown class", mutate: iop("IOPRIO_CLASS_NONE", 0), want: `process.ioPriority.class: unknown class "IOPRIO_CLASS_NONE"`},
		{name: "empty class", mutate: iop("", 0), want: `process.ioPriority.class: unknown class ""`},
		{name: "priority 8", mutate: iop(specs.IOPRIO_CLASS_BE, 8), want: "process.ioPriority.priority: 8 is outside 0..7"},
		{name: "priority -1", mutate: iop(specs.IOPRIO_CLASS_BE, -1), want: "process.ioPriority.priority: -1"},
	})
}

func TestValidateUTS(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "hostname with new uts"},
		{name: "domainname with new uts", mutate: func(s *specs.Spec) { s.Domainname = "example.org" }},
		{name: "no hostname without uts", mutate: func(s *specs.Spec) { s.Hostname = ""; dropNS(s, specs.UTSNamespace) }},
		{name: "hostname without uts", mutate: func(s *specs.Spec) { dropNS(s, specs.UTSNamespace) },
			want: "hostname: requires a uts namespace in linux.namespaces"},
		{name: "domainname without uts", mutate: func(s *specs.Spec) {
			s.Hostname = ""
			s.Domainname = "example.org"
			dropNS(s, specs.UTSNamespace)
		}, want: "domainname: requires a uts namespace"},
		{name: "hostname in joined uts", mutate: func(s *specs.Spec) { setNS(s, specs.UTSNamespace, "/run/pod/uts") }},
	})
}

func TestValidateHostNamespaceJoin(t *testing.T) {
	// Joining the runtime's own namespace by path does not give the
	// container a namespace of its own.
	for _, ns := range []string{"uts", "net"} {
		if _, err := os.Stat("/proc/self/ns/" + ns); err != nil {
			t.Skipf("no /proc/self/ns/%s: %v", ns, err)
		}
	}
	runValidateCases(t, []validateCase{
		{name: "hostname in runtime's uts", mutate: func(s *specs.Spec) { setNS(s, specs.UTSNamespace, "/proc/self/ns/uts") },
			want: "hostname: linux.namespaces[3] joins the runtime's own uts namespace (/proc/self/ns/uts)"},
		{name: "net sysctl in runtime's netns", mutate: func(s *specs.Spec) {
			setNS(s, specs.NetworkNamespace, "/proc/self/ns/net")
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}, want: `linux.sysctl["net.ipv4.ip_forward"]: linux.namespaces[1] joins the runtime's own network namespace`},
		{name: "net sysctl in other netns", mutate: func(s *specs.Spec) {
			// Any namespace file that is not our netns will do.
			setNS(s, specs.NetworkNamespace, "/proc/self/ns/uts")
			s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1"}
		}},
		{name: "namespace path that does not exist", mutate: func(s *specs.Spec) {
			setNS(s, specs.NetworkNamespace, "/nonexistent/netns")
			s.Linux.Sysctl = map[string]string{"net.core.somaxconn": "1024"}
		}},
	})
}

func TestValidateNamespaces(t *testing.T) {
	runValidateCases(t, []validateCase{
		{name: "all types", mutate: func(s *specs.Spec) {
			setNS(s, specs.UserNamespace, "")
			setNS(s, specs.TimeNamespace, "")
		}},
		{name: "joined by path", mutate: func(s *specs.Spec) { setNS(s, specs.NetworkNamespace, "/var/run/netns/x") }},
		{name: "unknown type", mutate: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "foo"})
		}, want: `linux.namespaces[6].type: unknown namespace type "foo"`},
		{name: "empty type", mutate: func(s *specs.Spec) { s.Linux.Namespaces[2].Type = "" },
			want: `linux.namespaces[2].type: unknown namespace type ""`},
		{name: "duplicate", mutate: func(s *specs.Spec) {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: "pid", Path: "/proc/1/ns/pid"})
		}, want: "linux.namespaces[6].type: duplicate pid namespace (also linux.namespaces[0])"},
		{name: "relative path", mutate: func(s *specs.Spec) { setNS(s, specs.IPCNamespace, "ns/ipc") },
			want: `linux.namespaces[2].path: "ns/ipc" is not an absolute path`},
		// Inherited from the runtime (config-linux.md, Namespaces).
		{name: "no mount namespace", mutate: func(s *specs.Spec) { dropNS(s, specs.MountNamespace) }},
		{name: "no namespace at all", mutate: func(s *specs.Spec) { s.Linux.Namespaces = nil; s.Hostname = "" }},
	})
}

func TestValidateIDMappings(t *testing.T) {
	m := func(c, h, n uint32) specs.LinuxIDMapping {
		return specs.LinuxIDMapping{ContainerID: c, HostID: h, Size: n}
	}
	withUserNS := func(uids, gids []specs.LinuxIDMapping) func(*specs.Spec) {
		return func(s *specs.Spec) {
			setNS(s, specs.UserNamespace, "")
			s.Linux.UIDMappings = uids
			s.Linux.GIDMappings = gids
		}
	}
	many := make([]specs.LinuxIDMapping, maxIDRanges+1)
	for i := range many {
		many[i] = m(uint32(i), uint32(1000+i), 1)
	}
	runValidateCases(t, []validateCase{
		{name: "new user namespace without mappings", mutate: withUserNS(nil, nil)},
		{name: "rootless style", mutate: withUserNS(
			[]specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)},
			[]specs.LinuxIDMapping{m(0, 1000, 1), m(1, 100000, 65536)})},
		{name: "whole ID space", mutate: withUserNS([]specs.LinuxIDMapping{m(0, 0, ^uint32(0))}, nil)},
		{name: "max ranges", mutate: withUserNS(many[:maxIDRanges], nil)},
		{name: "joined user namespace with mappings", mutate: func(s *specs.Spec) {
			setNS(s, specs.UserNamespace, "/proc/1234/ns/user")
			s.Linux.UIDMappings = []specs.LinuxIDMapping{m(0, 1000, 1)}
		}},
		{name: "uid mappings without user namespace", mutate: func(s *specs.Spec) {
			s.Linux.UIDMappings = []specs.LinuxIDMapping{m(0, 1000, 1)}
		}, want: "linux.uidMappings: requires a user namespace in linux.namespaces"},
		{name: "gid mappings without user namespace", mutate: func(s *specs.Spec) {
			s.Linux.GIDMappings = []specs.LinuxIDMapping{m(0, 1000, 1)}
		}, want: "linux.gidMappings: requires a user namespace"},
		{name: "zero size", mutate: withUserNS([]specs.LinuxIDMapping{m(0, 1000, 1), m(1, 2000, 0)}, nil),
			want: "linux.uidMappings[1].size: must not be 0"},
		{name: "container overflow", mutate: withUserNS(nil, []specs.LinuxIDMapping{m(^uint32(0), 0, 2)}),
			want: "linux.gidMappings[0]: containerID 4294967295 + size 2 exceeds the ID space"},
		{name: "host overflow", mutate: withUserNS([]specs.LinuxIDMapping{m(0, ^uint32(0)-1, 3)}, nil),
			want: "linux.uidMappings[0]: hostID 4294967294 + size 3 exceeds the ID space"},
		{name: "container overlap", mutate: withUserNS([]specs.LinuxIDMapping{m(0, 1000, 10), m(9, 5000, 10)}, nil),
			want: "linux.uidMappings[1]: container IDs overlap linux.uidMappings[0]"},
		{name: "host overlap", mutate: withUserNS([]specs.LinuxIDMapping{m(0, 1000, 10), m(10, 995, 10)}, nil),
			want: "linux.uidMappings[1]: host IDs overlap linux.uidMappings[0]"},
		{name: "too many ranges", mutate: withUserNS(many, nil),
			want: "linux.uidMappings: 341 ranges, the kernel accepts at most 340"},
	})
}

func TestValidateTimeOffsets(t *testing.T) {
	offsets := map[string]specs.LinuxTimeOffset{
		"monotonic": {Secs: -100, Nanosecs: 5},
		"boottime":  {Secs: 86400},
	}
	runValidateCases(t, []validateCase{
		{name: "with new time namespace", mutate: func(s *specs.Spec) {
			setNS(s, specs.TimeNamespace, "")
			s.Linux.TimeOffsets = offsets
		}},
		{name: "time namespace without offsets", mutate: func(s *specs.Spec) { setNS(s, specs.TimeNamespace, "") }},
		{name: "without time namespace", mutate: func(s *specs.Spec) { s.Linux.TimeOffsets = offsets },
			want: "linux.timeOffsets: requires a time namespace in linux.namespaces"},
		{name: "joined time namespace", mutate: func(s *specs.Spec) {
			setNS(s, specs.TimeNamespace, "/proc/1/ns/time")
			s.Linux.TimeOffsets = offsets
		}, want: "linux.timeOffsets: cannot be applied to the existing time namespace linux.namespaces[6] joins"},
		{name: "unknown clock", mutate: func(s *specs.Spec) {
			setNS(s, specs.TimeNamespace, "")
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"realtime": {Secs: 1}}
		}, want: `linux.timeOffsets: unknown clock "realtime"`},
		{name: "nanosecs too large", mutate: func(s *specs.Spec) {
			setNS(s, specs.TimeNamespace, "")
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"boottime": {Nanosecs: 1_000_000_000}}
		}, want: "linux.timeOffsets.boottime.nanosecs: 1000000000 is not below 1000000000"},
	})
}

func TestValidateMounts(t *testing.T) {
	add := func(ms ...specs.Mount) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Mounts = append(s.Mounts, ms...) }
	}
	idm := []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}
	n := len(Example().Mounts)
	runValidateCases(t, []validateCase{
		{name: "bind by type", mutate: add(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv/data"})},
		{name: "bind by option", mutate: add(specs.Mount{Destination: "/data", Type: "none", Source: "data", Options: []string{"rbind", "ro"}})},
		{name: "bind without type", mutate: add(specs.Mount{Destination: "/data", Source: "/srv", Options: []string{"bind"}})},
		{name: "relative destination accepted", mutate: add(specs.Mount{Destination: "tmp", Type: "tmpfs", Source: "tmpfs"})},
		{name: "tmpfs without source", mutate: add(specs.Mount{Destination: "/tmp", Type: "tmpfs"})},
		{name: "idmapped bind", mutate: add(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", Options: []string{"idmap"}, UIDMappings: idm, GIDMappings: idm})},
		{name: "empty destination", mutate: add(specs.Mount{Type: "tmpfs", Source: "tmpfs"}),
			want: "mounts[7].destination: must not be empty"},
		{name: "bind without source", mutate: add(specs.Mount{Destination: "/data", Type: "bind"}),
			want: "mounts[7].source: a bind mount to /data needs a source"},
		{name: "rbind option without source", mutate: add(specs.Mount{Destination: "/data", Options: []string{"rbind"}}),
			want: "mounts[7].source: a bind mount to /data needs a source"},
		{name: "no type and not bind", mutate: add(specs.Mount{Destination: "/data", Source: "/srv"}),
			want: "mounts[7].type: must be set for /data"},
		{name: "uid mappings alone", mutate: add(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", UIDMappings: idm}),
			want: "mounts[7]: uidMappings and gidMappings must be given together"},
		{name: "gid mappings alone", mutate: add(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv", GIDMappings: idm}),
			want: "mounts[7]: uidMappings and gidMappings must be given together"},
		{name: "mappings on non-bind", mutate: add(specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", UIDMappings: idm, GIDMappings: idm}),
			want: "mounts[7]: ID-mapped mounts (uidMappings) are only supported for bind mounts"},
		{name: "bad uid mapping", mutate: add(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv",
			UIDMappings: []specs.LinuxIDMapping{{Size: 0}}, GIDMappings: idm}),
			want: "mounts[7].uidMappings[0].size: must not be 0"},
		{name: "bad gid mapping", mutate: add(specs.Mount{Destination: "/data", Type: "bind", Source: "/srv",
			UIDMappings: idm, GIDMappings: []specs.LinuxIDMapping{{Size: 2}, {ContainerID: 1, HostID: 5, Size: 1}}}),
			want: "mounts[7].gidMappings[1]: container IDs overlap"},
		{name: "index counts existing mounts", mutate: func(s *specs.Spec) { s.Mounts[n-1].Type = "" },
			want: "mounts[6].type: must be set for /sys/fs/cgroup"},
	})
}

func TestValidateDevices(t *testing.T) {
	dev := func(ds ...specs.LinuxDevice) func(*specs.Spec) {
		return func(s *specs.Spec) { s.Linux.Devices = ds }
	}
	runValidateCases(t, []validateCase{
		{name: "char block fifo unbuffered", mutate: dev(
			specs.LinuxDevice{Path: "/dev/fuse", Type: "c", Major: 10, Minor: 229, FileMode: ptr(os.FileMode(0o666)), UID: ptr(uint32(0))},
			specs.LinuxDevice{Path: "/dev/sda", Type: "b", Major: 8},
			specs.LinuxDevice{Path: "/dev/sub/dir/fifo", Type: "p"},
			specs.LinuxDevice{Path: "/dev/u", Type: "u", Major: 4095, Minor: 1<<20 - 1},
		)},
		{name: "relative path", mutate: dev(specs.LinuxDevice{Path: "dev/null", Type: "c", Major: 1, Minor: 3}),
			want: `linux.devices[0].path: "dev/null" is not an absolute path`},
		{name: "outside /dev", mutate: dev(specs.LinuxDevice{Path: "/etc/null", Type: "c", Major: 1, Minor: 3}),
			want: `linux.devices[0].path: "/etc/null" is not under /dev`},
		{name: "escapes /dev", mutate: dev(specs.LinuxDevice{Path: "/dev/../etc/x", Type: "c", Major: 1, Minor: 3}),
			want: `linux.devices[0].path: "/dev/../etc/x" is not under /dev`},
		{name: "/dev itself", mutate: dev(specs.LinuxDevice{Path: "/dev", Type: "c", Major: 1, Minor: 3}),
			want: `linux.devices[0].path: "/dev" is not under /dev`},
		{name: "prefix lookalike", mutate: dev(specs.LinuxDevice{Path: "/devices/x", Type: "c", Major: 1, Minor: 3}),
			want: `is not under /dev`},
		{name: "duplicate", mutate: dev(
			specs.LinuxDevice{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
			specs.LinuxDevice{Path: "/dev//null", Type: "c", Major: 1, Minor: 3},
		), want: "linux.devices[1].path: duplicate /dev/null (also linux.devices[0])"},
		{name: "unknown type", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Type: "x", Major: 1}),
			want: `linux.devices[0].type: unknown device type "x"`},
		{name: "missing type", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Major: 1}),
			want: `linux.devices[0].type: unknown device type ""`},
		{name: "char without numbers", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Type: "c"}),
			want: `linux.devices[0]: /dev/x: major and minor are required for type "c"`},
		{name: "negative major", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Type: "b", Major: -1, Minor: 1}),
			want: "linux.devices[0].major: -1 is outside 0..4095"},
		{name: "major too big", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Type: "b", Major: 4096}),
			want: "linux.devices[0].major: 4096"},
		{name: "minor too big", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Type: "c", Major: 1, Minor: 1 << 20}),
			want: "linux.devices[0].minor: 1048576 is outside 0..1048575"},
		{name: "fileMode with type bits", mutate: dev(specs.LinuxDevice{Path: "/dev/x", Type: "c", Major: 1, Minor: 1, FileMode: ptr(os.FileMode(0o20666))}),
			want: "linux.devices[0].fileMode: 020666 has bits other than permissions"},
	})
}

func TestValidateSysctl(t *testing.T) {
	sysctl := func(kv ...string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			s.Linux.Sysctl = map[string]string{}
			for i := 0; i < len(kv); i += 2 {
				s.Linux.Sysctl[kv[i]] = kv[i+1]
			}
		}
	}
	without := func(t specs.LinuxNamespaceType, kv ...string) func(*specs.Spec) {
		return func(s *specs.Spec) {
			sysctl(kv...)(s)
			dropNS(s, t)
			if t == specs.UTSNamespace {
				s.Hostname = ""
			}
		}
	}
	runValidateCases(t, []validateCase{
		{name: "namespaced keys", mutate: sysctl(
			"net.ipv4.ip_forward", "1",
			"net/ipv4/conf/eth0.100/forwarding", "1",
			"kernel.shmmax", "1",
			"kernel.shmall", "1",
			"kernel.shm_rmid_forced", "1",
			"kernel.msgmax", "1",
			"kernel.msg_next_id", "1",
			"kernel.sem", "250 32000 32 128",
			"kernel.sem_next_id", "1",
			"fs.mqueue.msg_max", "10",
			"kernel.hostname", "h",
			"kernel.domainname", "d",
		)},
		{name: "empty key", mutate: sysctl("", "1"), want: `linux.sysctl[""]: empty name`},
		{name: "single component", mutate: sysctl("net", "1"), want: `linux.sysctl["net"]: not a sysctl name`},
		{name: "empty component", mutate: sysctl("net..ipv4", "1"), want: `linux.sysctl["net..ipv4"]: malformed name`},
		{name: "path traversal", mutate: sysctl("net/../../../etc/passwd", "x"), want: `linux.sysctl["net/../../../etc/passwd"]: malformed name`},
		{name: "leading slash", mutate: sysctl("/net/ipv4/ip_forward", "1"), want: "malformed name"},
		{name: "not namespaced", mutate: sysctl("vm.swappiness", "10"), want: `linux.sysctl["vm.swappiness"]: not namespaced, setting it would change the host`},
		{name: "kernel but not ipc", mutate: sysctl("kernel.pid_max", "10"), want: `linux.sysctl["kernel.pid_max"]: not namespaced`},
		{name: "fs but not mqueue", mutate: sysctl("fs.file-max", "10"), want: `linux.sysctl["fs.file-max"]: not namespaced`},
		{name: "semaphore lookalike", mutate: sysctl("kernel.semx", "1"), want: `linux.sysctl["kernel.semx"]: not namespaced`},
		{name: "net without netns", mutate: without(specs.NetworkNamespace, "net.core.somaxconn", "1024"),
			want: `linux.sysctl["net.core.somaxconn"]: requires a network namespace in linux.namespaces`},
		{name: "ipc without ipcns", mutate: without(specs.IPCNamespace, "kernel.shmmax", "1"),
			want: `linux.sysctl["kernel.shmmax"]: requires an ipc namespace`},
		{name: "mqueue without ipcns", mutate: without(specs.IPCNamespace, "fs.mqueue.queues_max", "1"),
			want: `linux.sysctl["fs.mqueue.queues_max"]: requires an ipc namespace`},
		{name: "hostname sysctl without uts", mutate: without(specs.UTSNamespace, "kernel.hostname", "h"),
			want: `linux.sysctl["kernel.hostname"]: requires a uts namespace`},
		{name: "first bad key in sorted order", mutate: sysctl("vm.b", "1", "vm.a", "1"), want: `linux.sysctl["vm.a"]`},
	})
}

func TestValidateLinuxMisc(t *testing.T) {
	var cases []validateCase
	for _, p := range []string{"shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"} {
		cases = append(cases, validateCase{name: "propagation " + p, mutate: func(s *specs.Spec) { s.Linux.RootfsPropagation = p }})
	}
	cases = append(cases, []validateCase{
		{name: "propagation unknown", mutate: func(s *specs.Spec) { s.Linux.RootfsPropagation = "rsharde" },
			want: `linux.rootfsPropagation: unknown propagation "rsharde"`},
		{name: "personality LINUX", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux} }},
		{name: "personality LINUX32", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32} }},
		{name: "personality unknown", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{Domain: "WINDOWS"} },
			want: `linux.personality.domain: unknown domain "WINDOWS"`},
		{name: "personality empty", mutate: func(s *specs.Spec) { s.Linux.Personality = &specs.LinuxPersonality{} },
			want: `linux.personality.domain: unknown domain ""`},
		{name: "personality flag", mutate: func(s *specs.Spec) {
			s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux, Flags: []specs.LinuxPersonalityFlag{"ADDR_NO_RANDOMIZE"}}
		}, want: `linux.personality.flags[0]: unknown flag "ADDR_NO_RANDOMIZE"`},
		{name: "masked path relative", mutate: func(s *specs.Spec) { s.Linux.MaskedPaths[1] = "proc/asound" },
			want: `linux.maskedPaths[1]: "proc/asound" is not an absolute path`},
		{name: "readonly path relative", mutate: func(s *specs.Spec) { s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "") },
			want: `linux.readonlyPaths[5]: "" is not an absolute path`},
	}...)
	runValidateCases(t, cases)
}

func TestValidateHooks(t *testing.T) {
	ok := specs.Hook{Path: "/usr/bin/hook", Args: []string{"hook", "x"}, Timeout: ptr(5)}
	bad := specs.Hook{Path: "hook"}
	cases := []validateCase{
		{name: "all hooks", mutate: func(s *specs.Spec) {
			h := []specs.Hook{ok}
			s.Hooks = &specs.Hooks{Prestart: h, CreateRuntime: h, CreateContainer: h, StartContainer: h, Poststart: h, Poststop: h}
		}},
		{name: "zero timeout", mutate: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Poststop: []specs.Hook{{Path: "/x", Timeout: ptr(0)}}}
		}, want: "hooks.poststop[0].timeout: 0 is not a positive number of seconds"},
		{name: "negative timeout", mutate: func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{Prestart: []specs.Hook{ok, {Path: "/x", Timeout: ptr(-1)}}}
		}, want: "hooks.prestart[1].timeout: -1"},
	}
	set := map[string]func(*specs.Hooks, []specs.Hook){
		"prestart":        func(h *specs.Hooks, l []specs.Hook) { h.Prestart = l },
		"createRuntime":   func(h *specs.Hooks, l []specs.Hook) { h.CreateRuntime = l },
		"createContainer": func(h *specs.Hooks, l []specs.Hook) { h.CreateContainer = l },
		"startContainer":  func(h *specs.Hooks, l []specs.Hook) { h.StartContainer = l },
		"poststart":       func(h *specs.Hooks, l []specs.Hook) { h.Poststart = l },
		"poststop":        func(h *specs.Hooks, l []specs.Hook) { h.Poststop = l },
	}
	for _, name := range sortedKeys(set) {
		cases = append(cases, validateCase{
			name: name + " relative path",
			mutate: func(s *specs.Spec) {
				s.Hooks = &specs.Hooks{}
				set[name](s.Hooks, []specs.Hook{ok, bad})
			},
			want: "hooks." + name + `[1].path: "hook" is not an absolute path`,
		})
	}
	runValidateCases(t, cases)
}

func TestSysctlParts(t *testing.T) {
	tests := []struct {
		key  string
		want []string
	}{
		{"net.ipv4.ip_forward", []string{"net", "ipv4", "ip_forward"}},
		{"net/ipv4/conf/eth0.100/forwarding", []string{"net", "ipv4", "conf", "eth0.100", "forwarding"}},
		{"kernel.sem", []string{"kernel", "sem"}},
	}
	for _, tc := range tests {
		got, err := sysctlParts(tc.key)
		if err != nil || strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("sysctlParts(%q) = %q, %v; want %q", tc.key, got, err, tc.want)
		}
	}
}

func TestValidateUnsupported(t *testing.T) {
	enabled := SELinuxEnabled
	t.Cleanup(func() { SELinuxEnabled = enabled })
	SELinuxEnabled = func() bool { return true }
	runValidateCases(t, []validateCase{
		{"netDevices", func(s *specs.Spec) { s.Linux.NetDevices = map[string]specs.LinuxNetDevice{"eth0": {}} }, "linux.netDevices"},
		{"intelRdt", func(s *specs.Spec) { s.Linux.IntelRdt = &specs.LinuxIntelRdt{} }, "linux.intelRdt"},
		{"mountLabel on an SELinux host", func(s *specs.Spec) { s.Linux.MountLabel = "system_u:x" }, "linux.mountLabel"},
		{"apparmor", func(s *specs.Spec) { s.Process.ApparmorProfile = "p" }, "process.apparmorProfile"},
		{"selinux on an SELinux host", func(s *specs.Spec) { s.Process.SelinuxLabel = "l" }, "process.selinuxLabel"},
	})
	// Without SELinux on the host, labels confine nothing and are ignored.
	SELinuxEnabled = func() bool { return false }
	runValidateCases(t, []validateCase{
		{"mountLabel without SELinux", func(s *specs.Spec) { s.Linux.MountLabel = "system_u:x" }, ""},
		{"selinux without SELinux", func(s *specs.Spec) { s.Process.SelinuxLabel = "l" }, ""},
		{"apparmor still refused", func(s *specs.Spec) { s.Process.ApparmorProfile = "p" }, "process.apparmorProfile"},
	})
}
