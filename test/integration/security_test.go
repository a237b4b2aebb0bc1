package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// Regression tests for the known runtime escapes. Each one attacks from
// inside a container and checks the host afterwards.

// exeAttackScript runs inside a container with every capability: it scans
// /proc for a process whose executable is not busybox (a runtime process),
// keeps its /proc/PID/exe open as fd 3 and tries to write through it, while
// the process runs and again after it exited or exec'd (CVE-2019-5736). It
// reports "found PID", then "WROTE ..." or "denied ...: ERROR" per attempt,
// then "attack-done". With $WAITGO set, the second attempt waits for
// /tmp/go. It stops when /tmp/stop exists.
const exeAttackScript = `
try() {
	if err=$( { echo x >> /proc/self/fd/3; } 2>&1 ); then echo "WROTE $1 $2"; else echo "denied $1 $2: $err"; fi
}
attack() {
	echo "found $1 $(readlink /proc/self/fd/3)"
	try "$1" while-running
	if [ -n "$WAITGO" ]; then
		echo "waiting $1"
		while [ ! -e /tmp/go ]; do sleep 0.02; done
	else
		sleep 0.3
	fi
	try "$1" after-exit
	echo attack-done
}
echo scanning
while [ ! -e /tmp/stop ]; do
	for d in /proc/[0-9]*; do
		p=${d#/proc/}
		[ "$p" = "$$" ] && continue
		[ "$d/exe" -ef /bin/busybox ] && continue
		{ command exec 3<"$d/exe"; } 2>/dev/null || continue
		if [ /proc/self/fd/3 -ef /bin/busybox ]; then exec 3<&-; continue; fi
		attack "$p"
		exec 3<&-
		while [ ! -e /tmp/stop ]; do sleep 0.05; done
		break
	done
done
echo stopped
`

