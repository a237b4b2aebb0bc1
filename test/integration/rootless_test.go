package integration

import (
	"encoding/json"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// The rootless tier: every test runs the runtime as a real non-root user
// (rootless_helpers_test.go has the set-up and the two modes), and checks
// what the container prints and what the host sees.

// forModes runs fn as a parallel subtest per mode, each with its own Env
// for user A.
func forModes(t *testing.T, fn func(t *testing.T, e *Env)) {
	w := rootless(t)
	for _, mode := range rlModes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			fn(t, newUserEnv(t, w.a, mode))
		})
	}
}

// idScript prints what the tests compare about the user namespace.
const idScript = `echo "uid=$(id -u) gid=$(id -g)"; echo "@@uid_map"; cat /proc/self/uid_map; ` +
	`echo "@@gid_map"; cat /proc/self/gid_map; echo "@@setgroups"; cat /proc/self/setgroups; ` +
	`echo "@@userns"; readlink /proc/self/ns/user`

// TestRootlessSpec: `spec --rootless` as the user maps the user to 0 and,
// with the helpers, its subordinate ranges to 1..N (checked by the
// helper); without them it warns and maps only the user. The config runs
// as is, with only its args changed: the container is root in a new user
// namespace with exactly those maps.
func TestRootlessSpec(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		u, mode := e.as.u, e.as.mode
		b, r := e.rawSpecBundle()
		warn := strings.TrimSpace(r.stderr)
		switch mode {
		case modeSingle:
			if !strings.Contains(warn, "warning") || !strings.Contains(warn, "newuidmap") {
				t.Errorf("spec --rootless without newuidmap/newgidmap: stderr %q, want a warning naming newuidmap", warn)
			}
		case modeMulti:
			if warn != "" {
				t.Errorf("spec --rootless with the helpers and subordinate ranges: unexpected stderr %q", warn)
			}
		}
		s := b.Spec
		userns := 0
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == specs.UserNamespace {
				userns++
				if ns.Path != "" {
					t.Errorf("user namespace with a path %q", ns.Path)
				}
			}
		}
		if userns != 1 {
			t.Errorf("spec --rootless: %d user namespaces in linux.namespaces, want 1", userns)
		}
		if s.Linux.Resources != nil {
			t.Errorf("spec --rootless: linux.resources %+v, want none (no cgroups for a user)", s.Linux.Resources)
		}

		b.Spec.Process.Args = []string{"sh", "-c", idScript}
		b.save()
		r, id := e.runBundle(b)
		if !r.ok() {
			t.Fatalf("run of the spec --rootless config as %s: %s", u.name, r)
		}
		sec := sections("@@ids\n" + r.stdout)
		if got := strings.TrimSpace(sec["ids"]); got != "uid=0 gid=0" {
			t.Errorf("ids in the container: %q, want uid=0 gid=0", got)
		}
		if got, want := normMaps(sec["uid_map"]), renderMaps(u.uidMaps(mode)); got != want {
			t.Errorf("uid_map in the container:\n%s\nwant:\n%s", got, want)
		}
		if got, want := normMaps(sec["gid_map"]), renderMaps(u.gidMaps(mode)); got != want {
			t.Errorf("gid_map in the container:\n%s\nwant:\n%s", got, want)
		}
		wantSG := "allow"
		if mode == modeSingle {
			wantSG = "deny" // an unprivileged gid map needs setgroups denied
		}
		if got := strings.TrimSpace(sec["setgroups"]); got != wantSG {
			t.Errorf("setgroups in the container: %q, want %q", got, wantSG)
		}
		if got := strings.TrimSpace(sec["userns"]); got == "" || got == hostNS["user"] {
			t.Errorf("user namespace in the container %q: want a new one (host %s)", got, hostNS["user"])
		}
		if _, err := os.Lstat(filepath.Join(e.Root, id)); err == nil {
			t.Errorf("run left its state directory %s", filepath.Join(e.Root, id))
		}
	})
}

