package integration

import (
	"fmt"
	"os"
	"sort"
	"strconv"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestProcessArgsEnvCwd(t *testing.T) {
	t.Parallel()
	t.Run("args env cwd", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			s.Process.Args = []string{"sh", "-c", `printf '%s|' "$0" "$1" "$2"; echo; pwd; env`, "zero", "one two", "three"}
			s.Process.Env = []string{"PATH=/bin", "FOO=bar baz", "EMPTY=", "HAKO_ITEST=" + e.mark}
			s.Process.Cwd = "/etc"
		})
		r, _ := e.runBundle(b)
		if !r.ok() {
			t.Fatalf("%s", r)
		}
		lines := strings.Split(r.stdout, "\n")
		if len(lines) < 3 || lines[0] != "zero|one two|three|" {
			t.Fatalf("args: %q", r.stdout)
		}
		if lines[1] != "/etc" {
			t.Errorf("cwd: %q, want /etc", lines[1])
		}
		env := map[string]bool{}
		for _, l := range lines[2:] {
			env[l] = true
		}
		for _, want := range []string{"PATH=/bin", "FOO=bar baz", "EMPTY="} {
			if !env[want] {
				t.Errorf("env lacks %q: %v", want, lines[2:])
			}
		}
	})
	t.Run("runtime env does not leak", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		b.sh(`env`)
		b.save()
		id := e.newID()
		r := e.hakoWith(opts{env: []string{"HAKO_LEAK=1"}}, "run", "--bundle", b.Dir, id)
		if !r.ok() {
			t.Fatalf("%s", r)
		}
		if strings.Contains(r.stdout, "HAKO_LEAK") {
			t.Errorf("the runtime's environment leaked into the container:\n%s", r.stdout)
		}
	})
	for _, args := range [][]string{{"echo", "via-path"}, {"/bin/echo", "absolute"}} {
		t.Run("args[0]="+args[0], func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) { s.Process.Args = args })
			if got := e.mustRun(b); got != args[1]+"\n" {
				t.Errorf("%v printed %q", args, got)
			}
		})
	}
}

func TestProcessUser(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	umask := uint32(0o027)
	b := e.newBundle(func(s *specs.Spec) {
		s.Process.User = specs.User{UID: 1000, GID: 1000, AdditionalGids: []uint32{2000, 5}, Umask: &umask}
	})
	b.sh(`echo "@@status"; cat /proc/self/status; echo "@@umask"; umask; echo "@@id"; id`)
	sec := sections(e.mustRun(b))
	st := parseKV(sec["status"])
	if !fieldsEqual(st["Uid"], "1000 1000 1000 1000") {
		t.Errorf("Uid: %q, want 1000 everywhere", st["Uid"])
	}
	if !fieldsEqual(st["Gid"], "1000 1000 1000 1000") {
		t.Errorf("Gid: %q, want 1000 everywhere", st["Gid"])
	}
	groups := strings.Fields(st["Groups"])
	sort.Strings(groups)
	if g := strings.Join(groups, " "); g != "2000 5" && g != "1000 2000 5" {
		t.Errorf("Groups: %q, want 5 and 2000 (no 0)", st["Groups"])
	}
	if st["Umask"] != "0027" {
		t.Errorf("Umask in status: %q, want 0027", st["Umask"])
	}
	if strings.TrimSpace(sec["umask"]) != "0027" {
		t.Errorf("umask: %q, want 0027", sec["umask"])
	}
	if !strings.Contains(sec["id"], "uid=1000(tester)") || !strings.Contains(sec["id"], "2000(extra)") {
		t.Errorf("id: %q", sec["id"])
	}
}