// TestSecurityExeOverwrite (CVE-2019-5736): the runtime's binary cannot be
// written through /proc/PID/exe of a runtime process in the container,
// neither of an exec (while it runs and after) nor of a created
// container's init, from a container with all capabilities and no seccomp.
// The test runs a copy of the runtime, so that a failure corrupts only the
// copy.
func TestSecurityExeOverwrite(t *testing.T) {
	t.Parallel()
	caps := hostCapNames(t)
	attacker := func(e *Env, coord string) *Bundle {
		b := e.newBundle(func(s *specs.Spec) {
			s.Process.Capabilities = &specs.LinuxCapabilities{Bounding: caps, Effective: caps, Permitted: caps, Inheritable: caps, Ambient: caps}
			s.Process.NoNewPrivileges = false
			s.Linux.Seccomp = nil
			s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: coord, Options: []string{"rbind", "rw"}})
		})
		b.sh(exeAttackScript)
		return b
	}
	copyRuntime := func(e *Env) (string, string) {
		bin := filepath.Join(e.tempDir("bin"), filepath.Base(hakoBin))
		copyFile(t, hakoBin, bin, 0o755)
		return bin, fileSHA256(t, bin)
	}
	check := func(t *testing.T, out, bin, sum string) {
		t.Helper()
		t.Logf("attacker:\n%s", out)
		if !strings.Contains(out, "\nfound ") {
			t.Fatalf("the attacker found no runtime process to attack: the test proves nothing\n%s", out)
		}
		if strings.Contains(out, "WROTE") {
			t.Errorf("the attacker wrote to the runtime's binary through /proc/PID/exe:\n%s", out)
		}
		denied := 0
		for _, l := range strings.Split(out, "\n") {
			if strings.HasPrefix(l, "denied ") {
				denied++
				if !isWriteDenied(l) {
					t.Errorf("unexpected error writing the runtime's binary: %q", l)
				}
			}
		}
		if denied < 2 {
			t.Errorf("the attacker reported %d failed writes, want 2 (while running, after exit)\n%s", denied, out)
		}
		if got := fileSHA256(t, bin); got != sum {
			t.Errorf("the runtime's binary %s CHANGED (sha256 %s, was %s)", bin, got, sum)
		}
	}

	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		bin, sum := copyRuntime(e)
		o := opts{bin: bin}
		coord := e.tempDir("coord")
		b := attacker(e, coord)
		b.save()
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
		if strings.Contains(c.output(), "found ") {
			c.waitOutput("attack-done")
		}
		_ = os.WriteFile(filepath.Join(coord, "stop"), nil, 0o644)
		c.waitOutput("stopped")
		check(t, c.output(), bin, sum)
	})

	t.Run("created init", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		bin, sum := copyRuntime(e)
		o := opts{bin: bin}
		// The victim: a created container, whose init is a runtime process
		// until start.
		victim := e.newBundle()
		victim.sh(loopScript)
		victim.save()
		v := e.createOpts(victim, e.newID(), o)
		if !v.create.ok() {
			t.Fatalf("create: %s", v.create)
		}
		vpid := e.mustState(v.id).Pid
		// The attacker joins the victim's pid namespace.
		coord := e.tempDir("coord")
		b := attacker(e, coord)
		b.Spec.Process.Env = append(b.Spec.Process.Env, "WAITGO=1")
		for i := range b.Spec.Linux.Namespaces {
			if b.Spec.Linux.Namespaces[i].Type == specs.PIDNamespace {
				b.Spec.Linux.Namespaces[i].Path = fmt.Sprintf("/proc/%d/ns/pid", vpid)
			}
		}
		b.save()
		a := e.createOpts(b, e.newID(), o)
		if !a.create.ok() {
			t.Fatalf("create of the attacker: %s", a.create)
		}
		if r := e.hakoWith(o, "start", a.id); !r.ok() {
			t.Fatalf("start of the attacker: %s", r)
		}
		deadline := time.Now().Add(statusTimeout)
		for !strings.Contains(a.output(), "waiting ") && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if strings.Contains(a.output(), "waiting ") {
			// Start the victim: its init execs the user's program, so
			// the runtime's binary is no longer busy.
			if r := e.hakoWith(o, "start", v.id); !r.ok() {
				t.Fatalf("start of the victim: %s", r)
			}
			v.waitOutput("started")
			_ = os.WriteFile(filepath.Join(coord, "go"), nil, 0o644)
			a.waitOutput("attack-done")
		}
		_ = os.WriteFile(filepath.Join(coord, "stop"), nil, 0o644)
		a.waitOutput("stopped")
		check(t, a.output(), bin, sum)
		if !strings.Contains(a.output(), "found 1 ") {
			t.Errorf("the attacker did not find the victim's init (pid 1 of the pid namespace)")
		}
	})
}

// fdScript lists the shell's fds with their targets (ls runs while the
// shell waits, holding no temporary fds), its cwd, and the directory's
// entries.
const fdScript = `echo "@@fds"; ls -l /proc/$$/fd; ` +
	`echo "@@pwd"; pwd; echo "@@cwd"; readlink /proc/$$/cwd; echo "@@ls"; ls -a`

