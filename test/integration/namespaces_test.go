package integration

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestNamespacesNew runs the default config (new pid, network, ipc, uts,
// mount and cgroup namespaces) and checks each from inside.
func TestNamespacesNew(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	hostHostname, _ := os.Hostname()
	b := e.newBundle(func(s *specs.Spec) { s.Hostname = "hako-uts" })
	b.sh(`echo "@@ns"; ` + nsLinksScript + `
echo "@@pid"; echo $$
echo "@@netdev"; cat /proc/net/dev
echo "@@cgroup"; cat /proc/self/cgroup
echo "@@hostname"; hostname`)
	sec := sections(e.mustRun(b))
	ns := parseNSLinks(sec["ns"])
	for _, typ := range []string{"pid", "net", "ipc", "uts", "mnt", "cgroup"} {
		if ns[typ] == "" || ns[typ] == hostNS[typ] {
			t.Errorf("%s namespace: container %q, host %q: want a new one", typ, ns[typ], hostNS[typ])
		}
	}
	for _, typ := range []string{"user", "time"} {
		if ns[typ] != hostNS[typ] {
			t.Errorf("%s namespace not asked for: container %q, want the host's %q", typ, ns[typ], hostNS[typ])
		}
	}
	if got := strings.TrimSpace(sec["pid"]); got != "1" {
		t.Errorf("pid namespace: the process is pid %s, want 1", got)
	}
	var ifaces []string
	for _, l := range strings.Split(sec["netdev"], "\n") {
		if name, _, ok := strings.Cut(l, ":"); ok && !strings.Contains(name, "|") {
			ifaces = append(ifaces, strings.TrimSpace(name))
		}
	}
	if strings.Join(ifaces, ",") != "lo" {
		t.Errorf("network namespace: interfaces %v, want only lo\n%s", ifaces, sec["netdev"])
	}
	if !strings.Contains("\n"+sec["cgroup"], "\n0::/\n") {
		t.Errorf("cgroup namespace: /proc/self/cgroup has no 0::/ line:\n%s", sec["cgroup"])
	}
	if got := strings.TrimSpace(sec["hostname"]); got != "hako-uts" {
		t.Errorf("uts namespace: hostname %q, want hako-uts", got)
	}
	if h, _ := os.Hostname(); h != hostHostname {
		t.Errorf("the host's hostname changed: %q -> %q", hostHostname, h)
	}
}

// TestNamespacesHostWhenOmitted leaves every namespace but mount out: the
// container must share the caller's.
func TestNamespacesHostWhenOmitted(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		setNamespaces(s, specs.MountNamespace)
		s.Hostname = ""
	})
	b.sh(`echo "@@ns"; ` + nsLinksScript + `
echo "@@pid"; echo $$`)
	sec := sections(e.mustRun(b))
	ns := parseNSLinks(sec["ns"])
	for _, typ := range []string{"cgroup", "ipc", "net", "pid", "time", "user", "uts"} {
		if ns[typ] != hostNS[typ] {
			t.Errorf("%s namespace left out: container %q, want the host's %q", typ, ns[typ], hostNS[typ])
		}
	}
	if ns["mnt"] == hostNS["mnt"] {
		t.Errorf("mount namespace asked for, but the container has the host's")
	}
	if got := strings.TrimSpace(sec["pid"]); got == "1" || got == "" {
		t.Errorf("no pid namespace asked for, but the process is pid %q", got)
	}
}

func TestNamespacesTime(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	const offset = 7 * 24 * 3600
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
		s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{
			"monotonic": {Secs: offset},
			"boottime":  {Secs: offset, Nanosecs: 500},
		}
	})
	b.sh(`echo "@@ns"; ` + nsLinksScript + `
echo "@@offsets"; cat /proc/self/timens_offsets
echo "@@uptime"; cat /proc/uptime`)
	hostUp := uptime(t)
	sec := sections(e.mustRun(b))
	ns := parseNSLinks(sec["ns"])
	if ns["time"] == hostNS["time"] {
		t.Errorf("time namespace asked for, but the container has the host's %q", ns["time"])
	}
	want := map[string]string{"monotonic": fmt.Sprintf("%d 0", offset), "boottime": fmt.Sprintf("%d 500", offset)}
	for _, l := range strings.Split(strings.TrimSpace(sec["offsets"]), "\n") {
		f := strings.Fields(l)
		if len(f) == 3 {
			if w, ok := want[f[0]]; ok && w != f[1]+" "+f[2] {
				t.Errorf("timens_offsets %s: %s %s, want %s", f[0], f[1], f[2], w)
			}
			delete(want, f[0])
		}
	}
	if len(want) > 0 {
		t.Errorf("timens_offsets lacks %v:\n%s", want, sec["offsets"])
	}
	up, err := strconv.ParseFloat(strings.Fields(sec["uptime"] + " x")[0], 64)
	if err != nil || up < hostUp+offset-60 || up > hostUp+offset+60 {
		t.Errorf("uptime inside %q, host %.0f: want the host's + %d", sec["uptime"], hostUp, offset)
	}
}

