package integration

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// TestExecBasics: exec runs a command in the running container, in its root
// filesystem, with the container's environment and cwd, and exits with the
// command's status.
func TestExecBasics(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	rootfs := b.privateRootfs()
	marker := "marker-" + randomHex(4)
	if err := os.WriteFile(filepath.Join(rootfs, "marker"), []byte(marker+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	b.Spec.Process.Env = append(b.Spec.Process.Env, "FROM_CONFIG=yes")
	b.Spec.Process.Cwd = "/etc"
	c, _ := e.startLoop(b)

	r := e.hakoWith(opts{env: []string{"HAKO_LEAK=1"}}, "exec", c.id, "sh", "-c", `cat /marker; echo "@@pwd"; pwd; echo "@@env"; env`)
	if !r.ok() {
		t.Fatalf("exec: %s", r)
	}
	if !strings.HasPrefix(r.stdout, marker+"\n") {
		t.Errorf("exec does not see the container's root filesystem: %q, want %q first", r.stdout, marker)
	}
	sec := sections(r.stdout)
	if got := strings.TrimSpace(sec["pwd"]); got != "/etc" {
		t.Errorf("exec's cwd %q, want the container's /etc", got)
	}
	env := strings.Split(strings.TrimSpace(sec["env"]), "\n")
	for _, want := range []string{"FROM_CONFIG=yes", "TERM=xterm", "HAKO_ITEST=" + e.mark} {
		if !contains(env, want) {
			t.Errorf("exec's environment lacks the container's %q: %v", want, env)
		}
	}
	if strings.Contains(sec["env"], "HAKO_LEAK") {
		t.Errorf("the runtime's environment leaked into the exec'd process: %v", env)
	}

	for _, tc := range []struct {
		script string
		want   int
	}{{"exit 0", 0}, {"exit 7", 7}, {"echo out; exit 42", 42}} {
		r := e.hako("exec", c.id, "sh", "-c", tc.script)
		if r.err != nil || r.code != tc.want {
			t.Errorf("exec sh -c %q: exit %d, want %d: %s", tc.script, r.code, tc.want, r)
		}
	}
	r = e.hako("exec", c.id, "/no/such/binary")
	expectFail(t, r, "exec of a missing binary")
	e.expectState(c.id, "running", 0)
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// TestExecNamespaces: the exec'd process is in every namespace of the
// container, including a user namespace and a time namespace.
func TestExecNamespaces(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	// runc 1.1 has no time namespace: leave it out there.
	withTime := !isRunc
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.UserNamespace})
		if withTime {
			s.Linux.Namespaces = append(s.Linux.Namespaces, specs.LinuxNamespace{Type: specs.TimeNamespace})
			s.Linux.TimeOffsets = map[string]specs.LinuxTimeOffset{"monotonic": {Secs: 86400}}
		}
		s.Linux.UIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
		s.Linux.GIDMappings = []specs.LinuxIDMapping{{ContainerID: 0, HostID: 100000, Size: 65536}}
	})
	c, pid := e.startLoop(b)
	initNS := nsLinksOf(t, pid)
	for _, ns := range nsTypes {
		if initNS[ns] == hostNS[ns] && (ns != "time" || withTime) {
			t.Fatalf("the container's init has the host's %s namespace", ns)
		}
	}
	r := e.hako("exec", c.id, "sh", "-c", `echo "@@ns"; `+nsLinksScript+`; echo "@@uid_map"; cat /proc/self/uid_map; echo "@@id"; id -u; echo "@@pid"; echo $$`)
	if !r.ok() {
		t.Fatalf("exec: %s", r)
	}
	sec := sections(r.stdout)
	got := parseNSLinks(sec["ns"])
	for _, ns := range nsTypes {
		if got[ns] != initNS[ns] {
			t.Errorf("exec'd process: %s namespace %q, the init's is %q", ns, got[ns], initNS[ns])
		}
	}
	if !fieldsEqual(sec["uid_map"], "0 100000 65536") {
		t.Errorf("exec'd uid_map %q", sec["uid_map"])
	}
	if strings.TrimSpace(sec["id"]) != "0" {
		t.Errorf("exec'd uid %q, want 0 in the user namespace", sec["id"])
	}
	if p := strings.TrimSpace(sec["pid"]); p == "1" || p == "" {
		t.Errorf("exec'd pid in the container %q", p)
	}
}