// TestRootlessNeedsUserNamespace: `spec` without --rootless as the user
// writes a config without a user namespace and says to use --rootless;
// create and run of such a config (or of a --rootless one whose user
// namespace was removed) fail with an error pointing at `spec --rootless`
// and leave nothing behind.
func TestRootlessNeedsUserNamespace(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	e := newUserEnv(t, w.a, modeMulti)

	t.Run("spec without --rootless", func(t *testing.T) {
		dir := e.userDir("plain")
		r := e.hakoWith(opts{dir: dir}, "spec")
		if !r.ok() {
			t.Fatalf("spec as %s: %s", w.a.name, r)
		}
		if !strings.Contains(r.stderr, "--rootless") {
			t.Errorf("spec (no --rootless) as a normal user: stderr %q, want a hint about --rootless", r.stderr)
		}
		data, err := os.ReadFile(filepath.Join(dir, "config.json"))
		if err != nil {
			t.Fatal(err)
		}
		var s specs.Spec
		if err := json.Unmarshal(data, &s); err != nil {
			t.Fatal(err)
		}
		for _, ns := range s.Linux.Namespaces {
			if ns.Type == specs.UserNamespace {
				t.Errorf("spec without --rootless wrote a user namespace")
			}
		}
		if err := copyTree(sharedRootfs, filepath.Join(dir, "rootfs")); err != nil {
			t.Fatal(err)
		}
		s.Process.Args = []string{"sh", "-c", "echo RAN"}
		s.Process.Env = append(s.Process.Env, "HAKO_ITEST="+e.mark)
		b := &Bundle{e: e, Dir: dir, Spec: &s}
		for _, cmd := range []string{"create", "run"} {
			id := e.newID()
			b.save()
			r := e.hako(cmd, "--bundle", dir, id)
			expectFail(t, r, cmd+" of a config without a user namespace as a normal user")
			expectOneLineError(t, r, "spec --rootless")
			if strings.Contains(r.stdout, "RAN") {
				t.Errorf("%s: the container ran: %q", cmd, r.stdout)
			}
			e.expectNoneLeft(id)
		}
	})
	t.Run("user namespace removed", func(t *testing.T) {
		b := e.specBundle(func(s *specs.Spec) {
			s.Linux.Namespaces = deleteNS(s.Linux.Namespaces, specs.UserNamespace)
			s.Linux.UIDMappings, s.Linux.GIDMappings = nil, nil
			s.Process.Args = []string{"sh", "-c", "echo RAN"}
		})
		id := e.newID()
		r := e.hako("create", "--bundle", b.Dir, id)
		expectFail(t, r, "create without a user namespace as a normal user")
		expectOneLineError(t, r, "spec --rootless")
		e.expectNoneLeft(id)
	})
}

func deleteNS(list []specs.LinuxNamespace, typ specs.LinuxNamespaceType) []specs.LinuxNamespace {
	var out []specs.LinuxNamespace
	for _, ns := range list {
		if ns.Type != typ {
			out = append(out, ns)
		}
	}
	return out
}

// TestRootlessLifecycle: create, state, list, start, kill, delete and run
// as the user with the default state root $XDG_RUNTIME_DIR/hako (0700,
// the user's); the host sees the container's processes as the user.
func TestRootlessLifecycle(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		u, mode := e.as.u, e.as.mode
		b := e.specBundle()
		b.sh(loopScript)
		c := e.mustCreate(b)
		st := e.mustState(c.id)
		if st.Status != "created" || st.Pid <= 0 || st.Bundle != b.Dir {
			t.Errorf("state after create: status %q pid %d bundle %q, want created, a pid, %s", st.Status, st.Pid, st.Bundle, b.Dir)
		}
		pid := st.Pid

		// The state root and the container's directory: the user's, 0700.
		for _, d := range []string{e.Root, filepath.Join(e.Root, c.id)} {
			fi, err := os.Stat(d)
			if err != nil {
				t.Fatalf("state directory: %v", err)
			}
			uid, gid := hostOwner(t, d)
			if fi.Mode().Perm() != 0o700 || uid != u.uid || gid != u.gid {
				t.Errorf("%s: mode %v owner %d:%d, want 0700 %d:%d", d, fi.Mode().Perm(), uid, gid, u.uid, u.gid)
			}
		}
		if _, err := os.Stat(filepath.Join(e.Root, c.id, "state.json")); err != nil {
			t.Errorf("no state.json under $XDG_RUNTIME_DIR/hako/%s: %v", c.id, err)
		}

		// The host's view of the init: the user's ids, a new user
		// namespace with the config's maps.
		if uid, gid := hostIDsOf(t, pid); uid != repeat(itoa(u.uid), 4) || gid != repeat(itoa(u.gid), 4) {
			t.Errorf("host ids of the init: Uid %q Gid %q, want %d and %d", uid, gid, u.uid, u.gid)
		}
		ns := nsLinksOf(t, pid)
		if ns["user"] == hostNS["user"] {
			t.Errorf("the init is in the host's user namespace")
		}
		if data, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid)); err != nil || normMaps(string(data)) != renderMaps(u.uidMaps(mode)) {
			t.Errorf("uid_map of the init seen from the host: %q %v, want %q", data, err, renderMaps(u.uidMaps(mode)))
		}

		listed := func(status string) {
			t.Helper()
			r := e.mustHako("list")
			found := false
			for _, l := range strings.Split(r.stdout, "\n") {
				if f := strings.Fields(l); len(f) >= 3 && f[0] == c.id {
					found = true
					if f[1] != itoa(pid) || f[2] != status {
						t.Errorf("list: %q, want pid %d status %s", l, pid, status)
					}
				}
			}
			if !found {
				t.Errorf("list as %s does not show %s:\n%s", u.name, c.id, r.stdout)
			}
			if q := strings.Fields(e.mustHako("list", "-q").stdout); !contains(q, c.id) {
				t.Errorf("list -q does not show %s: %v", c.id, q)
			}
		}
		listed("created")

		c.mustStart()
		c.waitOutput("started")
		e.expectState(c.id, "running", pid)
		listed("running")
		var entries []stateJSON
		if err := json.Unmarshal([]byte(e.mustHako("list", "--format", "json").stdout), &entries); err != nil {
			t.Errorf("list --format json: %v", err)
		}
		for _, en := range entries {
			if en.ID == c.id && en.Owner != itoa(u.uid) && en.Owner != u.name {
				t.Errorf("list --format json: owner %q, want %s or %d", en.Owner, u.name, u.uid)
			}
		}

		e.mustHako("kill", c.id)
		e.waitStatus(c.id, "stopped")
		c.waitOutput("got TERM")
		e.mustHako("delete", c.id)
		if _, err := os.Lstat(filepath.Join(e.Root, c.id)); err == nil {
			t.Errorf("delete left %s", filepath.Join(e.Root, c.id))
		}
		if st, _ := e.state(c.id); st != nil {
			t.Errorf("state after delete: %+v", st)
		}
		waitGone(t, pid)

		// run in the foreground: output and exit status pass through.
		b.sh(`echo "ran as $(id -u)"; exit 3`)
		r, id := e.runBundle(b)
		if r.code != 3 || strings.TrimSpace(r.stdout) != "ran as 0" {
			t.Errorf("run: exit %d stdout %q, want 3 and \"ran as 0\": %s", r.code, r.stdout, r)
		}
		if _, err := os.Lstat(filepath.Join(e.Root, id)); err == nil {
			t.Errorf("run left its state directory")
		}

		// run --detach, then kill with SIGKILL and delete --force.
		b.sh(loopScript)
		id = e.newID()
		b.save()
		out, err := os.CreateTemp(e.dir, "detached-")
		if err != nil {
			t.Fatal(err)
		}
		defer out.Close()
		if r := e.hakoWith(opts{stdout: out, stderr: out}, "run", "--detach", "--bundle", b.Dir, id); !r.ok() {
			t.Fatalf("run --detach: %s", r)
		}
		dpid := e.waitStatus(id, "running").Pid
		e.mustHako("kill", id, "KILL")
		e.waitStatus(id, "stopped")
		e.mustHako("delete", "--force", id)
		waitGone(t, dpid)
	})
}