// TestSecurityLeakedFDs (CVE-2024-21626): no host fd and no host cwd
// reaches the container's process or an exec'd one, also when the runtime
// runs in the bundle directory with extra open fds of host directories and
// files (without --preserve-fds), and when process.cwd or exec --cwd is
// /proc/self/fd/N.
func TestSecurityLeakedFDs(t *testing.T) {
	t.Parallel()
	// hostFiles opens a host directory (with a SECRET file) and a host file,
	// each several times, as extra files for the runtime (fds 3 to 10).
	hostFiles := func(e *Env) (string, []*os.File) {
		dir := e.tempDir("hostdir")
		if err := os.WriteFile(filepath.Join(dir, "SECRET"), []byte("host secret\n"), 0o644); err != nil {
			e.t.Fatal(err)
		}
		file := filepath.Join(dir, "SECRET")
		var files []*os.File
		for i := 0; i < 4; i++ {
			d, err := os.Open(dir)
			if err != nil {
				e.t.Fatal(err)
			}
			f, err := os.OpenFile(file, os.O_RDWR, 0)
			if err != nil {
				e.t.Fatal(err)
			}
			files = append(files, d, f)
		}
		e.t.Cleanup(func() {
			for _, f := range files {
				f.Close()
			}
		})
		return dir, files
	}
	// checkInside checks what fdScript printed.
	checkInside := func(t *testing.T, out, wantCwd string, forbidden ...string) {
		t.Helper()
		sec := sections(out)
		var fds []string
		for _, l := range strings.Split(strings.TrimSpace(sec["fds"]), "\n") {
			// lrwx------ 1 root root 64 Nov 28 22:59 3 -> /path
			link, target, ok := strings.Cut(l, " -> ")
			if !ok {
				continue
			}
			f := strings.Fields(link)
			num := f[len(f)-1]
			fds = append(fds, num)
			for _, f := range forbidden {
				if target == f || strings.HasPrefix(target, f+"/") {
					t.Errorf("fd %s of the container's process leads to the host's %s", num, target)
				}
			}
		}
		if strings.Join(fds, " ") != "0 1 2" {
			t.Errorf("the container's process has fds %v, want only 0 1 2:\n%s", fds, sec["fds"])
		}
		if got := strings.TrimSpace(sec["pwd"]); got != wantCwd {
			t.Errorf("pwd %q, want %q", got, wantCwd)
		}
		if got := strings.TrimSpace(sec["cwd"]); got != wantCwd {
			t.Errorf("/proc/self/cwd -> %q, want %q", got, wantCwd)
		}
		if strings.Contains(sec["ls"], "SECRET") {
			t.Errorf("the process's cwd is the host's directory: ls shows %q", sec["ls"])
		}
	}

	t.Run("create", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		dir, files := hostFiles(e)
		b := e.newBundle(func(s *specs.Spec) { s.Process.Cwd = "/etc" })
		b.sh(fdScript)
		b.save()
		c := e.createOpts(b, e.newID(), opts{dir: b.Dir, extraFiles: files})
		if !c.create.ok() {
			t.Fatalf("create: %s", c.create)
		}
		c.mustStart()
		e.waitStatus(c.id, "stopped")
		checkInside(t, c.output(), "/etc", dir, b.Dir, e.Root)
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		dir, files := hostFiles(e)
		b := e.newBundle(func(s *specs.Spec) { s.Process.Cwd = "/etc" })
		c, _ := e.startLoop(b)
		r := e.hakoWith(opts{dir: b.Dir, extraFiles: files}, "exec", c.id, "sh", "-c", fdScript)
		if !r.ok() {
			t.Fatalf("exec: %s", r)
		}
		checkInside(t, r.stdout, "/etc", dir, b.Dir, e.Root)
		r = e.hakoWith(opts{dir: dir, extraFiles: files}, "exec", "--cwd", "/dev", c.id, "sh", "-c", fdScript)
		if !r.ok() {
			t.Fatalf("exec --cwd /dev: %s", r)
		}
		checkInside(t, r.stdout, "/dev", dir, b.Dir, e.Root)
	})
	// The attack: the process's cwd is one of the fds the runtime holds
	// while it sets up the process: fds it inherited from its caller, or
	// its own (runc 1.1.11 and older leaked a directory fd of the host's
	// /sys/fs/cgroup).
	for _, inherit := range []bool{true, false} {
		name := "cwd /proc/self/fd/N, runtime's own fds"
		if inherit {
			name = "cwd /proc/self/fd/N, inherited fds"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			dir, files := hostFiles(e)
			if !inherit {
				files = nil
			}
			running := e.newBundle()
			c, _ := e.startLoop(running)
			for n := 3; n <= 12; n++ {
				cwd := fmt.Sprintf("/proc/self/fd/%d", n)
				b := e.newBundle(func(s *specs.Spec) { s.Process.Cwd = cwd })
				b.sh(fdScript)
				b.save()
				cr := e.createOpts(b, e.newID(), opts{dir: b.Dir, extraFiles: files})
				if cr.create.ok() {
					if r := e.hako("start", cr.id); r.ok() {
						e.waitStatus(cr.id, "stopped")
						checkEscape(t, "create with process.cwd "+cwd, cr.output()+cr.errOutput(), dir)
					}
					e.mustHako("delete", "--force", cr.id)
				}
				r := e.hakoWith(opts{dir: b.Dir, extraFiles: files}, "exec", "--cwd", cwd, c.id, "sh", "-c", fdScript)
				if r.ok() {
					checkEscape(t, "exec --cwd "+cwd, r.stdout, dir)
				}
			}
			if st, _ := os.ReadFile(filepath.Join(dir, "SECRET")); string(st) != "host secret\n" {
				t.Errorf("the host file changed: %q", st)
			}
		})
	}
}

