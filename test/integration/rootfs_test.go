package integration

import (
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestRootfsPivot checks the root filesystem set-up with pivot_root and with
// --no-pivot: the container sees its rootfs at / and no host mount.
func TestRootfsPivot(t *testing.T) {
	t.Parallel()
	for _, noPivot := range []bool{false, true} {
		name := "pivot_root"
		if noPivot {
			name = "no-pivot"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle()
			b.sh(`echo "@@mountinfo"; cat /proc/self/mountinfo; echo "@@ls"; ls -a /`)
			var extra []string
			if noPivot {
				extra = append(extra, "--no-pivot")
			}
			c := e.mustCreate(b, extra...)
			c.mustStart()
			e.waitStatus(c.id, "stopped")
			sec := sections(c.output())
			if got := strings.Fields(sec["ls"]); strings.Join(got, " ") != ". .. bin dev etc proc root sys tmp" {
				t.Errorf("ls -a / inside: %v, want the rootfs's entries only", got)
			}
			mounts := parseMountinfo(sec["mountinfo"])
			root, ok := findMount(mounts, "/")
			if !ok {
				t.Fatalf("no mount at / inside:\n%s", sec["mountinfo"])
			}
			if !root.hasOpt("ro") {
				t.Errorf("root.readonly: / is mounted %v", root.Options)
			}
			for _, m := range mounts {
				ok := m.MountPoint == "/"
				for _, p := range []string{"/proc", "/dev", "/sys"} {
					ok = ok || m.MountPoint == p || strings.HasPrefix(m.MountPoint, p+"/")
				}
				if !ok || strings.Contains(m.MountPoint, baseDir) {
					t.Errorf("unexpected mount inside the container: %s (%s)", m.MountPoint, m.FSType)
				}
			}
		})
	}
}

func TestRootfsPropagation(t *testing.T) {
	t.Parallel()
	for _, prop := range []string{"private", "rprivate", "shared", "rshared", "slave"} {
		t.Run(prop, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) { s.Linux.RootfsPropagation = prop })
			b.sh(`cat /proc/self/mountinfo`)
			out := e.mustRun(b)
			root, ok := findMount(parseMountinfo(out), "/")
			if !ok {
				t.Fatalf("no / mount:\n%s", out)
			}
			shared := root.optionalPrefixed("shared:")
			slave := root.optionalPrefixed("master:")
			switch prop {
			case "private", "rprivate":
				if shared || slave {
					t.Errorf("rootfsPropagation %s: / has %v", prop, root.Optional)
				}
			case "shared", "rshared":
				hakoOnly(t, "leaves the root mount private")
				if !shared {
					t.Errorf("rootfsPropagation %s: / has %v, want shared:N", prop, root.Optional)
				}
			case "slave":
				// The caller's / is private here, so a slave copy of it
				// has no master: it must just not be shared.
				if shared {
					t.Errorf("rootfsPropagation %s: / has %v", prop, root.Optional)
				}
			}
		})
	}
}

func TestRootfsReadonly(t *testing.T) {
	t.Parallel()
	t.Run("readonly", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(`touch /etc/hako-probe 2>&1; echo "rc=$?"`)
		out := e.mustRun(b)
		if !strings.Contains(out, "Read-only file system") || strings.Contains(out, "rc=0") {
			t.Errorf("write to a read-only root: %q", out)
		}
		if _, err := os.Stat(filepath.Join(sharedRootfs, "etc", "hako-probe")); err == nil {
			t.Errorf("the write reached the host rootfs")
		}
	})
	t.Run("writable", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		rootfs := b.privateRootfs()
		b.sh(`echo hi > /etc/hako-probe && echo "rc=$?"`)
		out := e.mustRun(b)
		if !strings.Contains(out, "rc=0") {
			t.Errorf("write to a writable root: %q", out)
		}
		if data, err := os.ReadFile(filepath.Join(rootfs, "etc", "hako-probe")); err != nil || string(data) != "hi\n" {
			t.Errorf("the write did not reach the rootfs: %q %v", data, err)
		}
	})
}