func TestProcessCapabilities(t *testing.T) {
	t.Parallel()
	bounding := []string{"CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_KILL", "CAP_NET_BIND_SERVICE", "CAP_SETUID"}
	// The masks are what the kernel makes of the sets at execve(2) of
	// busybox, which has no file capabilities (capabilities(7)):
	//   uid 0:      P' = E' = B | I | A, and with no_new_privs P' &= P
	//   other uids: P' = E' = A
	//   always:     I' = I, B' = B, A' = A
	// so the effective set of the config only matters until the exec.
	rootCaps := specs.LinuxCapabilities{
		Bounding:    bounding,
		Permitted:   []string{"CAP_CHOWN", "CAP_KILL"},
		Effective:   []string{"CAP_CHOWN", "CAP_KILL"},
		Inheritable: []string{"CAP_KILL"},
		Ambient:     []string{"CAP_KILL"},
	}
	cases := []struct {
		name string
		uid  uint32
		nnp  bool
		caps specs.LinuxCapabilities
		inh  uint64
		prm  uint64
		eff  uint64
		bnd  uint64
		amb  uint64
	}{
		{
			name: "non-root",
			uid:  1000,
			nnp:  true,
			caps: specs.LinuxCapabilities{
				Bounding:    bounding,
				Permitted:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Effective:   []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Inheritable: []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"},
				Ambient:     []string{"CAP_KILL", "CAP_NET_BIND_SERVICE"},
			},
			inh: capMask("CAP_CHOWN", "CAP_KILL", "CAP_NET_BIND_SERVICE"),
			prm: capMask("CAP_KILL", "CAP_NET_BIND_SERVICE"),
			eff: capMask("CAP_KILL", "CAP_NET_BIND_SERVICE"),
			bnd: capMask(bounding...),
			amb: capMask("CAP_KILL", "CAP_NET_BIND_SERVICE"),
		},
		{
			name: "root with noNewPrivileges",
			uid:  0,
			nnp:  true,
			caps: rootCaps,
			inh:  capMask("CAP_KILL"),
			prm:  capMask("CAP_CHOWN", "CAP_KILL"),
			eff:  capMask("CAP_CHOWN", "CAP_KILL"),
			bnd:  capMask(bounding...),
			amb:  capMask("CAP_KILL"),
		},
		{
			name: "root",
			uid:  0,
			nnp:  false,
			caps: rootCaps,
			inh:  capMask("CAP_KILL"),
			prm:  capMask(bounding...),
			eff:  capMask(bounding...),
			bnd:  capMask(bounding...),
			amb:  capMask("CAP_KILL"),
		},
		{
			name: "none",
			uid:  0,
			nnp:  true,
			caps: specs.LinuxCapabilities{},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) {
				caps := tc.caps
				s.Process.Capabilities = &caps
				s.Process.NoNewPrivileges = tc.nnp
				s.Process.User = specs.User{UID: tc.uid, GID: tc.uid}
			})
			b.sh(`cat /proc/self/status`)
			st := parseKV(e.mustRun(b))
			for _, c := range []struct {
				field string
				want  uint64
			}{{"CapInh", tc.inh}, {"CapPrm", tc.prm}, {"CapEff", tc.eff}, {"CapBnd", tc.bnd}, {"CapAmb", tc.amb}} {
				if got := parseHex(t, st[c.field]); got != c.want {
					t.Errorf("%s: %s, want %s", c.field, capNames(got), capNames(c.want))
				}
			}
		})
	}
}

func TestProcessUnknownCapability(t *testing.T) {
	t.Parallel()
	hakoOnly(t, "ignores unknown capabilities with a warning; the spec says error")
	for _, set := range []string{"bounding", "effective", "ambient"} {
		t.Run(set, func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) {
				c := s.Process.Capabilities
				switch set {
				case "bounding":
					c.Bounding = append(c.Bounding, "CAP_NOT_A_CAP")
				case "effective":
					c.Effective = append(c.Effective, "CAP_NOT_A_CAP")
				case "ambient":
					c.Ambient = append(c.Ambient, "CAP_NOT_A_CAP")
				}
			})
			c := e.create(b)
			expectFail(t, c.create, "create with an unknown capability")
			if !strings.Contains(c.create.stderr, "CAP_NOT_A_CAP") {
				t.Errorf("the error does not name the capability: %q", c.create.stderr)
			}
			e.expectNothingLeft(c.id, b)
		})
	}
}