// TestRootlessStateRoot: without --root, a normal user needs
// XDG_RUNTIME_DIR set to a directory of its own: clear errors otherwise,
// and nothing is made anywhere. --root works without it.
func TestRootlessStateRoot(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	e := newUserEnv(t, w.a, modeMulti)
	b := e.specBundle()
	b.sh("echo RAN").save()

	for _, tc := range []struct {
		name string
		env  []string
		want []string
	}{
		{"unset", []string{"XDG_RUNTIME_DIR"}, []string{"XDG_RUNTIME_DIR", "not set"}},
		{"empty", []string{"XDG_RUNTIME_DIR="}, []string{"XDG_RUNTIME_DIR"}},
		{"another user's", []string{"XDG_RUNTIME_DIR=" + w.b.runDir}, []string{"XDG_RUNTIME_DIR", w.b.runDir, "owned by"}},
		{"root's", []string{"XDG_RUNTIME_DIR=/run"}, []string{"XDG_RUNTIME_DIR", "/run", "owned by"}},
		{"missing", []string{"XDG_RUNTIME_DIR=" + filepath.Join(e.dir, "no-such-dir")}, []string{"XDG_RUNTIME_DIR", "no-such-dir"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			for _, args := range [][]string{{"list"}, {"run", "--bundle", b.Dir, e.newID()}, {"state", "x"}} {
				r := e.hakoWith(opts{env: tc.env}, args...)
				expectFail(t, r, fmt.Sprintf("%s with XDG_RUNTIME_DIR %s", args[0], tc.name))
				expectOneLineError(t, r, tc.want...)
				if strings.Contains(r.stdout, "RAN") {
					t.Errorf("the container ran: %s", r)
				}
			}
		})
	}
	// (Other tests run hakotest2's containers meanwhile: look for files of
	// hakotest's, not for changes.)
	_ = filepath.WalkDir(w.b.runDir, func(p string, _ fs.DirEntry, err error) error {
		if err == nil {
			if uid, _ := hostOwner(t, p); uid == w.a.uid {
				t.Errorf("%s made %s in %s's runtime directory", w.a.name, p, w.b.name)
			}
		}
		return nil
	})
	if _, err := os.Stat(filepath.Join(e.dir, "no-such-dir")); err == nil {
		t.Errorf("the runtime made the missing XDG_RUNTIME_DIR")
	}

	t.Run("--root without XDG_RUNTIME_DIR", func(t *testing.T) {
		root := filepath.Join(e.userDir("own-root"), "state")
		id := e.newID()
		r := e.hakoWith(opts{env: []string{"XDG_RUNTIME_DIR"}}, "--root", root, "run", "--bundle", b.Dir, id)
		if !r.ok() || strings.TrimSpace(r.stdout) != "RAN" {
			t.Errorf("run with --root and no XDG_RUNTIME_DIR: %s", r)
		}
		if fi, err := os.Stat(root); err != nil || fi.Mode().Perm() != 0o700 {
			t.Errorf("--root %s: %v, want a directory of mode 0700 (%v)", root, fileMode(fi), err)
		}
		if ents := dirEntries(root); len(ents) != 0 {
			t.Errorf("run left %v in --root", ents)
		}
	})
}