// checkEscape fails if a process whose output fdScript made had its cwd in
// the host directory dir.
func checkEscape(t *testing.T, what, out, dir string) {
	t.Helper()
	sec := sections(out)
	cwd := strings.TrimSpace(sec["cwd"])
	if strings.Contains(sec["ls"], "SECRET") || cwd == dir || strings.HasPrefix(cwd, dir+"/") {
		t.Errorf("%s: the process's cwd is the host directory %s:\n%s", what, dir, out)
	} else if pwd := strings.TrimSpace(sec["pwd"]); pwd == "" || pwd != cwd || !strings.HasPrefix(cwd, "/") {
		// getcwd fails outside the process's root.
		t.Errorf("%s: the process's cwd is outside its root (pwd %q, /proc/self/cwd %q):\n%s", what, pwd, cwd, out)
	}
}

// victim is a host directory with a file, which containers try to reach
// through symlinks planted in their rootfs.
type victim struct {
	dir, file string
	content   string
}

func (e *Env) newVictim() *victim {
	v := &victim{dir: e.tempDir("victim"), content: "VICTIM " + randomHex(4) + "\n"}
	v.file = filepath.Join(v.dir, "file")
	if err := os.WriteFile(v.file, []byte(v.content), 0o644); err != nil {
		e.t.Fatal(err)
	}
	return v
}

// check fails the test if the victim changed or has something mounted on it
// in the host's mount namespace.
func (v *victim) check(t *testing.T, when string) {
	t.Helper()
	if names := dirEntries(v.dir); strings.Join(names, " ") != "file" {
		t.Errorf("%s: the host directory %s now holds %v, want only file", when, v.dir, names)
	}
	if data, err := os.ReadFile(v.file); err != nil || string(data) != v.content {
		t.Errorf("%s: the host file %s changed: %q %v", when, v.file, data, err)
	}
	if fi, err := os.Lstat(v.file); err != nil || !fi.Mode().IsRegular() || fi.Mode().Perm() != 0o644 {
		t.Errorf("%s: the host file %s: %v %v", when, v.file, fi, err)
	}
	if mps := mountsUnder(v.dir); len(mps) > 0 {
		t.Errorf("%s: mounts on the host's %s: %v", when, v.dir, mps)
	}
}

// checkNotMountedIn fails if the container's mount table has the host's
// victim file or directory bind-mounted somewhere.
func (v *victim) checkNotMountedIn(t *testing.T, mounts []mountEntry) {
	t.Helper()
	file, dir := fsRootPath(v.file), fsRootPath(v.dir)
	for _, m := range mounts {
		if m.Root == file || m.Root == dir || strings.HasPrefix(m.Root, dir+"/") {
			t.Errorf("the host's %s is mounted in the container at %s", m.Root, m.MountPoint)
		}
	}
}