// TestExecAttributes: the exec'd process gets the container's capabilities,
// rlimits, no_new_privs, umask and user.
func TestExecAttributes(t *testing.T) {
	t.Parallel()
	caps := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprintf("noNewPrivileges=%v", nnp), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			umask := uint32(0o027)
			b := e.newBundle(func(s *specs.Spec) {
				s.Process.Capabilities = &specs.LinuxCapabilities{
					Bounding: caps, Effective: caps[:2], Permitted: caps[:2], Inheritable: caps[1:2], Ambient: caps[1:2],
				}
				s.Process.Rlimits = []specs.POSIXRlimit{
					{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1000},
					{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
					{Type: "RLIMIT_NPROC", Soft: 3000, Hard: 4000},
				}
				s.Process.NoNewPrivileges = nnp
				s.Process.User.Umask = &umask
			})
			c, pid := e.startLoop(b)
			initSt := procStatusOf(t, pid)
			initLimits, err := os.ReadFile(fmt.Sprintf("/proc/%d/limits", pid))
			if err != nil {
				t.Fatal(err)
			}
			r := e.hako("exec", c.id, "sh", "-c", `echo "@@status"; cat /proc/self/status; echo "@@limits"; cat /proc/self/limits; echo "@@umask"; umask`)
			if !r.ok() {
				t.Fatalf("exec: %s", r)
			}
			sec := sections(r.stdout)
			st := parseKV(sec["status"])
			for _, k := range []string{"CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "NoNewPrivs", "Uid", "Gid", "Groups", "Seccomp"} {
				if !fieldsEqual(st[k], initSt[k]) {
					t.Errorf("%s: exec'd %q, the container's init %q", k, st[k], initSt[k])
				}
			}
			wantNNP := map[bool]string{true: "1", false: "0"}[nnp]
			if st["NoNewPrivs"] != wantNNP {
				t.Errorf("exec'd NoNewPrivs %q, want %s", st["NoNewPrivs"], wantNNP)
			}
			if bnd := parseHex(t, st["CapBnd"]); bnd != capMask(caps...) {
				t.Errorf("exec'd CapBnd %s, want %s", capNames(bnd), capNames(capMask(caps...)))
			}
			limits := func(s string) map[string]string {
				m := map[string]string{}
				for _, l := range strings.Split(s, "\n") {
					for _, k := range []string{"Max open files", "Max core file size", "Max processes"} {
						if strings.HasPrefix(l, k+" ") {
							m[k] = strings.Join(strings.Fields(strings.TrimPrefix(l, k))[:2], " ")
						}
					}
				}
				return m
			}
			got, want := limits(sec["limits"]), limits(string(initLimits))
			if fmt.Sprint(got) != fmt.Sprint(want) || want["Max open files"] != "512 1000" {
				t.Errorf("exec'd rlimits %v, the container's %v (want nofile 512 1000)", got, want)
			}
			if u := strings.TrimSpace(sec["umask"]); u != "0027" && !isRunc { // runc 1.1 ignores umask in exec
				t.Errorf("exec'd umask %q, want the container's 0027", u)
			}
		})
	}
	t.Run("non-root user", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000}}
		})
		c, pid := e.startLoop(b)
		initSt := procStatusOf(t, pid)
		r := e.hako("exec", c.id, "cat", "/proc/self/status")
		if !r.ok() {
			t.Fatalf("exec: %s", r)
		}
		st := parseKV(r.stdout)
		for _, k := range []string{"Uid", "Gid", "Groups", "CapEff", "CapPrm"} {
			if !fieldsEqual(st[k], initSt[k]) {
				t.Errorf("%s: exec'd %q, the container's init %q", k, st[k], initSt[k])
			}
		}
		if !fieldsEqual(st["Uid"], "1000 1000 1000 1000") {
			t.Errorf("exec'd Uid %q, want the container's 1000", st["Uid"])
		}
	})
}

