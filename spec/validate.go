package spec

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Validate checks a configuration for mistakes that can be found before
// anything is created: missing or malformed fields, unknown names, and
// settings that need a namespace the configuration does not ask for. bundle
// is the directory root.path is relative to. The returned error is one line
// that starts with the JSON field path at fault.
//
// A missing process is accepted (it is only needed by start); when present
// it is checked fully.
func Validate(s *specs.Spec, bundle string) error {
	if s == nil {
		return errors.New("config: missing")
	}
	if err := validateVersion(s.Version); err != nil {
		return err
	}
	if err := validateRoot(s.Root, bundle); err != nil {
		return err
	}
	if s.Linux == nil {
		return errors.New("linux: missing (hako runs Linux containers only)")
	}
	l := s.Linux
	checks := []func() error{
		func() error { return validateNamespaces(l.Namespaces) },
		func() error { return validateProcess(s.Process) },
		func() error { return validateUTS(s) },
		func() error { return validateUserNamespace(l) },
		func() error { return validateTimeOffsets(l) },
		func() error { return validateMounts(s.Mounts) },
		func() error { return validateDevices(l.Devices) },
		func() error { return validateSysctl(l) },
		func() error { return validateRootfsPropagation(l.RootfsPropagation) },
		func() error { return validatePersonality(l.Personality) },
		func() error { return validateContainerPaths(l) },
		func() error { return validateHooks(s.Hooks) },
		func() error { return validateUnsupported(s) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

// validateVersion accepts any 1.x version: newer minor versions only add
// fields, which Load ignores when it does not know them.
func validateVersion(v string) error {
	if v == "" {
		return errors.New("ociVersion: missing")
	}
	major, rest, _ := strings.Cut(v, ".")
	minor, _, _ := strings.Cut(rest, ".")
	if major != "1" || !isDigits(minor) {
		return fmt.Errorf("ociVersion: unsupported version %q (hako supports 1.x)", v)
	}
	return nil
}

func validateRoot(r *specs.Root, bundle string) error {
	if r == nil {
		return errors.New("root: missing")
	}
	if r.Path == "" {
		return errors.New("root.path: must not be empty")
	}
	path := r.Path
	if !filepath.IsAbs(path) {
		path = filepath.Join(bundle, path)
	}
	fi, err := os.Stat(path)
	if err != nil {
		return fmt.Errorf("root.path: rootfs: %w", err)
	}
	if !fi.IsDir() {
		return fmt.Errorf("root.path: rootfs %s is not a directory", path)
	}
	return nil
}

// NamespaceProcName is the name of a namespace type under /proc/PID/ns
// ("" for an unknown type).
func NamespaceProcName(t specs.LinuxNamespaceType) string { return procNSName[t] }

// procNSName maps namespace types to their names under /proc/PID/ns.
var procNSName = map[specs.LinuxNamespaceType]string{
	specs.PIDNamespace:     "pid",
	specs.NetworkNamespace: "net",
	specs.MountNamespace:   "mnt",
	specs.IPCNamespace:     "ipc",
	specs.UTSNamespace:     "uts",
	specs.UserNamespace:    "user",
	specs.CgroupNamespace:  "cgroup",
	specs.TimeNamespace:    "time",
}

func validateNamespaces(nss []specs.LinuxNamespace) error {
	seen := make(map[specs.LinuxNamespaceType]int, len(nss))
	for i, ns := range nss {
		field := fmt.Sprintf("linux.namespaces[%d]", i)
		if _, ok := procNSName[ns.Type]; !ok {
			return fmt.Errorf("%s.type: unknown namespace type %q", field, ns.Type)
		}
		if j, dup := seen[ns.Type]; dup {
			return fmt.Errorf("%s.type: duplicate %s namespace (also linux.namespaces[%d])", field, ns.Type, j)
		}
		seen[ns.Type] = i
		if ns.Path != "" && !filepath.IsAbs(ns.Path) {
			return fmt.Errorf("%s.path: %q is not an absolute path", field, ns.Path)
		}
	}
	return nil
}

// namespaceIndex returns the position of the namespace of type t, or -1.
func namespaceIndex(l *specs.Linux, t specs.LinuxNamespaceType) int {
	if l == nil {
		return -1
	}
	for i, ns := range l.Namespaces {
		if ns.Type == t {
			return i
		}
	}
	return -1
}

// ownNamespace reports whether the container gets a namespace of type t
// that is not the runtime's own: a new one, or one joined by a path that is
// not the runtime's (which is the host's when running as root). Settings
// such as sysctls and the hostname are only safe in such a namespace. On
// failure it returns the reason.
//
// Joined namespaces are accepted because Kubernetes pods rely on them: the
// CRI plugin sets the hostname and net.* sysctls on containers that join
// the sandbox's namespaces by path.
func ownNamespace(l *specs.Linux, t specs.LinuxNamespaceType) (string, bool) {
	i := namespaceIndex(l, t)
	if i < 0 {
		article := "a"
		if t == specs.IPCNamespace {
			article = "an"
		}
		return fmt.Sprintf("requires %s %s namespace in linux.namespaces", article, t), false
	}
	path := l.Namespaces[i].Path
	if path == "" {
		return "", true
	}
	target, err := os.Stat(path)
	if err != nil {
		// Not ours to judge here; joining it will fail with a clear error.
		return "", true
	}
	self, err := os.Stat("/proc/self/ns/" + procNSName[t])
	if err == nil && os.SameFile(target, self) {
		return fmt.Sprintf("linux.namespaces[%d] joins the runtime's own %s namespace (%s); the container needs its own", i, t, path), false
	}
	return "", true
}

func validateProcess(p *specs.Process) error {
	if p == nil {
		return nil
	}
	if len(p.Args) == 0 {
		return errors.New("process.args: must not be empty")
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return fmt.Errorf("process.args[%d]: contains a NUL byte", i)
		}
	}
	if !filepath.IsAbs(p.Cwd) {
		return fmt.Errorf("process.cwd: must be an absolute path, got %q", p.Cwd)
	}
	checks := []func() error{
		func() error { return validateEnv(p.Env) },
		func() error { return validateUser(p.User) },
		func() error { return validateCapabilities(p.Capabilities) },
		func() error { return validateRlimits(p.Rlimits) },
		func() error { return validateScheduler(p.Scheduler) },
		func() error { return validateIOPriority(p.IOPriority) },
		func() error { return validateOOMScoreAdj(p.OOMScoreAdj) },
		func() error { return validateCPUAffinity(p.ExecCPUAffinity) },
	}
	for _, check := range checks {
		if err := check(); err != nil {
			return err
		}
	}
	return nil
}

func validateEnv(env []string) error {
	for i, kv := range env {
		name, _, ok := strings.Cut(kv, "=")
		switch {
		case !ok || name == "":
			return fmt.Errorf("process.env[%d]: %q is not of the form NAME=value", i, shorten(kv))
		case strings.IndexByte(kv, 0) >= 0:
			return fmt.Errorf("process.env[%d]: %s contains a NUL byte", i, name)
		}
	}
	return nil
}

// invalidID is (uid_t)-1, which setuid and friends take as "leave unchanged".
const invalidID = ^uint32(0)

func validateUser(u specs.User) error {
	if u.UID == invalidID {
		return fmt.Errorf("process.user.uid: %d is not a valid user ID", u.UID)
	}
	if u.GID == invalidID {
		return fmt.Errorf("process.user.gid: %d is not a valid group ID", u.GID)
	}
	for i, g := range u.AdditionalGids {
		if g == invalidID {
			return fmt.Errorf("process.user.additionalGids[%d]: %d is not a valid group ID", i, g)
		}
	}
	if u.Umask != nil && *u.Umask > 0o777 {
		return fmt.Errorf("process.user.umask: %#o has bits outside 0777", *u.Umask)
	}
	return nil
}

func validateCapabilities(c *specs.LinuxCapabilities) error {
	if c == nil {
		return nil
	}
	sets := []struct {
		name  string
		names []string
	}{
		{"bounding", c.Bounding},
		{"effective", c.Effective},
		{"inheritable", c.Inheritable},
		{"permitted", c.Permitted},
		{"ambient", c.Ambient},
	}
	for _, set := range sets {
		for _, name := range set.names {
			if _, err := CapabilityValue(name); err != nil {
				return fmt.Errorf("process.capabilities.%s: %w", set.name, err)
			}
		}
	}
	return nil
}

func validateRlimits(rls []specs.POSIXRlimit) error {
	seen := make(map[int]int, len(rls))
	for i, rl := range rls {
		field := fmt.Sprintf("process.rlimits[%d]", i)
		v, err := RlimitValue(rl.Type)
		if err != nil {
			return fmt.Errorf("%s.type: %w", field, err)
		}
		if j, dup := seen[v]; dup {
			return fmt.Errorf("%s.type: duplicate %s (also process.rlimits[%d])", field, rl.Type, j)
		}
		seen[v] = i
		if rl.Soft > rl.Hard {
			return fmt.Errorf("%s: soft limit %d exceeds hard limit %d for %s", field, rl.Soft, rl.Hard, rl.Type)
		}
	}
	return nil
}

var schedFlags = []specs.LinuxSchedulerFlag{
	specs.SchedFlagResetOnFork,
	specs.SchedFlagReclaim,
	specs.SchedFlagDLOverrun,
	specs.SchedFlagKeepPolicy,
	specs.SchedFlagKeepParams,
	specs.SchedFlagUtilClampMin,
	specs.SchedFlagUtilClampMax,
}

// validateScheduler applies the rules sched_setattr(2) enforces, so that a
// bad value fails here with its field name instead of as EINVAL in init.
func validateScheduler(s *specs.Scheduler) error {
	if s == nil {
		return nil
	}
	rt := false
	switch s.Policy {
	case "":
		return errors.New("process.scheduler.policy: must be set")
	case specs.SchedFIFO, specs.SchedRR:
		rt = true
	case specs.SchedOther, specs.SchedBatch, specs.SchedISO, specs.SchedIdle, specs.SchedDeadline:
	default:
		return fmt.Errorf("process.scheduler.policy: unknown policy %q", s.Policy)
	}
	if s.Nice < -20 || s.Nice > 19 {
		return fmt.Errorf("process.scheduler.nice: %d is outside -20..19", s.Nice)
	}
	if rt && (s.Priority < 1 || s.Priority > 99) {
		return fmt.Errorf("process.scheduler.priority: %d is outside 1..99 for %s", s.Priority, s.Policy)
	}
	if !rt && s.Priority != 0 {
		return fmt.Errorf("process.scheduler.priority: must be 0 for %s, got %d", s.Policy, s.Priority)
	}
	for i, f := range s.Flags {
		if !slices.Contains(schedFlags, f) {
			return fmt.Errorf("process.scheduler.flags[%d]: unknown flag %q", i, f)
		}
	}
	if s.Policy == specs.SchedDeadline {
		switch {
		case s.Deadline == 0:
			return errors.New("process.scheduler.deadline: must be set for SCHED_DEADLINE")
		case s.Runtime > s.Deadline:
			return fmt.Errorf("process.scheduler.runtime: %d exceeds deadline %d", s.Runtime, s.Deadline)
		case s.Period != 0 && s.Period < s.Deadline:
			return fmt.Errorf("process.scheduler.period: %d is less than deadline %d", s.Period, s.Deadline)
		}
	}
	return nil
}

func validateIOPriority(p *specs.LinuxIOPriority) error {
	if p == nil {
		return nil
	}
	switch p.Class {
	case specs.IOPRIO_CLASS_RT, specs.IOPRIO_CLASS_BE, specs.IOPRIO_CLASS_IDLE:
	default:
		return fmt.Errorf("process.ioPriority.class: unknown class %q", p.Class)
	}
	if p.Priority < 0 || p.Priority > 7 {
		return fmt.Errorf("process.ioPriority.priority: %d is outside 0..7", p.Priority)
	}
	return nil
}

func validateOOMScoreAdj(adj *int) error {
	if adj != nil && (*adj < -1000 || *adj > 1000) {
		return fmt.Errorf("process.oomScoreAdj: %d is outside -1000..1000", *adj)
	}
	return nil
}

func validateCPUAffinity(a *specs.CPUAffinity) error {
	if a == nil {
		return nil
	}
	if err := checkCPUList(a.Initial); err != nil {
		return fmt.Errorf("process.execCPUAffinity.initial: %w", err)
	}
	if err := checkCPUList(a.Final); err != nil {
		return fmt.Errorf("process.execCPUAffinity.final: %w", err)
	}
	return nil
}

// checkCPUList checks a list like "0-3,7" (empty means unset).
func checkCPUList(list string) error {
	if list == "" {
		return nil
	}
	for _, part := range strings.Split(list, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, errA := strconv.ParseUint(lo, 10, 32)
		b, errB := a, error(nil)
		if isRange {
			b, errB = strconv.ParseUint(hi, 10, 32)
		}
		if errA != nil || errB != nil || a > b {
			return fmt.Errorf("invalid CPU list %q at %q", list, part)
		}
	}
	return nil
}

// validateUTS refuses a hostname or domainname that would be set in the
// runtime's own UTS namespace.
func validateUTS(s *specs.Spec) error {
	for _, f := range []struct{ field, value string }{
		{"hostname", s.Hostname},
		{"domainname", s.Domainname},
	} {
		if f.value == "" {
			continue
		}
		if why, ok := ownNamespace(s.Linux, specs.UTSNamespace); !ok {
			return fmt.Errorf("%s: %s", f.field, why)
		}
	}
	return nil
}

// validateUserNamespace checks the ID mappings. A new user namespace
// without mappings is accepted: the runtime then maps the calling user (or,
// when rootless, computes the mappings itself).
func validateUserNamespace(l *specs.Linux) error {
	hasUserNS := namespaceIndex(l, specs.UserNamespace) >= 0
	for _, m := range []struct {
		field string
		maps  []specs.LinuxIDMapping
	}{
		{"linux.uidMappings", l.UIDMappings},
		{"linux.gidMappings", l.GIDMappings},
	} {
		if len(m.maps) == 0 {
			continue
		}
		if !hasUserNS {
			return fmt.Errorf("%s: requires a user namespace in linux.namespaces", m.field)
		}
		if err := validateIDMappings(m.field, m.maps); err != nil {
			return err
		}
	}
	return nil
}

// maxIDRanges is the kernel's limit on lines in uid_map/gid_map (since 4.15).
const maxIDRanges = 340

// validateIDMappings checks what the kernel checks when the mappings are
// written: non-empty ranges that fit in 32 bits and do not overlap.
func validateIDMappings(field string, maps []specs.LinuxIDMapping) error {
	if len(maps) > maxIDRanges {
		return fmt.Errorf("%s: %d ranges, the kernel accepts at most %d", field, len(maps), maxIDRanges)
	}
	const limit = uint64(1) << 32
	for i, m := range maps {
		switch {
		case m.Size == 0:
			return fmt.Errorf("%s[%d].size: must not be 0", field, i)
		case uint64(m.ContainerID)+uint64(m.Size) > limit:
			return fmt.Errorf("%s[%d]: containerID %d + size %d exceeds the ID space", field, i, m.ContainerID, m.Size)
		case uint64(m.HostID)+uint64(m.Size) > limit:
			return fmt.Errorf("%s[%d]: hostID %d + size %d exceeds the ID space", field, i, m.HostID, m.Size)
		}
		for j := range i {
			o := maps[j]
			if overlap(m.ContainerID, m.Size, o.ContainerID, o.Size) {
				return fmt.Errorf("%s[%d]: container IDs overlap %s[%d]", field, i, field, j)
			}
			if overlap(m.HostID, m.Size, o.HostID, o.Size) {
				return fmt.Errorf("%s[%d]: host IDs overlap %s[%d]", field, i, field, j)
			}
		}
	}
	return nil
}

func overlap(a, asize, b, bsize uint32) bool {
	return uint64(a) < uint64(b)+uint64(bsize) && uint64(b) < uint64(a)+uint64(asize)
}

// validateTimeOffsets: offsets can only be written before the first process
// enters a time namespace, so they need a new one.
func validateTimeOffsets(l *specs.Linux) error {
	if len(l.TimeOffsets) == 0 {
		return nil
	}
	i := namespaceIndex(l, specs.TimeNamespace)
	if i < 0 {
		return errors.New("linux.timeOffsets: requires a time namespace in linux.namespaces")
	}
	if l.Namespaces[i].Path != "" {
		return fmt.Errorf("linux.timeOffsets: cannot be applied to the existing time namespace linux.namespaces[%d] joins", i)
	}
	for _, clock := range sortedKeys(l.TimeOffsets) {
		if clock != "monotonic" && clock != "boottime" {
			return fmt.Errorf("linux.timeOffsets: unknown clock %q (monotonic or boottime)", clock)
		}
		if ns := l.TimeOffsets[clock].Nanosecs; ns >= 1e9 {
			return fmt.Errorf("linux.timeOffsets.%s.nanosecs: %d is not below 1000000000", clock, ns)
		}
	}
	return nil
}

// isBind reports whether m is a bind mount: runtime-spec treats the bind and
// rbind options as decisive, whatever the type.
func isBind(m specs.Mount) bool {
	return m.Type == "bind" || slices.Contains(m.Options, "bind") || slices.Contains(m.Options, "rbind")
}

// validateMounts checks each mount on its own. A relative destination is
// accepted, as runc does, and means a path relative to the container's /;
// the mount code resolves every destination inside the rootfs anyway.
func validateMounts(mounts []specs.Mount) error {
	for i, m := range mounts {
		field := fmt.Sprintf("mounts[%d]", i)
		if m.Destination == "" {
			return fmt.Errorf("%s.destination: must not be empty", field)
		}
		bind := isBind(m)
		if bind && m.Source == "" {
			return fmt.Errorf("%s.source: a bind mount to %s needs a source", field, m.Destination)
		}
		if !bind && m.Type == "" {
			return fmt.Errorf("%s.type: must be set for %s (or use the bind option)", field, m.Destination)
		}
		if (len(m.UIDMappings) == 0) != (len(m.GIDMappings) == 0) {
			return fmt.Errorf("%s: uidMappings and gidMappings must be given together", field)
		}
		if len(m.UIDMappings) == 0 {
			continue
		}
		if !bind {
			return fmt.Errorf("%s: ID-mapped mounts (uidMappings) are only supported for bind mounts", field)
		}
		if err := validateIDMappings(field+".uidMappings", m.UIDMappings); err != nil {
			return err
		}
		if err := validateIDMappings(field+".gidMappings", m.GIDMappings); err != nil {
			return err
		}
	}
	return nil
}

// Limits of the kernel's dev_t: 12 bits of major, 20 of minor.
const (
	maxMajor = 1<<12 - 1
	maxMinor = 1<<20 - 1
)

func validateDevices(devs []specs.LinuxDevice) error {
	seen := make(map[string]int, len(devs))
	for i, d := range devs {
		field := fmt.Sprintf("linux.devices[%d]", i)
		if !filepath.IsAbs(d.Path) {
			return fmt.Errorf("%s.path: %q is not an absolute path", field, d.Path)
		}
		clean := filepath.Clean(d.Path)
		if !strings.HasPrefix(clean, "/dev/") {
			return fmt.Errorf("%s.path: %q is not under /dev", field, d.Path)
		}
		if j, dup := seen[clean]; dup {
			return fmt.Errorf("%s.path: duplicate %s (also linux.devices[%d])", field, clean, j)
		}
		seen[clean] = i
		switch d.Type {
		case "c", "b", "u":
			// Go cannot tell a missing number from 0, but no device is 0:0.
			if d.Major == 0 && d.Minor == 0 {
				return fmt.Errorf("%s: %s: major and minor are required for type %q", field, d.Path, d.Type)
			}
		case "p":
		default:
			return fmt.Errorf("%s.type: unknown device type %q (c, b, u or p)", field, d.Type)
		}
		if d.Major < 0 || d.Major > maxMajor {
			return fmt.Errorf("%s.major: %d is outside 0..%d", field, d.Major, maxMajor)
		}
		if d.Minor < 0 || d.Minor > maxMinor {
			return fmt.Errorf("%s.minor: %d is outside 0..%d", field, d.Minor, maxMinor)
		}
		if d.FileMode != nil && uint32(*d.FileMode)&^0o7777 != 0 {
			return fmt.Errorf("%s.fileMode: %#o has bits other than permissions", field, uint32(*d.FileMode))
		}
	}
	return nil
}

// validateSysctl allows only sysctls that belong to a namespace the
// container owns; anything else would change the host.
func validateSysctl(l *specs.Linux) error {
	for _, key := range sortedKeys(l.Sysctl) {
		field := "linux.sysctl[" + strconv.Quote(key) + "]"
		parts, err := sysctlParts(key)
		if err != nil {
			return fmt.Errorf("%s: %w", field, err)
		}
		ns, ok := sysctlNamespace(parts)
		if !ok {
			return fmt.Errorf("%s: not namespaced, setting it would change the host", field)
		}
		if why, ok := ownNamespace(l, ns); !ok {
			return fmt.Errorf("%s: %s", field, why)
		}
	}
	return nil
}

// sysctlParts splits a sysctl name into its /proc/sys path components. As
// with sysctl(8), a name containing '/' uses '/' as separator (and dots are
// part of a component, as in interface names like eth0.100); otherwise '.'
// separates.
func sysctlParts(key string) ([]string, error) {
	if key == "" {
		return nil, errors.New("empty name")
	}
	sep := "."
	if strings.Contains(key, "/") {
		sep = "/"
	}
	parts := strings.Split(key, sep)
	if len(parts) < 2 {
		return nil, errors.New("not a sysctl name")
	}
	for _, p := range parts {
		if p == "" || p == "." || p == ".." {
			return nil, errors.New("malformed name")
		}
	}
	return parts, nil
}

// sysctlNamespace returns the namespace a sysctl belongs to.
func sysctlNamespace(parts []string) (specs.LinuxNamespaceType, bool) {
	top, second := parts[0], parts[1]
	switch top {
	case "net":
		return specs.NetworkNamespace, true
	case "fs":
		if second == "mqueue" {
			return specs.IPCNamespace, true
		}
	case "kernel":
		switch {
		case second == "hostname" || second == "domainname":
			return specs.UTSNamespace, true
		case second == "sem", strings.HasPrefix(second, "sem_"),
			strings.HasPrefix(second, "shm"), strings.HasPrefix(second, "msg"):
			return specs.IPCNamespace, true
		}
	}
	return "", false
}

var propagations = []string{"shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"}

func validateRootfsPropagation(p string) error {
	if p != "" && !slices.Contains(propagations, p) {
		return fmt.Errorf("linux.rootfsPropagation: unknown propagation %q (one of %s)", p, strings.Join(propagations, ", "))
	}
	return nil
}

func validatePersonality(p *specs.LinuxPersonality) error {
	if p == nil {
		return nil
	}
	if p.Domain != specs.PerLinux && p.Domain != specs.PerLinux32 {
		return fmt.Errorf("linux.personality.domain: unknown domain %q (LINUX or LINUX32)", p.Domain)
	}
	// runtime-spec defines no flags yet.
	if len(p.Flags) > 0 {
		return fmt.Errorf("linux.personality.flags[0]: unknown flag %q", p.Flags[0])
	}
	return nil
}

// validateContainerPaths checks maskedPaths and readonlyPaths, which are
// absolute paths inside the container.
func validateContainerPaths(l *specs.Linux) error {
	for _, list := range []struct {
		field string
		paths []string
	}{
		{"linux.maskedPaths", l.MaskedPaths},
		{"linux.readonlyPaths", l.ReadonlyPaths},
	} {
		for i, p := range list.paths {
			if !filepath.IsAbs(p) {
				return fmt.Errorf("%s[%d]: %q is not an absolute path", list.field, i, p)
			}
		}
	}
	return nil
}

func validateHooks(h *specs.Hooks) error {
	if h == nil {
		return nil
	}
	for _, list := range []struct {
		name  string
		hooks []specs.Hook
	}{
		{"prestart", h.Prestart},
		{"createRuntime", h.CreateRuntime},
		{"createContainer", h.CreateContainer},
		{"startContainer", h.StartContainer},
		{"poststart", h.Poststart},
		{"poststop", h.Poststop},
	} {
		for i, hook := range list.hooks {
			field := fmt.Sprintf("hooks.%s[%d]", list.name, i)
			if !filepath.IsAbs(hook.Path) {
				return fmt.Errorf("%s.path: %q is not an absolute path", field, hook.Path)
			}
			if hook.Timeout != nil && *hook.Timeout <= 0 {
				return fmt.Errorf("%s.timeout: %d is not a positive number of seconds", field, *hook.Timeout)
			}
		}
	}
	return nil
}

func isDigits(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// SELinuxEnabled says whether the host runs SELinux (selinuxfs is
// mounted). Tests replace it.
var SELinuxEnabled = func() bool {
	_, err := os.Stat("/sys/fs/selinux/enforce")
	return err == nil
}

// validateUnsupported refuses what the config asks for and hako cannot do
// on this kind of host: silently running without it would be worse.
//
// SELinux labels are the exception when the host has no SELinux: a label
// then confines nothing for any process of the host, so the container is
// exactly as confined without it, and they are ignored (as crun does; a
// client sets them only where SELinux runs). Where SELinux runs, hako
// cannot apply them and refuses.
func validateUnsupported(s *specs.Spec) error {
	l := s.Linux
	switch {
	case len(l.NetDevices) > 0:
		return errors.New("linux.netDevices: moving network devices into the container is not supported")
	case l.IntelRdt != nil:
		return errors.New("linux.intelRdt: Intel RDT is not supported")
	case l.MountLabel != "" && SELinuxEnabled():
		return fmt.Errorf("linux.mountLabel %q: SELinux runs on this host and hako cannot apply its labels", l.MountLabel)
	}
	if p := s.Process; p != nil {
		if p.ApparmorProfile != "" {
			return fmt.Errorf("process.apparmorProfile %q: AppArmor is not supported", p.ApparmorProfile)
		}
		if p.SelinuxLabel != "" && SELinuxEnabled() {
			return fmt.Errorf("process.selinuxLabel %q: SELinux runs on this host and hako cannot apply its labels", p.SelinuxLabel)
		}
	}
	return nil
}