// fsRootPath returns how a host path appears in the root field of
// mountinfo when it is bind-mounted: relative to the root of its
// filesystem.
func fsRootPath(path string) string {
	mounts, _ := readMountinfo("/proc/self/mountinfo")
	var best *mountEntry
	for i, m := range mounts {
		if path == m.MountPoint || m.MountPoint == "/" || strings.HasPrefix(path, m.MountPoint+"/") {
			if best == nil || len(m.MountPoint) >= len(best.MountPoint) {
				best = &mounts[i]
			}
		}
	}
	if best == nil {
		return path
	}
	rel := strings.TrimPrefix(path, strings.TrimSuffix(best.MountPoint, "/"))
	return filepath.Join(best.Root, rel)
}

// runAttack creates, starts and deletes a container from b, checking the
// victim after each step. A failing create is fine (refusing is safe); its
// error is logged and ok is false. With terminal, a console socket is used
// and drained. A container that ran but printed nothing fails the test: it
// proves nothing.
func (e *Env) runAttack(b *Bundle, v *victim) (out string, ok bool) {
	t := e.t
	t.Helper()
	var extra []string
	var sock *consoleRecv
	if b.Spec.Process.Terminal {
		sock = e.consoleSocket()
		extra = append(extra, "--console-socket", sock.path)
	}
	c := e.create(b, extra...)
	v.check(t, "after create")
	if !c.create.ok() {
		t.Logf("create refused the config: %s", c.create)
		e.expectNothingLeft(c.id, b)
		return "", false
	}
	if sock != nil {
		m := &ptyReader{f: sock.master(t)}
		c.mustStart()
		out, _ = m.until("\x00never", 2*time.Second) // until EOF
	} else {
		c.mustStart()
	}
	e.waitStatus(c.id, "stopped")
	v.check(t, "after start")
	e.mustHako("delete", c.id)
	v.check(t, "after delete")
	out = c.output() + out + c.errOutput()
	if strings.TrimSpace(out) == "" {
		t.Errorf("the container ran but printed nothing (stderr of create: %q)", c.create.stderr)
	}
	return out, true
}