func TestRootfsMountsInOrder(t *testing.T) {
	t.Parallel()
	for _, bindFirst := range []bool{false, true} {
		name := "tmpfs then bind inside it"
		if bindFirst {
			name = "bind then tmpfs over it"
		}
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			src := e.tempDir("src")
			if err := os.WriteFile(filepath.Join(src, "hello"), []byte("bound\n"), 0o644); err != nil {
				t.Fatal(err)
			}
			b := e.newBundle()
			rootfs := b.privateRootfs()
			tmpfs := specs.Mount{Destination: "/a", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "mode=755", "size=1m"}}
			bind := specs.Mount{Destination: "/a/b", Type: "bind", Source: src, Options: []string{"bind", "ro"}}
			if bindFirst {
				b.Spec.Mounts = append(b.Spec.Mounts, bind, tmpfs)
			} else {
				b.Spec.Mounts = append(b.Spec.Mounts, tmpfs, bind)
			}
			b.sh(`echo "@@cat"; cat /a/b/hello 2>&1; echo "@@mountinfo"; cat /proc/self/mountinfo`)
			sec := sections(e.mustRun(b))
			mounts := parseMountinfo(sec["mountinfo"])
			ia, ib := mountIndex(mounts, "/a"), mountIndex(mounts, "/a/b")
			if bindFirst {
				if strings.Contains(sec["cat"], "bound") {
					t.Errorf("the tmpfs mounted after the bind does not hide it: %q", sec["cat"])
				}
				if ia < 0 || ib < 0 || ib > ia {
					t.Errorf("mount order inside: /a at %d, /a/b at %d; want /a/b first", ia, ib)
				}
				return
			}
			if strings.TrimSpace(sec["cat"]) != "bound" {
				t.Errorf("cat /a/b/hello: %q, want the bound file", sec["cat"])
			}
			if ia < 0 || ib < 0 || ia > ib {
				t.Errorf("mount order inside: /a at %d, /a/b at %d; want /a first", ia, ib)
			}
			if m, ok := findMount(mounts, "/a"); !ok || m.FSType != "tmpfs" {
				t.Errorf("/a is not a tmpfs: %+v", m)
			}
			if _, err := os.Stat(filepath.Join(rootfs, "a", "b")); err == nil {
				t.Errorf("/a/b was made in the rootfs, not in the tmpfs mounted at /a")
			}
		})
	}
}