// TestRootlessExec: exec as the user joins the container: the same user,
// pid, mount and network namespaces as the init, the same maps, root
// inside, the user's ids on the host.
func TestRootlessExec(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		u, mode := e.as.u, e.as.mode
		b := e.specBundle()
		c, pid := e.startLoop(b)
		initNS := nsLinksOf(t, pid)
		initMap, err := os.ReadFile(fmt.Sprintf("/proc/%d/uid_map", pid))
		if err != nil {
			t.Fatal(err)
		}
		r := e.mustHako("exec", c.id, "sh", "-c", idScript+`; echo "@@ns"; `+nsLinksScript)
		sec := sections("@@ids\n" + r.stdout)
		if got := strings.TrimSpace(sec["ids"]); got != "uid=0 gid=0" {
			t.Errorf("ids of the exec'd process: %q, want uid=0 gid=0", got)
		}
		if got := normMaps(sec["uid_map"]); got != normMaps(string(initMap)) || got != renderMaps(u.uidMaps(mode)) {
			t.Errorf("uid_map of the exec'd process:\n%s\nthe init's:\n%s", got, initMap)
		}
		got := parseNSLinks(sec["ns"])
		for _, n := range []string{"user", "pid", "mnt", "net", "ipc", "uts", "cgroup"} {
			if got[n] != initNS[n] {
				t.Errorf("exec'd process: %s namespace %q, the init's %q", n, got[n], initNS[n])
			}
		}

		// The host's view of an exec'd process.
		pidDir := e.userDir("pids")
		pidFile := filepath.Join(pidDir, "exec.pid")
		e.mustHako("exec", "--detach", "--pid-file", pidFile, c.id, "sleep", "30")
		xpid := readPidFile(t, pidFile)
		if uid, gid := hostIDsOf(t, xpid); uid != repeat(itoa(u.uid), 4) || gid != repeat(itoa(u.gid), 4) {
			t.Errorf("host ids of the exec'd process: Uid %q Gid %q, want %d and %d", uid, gid, u.uid, u.gid)
		}
		if ns := nsLinksOf(t, xpid); ns["user"] != initNS["user"] || ns["pid"] != initNS["pid"] {
			t.Errorf("exec'd process (host view): user %s pid %s, init: user %s pid %s", ns["user"], ns["pid"], initNS["user"], initNS["pid"])
		}
		if o, g := hostOwner(t, pidFile); o != u.uid || g != u.gid {
			t.Errorf("pid file owned by %d:%d, want the user %d:%d", o, g, u.uid, u.gid)
		}
		e.mustHako("kill", c.id)
		e.waitStatus(c.id, "stopped")
		waitGone(t, xpid)
	})
}

// TestRootlessTerminal: as the user, process.terminal with
// --console-socket, exec -t --detach --console-socket, and exec -t and run
// in the foreground with the terminal relayed by the runtime.
func TestRootlessTerminal(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		b := e.specBundle(func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
		})
		b.sh(`tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; echo ready; read line; echo "got:$line"; ` + loopScript)
		sock := e.userConsoleSocket()
		c := e.mustCreate(b, "--console-socket", sock.path)
		m := &ptyReader{f: sock.master(t)}
		c.mustStart()
		out, ok := m.until("ready", statusTimeout)
		if !ok {
			t.Fatalf("the container never printed ready on the terminal: %q (stderr %q)", out, c.errOutput())
		}
		lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
		for _, want := range []string{"/dev/pts/0", "24 80", "stdio-is-tty"} {
			if !contains(lines, want) {
				t.Errorf("terminal output lacks %q: %q", want, out)
			}
		}
		if _, err := m.f.Write([]byte("typed-by-host\n")); err != nil {
			t.Fatal(err)
		}
		if out, ok := m.until("got:typed-by-host", statusTimeout); !ok {
			t.Errorf("the container did not read the line written to the master: %q", out)
		}

		xsock := e.userConsoleSocket()
		pidFile := filepath.Join(e.userDir("pids"), "tty.pid")
		r := e.hako("exec", "-t", "-d", "--console-socket", xsock.path, "--pid-file", pidFile, c.id,
			"sh", "-c", `tty; [ -t 0 ] && echo exec-stdio-is-tty; echo ready; read line; echo "got:$line"`)
		if !r.ok() {
			t.Fatalf("exec -t -d --console-socket: %s", r)
		}
		xm := &ptyReader{f: xsock.master(t)}
		xpid := readPidFile(t, pidFile)
		out, ok = xm.until("ready", statusTimeout)
		if !ok || !strings.Contains(out, "/dev/pts/") || !strings.Contains(out, "exec-stdio-is-tty") {
			t.Fatalf("exec -t: %q, want /dev/pts/N, exec-stdio-is-tty and ready", out)
		}
		if _, err := xm.f.Write([]byte("typed-exec\n")); err != nil {
			t.Fatal(err)
		}
		if out, ok := xm.until("got:typed-exec", statusTimeout); !ok {
			t.Errorf("the exec'd process did not read the line: %q", out)
		}
		waitGone(t, xpid)

		// exec -t in the foreground without a console socket: the
		// runtime relays its own terminal (script(1) gives it one).
		r = e.runUnderScript("typed-relayed-exec\n", "exec", "-t", c.id, "sh", "-c", ttyScript)
		if r.code != 3 {
			t.Errorf("exec -t with a relayed terminal: exit %d, want 3: %s", r.code, r)
		}
		for _, want := range []string{"stdio-is-tty", "got:typed-relayed-exec"} {
			if !contains(strings.Split(r.stdout, "\n"), want) {
				t.Errorf("exec -t with a relayed terminal: output lacks %q: %q", want, r.stdout)
			}
		}
		e.mustHako("kill", c.id)
		e.waitStatus(c.id, "stopped")

		// run in the foreground with a relayed terminal.
		b.sh(ttyScript).save()
		r = e.runUnderScript("typed-relayed-run\n", "run", "--bundle", b.Dir, e.newID())
		if r.code != 3 {
			t.Errorf("run with a relayed terminal: exit %d, want 3: %s", r.code, r)
		}
		for _, want := range []string{"/dev/pts/0", "24 80", "stdio-is-tty", "got:typed-relayed-run"} {
			if !contains(strings.Split(r.stdout, "\n"), want) {
				t.Errorf("run with a relayed terminal: output lacks %q: %q", want, r.stdout)
			}
		}
	})
}