// TestSecuritySymlinks (CVE-2021-30465 and relatives): mount destinations,
// masked paths, read-only paths and /dev/console planted in the rootfs as
// symlinks to host paths never lead the runtime out of the rootfs.
func TestSecuritySymlinks(t *testing.T) {
	t.Parallel()
	type tc struct {
		name  string
		setup func(e *Env, b *Bundle, rootfs string, v *victim)
	}
	symlink := func(t *testing.T, target, link string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			t.Fatal(err)
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			t.Fatal(err)
		}
	}
	escape := strings.Repeat("../", 12)
	cases := []tc{
		{"mount destination absolute", func(e *Env, b *Bundle, rootfs string, v *victim) {
			symlink(e.t, v.dir, filepath.Join(rootfs, "evil"))
			// A dangling link to a file the runtime would create.
			symlink(e.t, filepath.Join(v.dir, "created"), filepath.Join(rootfs, "etc", "evilfile"))
			src := e.writeFile("payload", "PAYLOAD\n", 0o644)
			b.Spec.Mounts = append(b.Spec.Mounts,
				specs.Mount{Destination: "/evil", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
				specs.Mount{Destination: "/etc/evilfile", Type: "bind", Source: src, Options: []string{"bind", "rw"}},
				specs.Mount{Destination: "/evil/sub", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
			)
			b.sh(`touch /evil/pwned /evil/sub/pwned; echo x >> /etc/evilfile; cat /proc/self/mountinfo`)
		}},
		{"mount destination relative", func(e *Env, b *Bundle, rootfs string, v *victim) {
			symlink(e.t, escape+strings.TrimPrefix(v.dir, "/"), filepath.Join(rootfs, "evil"))
			symlink(e.t, escape+strings.TrimPrefix(v.file, "/"), filepath.Join(rootfs, "etc", "evilfile"))
			src := e.writeFile("payload", "PAYLOAD\n", 0o644)
			b.Spec.Mounts = append(b.Spec.Mounts,
				specs.Mount{Destination: "/evil", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}},
				specs.Mount{Destination: "/etc/evilfile", Type: "bind", Source: src, Options: []string{"bind", "rw"}},
			)
			b.sh(`touch /evil/pwned; echo x >> /etc/evilfile; cat /proc/self/mountinfo`)
		}},
		{"masked path", func(e *Env, b *Bundle, rootfs string, v *victim) {
			symlink(e.t, v.file, filepath.Join(rootfs, "etc", "masked"))
			symlink(e.t, v.dir, filepath.Join(rootfs, "etc", "maskeddir"))
			symlink(e.t, filepath.Join(v.dir, "created"), filepath.Join(rootfs, "etc", "masked-dangling"))
			symlink(e.t, escape+strings.TrimPrefix(v.file, "/"), filepath.Join(rootfs, "etc", "masked-relative"))
			b.Spec.Linux.MaskedPaths = append(b.Spec.Linux.MaskedPaths, "/etc/masked", "/etc/maskeddir", "/etc/masked-dangling", "/etc/masked-relative")
			b.sh(`cat /proc/self/mountinfo`)
		}},
		{"readonly path", func(e *Env, b *Bundle, rootfs string, v *victim) {
			symlink(e.t, v.dir, filepath.Join(rootfs, "etc", "ro"))
			symlink(e.t, v.file, filepath.Join(rootfs, "etc", "rofile"))
			symlink(e.t, filepath.Join(v.dir, "created"), filepath.Join(rootfs, "etc", "ro-dangling"))
			symlink(e.t, escape+strings.TrimPrefix(v.dir, "/"), filepath.Join(rootfs, "etc", "ro-relative"))
			b.Spec.Linux.ReadonlyPaths = append(b.Spec.Linux.ReadonlyPaths, "/etc/ro", "/etc/rofile", "/etc/ro-dangling", "/etc/ro-relative")
			b.sh(`cat /proc/self/mountinfo`)
		}},
		{"dev console", func(e *Env, b *Bundle, rootfs string, v *victim) {
			// /dev is the rootfs's own directory, so the planted link is
			// what the runtime finds there.
			removeMount(b.Spec, "/dev")
			symlink(e.t, v.file, filepath.Join(rootfs, "dev", "console"))
			b.Spec.Process.Terminal = true
			b.sh(`echo console; ls -l /dev/console; echo PWNED > /dev/console; cat /proc/self/mountinfo`)
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			v := e.newVictim()
			b := e.newBundle()
			rootfs := b.privateRootfs()
			c.setup(e, b, rootfs, v)
			out, _ := e.runAttack(b, v)
			if strings.Contains(out, strings.TrimSpace(v.content)) {
				t.Errorf("the container read the host file:\n%s", out)
			}
			v.checkNotMountedIn(t, parseMountinfo(out))
		})
	}
}

// removeMount drops the mount at dest (and those under it) from the spec.
func removeMount(s *specs.Spec, dest string) {
	var keep []specs.Mount
	for _, m := range s.Mounts {
		if m.Destination == dest {
			continue
		}
		keep = append(keep, m)
	}
	s.Mounts = keep
}