func TestRootfsMountOptions(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	plain := e.tempDir("plain")
	if err := os.WriteFile(filepath.Join(plain, "file"), []byte("plain\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	// A directory with a submount: rbind carries it, bind does not.
	nested := e.tempDir("nested")
	sub := filepath.Join(nested, "sub")
	if err := os.Mkdir(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := syscall.Mount("tmpfs", sub, "tmpfs", 0, "size=1m"); err != nil {
		t.Fatalf("mount tmpfs on %s: %v", sub, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(sub, syscall.MNT_DETACH) })
	if err := os.WriteFile(filepath.Join(sub, "inner"), []byte("inner\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	single := e.writeFile("single-file", "single\n", 0o644)

	b := e.newBundle()
	b.privateRootfs()
	b.Spec.Mounts = append(b.Spec.Mounts,
		specs.Mount{Destination: "/mnt/bindro", Type: "bind", Source: plain, Options: []string{"bind", "ro"}},
		specs.Mount{Destination: "/mnt/rbind", Type: "bind", Source: nested, Options: []string{"rbind"}},
		specs.Mount{Destination: "/mnt/bind", Type: "bind", Source: nested, Options: []string{"bind"}},
		specs.Mount{Destination: "/mnt/opts", Type: "tmpfs", Source: "tmpfs", Options: []string{"nosuid", "nodev", "noexec", "size=1m", "mode=710"}},
		specs.Mount{Destination: "/etc/single", Type: "bind", Source: single, Options: []string{"bind", "ro"}},
	)
	b.sh(`echo "@@mountinfo"; cat /proc/self/mountinfo
echo "@@bindro"; cat /mnt/bindro/file; touch /mnt/bindro/new 2>&1; echo "rc=$?"
echo "@@rbind"; cat /mnt/rbind/sub/inner 2>&1
echo "@@bind"; ls -A /mnt/bind/sub
echo "@@mode"; stat -c %a /mnt/opts
echo "@@single"; cat /etc/single; stat -c %F /etc/single`)
	sec := sections(e.mustRun(b))
	mounts := parseMountinfo(sec["mountinfo"])

	if !strings.Contains(sec["bindro"], "plain") || !strings.Contains(sec["bindro"], "Read-only file system") {
		t.Errorf("bind,ro: %q", sec["bindro"])
	}
	if m, ok := findMount(mounts, "/mnt/bindro"); !ok || !m.hasOpt("ro") {
		t.Errorf("bind,ro: mount %+v", m)
	}
	if _, err := os.Stat(filepath.Join(plain, "new")); err == nil {
		t.Errorf("bind,ro: the write reached the host")
	}
	if strings.TrimSpace(sec["rbind"]) != "inner" {
		t.Errorf("rbind does not carry the submount: %q", sec["rbind"])
	}
	if strings.TrimSpace(sec["bind"]) != "" {
		t.Errorf("bind (not recursive) carries the submount: %q", sec["bind"])
	}
	if m, ok := findMount(mounts, "/mnt/opts"); !ok {
		t.Errorf("no mount at /mnt/opts")
	} else {
		for _, o := range []string{"nosuid", "nodev", "noexec"} {
			if !m.hasOpt(o) {
				t.Errorf("tmpfs /mnt/opts lacks %s: %v", o, m.Options)
			}
		}
		if !m.hasSuperOpt("size=1024k") || !m.hasSuperOpt("mode=710") {
			t.Errorf("tmpfs /mnt/opts: super options %v, want size=1024k and mode=710", m.SuperOptions)
		}
	}
	if strings.TrimSpace(sec["mode"]) != "710" {
		t.Errorf("tmpfs mode=710: stat says %q", sec["mode"])
	}
	if !strings.Contains(sec["single"], "single") || !strings.Contains(sec["single"], "regular file") {
		t.Errorf("bind of a file: %q", sec["single"])
	}

	// The default mounts, by type and options.
	for _, want := range []struct{ mp, fstype string }{
		{"/proc", "proc"}, {"/dev", "tmpfs"}, {"/dev/pts", "devpts"}, {"/dev/shm", "tmpfs"},
		{"/dev/mqueue", "mqueue"}, {"/sys", "sysfs"}, {"/sys/fs/cgroup", "cgroup"},
	} {
		m, ok := findMount(mounts, want.mp)
		if !ok || !strings.HasPrefix(m.FSType, want.fstype) {
			t.Errorf("%s: mounted as %q, want %s", want.mp, m.FSType, want.fstype)
		}
	}
	if m, _ := findMount(mounts, "/sys"); !m.hasOpt("ro") || !m.hasOpt("nosuid") {
		t.Errorf("/sys options %v, want ro,nosuid", m.Options)
	}
	if m, _ := findMount(mounts, "/sys/fs/cgroup"); !m.hasOpt("ro") {
		t.Errorf("/sys/fs/cgroup options %v, want ro", m.Options)
	}
	if m, _ := findMount(mounts, "/dev/shm"); !m.hasOpt("nosuid") || !m.hasOpt("nodev") || !m.hasOpt("noexec") {
		t.Errorf("/dev/shm options %v", m.Options)
	}
	if m, _ := findMount(mounts, "/dev/pts"); !m.hasSuperOpt("ptmxmode=666") || !m.hasSuperOpt("gid=5") {
		t.Errorf("/dev/pts super options %v, want ptmxmode=666 and gid=5", m.SuperOptions)
	}
}

func TestRootfsDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	b.sh(`echo "@@stat"; for d in null zero full random urandom tty; do stat -c '%n|%F|%t|%T|%a' /dev/$d; done
echo "@@links"; for l in fd stdin stdout stderr ptmx; do echo "$l $(readlink /dev/$l)"; done
echo "@@io"; head -c 8 /dev/zero | wc -c; echo x > /dev/null && echo null-ok; (echo x > /dev/full) 2>/dev/null || echo full-enospc
echo "@@ls"; ls -A /dev`)
	sec := sections(e.mustRun(b))
	want := map[string]string{
		"/dev/null": "1|3", "/dev/zero": "1|5", "/dev/full": "1|7",
		"/dev/random": "1|8", "/dev/urandom": "1|9", "/dev/tty": "5|0",
	}
	for _, l := range strings.Split(strings.TrimSpace(sec["stat"]), "\n") {
		f := strings.Split(l, "|")
		if len(f) != 5 {
			t.Errorf("stat: %q", l)
			continue
		}
		if f[1] != "character special file" || f[2]+"|"+f[3] != want[f[0]] || f[4] != "666" {
			t.Errorf("%s: %s %s:%s mode %s, want character special file %s mode 666", f[0], f[1], f[2], f[3], f[4], want[f[0]])
		}
		delete(want, f[0])
	}
	if len(want) > 0 {
		t.Errorf("default devices missing: %v\n%s", want, sec["stat"])
	}
	links := map[string]string{"fd": "/proc/self/fd", "stdin": "/proc/self/fd/0", "stdout": "/proc/self/fd/1", "stderr": "/proc/self/fd/2", "ptmx": "pts/ptmx"}
	for _, l := range strings.Split(strings.TrimSpace(sec["links"]), "\n") {
		f := strings.Fields(l)
		if len(f) != 2 || links[f[0]] != f[1] {
			t.Errorf("/dev symlink: %q, want %s -> %s", l, f[0], links[f[0]])
		}
	}
	if !fieldsEqual(sec["io"], "8 null-ok full-enospc") {
		t.Errorf("device I/O: %q", sec["io"])
	}
	for _, name := range strings.Fields(sec["ls"]) {
		switch name {
		case "vda", "mem", "kmem", "port", "kmsg", "sda", "loop0":
			t.Errorf("host device /dev/%s visible in the container", name)
		}
	}
}

func TestRootfsLinuxDevices(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		mode := os.FileMode(0o600)
		uid, gid := uint32(1000), uint32(2000)
		s.Linux.Devices = []specs.LinuxDevice{
			{Path: "/dev/mynull", Type: "c", Major: 1, Minor: 3, FileMode: &mode, UID: &uid, GID: &gid},
			// A FIFO (no device cgroup rule) and an unbuffered char
			// device (a "c" rule), as runtime-tools' linux_devices has.
			{Path: "/dev/myfifo", Type: "p", FileMode: &mode, UID: &uid, GID: &gid},
			{Path: "/dev/myzero", Type: "u", Major: 1, Minor: 5, FileMode: &mode, UID: &uid, GID: &gid},
		}
		major, minor := int64(1), int64(3)
		s.Linux.Resources.Devices = append(s.Linux.Resources.Devices, specs.LinuxDeviceCgroup{Allow: true, Type: "c", Major: &major, Minor: &minor, Access: "rwm"})
		// The owner (1000) writes it: root without CAP_DAC_OVERRIDE could not.
		s.Process.User = specs.User{UID: 1000, GID: 1000}
	})
	b.sh(`stat -c '%F|%t|%T|%a|%u|%g' /dev/mynull; echo data > /dev/mynull && echo write-ok
stat -c '%F|%a|%u|%g' /dev/myfifo
stat -c '%F|%t|%T' /dev/myzero; head -c 4 /dev/myzero | wc -c`)
	out := e.mustRun(b)
	if !fieldsEqual(out, "character special file|1|3|600|1000|2000 write-ok fifo|600|1000|2000 character special file|1|5 4") {
		t.Errorf("linux.devices: %q, want /dev/mynull character special file 1:3 mode 600 uid 1000 gid 2000, writable; /dev/myfifo a fifo 600 1000:2000; /dev/myzero 1:5 readable", out)
	}
}

func TestRootfsMaskedPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/etc/hostname", "/etc/no-such-file")
	})
	// Files read as empty, directories list as empty. Only paths that exist
	// on this kernel are checked (/proc/kcore, for one, may not).
	candidates := []string{"/proc/timer_list", "/proc/keys", "/proc/kcore", "/proc/sched_debug", "/sys/firmware", "/proc/acpi", "/etc/hostname"}
	var script strings.Builder
	var checked []string
	for _, p := range candidates {
		hostPath := p
		if strings.HasPrefix(p, "/etc/") {
			hostPath = filepath.Join(sharedRootfs, p)
		}
		fi, err := os.Stat(hostPath)
		if err != nil {
			continue
		}
		checked = append(checked, p)
		if fi.IsDir() {
			script.WriteString("echo \"" + p + " $(ls -A " + p + " | wc -l)\"\n")
		} else {
			script.WriteString("echo \"" + p + " $(cat " + p + " | wc -c)\"\n")
		}
	}
	b.sh(script.String())
	out := e.mustRun(b)
	got := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if f := strings.Fields(l); len(f) == 2 {
			got[f[0]] = f[1]
		}
	}
	for _, p := range checked {
		if got[p] != "0" {
			t.Errorf("masked path %s must read empty: %q", p, got[p])
		}
	}
	if data, _ := os.ReadFile(filepath.Join(sharedRootfs, "etc", "hostname")); len(data) == 0 {
		t.Errorf("masking emptied the host file")
	}
}