// TestRootlessSeccomp: a filter whose mkdir rule returns EOPNOTSUPP (95)
// applies to the init and to exec'd processes of a rootless container.
func TestRootlessSeccomp(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		eopnotsupp := uint(95)
		b := e.specBundle(withTmp, func(s *specs.Spec) {
			s.Linux.Seccomp = &specs.LinuxSeccomp{
				DefaultAction: specs.ActAllow,
				Architectures: []specs.Arch{specs.ArchX86_64, specs.ArchX86, specs.ArchX32},
				Syscalls: []specs.LinuxSyscall{
					{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActErrno, ErrnoRet: &eopnotsupp},
				},
			}
		})
		const script = `touch /tmp/f-$$ && echo touched; mkdir /tmp/d-$$ 2>&1; echo "mkdir=$?"; grep '^Seccomp:' /proc/self/status`
		check := func(who, out string) {
			t.Helper()
			if !strings.Contains(out, "touched") {
				t.Errorf("%s: touch (allowed) failed: %q", who, out)
			}
			if !strings.Contains(out, "Operation not supported") || !strings.Contains(out, "mkdir=1") {
				t.Errorf("%s: mkdir under an SCMP_ACT_ERRNO rule with errnoRet 95: %q, want Operation not supported", who, out)
			}
			if !strings.Contains(out, "Seccomp:\t2") {
				t.Errorf("%s: not in seccomp filter mode: %q", who, out)
			}
		}
		b.sh(script + `; ` + loopScript)
		c := e.mustCreate(b)
		pid := e.mustState(c.id).Pid
		c.mustStart()
		c.waitOutput("started")
		check("init", c.output())
		if mode := procStatusOf(t, pid)["Seccomp"]; mode != "2" {
			t.Errorf("host view of the init: Seccomp %q, want 2", mode)
		}
		r := e.mustHako("exec", c.id, "sh", "-c", script)
		check("exec", r.stdout)
	})
}

// hookScript runs on the host: it records the ids and user namespace it
// runs with and the state on its stdin in DIR/NAME.ids and DIR/NAME.json.
const hookScript = `#!/bin/sh
name=$1 dir=$2
printf 'uid=%s gid=%s userns=%s\n' "$(id -u)" "$(id -g)" "$(readlink /proc/self/ns/user)" > "$dir/$name.ids"
cat > "$dir/$name.json"
`

// TestRootlessHooks: createRuntime and poststop hooks run on the host as
// the user (in the host's user namespace) and get the state on stdin.
func TestRootlessHooks(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		u := e.as.u
		dir := e.userDir("hooks")
		script := e.writeFile("hook.sh", hookScript, 0o755)
		hook := func(name string) specs.Hook {
			return specs.Hook{Path: script, Args: []string{"hook.sh", name, dir}, Env: e.hookEnv()}
		}
		b := e.specBundle(func(s *specs.Spec) {
			s.Hooks = &specs.Hooks{CreateRuntime: []specs.Hook{hook("createRuntime")}, Poststop: []specs.Hook{hook("poststop")}}
		})
		b.sh(loopScript)
		check := func(name, id string, pid int) {
			t.Helper()
			ids, err := os.ReadFile(filepath.Join(dir, name+".ids"))
			if err != nil {
				t.Errorf("the %s hook did not run: %v", name, err)
				return
			}
			want := fmt.Sprintf("uid=%d gid=%d userns=%s", u.uid, u.gid, hostNS["user"])
			if got := strings.TrimSpace(string(ids)); got != want {
				t.Errorf("%s hook ran with %q, want %q (the user, in the host's user namespace)", name, got, want)
			}
			if o, _ := hostOwner(t, filepath.Join(dir, name+".ids")); o != u.uid {
				t.Errorf("%s hook's file is owned by %d, want %d", name, o, u.uid)
			}
			var st stateJSON
			data, _ := os.ReadFile(filepath.Join(dir, name+".json"))
			if err := json.Unmarshal(data, &st); err != nil {
				t.Errorf("%s hook's stdin is not the state: %v %q", name, err, data)
				return
			}
			if st.ID != id || st.Bundle != b.Dir || (pid != 0 && st.Pid != pid) {
				t.Errorf("%s hook's state: id %q bundle %q pid %d, want %s %s %d", name, st.ID, st.Bundle, st.Pid, id, b.Dir, pid)
			}
		}
		c := e.mustCreate(b)
		pid := e.mustState(c.id).Pid
		check("createRuntime", c.id, pid)
		if _, err := os.Stat(filepath.Join(dir, "poststop.ids")); err == nil {
			t.Errorf("poststop ran at create")
		}
		c.mustStart()
		c.waitOutput("started")
		e.mustHako("kill", c.id)
		e.waitStatus(c.id, "stopped")
		e.mustHako("delete", c.id)
		check("poststop", c.id, 0)
	})
}

