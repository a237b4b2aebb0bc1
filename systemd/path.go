package systemd

import (
	"errors"
	"fmt"
	"strings"
)

// Default slices: where a scope goes when cgroupsPath names none.
const (
	DefaultSlice         = "system.slice" // as root, in the system manager
	DefaultRootlessSlice = "user.slice"   // rootless, in the user's manager
	// DefaultPrefix is the scope prefix of an empty cgroupsPath.
	DefaultPrefix = "hako"
)

// unitNameMax is systemd's limit on a unit name (UNIT_NAME_MAX - 1).
const unitNameMax = 255

// ParsePath turns a container's linux.cgroupsPath into the slice and the
// unit of its systemd scope, following runc's convention (also podman's and
// containerd's):
//
//   - "slice:prefix:name" is the scope unit "prefix-name.scope" in slice;
//     an empty prefix gives "name.scope";
//   - an empty slice ("":prefix:name) is the default slice: system.slice
//     as root, user.slice rootless (in the user's own manager);
//   - an empty cgroupsPath is ":hako:<id>", so "hako-<id>.scope" in
//     system.slice as root and in the user manager's user.slice rootless.
//     In that default (and only there) a '+', which container IDs may
//     carry and unit names may not, is escaped the way systemd-escape
//     does ("\x2b").
//
// A name ending in ".slice" asks runc for a slice unit instead of a scope,
// with the container's processes directly in the slice. hako refuses it:
// systemd does not let a slice hold processes of its own, and a container
// needs a delegated scope. A path that is not of the form slice:prefix:name
// (an absolute cgroupfs path, say) is refused with an error saying that
// --systemd-cgroup takes that form.
//
// The slice must be a valid slice unit name ("a-b.slice" is the slice b
// nested in a.slice, see systemd.slice(5)), or "-.slice", the root slice;
// prefix and name may use the characters of unit names except '@' and ':'.
func ParsePath(cgroupsPath, id string, rootless bool) (slice, unit string, err error) {
	var prefix, name string
	if cgroupsPath == "" {
		if id == "" {
			return "", "", errors.New("systemd cgroup: empty cgroupsPath and no container ID to name the scope after")
		}
		prefix, name = DefaultPrefix, escapeName(id)
	} else {
		parts := strings.Split(cgroupsPath, ":")
		if len(parts) != 3 {
			return "", "", fmt.Errorf("linux.cgroupsPath: %q is not of the form slice:prefix:name, which --systemd-cgroup needs (e.g. \"system.slice:hako:ID\"; without --systemd-cgroup it is a cgroupfs path)", cgroupsPath)
		}
		slice, prefix, name = parts[0], parts[1], parts[2]
	}
	if slice == "" {
		slice = DefaultSlice
		if rootless {
			slice = DefaultRootlessSlice
		}
	}
	if _, err := sliceCgroup(slice); err != nil {
		return "", "", fmt.Errorf("linux.cgroupsPath: %w", err)
	}
	if name == "" {
		return "", "", fmt.Errorf("linux.cgroupsPath: %q has an empty name (slice:prefix:name)", cgroupsPath)
	}
	if strings.HasSuffix(name, ".slice") {
		return "", "", fmt.Errorf("linux.cgroupsPath: %q names a slice unit (%s): hako runs a container in a delegated scope, never directly in a slice; use a name without the .slice suffix to get the scope %s-%s.scope",
			cgroupsPath, name, prefix, strings.TrimSuffix(name, ".slice"))
	}
	unit = name + ".scope"
	if prefix != "" {
		unit = prefix + "-" + unit
	}
	if err := checkUnitName(unit); err != nil {
		if cgroupsPath == "" {
			return "", "", fmt.Errorf("systemd cgroup: container ID %q cannot name a scope: %w", id, err)
		}
		return "", "", fmt.Errorf("linux.cgroupsPath: %q: %w", cgroupsPath, err)
	}
	return slice, unit, nil
}

// escapeName escapes what a container ID may hold and a unit name may not
// ('+'), as systemd-escape does.
func escapeName(id string) string {
	return strings.ReplaceAll(id, "+", `\x2b`)
}

// unitByte reports whether c may appear in a unit name. '@' (templates) is
// left out: a transient scope cannot be a template instance.
func unitByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return c == '_' || c == '.' || c == '-' || c == '\\' || c == ':'
}

func checkUnitName(unit string) error {
	if len(unit) > unitNameMax {
		return fmt.Errorf("unit name %s is %d bytes long, more than systemd's %d", shortName(unit), len(unit), unitNameMax)
	}
	for i := 0; i < len(unit); i++ {
		if !unitByte(unit[i]) {
			return fmt.Errorf("unit name %q: character %q is not allowed in systemd unit names (letters, digits and _ . - \\)", unit, unit[i])
		}
	}
	return nil
}

func shortName(s string) string {
	if len(s) <= 64 {
		return fmt.Sprintf("%q", s)
	}
	return fmt.Sprintf("%q", s[:64]+"...")
}

// sliceCgroup returns the cgroup of a slice relative to its manager's root
// cgroup: "a-b-c.slice" is "/a.slice/a-b.slice/a-b-c.slice", "-.slice" is
// "/" (systemd.slice(5); runc's ExpandSlice). Invalid slice names are
// refused.
func sliceCgroup(slice string) (string, error) {
	base, ok := strings.CutSuffix(slice, ".slice")
	if !ok {
		return "", fmt.Errorf("slice %q is not a slice unit name (it must end in .slice)", slice)
	}
	if slice == "-.slice" {
		return "/", nil
	}
	if err := checkUnitName(slice); err != nil {
		return "", fmt.Errorf("slice %q: %w", slice, err)
	}
	if base == "" || strings.HasPrefix(base, "-") || strings.HasSuffix(base, "-") || strings.Contains(base, "--") {
		return "", fmt.Errorf("slice %q is not a valid slice name (its parts are separated by single dashes, as in a-b.slice)", slice)
	}
	var b strings.Builder
	prefix := ""
	for part := range strings.SplitSeq(base, "-") {
		if prefix != "" {
			prefix += "-"
		}
		prefix += part
		b.WriteString("/" + prefix + ".slice")
	}
	return b.String(), nil
}