// TestExecFlags: runc's exec flags, each changing one thing of the
// container's process.
func TestExecFlags(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Process.Env = append(s.Process.Env, "FOO=old", "KEEP=kept")
		s.Process.NoNewPrivileges = false
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs", Options: []string{"size=1m", "mode=1777"}})
	})
	c, _ := e.startLoop(b)
	status := func(t *testing.T, args ...string) map[string]string {
		t.Helper()
		r := e.hako(append(append([]string{"exec"}, args[:len(args)-1]...), c.id, "cat", args[len(args)-1])...)
		if !r.ok() {
			t.Fatalf("exec: %s", r)
		}
		return parseKV(r.stdout)
	}

	t.Run("env", func(t *testing.T) {
		t.Parallel()
		// runc refuses both spellings of one flag in one command.
		r := e.hako("exec", "-e", "FOO=new", "-e", "NEW=1", "-e", "COMMA=a,b", c.id, "env")
		if !r.ok() {
			t.Fatalf("exec: %s", r)
		}
		env := strings.Split(strings.TrimSpace(r.stdout), "\n")
		for _, want := range []string{"FOO=new", "NEW=1", "KEEP=kept", "COMMA=a,b"} {
			if !contains(env, want) {
				t.Errorf("environment lacks %q: %v", want, env)
			}
		}
		n := 0
		for _, kv := range env {
			if strings.HasPrefix(kv, "FOO=") {
				n++
			}
		}
		if n != 1 {
			t.Errorf("FOO appears %d times, want once (the flag overrides the container's): %v", n, env)
		}
		r = e.hako("exec", "--env", "KEEP=long-form", c.id, "env")
		if !r.ok() || !contains(strings.Split(strings.TrimSpace(r.stdout), "\n"), "KEEP=long-form") {
			t.Errorf("exec --env KEEP=long-form: %s", r)
		}
	})
	t.Run("cwd", func(t *testing.T) {
		t.Parallel()
		r := e.hako("exec", "--cwd", "/proc/sys", c.id, "pwd")
		if !r.ok() || strings.TrimSpace(r.stdout) != "/proc/sys" {
			t.Errorf("exec --cwd /proc/sys: pwd %q: %s", r.stdout, r)
		}
	})
	t.Run("user uid:gid", func(t *testing.T) {
		t.Parallel()
		st := status(t, "--user", "1000:2000", "/proc/self/status")
		if !fieldsEqual(st["Uid"], "1000 1000 1000 1000") || !fieldsEqual(st["Gid"], "2000 2000 2000 2000") {
			t.Errorf("--user 1000:2000: Uid %q Gid %q", st["Uid"], st["Gid"])
		}
		st = status(t, "-u", "1000", "/proc/self/status")
		if !fieldsEqual(st["Uid"], "1000 1000 1000 1000") {
			t.Errorf("-u 1000: Uid %q", st["Uid"])
		}
	})
	t.Run("user names", func(t *testing.T) {
		t.Parallel()
		hakoOnly(t, "takes only numeric uid[:gid]")
		st := status(t, "--user", "tester", "/proc/self/status")
		if !fieldsEqual(st["Uid"], "1000 1000 1000 1000") || !fieldsEqual(st["Gid"], "1000 1000 1000 1000") {
			t.Errorf("--user tester: Uid %q Gid %q, want 1000 and tester's group 1000", st["Uid"], st["Gid"])
		}
		st = status(t, "-u", "tester:extra", "/proc/self/status")
		if !fieldsEqual(st["Uid"], "1000 1000 1000 1000") || !fieldsEqual(st["Gid"], "2000 2000 2000 2000") {
			t.Errorf("-u tester:extra: Uid %q Gid %q, want 1000 2000", st["Uid"], st["Gid"])
		}
		st = status(t, "-u", "1000:extra", "/proc/self/status")
		if !fieldsEqual(st["Gid"], "2000 2000 2000 2000") {
			t.Errorf("-u 1000:extra: Gid %q, want 2000", st["Gid"])
		}
	})
	t.Run("additional-gids", func(t *testing.T) {
		t.Parallel()
		st := status(t, "-u", "1000:1000", "-g", "2000", "-g", "5", "/proc/self/status")
		groups := strings.Fields(st["Groups"])
		sort.Strings(groups)
		if strings.Join(groups, " ") != "2000 5" {
			t.Errorf("-g 2000 -g 5: Groups %q, want 5 2000", st["Groups"])
		}
		st = status(t, "-u", "1000:1000", "--additional-gids", "2000", "/proc/self/status")
		if st["Groups"] != "2000" {
			t.Errorf("--additional-gids 2000: Groups %q, want 2000", st["Groups"])
		}
	})
	t.Run("cap", func(t *testing.T) {
		t.Parallel()
		st := status(t, "-c", "CAP_SYS_ADMIN", "-c", "CAP_NET_RAW", "/proc/self/status")
		if v := parseHex(t, status(t, "--cap", "CAP_SYS_ADMIN", "/proc/self/status")["CapEff"]); v&capMask("CAP_SYS_ADMIN") == 0 {
			t.Errorf("--cap CAP_SYS_ADMIN: CapEff %s", capNames(v))
		}
		added := capMask("CAP_SYS_ADMIN", "CAP_NET_RAW")
		for _, k := range []string{"CapBnd", "CapPrm", "CapEff"} {
			if v := parseHex(t, st[k]); v&added != added {
				t.Errorf("--cap: %s %s lacks CAP_SYS_ADMIN and CAP_NET_RAW", k, capNames(v))
			}
		}
		if v := parseHex(t, st["CapBnd"]); v&capMask("CAP_KILL") == 0 {
			t.Errorf("--cap dropped the container's CAP_KILL: %s", capNames(v))
		}
		t.Run("inheritable and ambient", func(t *testing.T) {
			hakoOnly(t, "adds --cap to the ambient set only when the config has inheritable capabilities")
			for _, k := range []string{"CapInh", "CapAmb"} {
				if v := parseHex(t, st[k]); v&added != added {
					t.Errorf("--cap: %s %s lacks CAP_SYS_ADMIN and CAP_NET_RAW", k, capNames(v))
				}
			}
		})
		without := status(t, "/proc/self/status")
		if v := parseHex(t, without["CapEff"]); v&added != 0 {
			t.Errorf("without --cap: CapEff %s", capNames(v))
		}
	})
	t.Run("no-new-privs", func(t *testing.T) {
		t.Parallel()
		if st := status(t, "/proc/self/status"); st["NoNewPrivs"] != "0" {
			t.Errorf("without --no-new-privs (the config says false): NoNewPrivs %q", st["NoNewPrivs"])
		}
		if st := status(t, "--no-new-privs", "/proc/self/status"); st["NoNewPrivs"] != "1" {
			t.Errorf("--no-new-privs: NoNewPrivs %q", st["NoNewPrivs"])
		}
	})
	t.Run("ignore-paused", func(t *testing.T) {
		t.Parallel()
		if r := e.hako("exec", "--ignore-paused", c.id, "true"); !r.ok() {
			t.Errorf("exec --ignore-paused of a running container: %s", r)
		}
	})
	t.Run("process file", func(t *testing.T) {
		t.Parallel()
		umask := uint32(0o077)
		p := specs.Process{
			Args: []string{"sh", "-c", `pwd; id -u; id -g; umask; env; echo "@@status"; cat /proc/self/status`},
			Env:  []string{"PATH=/bin", "ONLY=process-file", "HAKO_ITEST=" + e.mark},
			Cwd:  "/dev",
			User: specs.User{UID: 1000, GID: 2000, AdditionalGids: []uint32{5}, Umask: &umask},
			Capabilities: &specs.LinuxCapabilities{
				Bounding: []string{"CAP_KILL", "CAP_CHOWN"}, Permitted: []string{"CAP_KILL"}, Effective: []string{"CAP_KILL"},
				Inheritable: []string{"CAP_KILL"}, Ambient: []string{"CAP_KILL"},
			},
			NoNewPrivileges: true,
		}
		data, _ := json.Marshal(p)
		file := e.writeFile("process-"+randomHex(3)+".json", string(data), 0o644)
		r := e.hako("exec", "--process", file, c.id)
		if !r.ok() {
			t.Fatalf("exec --process: %s", r)
		}
		main, status, _ := strings.Cut(r.stdout, "@@status\n")
		lines := strings.Split(strings.TrimSpace(main), "\n")
		wantUmask := "0077"
		if isRunc {
			wantUmask = "0022" // runc 1.1 ignores user.umask in exec
		}
		if len(lines) < 4 || lines[0] != "/dev" || lines[1] != "1000" || lines[2] != "2000" || lines[3] != wantUmask {
			t.Errorf("--process: cwd, uid, gid, umask: %q, want /dev 1000 2000 0077", lines)
		}
		if !contains(lines, "ONLY=process-file") {
			t.Errorf("--process: env lacks ONLY=process-file: %q", lines)
		}
		if contains(lines, "KEEP=kept") {
			t.Errorf("--process: the container's env was added to the process file's: %q", lines)
		}
		st := parseKV(status)
		if g := strings.Fields(st["Groups"]); len(g) != 1 || g[0] != "5" {
			t.Errorf("--process: Groups %q, want 5", st["Groups"])
		}
		if v := parseHex(t, st["CapBnd"]); v != capMask("CAP_KILL", "CAP_CHOWN") {
			t.Errorf("--process: CapBnd %s", capNames(v))
		}
		if v := parseHex(t, st["CapAmb"]); v != capMask("CAP_KILL") {
			t.Errorf("--process: CapAmb %s", capNames(v))
		}
		if st["NoNewPrivs"] != "1" {
			t.Errorf("--process: NoNewPrivs %q", st["NoNewPrivs"])
		}
	})
	t.Run("preserve-fds", func(t *testing.T) {
		t.Parallel()
		// ls runs while the shell waits, holding no temporary fds.
		const script = `ls /proc/$$/fd; echo @@; { echo via-fd3 >&3; } 2>/dev/null; { echo via-fd4 >&4; } 2>/dev/null; true`
		for _, preserve := range []int{0, 1, 2} {
			f3, err := os.Create(filepath.Join(e.dir, fmt.Sprintf("exec-fd3-%d", preserve)))
			if err != nil {
				t.Fatal(err)
			}
			f4, err := os.Create(filepath.Join(e.dir, fmt.Sprintf("exec-fd4-%d", preserve)))
			if err != nil {
				t.Fatal(err)
			}
			args := []string{"exec"}
			if preserve > 0 {
				args = append(args, "--preserve-fds", fmt.Sprint(preserve))
			}
			r := e.hakoWith(opts{extraFiles: []*os.File{f3, f4}}, append(args, c.id, "sh", "-c", script)...)
			f3.Close()
			f4.Close()
			if !r.ok() {
				t.Fatalf("exec: %s", r)
			}
			list, _, _ := strings.Cut(r.stdout, "@@")
			fds := strings.Join(strings.Fields(list), " ")
			got3, _ := os.ReadFile(f3.Name())
			got4, _ := os.ReadFile(f4.Name())
			want := map[int]string{0: "0 1 2", 1: "0 1 2 3", 2: "0 1 2 3 4"}[preserve]
			if fds != want {
				t.Errorf("--preserve-fds %d: the process has fds %q, want %q", preserve, fds, want)
			}
			if (string(got3) == "via-fd3\n") != (preserve >= 1) || (string(got4) == "via-fd4\n") != (preserve >= 2) {
				t.Errorf("--preserve-fds %d: fd 3 got %q, fd 4 got %q", preserve, got3, got4)
			}
		}
	})
}

