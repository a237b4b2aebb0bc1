package seccomp_test

// Filters are loaded in throwaway processes: the test binary re-executes
// itself with -test.run=^TestHelperChild$ and a job file. The child locks
// its thread, sets no_new_privs, compiles and loads the filter, and execs
// the job's program with raw system calls only, as hako's init does. The
// program is often the test binary again, as a "probe" that makes given
// system calls with given arguments and prints their errno.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	libseccomp "github.com/seccomp/libseccomp-golang"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp"
)

const (
	envChild = "HAKO_SECCOMP_TEST_CHILD" // path of the child's job file
	envProbe = "HAKO_SECCOMP_TEST_PROBE" // calls for the probe, ";"-separated
)

// childJob tells the child what to do.
type childJob struct {
	Seccomp *specs.LinuxSeccomp
	// Argv is the program to exec (Argv[0] is its path) with Env.
	Argv []string
	Env  []string
	// SendFD sends the listener fd over fd 3 (SCM_RIGHTS) before the exec.
	SendFD bool
	// NoNNP leaves no_new_privs unset and drops CAP_SYS_ADMIN from the
	// thread's effective set, so that loading must fail.
	NoNNP bool
	// Compiled, when set, is loaded instead of compiling Seccomp: the
	// output of Program.MarshalBinary.
	Compiled []byte
	// Mode "allocs" reports the allocations of Load instead of exec'ing;
	// "twice" loads the filter twice and reports the second error.
	Mode string
}

// TestHelperChild is the child process; it does nothing in a normal run.
func TestHelperChild(t *testing.T) {
	if path := os.Getenv(envChild); path != "" {
		childMain(path)
	}
}

func childMain(path string) {
	runtime.LockOSThread()
	fail := func(code int, format string, args ...any) {
		fmt.Fprintf(os.Stderr, "child: "+format+"\n", args...)
		os.Exit(code)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		fail(2, "%v", err)
	}
	var job childJob
	if err := json.Unmarshal(data, &job); err != nil {
		fail(2, "%v", err)
	}
	prog, err := seccomp.Compile(job.Seccomp)
	if err != nil {
		fail(2, "compile: %v", err)
	}
	if job.Compiled != nil {
		prog = new(seccomp.Program)
		if err := prog.UnmarshalBinary(job.Compiled); err != nil {
			fail(2, "%v", err)
		}
	}

	// Everything the exec needs is prepared before the filter is loaded.
	var argv0 *byte
	var argv, envv []*byte
	if job.Mode == "" {
		if argv0, err = unix.BytePtrFromString(job.Argv[0]); err == nil {
			if argv, err = syscall.SlicePtrFromStrings(job.Argv); err == nil {
				envv, err = syscall.SlicePtrFromStrings(job.Env)
			}
		}
		if err != nil {
			fail(2, "%v", err)
		}
	}
	// No core dumps from the SIGSYS tests.
	if err := unix.Setrlimit(unix.RLIMIT_CORE, &unix.Rlimit{}); err != nil {
		fail(2, "setrlimit: %v", err)
	}
	if job.NoNNP {
		if err := dropSysAdmin(); err != nil {
			fail(2, "%v", err)
		}
	} else if err := unix.Prctl(unix.PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); err != nil {
		fail(2, "no_new_privs: %v", err)
	}
	var msg unix.Msghdr
	var oob []byte
	if job.SendFD {
		// fd 3 closes at exec, so that the parent sees EOF.
		if _, err := unix.FcntlInt(3, unix.F_SETFD, unix.FD_CLOEXEC); err != nil {
			fail(2, "fcntl: %v", err)
		}
		oob = unix.UnixRights(-1)
		byteBuf := []byte{'!'}
		iov := unix.Iovec{Base: &byteBuf[0]}
		iov.SetLen(1)
		msg.Iov = &iov
		msg.SetIovlen(1)
		msg.Control = &oob[0]
		msg.SetControllen(len(oob))
	}

	switch job.Mode {
	case "allocs":
		n := testing.AllocsPerRun(10, func() {
			if _, err := prog.Load(); err != nil {
				fail(3, "load: %v", err)
			}
		})
		fmt.Printf("allocs=%v\n", n)
		os.Exit(0)
	case "twice":
		if _, err := prog.Load(); err != nil {
			fail(3, "first load: %v", err)
		}
		_, err := prog.Load()
		fmt.Printf("second load: %v\n", err)
		os.Exit(0)
	}

	fd, err := prog.Load()
	if err != nil {
		fail(3, "load: %v", err)
	}
	if job.SendFD {
		*(*int32)(unsafe.Pointer(&oob[unix.CmsgLen(0)])) = int32(fd)
		if _, _, e := unix.RawSyscall(unix.SYS_SENDMSG, 3, uintptr(unsafe.Pointer(&msg)), 0); e != 0 {
			unix.RawSyscall(unix.SYS_EXIT_GROUP, 4, 0, 0)
		}
	}
	unix.RawSyscall(unix.SYS_EXECVE, uintptr(unsafe.Pointer(argv0)),
		uintptr(unsafe.Pointer(&argv[0])), uintptr(unsafe.Pointer(&envv[0])))
	unix.RawSyscall(unix.SYS_EXIT_GROUP, 127, 0, 0)
	select {} // not reached
}

// dropSysAdmin clears CAP_SYS_ADMIN from the calling thread's effective set.
func dropSysAdmin() error {
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	if err := unix.Capget(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capget: %w", err)
	}
	data[unix.CAP_SYS_ADMIN/32].Effective &^= 1 << (unix.CAP_SYS_ADMIN % 32)
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("capset: %w", err)
	}
	return nil
}