func TestRootfsReadonlyPaths(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	w := e.tempDir("w")
	for _, d := range []string{"ro", "rw"} {
		if err := os.Mkdir(filepath.Join(w, d), 0o777); err != nil {
			t.Fatal(err)
		}
	}
	b := e.newBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: w, Options: []string{"rbind", "rw"}})
		s.Linux.ReadonlyPaths = append(s.Linux.ReadonlyPaths, "/tmp/ro")
	})
	b.sh(`echo "@@rw"; touch /tmp/rw/f && echo rw-ok
echo "@@ro"; touch /tmp/ro/f 2>&1; echo "rc=$?"
echo "@@mountinfo"; cat /proc/self/mountinfo`)
	sec := sections(e.mustRun(b))
	if strings.TrimSpace(sec["rw"]) != "rw-ok" {
		t.Errorf("write next to a read-only path: %q", sec["rw"])
	}
	if !strings.Contains(sec["ro"], "Read-only file system") || strings.Contains(sec["ro"], "rc=0") {
		t.Errorf("write to a read-only path: %q", sec["ro"])
	}
	if _, err := os.Stat(filepath.Join(w, "ro", "f")); err == nil {
		t.Errorf("the write to the read-only path reached the host")
	}
	mounts := parseMountinfo(sec["mountinfo"])
	for _, p := range []string{"/tmp/ro", "/proc/sys", "/proc/sysrq-trigger"} {
		if _, err := os.Stat(p); err != nil && strings.HasPrefix(p, "/proc/") {
			continue // not on this kernel
		}
		if m, ok := findMount(mounts, p); !ok || !m.hasOpt("ro") {
			t.Errorf("readonly path %s: mount %+v, want ro", p, m)
		}
	}
}

