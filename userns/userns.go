// Package userns writes the id maps of a new user namespace: directly
// through /proc/PID/{uid,gid}_map where the kernel allows it (root, or a
// normal user mapping only its own id), and through the setuid
// newuidmap/newgidmap helpers of the shadow suite otherwise, after
// checking against /etc/subuid and /etc/subgid so that a refusal comes
// with a message that says what to fix.
package userns

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/idmap"
)

// Helpers are the paths of newuidmap and newgidmap; empty means look them
// up in $PATH (tests point them elsewhere).
var Helpers = struct{ NewUIDMap, NewGIDMap string }{}

// WriteMaps writes the uid and gid maps of the user namespace of pid.
func WriteMaps(pid int, uidMap, gidMap []specs.LinuxIDMapping) error {
	euid, egid := uint32(os.Geteuid()), uint32(os.Getegid())
	if euid == 0 {
		if err := writeFile(pid, "uid_map", uidMap); err != nil {
			return err
		}
		return writeFile(pid, "gid_map", gidMap)
	}
	if len(uidMap) > 0 {
		if idmap.IsSelfOnly(uidMap, euid) {
			if err := writeFile(pid, "uid_map", uidMap); err != nil {
				return err
			}
		} else if err := viaHelper(pid, "uid", uidMap, euid); err != nil {
			return err
		}
	}
	if len(gidMap) > 0 {
		if idmap.IsSelfOnly(gidMap, egid) {
			// An unprivileged gid map needs setgroups denied first
			// (user_namespaces(7)); the container then has no
			// supplementary groups.
			if err := os.WriteFile(fmt.Sprintf("/proc/%d/setgroups", pid), []byte("deny"), 0); err != nil {
				return fmt.Errorf("deny setgroups for the gid map: %w", err)
			}
			return writeFile(pid, "gid_map", gidMap)
		}
		return viaHelper(pid, "gid", gidMap, egid)
	}
	return nil
}

func render(m []specs.LinuxIDMapping) string {
	var sb strings.Builder
	for _, e := range m {
		fmt.Fprintf(&sb, "%d %d %d\n", e.ContainerID, e.HostID, e.Size)
	}
	return sb.String()
}

func writeFile(pid int, file string, m []specs.LinuxIDMapping) error {
	if len(m) == 0 {
		return nil
	}
	p := fmt.Sprintf("/proc/%d/%s", pid, file)
	if err := os.WriteFile(p, []byte(render(m)), 0); err != nil {
		return fmt.Errorf("write linux.%sMappings to %s: %w", file[:3], p, err)
	}
	return nil
}

// viaHelper checks the mapping against the subordinate ranges and runs
// newuidmap or newgidmap. kind is "uid" or "gid".
func viaHelper(pid int, kind string, m []specs.LinuxIDMapping, own uint32) error {
	helper, err := FindHelper(kind)
	if err != nil {
		return fmt.Errorf("linux.%sMappings maps more than your own id: %w", kind, err)
	}
	file := idmap.SubUIDFile
	if kind == "gid" {
		file = idmap.SubGIDFile
	}
	// newuidmap and newgidmap both look the ranges up by the login name
	// of the calling user (or its uid).
	login := strconv.Itoa(os.Geteuid())
	if u, err := user.LookupId(login); err == nil {
		login = u.Username
	}
	ranges, err := idmap.Ranges(file, login, uint32(os.Geteuid()))
	if err != nil {
		return err
	}
	if len(ranges) == 0 {
		return fmt.Errorf("linux.%sMappings: %s gives %s no subordinate %ss: add a line such as %s:100000:65536 (usermod --add-sub%ss 100000-165535 %s)",
			kind, file, login, kind, login, kind, login)
	}
	if bad, ok := idmap.Covered(m, own, ranges); !ok {
		return fmt.Errorf("linux.%sMappings: host %ss %d-%d are not yours: %s gives %s %s",
			kind, kind, bad.HostID, uint64(bad.HostID)+uint64(bad.Size)-1, file, login, describe(ranges))
	}
	args := []string{strconv.Itoa(pid)}
	for _, e := range m {
		args = append(args, strconv.FormatUint(uint64(e.ContainerID), 10), strconv.FormatUint(uint64(e.HostID), 10), strconv.FormatUint(uint64(e.Size), 10))
	}
	out, err := exec.Command(helper, args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("%s %s: %w: %s", helper, strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

func describe(rs []idmap.Range) string {
	parts := make([]string, len(rs))
	for i, r := range rs {
		parts[i] = fmt.Sprintf("%d-%d", r.Start, uint64(r.Start)+uint64(r.Size)-1)
	}
	return strings.Join(parts, ", ")
}

// FindHelper returns the path of newuidmap ("uid") or newgidmap ("gid")
// if it exists and can do its job: setuid root or with file capabilities.
func FindHelper(kind string) (string, error) {
	name, path := "newuidmap", Helpers.NewUIDMap
	if kind == "gid" {
		name, path = "newgidmap", Helpers.NewGIDMap
	}
	if path == "" {
		p, err := exec.LookPath(name)
		if err != nil {
			return "", fmt.Errorf("%s not found: install it (Debian and Ubuntu: apt-get install uidmap; Fedora: shadow-utils)", name)
		}
		path = p
	}
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		return "", fmt.Errorf("%s: %w", path, err)
	}
	if st.Mode&unix.S_ISUID != 0 && st.Uid == 0 {
		return path, nil
	}
	if _, err := unix.Getxattr(path, "security.capability", nil); err == nil {
		return path, nil
	}
	return "", fmt.Errorf("%s is neither setuid root nor has file capabilities: reinstall it (chmod u+s %s)", path, path)
}

// HelpersAvailable says whether both helpers can be used.
func HelpersAvailable() bool {
	_, err1 := FindHelper("uid")
	_, err2 := FindHelper("gid")
	return err1 == nil && err2 == nil
}

// InUserNamespace says whether this process runs in a user namespace other
// than the initial one: then even uid 0 lacks privileges over the host
// (cgroups, devices), which is runc's "rootless auto" rule.
func InUserNamespace() bool {
	b, err := os.ReadFile("/proc/self/uid_map")
	if err != nil {
		return false
	}
	return !isInitialMap(string(b))
}

// isInitialMap recognises the identity map of the initial user namespace.
func isInitialMap(uidMap string) bool {
	f := strings.Fields(uidMap)
	return len(f) == 3 && f[0] == "0" && f[1] == "0" && f[2] == "4294967295"
}

// Rootless decides rootless mode from --rootless (auto, true or false):
// auto means a normal user, or root inside a user namespace.
func Rootless(flag string) bool {
	switch flag {
	case "true":
		return true
	case "false":
		return false
	}
	return os.Geteuid() != 0 || InUserNamespace()
}