func TestProcessRlimits(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Process.Rlimits = []specs.POSIXRlimit{
			{Type: "RLIMIT_NOFILE", Soft: 512, Hard: 1000},
			{Type: "RLIMIT_CORE", Soft: 0, Hard: 0},
			{Type: "RLIMIT_NPROC", Soft: 3000, Hard: 4000},
		}
	})
	b.sh(`echo "@@n"; ulimit -n; echo "@@hn"; ulimit -Hn; echo "@@limits"; cat /proc/self/limits`)
	sec := sections(e.mustRun(b))
	if strings.TrimSpace(sec["n"]) != "512" || strings.TrimSpace(sec["hn"]) != "1000" {
		t.Errorf("ulimit -n %q, -Hn %q; want 512 and 1000", sec["n"], sec["hn"])
	}
	want := map[string]string{"Max open files": "512 1000", "Max core file size": "0 0", "Max processes": "3000 4000"}
	for _, l := range strings.Split(sec["limits"], "\n") {
		for k, w := range want {
			if strings.HasPrefix(l, k+" ") {
				f := strings.Fields(strings.TrimPrefix(l, k))
				if len(f) < 2 || f[0]+" "+f[1] != w {
					t.Errorf("%s: %q, want %s", k, l, w)
				}
				delete(want, k)
			}
		}
	}
	if len(want) > 0 {
		t.Errorf("limits not found: %v", want)
	}
}

func TestProcessNoNewPrivileges(t *testing.T) {
	t.Parallel()
	for _, nnp := range []bool{true, false} {
		t.Run(fmt.Sprint(nnp), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) { s.Process.NoNewPrivileges = nnp })
			b.sh(`grep NoNewPrivs /proc/self/status`)
			want := "0"
			if nnp {
				want = "1"
			}
			if got := parseKV(e.mustRun(b))["NoNewPrivs"]; got != want {
				t.Errorf("NoNewPrivs: %q, want %s", got, want)
			}
		})
	}
}

func TestProcessOOMScoreAdj(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	before, _ := os.ReadFile("/proc/self/oom_score_adj")
	b := e.newBundle(func(s *specs.Spec) {
		v := 500
		s.Process.OOMScoreAdj = &v
	})
	b.sh(`cat /proc/self/oom_score_adj`)
	if got := strings.TrimSpace(e.mustRun(b)); got != "500" {
		t.Errorf("oom_score_adj: %q, want 500", got)
	}
	if after, _ := os.ReadFile("/proc/self/oom_score_adj"); string(after) != string(before) {
		t.Errorf("the caller's oom_score_adj changed: %q -> %q", before, after)
	}
}

func TestProcessScheduler(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		policy specs.LinuxSchedulerPolicy
		nice   int32
		want   int // /proc/PID/stat field 41
	}{{specs.SchedBatch, 5, 3}, {specs.SchedIdle, 0, 5}} {
		t.Run(string(tc.policy), func(t *testing.T) {
			t.Parallel()
			e := newEnv(t)
			b := e.newBundle(func(s *specs.Spec) {
				s.Process.Scheduler = &specs.Scheduler{Policy: tc.policy, Nice: tc.nice}
			})
			b.sh(`cat /proc/$$/stat`)
			st, err := parseProcStat(e.mustRun(b))
			if err != nil || len(st.fields) < 41-2 {
				t.Fatalf("stat: %v", err)
			}
			if got, _ := strconv.Atoi(st.fields[41-3]); got != tc.want {
				t.Errorf("policy (stat field 41): %d, want %d (%s)", got, tc.want, tc.policy)
			}
			if tc.nice != 0 {
				if got, _ := strconv.Atoi(st.fields[19-3]); got != int(tc.nice) {
					t.Errorf("nice (stat field 19): %d, want %d", got, tc.nice)
				}
			}
		})
	}
}

func TestProcessIOPriority(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Process.IOPriority = &specs.LinuxIOPriority{Class: specs.IOPRIO_CLASS_BE, Priority: 3}
	})
	b.sh(`ionice -p $$`)
	if got := strings.TrimSpace(e.mustRun(b)); got != "best-effort: prio 3" {
		t.Errorf("ionice -p: %q, want best-effort: prio 3", got)
	}
}

func TestProcessPersonality(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Linux.Personality = &specs.LinuxPersonality{Domain: specs.PerLinux32}
	})
	b.sh(`uname -m`)
	if got := strings.TrimSpace(e.mustRun(b)); got != "i686" {
		t.Errorf("uname -m with personality LINUX32: %q, want i686", got)
	}
}