func uptime(t *testing.T) float64 {
	data, err := os.ReadFile("/proc/uptime")
	if err != nil {
		t.Fatal(err)
	}
	v, err := strconv.ParseFloat(strings.Fields(string(data))[0], 64)
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestNamespacesUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	b.sh(`echo "@@ns"; ` + nsLinksScript + `
echo "@@uid_map"; cat /proc/self/uid_map
echo "@@gid_map"; cat /proc/self/gid_map
echo "@@id"; id -u; id -g
echo "@@owner"; stat -c '%u %g' /bin/busybox`)
	sec := sections(e.mustRun(b))
	ns := parseNSLinks(sec["ns"])
	if ns["user"] == hostNS["user"] {
		t.Errorf("user namespace asked for, but the container has the host's")
	}
	if !fieldsEqual(sec["uid_map"], "0 100000 65536") {
		t.Errorf("uid_map inside: %q, want 0 100000 65536", sec["uid_map"])
	}
	if !fieldsEqual(sec["gid_map"], "0 100000 65536") {
		t.Errorf("gid_map inside: %q, want 0 100000 65536", sec["gid_map"])
	}
	if !fieldsEqual(sec["id"], "0 0") {
		t.Errorf("id inside: %q, want 0 0", sec["id"])
	}
	// The rootfs belongs to host root, which is not mapped.
	if !fieldsEqual(sec["owner"], "65534 65534") {
		t.Errorf("owner of /bin/busybox inside: %q, want the overflow id 65534 65534", sec["owner"])
	}
}

func TestNamespacesJoinNetworkByPath(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	name := "hakotest-" + randomHex(4)
	if out, err := runManaged("ip", "netns", "add", name); err != nil {
		t.Fatalf("ip netns add: %v %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := runManaged("ip", "netns", "delete", name); err != nil {
			t.Errorf("ip netns delete %s: %v %s", name, err, out)
		}
	})
	path := "/run/netns/" + name
	var st syscall.Stat_t
	if err := syscall.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	want := fmt.Sprintf("net:[%d]", st.Ino)
	b := e.newBundle(func(s *specs.Spec) {
		for i := range s.Linux.Namespaces {
			if s.Linux.Namespaces[i].Type == specs.NetworkNamespace {
				s.Linux.Namespaces[i].Path = path
			}
		}
	})
	b.sh(`readlink /proc/self/ns/net`)
	got := strings.TrimSpace(e.mustRun(b))
	if got != want {
		t.Errorf("network namespace inside %q, want %q (%s)", got, want, path)
	}
	if got == hostNS["net"] {
		t.Errorf("the container has the host's network namespace")
	}
}

// TestNamespacesNoMountNamespace leaves the mount namespace out (as
// runtime-tools' linux_ns_itype does): the container shares the caller's,
// its root is its rootfs all the same (exec too), its mounts live under the
// rootfs in the caller's namespace without changing anything else, and
// delete detaches them all.
func TestNamespacesNoMountNamespace(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		setNamespaces(s, specs.PIDNamespace, specs.UTSNamespace)
	})
	// A rootfs of its own: the shared one is other tests' bind source.
	rootfs := b.privateRootfs()
	if err := os.WriteFile(filepath.Join(rootfs, "marker"), []byte("in the rootfs\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	before, err := readMountinfo("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	c, pid := e.startLoop(b)
	if got := nsLinksOf(t, pid)["mnt"]; got != hostNS["mnt"] {
		t.Errorf("no mount namespace asked for, but the container has %q, not the caller's %q", got, hostNS["mnt"])
	}
	under := mountsUnder(rootfs)
	for _, want := range []string{rootfs, rootfs + "/proc", rootfs + "/dev"} {
		if !slices.Contains(under, want) {
			t.Errorf("mount %s missing in the caller's namespace; under the rootfs: %v", want, under)
		}
	}
	// "/" keeps its propagation (other tests' mounts may come and go).
	after, _ := readMountinfo("/proc/self/mountinfo")
	if p1, p2 := rootPropagation(before), rootPropagation(after); p1 != p2 {
		t.Errorf("propagation of / changed: %q -> %q", p1, p2)
	}
	r := e.hako("exec", c.id, "sh", "-c", "cat /marker; ls /proc/1/ns/mnt >/dev/null && echo proc-ok")
	if r.code != 0 || !fieldsEqual(r.stdout, "in the rootfs proc-ok") {
		t.Errorf("exec in a container without a mount namespace: %s", r)
	}
	if r := e.hako("delete", "--force", c.id); r.code != 0 {
		t.Fatalf("delete --force: %s", r)
	}
	if left := mountsUnder(rootfs); len(left) > 0 {
		t.Errorf("mounts left in the caller's namespace after delete: %v", left)
	}

	// A create that fails half-way (a mount whose source is missing,
	// after /proc and /dev are mounted) leaves no mount either.
	bad := e.newBundle(func(s *specs.Spec) {
		setNamespaces(s, specs.PIDNamespace)
		s.Hostname = ""
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/mnt", Type: "bind", Source: "/no/such/source", Options: []string{"bind"}})
	})
	badRootfs := bad.privateRootfs()
	bad.sh("true")
	if r := e.create(bad); r.create.ok() {
		t.Errorf("create with a missing mount source succeeded")
	}
	if left := mountsUnder(badRootfs); len(left) > 0 {
		t.Errorf("mounts left in the caller's namespace after a failed create: %v", left)
	}
}

// rootPropagation is the optional fields (shared:N, master:N) of the
// topmost mount at "/".
func rootPropagation(ms []mountEntry) string {
	p := "none"
	for _, m := range ms {
		if m.MountPoint == "/" {
			p = strings.Join(m.Optional, " ")
		}
	}
	return p
}