// TestRootlessChown: in a writable private rootfs of the user's, with
// CAP_CHOWN, the container's root chowns a file. Multi mode: to 1:1 and
// to the last mapped id, which the host sees as the subordinate ids; the
// first unmapped id fails. Single mode: only 0 is mapped, so chown to 1:1
// fails (EINVAL) and the file stays the user's.
func TestRootlessChown(t *testing.T) {
	t.Parallel()
	forModes(t, func(t *testing.T, e *Env) {
		u, mode := e.as.u, e.as.mode
		var last, lastG uint32 // the last container uid and gid mapped
		for _, m := range u.uidMaps(mode) {
			last = max(last, m.ContainerID+m.Size-1)
		}
		for _, m := range u.gidMaps(mode) {
			lastG = max(lastG, m.ContainerID+m.Size-1)
		}
		b := e.specBundle(func(s *specs.Spec) {
			s.Root.Readonly = false
			c := s.Process.Capabilities
			c.Bounding = append(c.Bounding, "CAP_CHOWN")
			c.Effective = append(c.Effective, "CAP_CHOWN")
			c.Permitted = append(c.Permitted, "CAP_CHOWN")
		})
		b.sh(fmt.Sprintf(`touch /by-root /to-1 /to-last /to-unmapped
chown 1:1 /to-1 2>&1; echo "to-1=$?"
chown %d:%d /to-last 2>&1; echo "to-last=$?"
chown %d:%d /to-unmapped 2>&1; echo "to-unmapped=$?"
stat -c '%%n %%u:%%g' /by-root /to-1 /to-last /to-unmapped`, last, lastG, last+1, lastG+1))
		rootfs := filepath.Join(b.Dir, "rootfs")
		r, _ := e.runBundle(b)
		if !r.ok() {
			t.Fatalf("run: %s", r)
		}
		out := r.stdout
		t.Logf("container:\n%s", out)
		inside := map[string]string{}
		for _, l := range strings.Split(out, "\n") {
			if f := strings.Fields(l); len(f) == 2 && strings.HasPrefix(f[0], "/") {
				inside[f[0]] = f[1]
			}
		}
		host := func(name string) string {
			uid, gid := hostOwner(t, filepath.Join(rootfs, name))
			return fmt.Sprintf("%d:%d", uid, gid)
		}
		own := fmt.Sprintf("%d:%d", u.uid, u.gid)
		if inside["/by-root"] != "0:0" || host("by-root") != own {
			t.Errorf("a file the container's root made: %q inside, %s on the host; want 0:0 and %s", inside["/by-root"], host("by-root"), own)
		}
		unmappedErr := func(name string) {
			t.Helper()
			lines := strings.Split(out, "\n")
			if !contains(lines, name+"=1") ||
				!(contains(lines, "chown: /"+name+": Invalid argument") || contains(lines, "chown: /"+name+": Operation not permitted")) {
				t.Errorf("chown to an unmapped id (/%s) did not fail with EINVAL or EPERM: %q", name, out)
			}
		}
		switch mode {
		case modeMulti:
			sub0, subLast := u.subUID[0].start, u.subUID[len(u.subUID)-1].start+u.subUID[len(u.subUID)-1].size-1
			gsub0, gsubLast := u.subGID[0].start, u.subGID[len(u.subGID)-1].start+u.subGID[len(u.subGID)-1].size-1
			if !contains(strings.Split(out, "\n"), "to-1=0") || inside["/to-1"] != "1:1" {
				t.Errorf("chown 1:1 in the container: %q", out)
			}
			if want := fmt.Sprintf("%d:%d", sub0, gsub0); host("to-1") != want {
				t.Errorf("a file chowned to 1:1 in the container is %s on the host, want the first subordinate ids %s", host("to-1"), want)
			}
			if !strings.Contains(out, "to-last=0") || inside["/to-last"] != fmt.Sprintf("%d:%d", last, lastG) {
				t.Errorf("chown to the last mapped ids %d:%d: %q", last, lastG, out)
			}
			if want := fmt.Sprintf("%d:%d", subLast, gsubLast); host("to-last") != want {
				t.Errorf("a file chowned to %d:%d in the container is %s on the host, want %s", last, lastG, host("to-last"), want)
			}
			unmappedErr("to-unmapped")
		case modeSingle:
			unmappedErr("to-1")
			if host("to-1") != own || inside["/to-1"] != "0:0" {
				t.Errorf("after a failed chown 1:1: %q inside, %s on the host; want 0:0 and %s", inside["/to-1"], host("to-1"), own)
			}
		}
		if host("to-unmapped") != own {
			t.Errorf("a file chowned to an unmapped id is %s on the host, want unchanged %s", host("to-unmapped"), own)
		}
	})
}