// TestExecExitAndParent: exec's exit status is the process's (137 when
// SIGKILLed from the host); the process is a child of the exec command, no
// other child (an intermediate process) is left to it, and --pid-file is
// written in the foreground too.
func TestExecExitAndParent(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	c, initPid := e.startLoop(b)
	pidFile := filepath.Join(e.dir, "exec.pid")
	bg := e.startHako(opts{}, "exec", "--pid-file", pidFile, c.id, "sleep", "30")
	pid := readPidFile(t, pidFile)
	if bg.startEr != nil {
		t.Fatal(bg.startEr)
	}
	execPid := bg.cmd.Process.Pid
	st, err := readProcStat(pid)
	if err != nil {
		t.Fatalf("the pid file's process %d: %v", pid, err)
	}
	if st.ppid != execPid {
		t.Errorf("the exec'd process %d has parent %d, want the exec command %d", pid, st.ppid, execPid)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); string(cmdline) != "sleep\x0030\x00" {
		t.Errorf("the pid file's process runs %q, want sleep 30", cmdline)
	}
	if got, want := nsLinksOf(t, pid)["pid"], nsLinksOf(t, initPid)["pid"]; got != want {
		t.Errorf("the exec'd process is in pid namespace %s, the container's is %s", got, want)
	}
	// The intermediate process of the namespace join must be gone: only
	// the exec'd process is a child of exec, and no child is a zombie.
	time.Sleep(100 * time.Millisecond)
	kids := childrenOf(execPid)
	if len(kids) != 1 || kids[0] != pid {
		t.Errorf("children of the exec command: %s; want only the exec'd process %d", describePids(kids), pid)
	}
	for _, k := range kids {
		if st, err := readProcStat(k); err == nil && st.state == "Z" {
			t.Errorf("zombie child %d of the exec command", k)
		}
	}
	killPid(pid)
	r := bg.wait()
	if r.code != 137 {
		t.Errorf("exec of a process killed by SIGKILL: exit %d, want 137: %s", r.code, r)
	}
	e.expectState(c.id, "running", initPid)
}