// TestSecurityDevNullSymlink (CVE-2025-31133): masking binds /dev/null over
// masked files; if /dev/null is a symlink when the runtime masks, the
// runtime must not bind the link's target over the masked paths: create
// fails or masks safely. Two ways to plant the link: in a rootfs whose /dev
// is its own directory (no tmpfs), and, as the race of the CVE would, by a
// createContainer hook that swaps /dev/null after the runtime made the
// devices and before it masks. Two targets: a host file (absolute path
// outside the rootfs), and /proc/sys/kernel/hostname, which exists inside
// the container and is read-only there (the real exploit used
// core_pattern; hostname belongs to the container's own UTS namespace, so
// a vulnerable runtime harms nothing).
func TestSecurityDevNullSymlink(t *testing.T) {
	t.Parallel()
	for _, how := range []string{"planted", "swapped by hook"} {
		for _, target := range []string{"host file", "/proc/sys/kernel/hostname"} {
			masked := []string{"/proc/kcore", "/etc/maskme", "/proc/timer_list"}
			how, target := how, target
			t.Run(how+" to "+target, func(t *testing.T) {
				t.Parallel()
				e := newEnv(t)
				v := e.newVictim()
				b := e.newBundle()
				rootfs := b.privateRootfs()
				link := target
				if target == "host file" {
					link = v.file
				}
				if how == "planted" {
					removeMount(b.Spec, "/dev")
					if err := os.Symlink(link, filepath.Join(rootfs, "dev", "null")); err != nil {
						t.Fatal(err)
					}
				} else {
					null := filepath.Join(rootfs, "dev", "null")
					b.Spec.Hooks = &specs.Hooks{CreateContainer: []specs.Hook{{
						Path: "/bin/sh",
						Args: []string{"sh", "-c", `umount -l "$1" 2>/dev/null; rm -f "$1" && ln -s "$2" "$1"`, "swap", null, link},
						Env:  []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "HAKO_ITEST=" + e.mark},
					}}}
				}
				if err := os.WriteFile(filepath.Join(rootfs, "etc", "maskme"), []byte("ORIGINAL\n"), 0o644); err != nil {
					t.Fatal(err)
				}
				b.Spec.Hostname = "hako-" + randomHex(3)
				b.Spec.Linux.MaskedPaths = masked
				b.sh(`for f in ` + strings.Join(masked, " ") + `; do echo "@@$f"; head -c 200 $f; echo PWNED > $f; head -c 200 $f; done; ` +
					`echo "@@hostname"; cat /proc/sys/kernel/hostname; echo "@@null"; ls -l /dev/null; echo "@@mountinfo"; cat /proc/self/mountinfo`)
				out, ok := e.runAttack(b, v)
				if !ok {
					return // create refused: safe
				}
				sec := sections(out)
				for _, f := range masked {
					got := sec[f]
					for _, leak := range []string{strings.TrimSpace(v.content), b.Spec.Hostname, "PWNED"} {
						if strings.Contains(got, leak) {
							t.Errorf("masked %s: the container read or wrote %q through it: %q", f, leak, got)
						}
					}
					if f == "/etc/maskme" && strings.Contains(got, "ORIGINAL") {
						t.Errorf("masked %s is not masked: %q", f, got)
					}
				}
				if got, ok := sec["hostname"]; ok && strings.TrimSpace(got) != b.Spec.Hostname {
					t.Errorf("the container changed its read-only /proc/sys/kernel/hostname through a masked path: %q, want %q", got, b.Spec.Hostname)
				}
				v.checkNotMountedIn(t, parseMountinfo(sec["mountinfo"]))
				for _, m := range parseMountinfo(sec["mountinfo"]) {
					if (m.MountPoint == "/etc/maskme" || m.MountPoint == "/proc/kcore") && m.FSType == "proc" && strings.HasPrefix(m.Root, "/sys/") {
						t.Errorf("%s is a bind of the container's %s", m.MountPoint, m.Root)
					}
				}
				if t.Failed() || os.Getenv("HAKO_TEST_DEBUG") != "" {
					t.Logf("container output:\n%s", out)
				}
			})
		}
	}
}

