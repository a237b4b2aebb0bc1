package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/idmap"
	"github.com/hako-runtime/hako/spec"
	"github.com/hako-runtime/hako/userns"
)

// SpecCmd is `hako spec`.
type SpecCmd struct {
	Bundle string `short:"b" help:"Directory to write config.json in (default: current directory)." placeholder:"DIR"`
	// --rootless is the global flag: runc spells both the same.
}

func (c *SpecCmd) Run(g *Globals) error {
	s := spec.Example()
	if g.Rootless == "true" {
		m, warning := rootlessMapping()
		if warning != "" {
			fmt.Fprintln(os.Stderr, "hako: warning:", warning)
		}
		spec.Rootless(s, m)
	} else if os.Geteuid() != 0 {
		fmt.Fprintln(os.Stderr, "hako: note: this config needs root; run `hako spec --rootless` for one that works as your user")
	}
	return writeConfig(c.Bundle, s)
}

func writeConfig(bundle string, s *specs.Spec) error {
	p := filepath.Join(bundle, "config.json")
	b, err := json.MarshalIndent(s, "", "\t")
	if err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o644)
	if err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%s already exists: remove it first", p)
		}
		return err
	}
	if _, err := f.Write(append(b, '\n')); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", p, err)
	}
	return f.Close()
}

// rootlessMapping maps the user to root and, when newuidmap/newgidmap can
// be used, the user's subordinate ranges after it. Without them the
// config maps only the user, and the warning says so and how to fix it.
func rootlessMapping() (spec.RootlessMapping, string) {
	uid, gid := uint32(os.Geteuid()), uint32(os.Getegid())
	m := spec.RootlessMapping{UID: uid, GID: gid}
	login := strconv.Itoa(int(uid))
	if u, err := user.LookupId(login); err == nil {
		login = u.Username
	}
	subu, err1 := idmap.Ranges(idmap.SubUIDFile, login, uid)
	subg, err2 := idmap.Ranges(idmap.SubGIDFile, login, uid)
	switch {
	case uid == 0:
		return m, ""
	case err1 != nil || err2 != nil:
		return m, fmt.Sprintf("reading subordinate ids: %v %v; mapping only your own uid and gid", err1, err2)
	case len(subu) == 0 || len(subg) == 0:
		return m, fmt.Sprintf("%s has no ranges in %s and %s: mapping only your own uid and gid (add ranges with usermod --add-subuids/--add-subgids)", login, idmap.SubUIDFile, idmap.SubGIDFile)
	case !userns.HelpersAvailable():
		return m, "newuidmap/newgidmap are missing or not setuid (apt-get install uidmap): mapping only your own uid and gid"
	}
	for _, r := range subu {
		m.SubUIDs = append(m.SubUIDs, specs.LinuxIDMapping{HostID: r.Start, Size: r.Size})
	}
	for _, r := range subg {
		m.SubGIDs = append(m.SubGIDs, specs.LinuxIDMapping{HostID: r.Start, Size: r.Size})
	}
	return m, ""
}