// TestExecDetach: --detach returns at once with the pid file written; the
// process runs in the container.
func TestExecDetach(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	c, initPid := e.startLoop(b)
	pidFile := filepath.Join(e.dir, "detached.pid")
	r := e.hako("exec", "--detach", "--pid-file", pidFile, c.id, "sleep", "100")
	if !r.ok() {
		t.Fatalf("exec -d: %s", r)
	}
	if r.elapsed > 5*time.Second {
		t.Errorf("exec --detach took %v", r.elapsed)
	}
	data, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatalf("exec --detach returned without writing the pid file: %v", err)
	}
	pid := readPidFile(t, pidFile)
	if !procAlive(pid) {
		t.Fatalf("pid file %q: process %d is not running", data, pid)
	}
	if cmdline, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid)); string(cmdline) != "sleep\x00100\x00" {
		t.Errorf("the pid file's process runs %q, want sleep 100", cmdline)
	}
	if got, want := nsLinksOf(t, pid), nsLinksOf(t, initPid); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("the detached process's namespaces %v, the container's %v", got, want)
	}
	r = e.hako("exec", "-d", c.id, "sh", "-c", "exit 3")
	if !r.ok() {
		t.Errorf("exec -d of a command that exits 3: exec's status is not the process's, want 0: %s", r)
	}
	killPid(pid)
	waitGone(t, pid)
	e.expectState(c.id, "running", initPid)
}