func TestRootfsHostnameDomainname(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hostHostname, _ := os.ReadFile("/proc/sys/kernel/hostname")
	hostDomain, _ := os.ReadFile("/proc/sys/kernel/domainname")
	b := e.newBundle(func(s *specs.Spec) {
		s.Hostname = "hako-host"
		s.Domainname = "hako.example"
	})
	b.sh(`hostname; cat /proc/sys/kernel/hostname /proc/sys/kernel/domainname`)
	out := e.mustRun(b)
	if !fieldsEqual(out, "hako-host hako-host hako.example") {
		t.Errorf("hostname and domainname inside: %q", out)
	}
	h, _ := os.ReadFile("/proc/sys/kernel/hostname")
	d, _ := os.ReadFile("/proc/sys/kernel/domainname")
	if string(h) != string(hostHostname) || string(d) != string(hostDomain) {
		t.Errorf("the host's names changed: %q %q -> %q %q", hostHostname, hostDomain, h, d)
	}
}

func TestRootfsSysctl(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hostFwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	hostShm, _ := os.ReadFile("/proc/sys/kernel/shmmax")
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Sysctl = map[string]string{"net.ipv4.ip_forward": "1", "kernel.shmmax": "123456789"}
	})
	b.sh(`cat /proc/sys/net/ipv4/ip_forward /proc/sys/kernel/shmmax`)
	out := e.mustRun(b)
	if !fieldsEqual(out, "1 123456789") {
		t.Errorf("sysctls inside: %q, want 1 123456789", out)
	}
	fwd, _ := os.ReadFile("/proc/sys/net/ipv4/ip_forward")
	shm, _ := os.ReadFile("/proc/sys/kernel/shmmax")
	if string(fwd) != string(hostFwd) || string(shm) != string(hostShm) {
		t.Errorf("the host's sysctls changed: %q %q -> %q %q", hostFwd, hostShm, fwd, shm)
	}
}