// TestRootlessOtherUsers: a user cannot see or touch another user's
// containers, nor root's: list under their state root fails or shows
// nothing; state, kill, exec, delete --force fail or do nothing; the
// victims keep running. The state directories are 0700.
func TestRootlessOtherUsers(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	attacker := newUserEnv(t, w.a, modeSingle)

	victimB := newUserEnv(t, w.b, modeSingle)
	vb, vbPid := victimB.startLoop(victimB.specBundle())
	for _, d := range []string{w.b.stateRoot(), filepath.Join(w.b.stateRoot(), vb.id)} {
		fi, err := os.Stat(d)
		if err != nil {
			t.Fatal(err)
		}
		if uid, _ := hostOwner(t, d); fi.Mode().Perm() != 0o700 || uid != w.b.uid {
			t.Errorf("%s: mode %v owner %d, want 0700 and %s", d, fi.Mode().Perm(), uid, w.b.name)
		}
	}

	victimRoot := newEnv(t) // root, --root in the test's directory
	vr, vrPid := victimRoot.startLoop(victimRoot.newBundle())
	if fi, err := os.Stat(victimRoot.Root); err != nil || fi.Mode().Perm() != 0o700 {
		t.Errorf("root's state root %s: %v, want 0700 (%v)", victimRoot.Root, fileMode(fi), err)
	}

	for _, v := range []struct {
		name string
		root string
		id   string
	}{
		{w.b.name + "'s", w.b.stateRoot(), vb.id},
		{"root's", victimRoot.Root, vr.id},
	} {
		t.Run(v.name, func(t *testing.T) {
			r := attacker.hako("--root", v.root, "list")
			if r.ok() && strings.Contains(r.stdout, v.id) {
				t.Errorf("%s lists %s's container: %s", w.a.name, v.name, r)
			}
			r = attacker.hako("--root", v.root, "list", "-q")
			if r.ok() && strings.TrimSpace(r.stdout) != "" {
				t.Errorf("list -q shows %q", r.stdout)
			}
			for _, args := range [][]string{
				{"state", v.id},
				{"kill", v.id, "KILL"},
				{"exec", v.id, "true"},
				{"start", v.id},
				{"ps", v.id},
			} {
				expectFail(t, attacker.hako(append([]string{"--root", v.root}, args...)...), strings.Join(args, " ")+" of "+v.name+" container")
			}
			// delete --force succeeds for an ID that does not exist; one
			// the user may not see is not that: it must say it failed.
			expectFail(t, attacker.hako("--root", v.root, "delete", "--force", v.id), "delete --force of "+v.name+" container")
			// Without --root: the attacker's own root has no such container.
			expectFail(t, attacker.hako("state", v.id), "state of "+v.name+" container in the attacker's own root")
		})
	}
	victimB.expectState(vb.id, "running", vbPid)
	victimRoot.expectState(vr.id, "running", vrPid)
	if _, err := os.Stat(filepath.Join(w.b.stateRoot(), vb.id, "state.json")); err != nil {
		t.Errorf("%s's container state: %v", w.b.name, err)
	}
	if _, err := os.Stat(filepath.Join(victimRoot.Root, vr.id, "state.json")); err != nil {
		t.Errorf("root's container state: %v", err)
	}

	t.Run("/run/hako", func(t *testing.T) {
		r := attacker.hako("--root", "/run/hako", "list", "-q")
		if r.ok() && strings.TrimSpace(r.stdout) != "" {
			t.Errorf("%s lists root's default state root: %s", w.a.name, r)
		}
	})
}

