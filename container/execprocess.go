package container

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/spec"
)

// ExecProcessFlags are runc's exec flags that shape the process.
type ExecProcessFlags struct {
	ProcessFile    string // --process: a whole process.json; the other fields are ignored
	Args           []string
	Env            []string
	Cwd            string
	User           string // uid[:gid] or a user name of the container
	AdditionalGids []string
	Caps           []string
	NoNewPrivs     bool
	Tty            bool
	AppArmor       string
	ProcessLabel   string
}

// ExecProcess builds the process of an exec: the --process file, or the
// container's own process with the command and the flags' changes.
func (c *Container) ExecProcess(f *ExecProcessFlags) (*specs.Process, error) {
	var p *specs.Process
	if f.ProcessFile != "" {
		b, err := os.ReadFile(f.ProcessFile)
		if err != nil {
			return nil, fmt.Errorf("--process %s: %w", f.ProcessFile, err)
		}
		p = new(specs.Process)
		if err := json.Unmarshal(b, p); err != nil {
			return nil, fmt.Errorf("--process %s: not a valid process JSON: %w", f.ProcessFile, err)
		}
		if len(p.Args) == 0 {
			return nil, fmt.Errorf("--process %s: args must not be empty", f.ProcessFile)
		}
		if p.Cwd == "" {
			p.Cwd = "/"
		}
	} else {
		sp, err := c.Config()
		if err != nil {
			return nil, err
		}
		if len(f.Args) == 0 {
			return nil, errors.New("exec: no command given")
		}
		base := *sp.Process
		p = &base
		p.Args = f.Args
		p.Terminal = f.Tty
		p.ConsoleSize = nil
		p.Env = mergeEnv(p.Env, f.Env)
		if f.Cwd != "" {
			p.Cwd = f.Cwd
		}
		if f.NoNewPrivs {
			p.NoNewPrivileges = true
		}
		if f.AppArmor != "" {
			p.ApparmorProfile = f.AppArmor
		}
		if f.ProcessLabel != "" {
			p.SelinuxLabel = f.ProcessLabel
		}
		if len(f.Caps) > 0 {
			caps := copyCaps(p.Capabilities)
			for _, name := range f.Caps {
				if _, err := spec.CapabilityValue(name); err != nil {
					return nil, fmt.Errorf("--cap: %w", err)
				}
				caps.Bounding = appendNew(caps.Bounding, name)
				caps.Effective = appendNew(caps.Effective, name)
				caps.Permitted = appendNew(caps.Permitted, name)
				caps.Inheritable = appendNew(caps.Inheritable, name)
				caps.Ambient = appendNew(caps.Ambient, name)
			}
			p.Capabilities = caps
		}
		if f.User != "" {
			if err := c.resolveUser(f.User, &p.User); err != nil {
				return nil, err
			}
		}
		for _, g := range f.AdditionalGids {
			gid, err := strconv.ParseUint(g, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("--additional-gids %q: not a number", g)
			}
			p.User.AdditionalGids = append(p.User.AdditionalGids, uint32(gid))
		}
	}
	if p.ApparmorProfile != "" {
		return nil, fmt.Errorf("apparmor profile %q: AppArmor is not supported by hako on this host", p.ApparmorProfile)
	}
	if p.SelinuxLabel != "" {
		return nil, fmt.Errorf("process label %q: SELinux is not supported by hako on this host", p.SelinuxLabel)
	}
	return p, nil
}

func copyCaps(c *specs.LinuxCapabilities) *specs.LinuxCapabilities {
	if c == nil {
		return &specs.LinuxCapabilities{}
	}
	cp := *c
	cp.Bounding = append([]string(nil), c.Bounding...)
	cp.Effective = append([]string(nil), c.Effective...)
	cp.Permitted = append([]string(nil), c.Permitted...)
	cp.Inheritable = append([]string(nil), c.Inheritable...)
	cp.Ambient = append([]string(nil), c.Ambient...)
	return &cp
}

func appendNew(list []string, v string) []string {
	for _, x := range list {
		if strings.EqualFold(x, v) {
			return list
		}
	}
	return append(list, strings.ToUpper(v))
}

// mergeEnv overrides base with extra, key by key, keeping base's order.
func mergeEnv(base, extra []string) []string {
	out := append([]string(nil), base...)
	for _, e := range extra {
		key, _, _ := strings.Cut(e, "=")
		replaced := false
		for i, b := range out {
			if k, _, _ := strings.Cut(b, "="); k == key {
				out[i] = e
				replaced = true
				break
			}
		}
		if !replaced {
			out = append(out, e)
		}
	}
	return out
}

// resolveUser parses uid[:gid], where either may be a name looked up in
// the container's /etc/passwd and /etc/group. The files are read inside
// the container's root, never following a symlink out of it.
func (c *Container) resolveUser(v string, u *specs.User) error {
	user, group, hasGroup := strings.Cut(v, ":")
	if uid, err := strconv.ParseUint(user, 10, 32); err == nil {
		u.UID = uint32(uid)
		u.GID = 0
	} else {
		ent, err := c.lookupEntry("/etc/passwd", user)
		if err != nil {
			return fmt.Errorf("--user %s: %w", v, err)
		}
		if len(ent) < 4 {
			return fmt.Errorf("--user %s: malformed /etc/passwd entry", v)
		}
		uid, err1 := strconv.ParseUint(ent[2], 10, 32)
		gid, err2 := strconv.ParseUint(ent[3], 10, 32)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("--user %s: malformed /etc/passwd entry", v)
		}
		u.UID, u.GID = uint32(uid), uint32(gid)
	}
	if hasGroup {
		if gid, err := strconv.ParseUint(group, 10, 32); err == nil {
			u.GID = uint32(gid)
		} else {
			ent, err := c.lookupEntry("/etc/group", group)
			if err != nil {
				return fmt.Errorf("--user %s: %w", v, err)
			}
			gid, err := strconv.ParseUint(ent[2], 10, 32)
			if len(ent) < 3 || err != nil {
				return fmt.Errorf("--user %s: malformed /etc/group entry", v)
			}
			u.GID = uint32(gid)
		}
	}
	u.AdditionalGids = nil
	return nil
}

// lookupEntry finds name in a passwd-style file of the container.
func (c *Container) lookupEntry(file, name string) ([]string, error) {
	root, err := unix.Open(fmt.Sprintf("/proc/%d/root", c.State.Pid), unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("open the container's root: %w", err)
	}
	defer unix.Close(root)
	fd, err := unix.Openat2(root, file, &unix.OpenHow{Flags: unix.O_RDONLY | unix.O_CLOEXEC, Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_MAGICLINKS})
	if err != nil {
		return nil, fmt.Errorf("no user or group %q: the container has no %s (%v)", name, file, err)
	}
	f := os.NewFile(uintptr(fd), file)
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), ":")
		if len(fields) >= 3 && fields[0] == name {
			return fields, nil
		}
	}
	return nil, fmt.Errorf("no %q in the container's %s", name, file)
}