// TestExecWrongStatus: exec into a created (never started), a stopped or a
// missing container is an error, and changes nothing.
func TestExecWrongStatus(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	out := e.tempDir("out")
	b := e.newBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "bind", Source: out, Options: []string{"rbind", "rw"}})
	})
	b.sh(`touch /tmp/started; ` + loopScript)
	c := e.mustCreate(b)
	pid := e.mustState(c.id).Pid
	t.Run("created", func(t *testing.T) {
		hakoOnly(t, "execs into a created container")
		r := e.hako("exec", c.id, "touch", "/tmp/exec-ran")
		expectFail(t, r, "exec into a created container")
		time.Sleep(100 * time.Millisecond)
		if names := dirEntries(out); len(names) > 0 {
			t.Errorf("exec into a created container ran something: %v", names)
		}
	})
	e.expectState(c.id, "created", pid)

	c.mustStart()
	c.waitOutput("started")
	e.mustHako("kill", c.id, "KILL")
	e.waitStatus(c.id, "stopped")
	expectFail(t, e.hako("exec", c.id, "touch", "/tmp/exec-ran-stopped"), "exec into a stopped container")
	if _, err := os.Stat(filepath.Join(out, "exec-ran-stopped")); err == nil {
		t.Errorf("exec into a stopped container ran")
	}
	e.expectState(c.id, "stopped", 0)
	expectFail(t, e.hako("exec", e.newID(), "true"), "exec into a container that does not exist")
}