// TestRootlessForeignMappings: maps of ids the user does not own get an
// error naming the mapping and /etc/subuid (or /etc/subgid) with the
// helpers, and saying to install uidmap without them; nothing is left
// behind (no state directory, no process).
func TestRootlessForeignMappings(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	a, b := w.a, w.b
	r0 := a.subUID[0]
	g0 := a.subGID[0]
	cases := []struct {
		name         string
		uids, gids   []specs.LinuxIDMapping // nil: keep the mode's own
		multiWant    []string
		singleWant   []string
		singleOnlyOK bool
	}{
		{
			name:       "host root uid",
			uids:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}},
			multiWant:  []string{"linux.uidMappings", "/etc/subuid", "0"},
			singleWant: []string{"linux.uidMappings", "uidmap"},
		},
		{
			name:       "host root gid",
			gids:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}},
			multiWant:  []string{"linux.gidMappings", "/etc/subgid"},
			singleWant: []string{"linux.gidMappings", "uidmap"},
		},
		{
			name:       "one past the subordinate range",
			uids:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.uid, Size: 1}, {ContainerID: 1, HostID: r0.start, Size: r0.size + 1}},
			multiWant:  []string{"linux.uidMappings", "/etc/subuid", itoa(r0.start + r0.size)},
			singleWant: []string{"linux.uidMappings", "uidmap"},
		},
		{
			name:       "another user's range",
			uids:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.uid, Size: 1}, {ContainerID: 1, HostID: b.subUID[0].start, Size: 100}},
			multiWant:  []string{"linux.uidMappings", "/etc/subuid"},
			singleWant: []string{"linux.uidMappings", "uidmap"},
		},
		{
			name:       "another user's uid",
			uids:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: b.uid, Size: 1}},
			multiWant:  []string{"linux.uidMappings", "/etc/subuid", itoa(b.uid)},
			singleWant: []string{"linux.uidMappings", "uidmap"},
		},
		{
			name:       "below the subordinate gid range",
			gids:       []specs.LinuxIDMapping{{ContainerID: 0, HostID: a.gid, Size: 1}, {ContainerID: 1, HostID: g0.start - 10, Size: 20}},
			multiWant:  []string{"linux.gidMappings", "/etc/subgid"},
			singleWant: []string{"linux.gidMappings", "uidmap"},
		},
		{
			// The user's own subordinate range: fine with the helpers,
			// an error saying to install uidmap without them.
			name:         "own subordinate range",
			uids:         a.uidMaps(modeMulti),
			gids:         a.gidMaps(modeMulti),
			singleWant:   []string{"uidmap"},
			singleOnlyOK: true,
		},
	}
	for _, mode := range rlModes {
		t.Run(string(mode), func(t *testing.T) {
			t.Parallel()
			e := newUserEnv(t, a, mode)
			for _, tc := range cases {
				t.Run(tc.name, func(t *testing.T) {
					bnd := e.specBundle(func(s *specs.Spec) {
						if tc.uids != nil {
							s.Linux.UIDMappings = tc.uids
						}
						if tc.gids != nil {
							s.Linux.GIDMappings = tc.gids
						}
						s.Process.Args = []string{"sh", "-c", "echo RAN; cat /proc/self/uid_map"}
					})
					if mode == modeMulti && tc.singleOnlyOK {
						out := e.mustRun(bnd)
						if !strings.Contains(out, "RAN") || normMaps(strings.TrimPrefix(out, "RAN\n")) != renderMaps(a.uidMaps(modeMulti)) {
							t.Errorf("run with the user's own ranges: %q", out)
						}
						return
					}
					want := tc.multiWant
					if mode == modeSingle {
						want = tc.singleWant
					}
					for _, cmd := range []string{"create", "run"} {
						id := e.newID()
						r := e.hako(cmd, "--bundle", bnd.Dir, id)
						expectFail(t, r, cmd+" with "+tc.name)
						expectOneLineError(t, r, want...)
						if strings.Contains(r.stdout, "RAN") {
							t.Errorf("%s: the container ran: %s", cmd, r)
						}
						e.expectNoneLeft(id)
					}
				})
			}
		})
	}
}

// TestRootlessExeOverwrite (CVE-2019-5736, rootless): a container of the
// user's cannot write the runtime's binary through /proc/PID/exe of an
// exec'ing runtime process, whether the binary is root's (the user cannot
// write it: no sealing needed) or the user's own (it must be sealed).
func TestRootlessExeOverwrite(t *testing.T) {
	t.Parallel()
	w := rootless(t)
	for _, owner := range []string{"root", "user"} {
		t.Run(owner+"'s binary", func(t *testing.T) {
			t.Parallel()
			e := newUserEnv(t, w.a, modeMulti)
			binDir := e.tempDir("bin")
			bin := filepath.Join(binDir, filepath.Base(hakoBin))
			copyFile(t, hakoBin, bin, 0o755)
			if owner == "user" {
				for _, p := range []string{binDir, bin} {
					if err := os.Chown(p, int(w.a.uid), int(w.a.gid)); err != nil {
						t.Fatal(err)
					}
				}
			}
			sum := fileSHA256(t, bin)
			coord := e.userDir("coord")
			b := e.specBundle(func(s *specs.Spec) {
				caps := hostCapNames(t)
				s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps}
				s.Process.NoNewPrivileges = false
				s.Linux.Seccomp = nil
				s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: coord, Options: []string{"rbind", "rw"}})
			})
			b.sh(exeAttackScript)
			o := opts{bin: bin}
			c := e.createOpts(b, e.newID(), o)
			if !c.create.ok() {
				t.Fatalf("create: %s", c.create)
			}
			if r := e.hakoWith(o, "start", c.id); !r.ok() {
				t.Fatalf("start: %s", r)
			}
			c.waitOutput("scanning")
			for i := 0; i < 100 && !strings.Contains(c.output(), "found "); i++ {
				if r := e.hakoWith(o, "exec", c.id, "true"); !r.ok() && !strings.Contains(c.output(), "found ") {
					t.Logf("exec %d: %s", i, r)
				}
			}
			found := strings.Contains(c.output(), "found ")
			if found {
				c.waitOutput("attack-done")
			}
			_ = os.WriteFile(filepath.Join(coord, "stop"), nil, 0o644)
			c.waitOutput("stopped")
			out := c.output()
			t.Logf("attacker:\n%s", out)
			if strings.Contains(out, "WROTE") {
				t.Errorf("the container wrote to the runtime's binary through /proc/PID/exe:\n%s", out)
			}
			for _, l := range strings.Split(out, "\n") {
				if strings.HasPrefix(l, "denied ") && !isWriteDenied(l) {
					t.Errorf("unexpected error writing the runtime's binary: %q", l)
				}
			}
			if got := fileSHA256(t, bin); got != sum {
				t.Errorf("the runtime's binary %s CHANGED", bin)
			}
			if !found {
				t.Logf("no runtime process was reachable from the container in 100 execs")
			} else if owner == "root" && !strings.Contains(out, " "+bin+"\n") {
				// A binary the user cannot write needs no sealed copy.
				t.Errorf("the runtime process ran from a copy, not from %s, although the user cannot write it:\n%s", bin, out)
			}
		})
	}
}