// childResult is what a child printed and how it ended.
type childResult struct {
	Out    string
	Status syscall.WaitStatus
	Pid    int
}

func (r childResult) exited(code int) bool { return r.Status.Exited() && r.Status.ExitStatus() == code }

func (r childResult) signaled(sig syscall.Signal) bool {
	return r.Status.Signaled() && r.Status.Signal() == sig
}

func (r childResult) String() string {
	return fmt.Sprintf("status %v, output:\n%s", describeStatus(r.Status), r.Out)
}

func describeStatus(ws syscall.WaitStatus) string {
	switch {
	case ws.Exited():
		return fmt.Sprintf("exit %d", ws.ExitStatus())
	case ws.Signaled():
		return fmt.Sprintf("signal %v", ws.Signal())
	}
	return fmt.Sprintf("%#x", uint32(ws))
}

// testEnv is the environment of exec'd programs: C messages.
var testEnv = []string{"PATH=/usr/sbin:/usr/bin:/sbin:/bin", "LC_ALL=C"}

type runningChild struct {
	cmd    *exec.Cmd
	out    *bytes.Buffer
	cancel context.CancelFunc
}

// startChild starts a child for job; extra become its fds 3 and up.
func startChild(t *testing.T, job childJob, extra ...*os.File) *runningChild {
	t.Helper()
	requireSeccomp(t)
	if job.Env == nil {
		job.Env = testEnv
	}
	data, err := json.Marshal(job)
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "job.json")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestHelperChild$", "-test.count=1")
	cmd.Env = append(os.Environ(), envChild+"="+path)
	var out bytes.Buffer
	cmd.Stdout = &out
	cmd.Stderr = &out
	cmd.ExtraFiles = extra
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	return &runningChild{cmd: cmd, out: &out, cancel: cancel}
}

func (c *runningChild) wait(t *testing.T) childResult {
	t.Helper()
	defer c.cancel()
	err := c.cmd.Wait()
	if _, ok := err.(*exec.ExitError); err != nil && !ok {
		t.Fatalf("child: %v", err)
	}
	return childResult{
		Out:    c.out.String(),
		Status: c.cmd.ProcessState.Sys().(syscall.WaitStatus),
		Pid:    c.cmd.Process.Pid,
	}
}

func runChild(t *testing.T, job childJob) childResult {
	t.Helper()
	return startChild(t, job).wait(t)
}

// requireSeccomp skips when the kernel cannot load seccomp filters.
func requireSeccomp(t *testing.T) {
	t.Helper()
	status, err := os.ReadFile("/proc/self/status")
	if err != nil || !bytes.Contains(status, []byte("\nSeccomp:")) {
		t.Skip("kernel without seccomp filters")
	}
}

// probeJob is a job that loads cfg and execs the probe, which makes each
// call "name:arg0,arg1,..." (numbers in Go syntax; "#nr" for a syscall
// number instead of a name) and prints its errno.
func probeJob(cfg *specs.LinuxSeccomp, calls ...string) childJob {
	return childJob{
		Seccomp: cfg,
		Argv:    []string{os.Args[0], "-test.run=^TestHelperProbe$", "-test.count=1"},
		Env:     append([]string{envProbe + "=" + strings.Join(calls, ";")}, testEnv...),
	}
}

// probe runs calls under cfg and returns the errno of each (0: success).
func probe(t *testing.T, cfg *specs.LinuxSeccomp, calls ...string) map[string]unix.Errno {
	t.Helper()
	r := runChild(t, probeJob(cfg, calls...))
	if !r.exited(0) {
		t.Fatalf("probe: %v", r)
	}
	return parseProbe(t, r.Out)
}

func parseProbe(t *testing.T, out string) map[string]unix.Errno {
	t.Helper()
	res := map[string]unix.Errno{}
	for _, line := range strings.Split(out, "\n") {
		call, errno, ok := strings.Cut(strings.TrimPrefix(line, "probe "), "=")
		if !ok || !strings.HasPrefix(line, "probe ") {
			continue
		}
		n, err := strconv.Atoi(errno)
		if err != nil {
			t.Fatalf("probe output %q", line)
		}
		res[call] = unix.Errno(n)
	}
	return res
}

// TestHelperProbe is the probe; it does nothing in a normal run.
func TestHelperProbe(t *testing.T) {
	calls := os.Getenv(envProbe)
	if calls == "" {
		return
	}
	for _, call := range strings.Split(calls, ";") {
		name, list, _ := strings.Cut(call, ":")
		var args [6]uintptr
		if list != "" {
			for i, a := range strings.Split(list, ",") {
				v, err := strconv.ParseUint(a, 0, 64)
				if err != nil {
					fmt.Printf("bad call %q\n", call)
					os.Exit(2)
				}
				args[i] = uintptr(v)
			}
		}
		var nr libseccomp.ScmpSyscall
		var err error
		if num, ok := strings.CutPrefix(name, "#"); ok {
			n, err := strconv.Atoi(num)
			if err != nil {
				fmt.Printf("bad call %q\n", call)
				os.Exit(2)
			}
			nr = libseccomp.ScmpSyscall(n)
		} else if nr, err = libseccomp.GetSyscallFromName(name); err != nil || nr < 0 {
			fmt.Printf("probe %s=-1\n", call)
			continue
		}
		_, _, e := unix.RawSyscall6(uintptr(nr), args[0], args[1], args[2], args[3], args[4], args[5])
		fmt.Printf("probe %s=%d\n", call, int(e))
	}
	os.Exit(0)
}