// TestRootfsHostileSymlink: the image has etc/evil -> an absolute host path;
// a mount at /etc/evil/x must land inside the rootfs, never on the host.
func TestRootfsHostileSymlink(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	target := e.tempDir("host-target") // absolute host path
	b := e.newBundle()
	rootfs := b.privateRootfs()
	if err := os.Symlink(target, filepath.Join(rootfs, "etc", "evil")); err != nil {
		t.Fatal(err)
	}
	b.Spec.Mounts = append(b.Spec.Mounts, specs.Mount{Destination: "/etc/evil/x", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m"}})
	b.sh(`echo "@@mountinfo"; cat /proc/self/mountinfo; echo "@@touch"; touch /etc/evil/x/pwned && echo touched`)

	checkHost := func(when string) {
		t.Helper()
		if names := dirEntries(target); len(names) > 0 {
			t.Errorf("%s: the host directory the symlink points to got %v", when, names)
		}
		if mps := mountsUnder(target); len(mps) > 0 {
			t.Errorf("%s: mounts on the host directory the symlink points to: %v", when, mps)
		}
	}
	c := e.create(b)
	checkHost("after create")
	if !c.create.ok() {
		t.Fatalf("create: %s", c.create)
	}
	c.mustStart()
	e.waitStatus(c.id, "stopped")
	checkHost("after start")
	sec := sections(c.output())
	if m, ok := findMount(parseMountinfo(sec["mountinfo"]), target+"/x"); !ok || m.FSType != "tmpfs" {
		t.Errorf("the tmpfs is not at %s/x inside the container:\n%s", target, sec["mountinfo"])
	}
	if strings.TrimSpace(sec["touch"]) != "touched" {
		t.Errorf("touch in the mount: %q %q", sec["touch"], c.errOutput())
	}
	if fi, err := os.Stat(filepath.Join(rootfs, target, "x")); err != nil || !fi.IsDir() {
		t.Errorf("the mount point was not made inside the rootfs (%s): %v", filepath.Join(rootfs, target, "x"), err)
	}
}