// TestSecurityStateDir: the state directories are private to root: a
// non-root user can neither read a container's state, nor reach its start
// socket, nor use the runtime on it.
func TestSecurityStateDir(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(loopScript)
	c := e.mustCreate(b)
	pid := e.mustState(c.id).Pid
	dir := filepath.Join(e.Root, c.id)

	var st syscall.Stat_t
	if err := syscall.Stat(e.Root, &st); err != nil {
		t.Fatal(err)
	}
	if st.Mode&0o002 != 0 || st.Uid != 0 {
		t.Errorf("--root %s: mode %o uid %d: writable by others or not root's", e.Root, st.Mode&0o7777, st.Uid)
	}
	for _, name := range dirEntries(e.Root) {
		p := filepath.Join(e.Root, name)
		if err := syscall.Lstat(p, &st); err != nil {
			t.Fatal(err)
		}
		if st.Uid != 0 || st.Gid != 0 {
			t.Errorf("%s: owned by %d:%d, want root", p, st.Uid, st.Gid)
		}
		t.Run("mode 0700 "+name, func(t *testing.T) {
			hakoOnly(t, "makes state dirs 0711")
			if st.Mode&0o7777 != 0o700 {
				t.Errorf("%s: mode %o, want 0700", p, st.Mode&0o7777)
			}
		})
	}
	t.Run("file modes", func(t *testing.T) {
		hakoOnly(t, "has exec.fifo mode 0622 in a 0711 directory")
		for _, name := range dirEntries(dir) {
			p := filepath.Join(dir, name)
			if err := syscall.Lstat(p, &st); err == nil && st.Mode&0o002 != 0 && st.Mode&syscall.S_IFMT != syscall.S_IFSOCK {
				t.Errorf("%s is writable by others: mode %o", p, st.Mode&0o7777)
			}
		}
	})

	// Run things as nobody, with a copy of the runtime it can execute.
	bin := filepath.Join(e.tempDir("bin"), filepath.Base(hakoBin))
	copyFile(t, hakoBin, bin, 0o755)
	asNobody := func(args ...string) (string, error) {
		return runManaged("setpriv", append([]string{"--reuid=65534", "--regid=65534", "--clear-groups", "--"}, args...)...)
	}
	if out, err := asNobody("true"); err != nil {
		t.Skipf("cannot run commands as nobody: %v %s", err, out)
	}
	if out, err := asNobody("cat", filepath.Join(dir, "state.json")); err == nil || !strings.Contains(out, "Permission denied") {
		t.Errorf("nobody read state.json (or failed for another reason): %v %q", err, out)
	}
	if out, err := asNobody("ls", dir); err == nil {
		t.Errorf("nobody listed the state directory: %q", out)
	}
	t.Run("start.sock", func(t *testing.T) {
		hakoOnly(t, "has exec.fifo, no start.sock")
		sock := filepath.Join(dir, "start.sock")
		if _, err := os.Stat(sock); err != nil {
			t.Fatalf("start.sock of a created container: %v", err)
		}
		// A relative path from --root: the absolute one may not fit in
		// sun_path.
		out, err := asNobody("perl", "-MSocket", "-e",
			`chdir($ARGV[0]) or die "chdir: $!\n"; socket(S, PF_UNIX, SOCK_STREAM, 0) or die "socket: $!\n"; `+
				`connect(S, pack_sockaddr_un($ARGV[1])) or die "connect: $!\n"; print "connected\n"`, e.Root, c.id+"/start.sock")
		if err == nil || !strings.Contains(out, "Permission denied") {
			t.Errorf("nobody connecting to start.sock: %v %q, want Permission denied", err, out)
		}
	})
	for _, args := range [][]string{
		{"state", c.id},
		{"start", c.id},
		{"kill", c.id, "KILL"},
		{"exec", c.id, "true"},
		{"delete", "--force", c.id},
	} {
		full := append([]string{bin, "--root", e.Root}, args...)
		if out, err := asNobody(full...); err == nil {
			t.Errorf("nobody ran `%s`: %q", strings.Join(args, " "), out)
		} else if strings.Contains(out, "failed to execute") {
			t.Errorf("nobody could not run the runtime at all: %q", out)
		}
	}
	time.Sleep(50 * time.Millisecond)
	e.expectState(c.id, "created", pid)
	if !procAlive(pid) {
		t.Errorf("the init %d died", pid)
	}
}
