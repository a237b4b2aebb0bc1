package integration

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// Helpers for the tests of exec, terminals, ps and the security
// regressions.

// startLoop creates and starts a container running loopScript (until
// SIGTERM) from b, waits until it printed "started" and returns it with the
// init's host pid.
func (e *Env) startLoop(b *Bundle) (*ctr, int) {
	e.t.Helper()
	b.sh(loopScript)
	c := e.mustCreate(b)
	pid := e.mustState(c.id).Pid
	c.mustStart()
	c.waitOutput("started")
	return c, pid
}

// procStatusOf reads /proc/PID/status as a map.
func procStatusOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatalf("status of %d: %v", pid, err)
	}
	return parseKV(string(data))
}

// nsLinksOf returns the namespace links of a host pid, by type.
func nsLinksOf(t *testing.T, pid int) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, ns := range nsTypes {
		link, err := os.Readlink(fmt.Sprintf("/proc/%d/ns/%s", pid, ns))
		if err != nil {
			t.Fatalf("namespaces of %d: %v", pid, err)
		}
		m[ns] = link
	}
	return m
}

// childrenOf lists the host pids whose parent is pid.
func childrenOf(pid int) []int {
	var kids []int
	for _, name := range dirEntries("/proc") {
		p, err := strconv.Atoi(name)
		if err != nil {
			continue
		}
		if st, err := readProcStat(p); err == nil && st.ppid == pid {
			kids = append(kids, p)
		}
	}
	sort.Ints(kids)
	return kids
}

// readPidFile waits for a pid file (up to statusTimeout) and returns its pid.
func readPidFile(t *testing.T, path string) int {
	t.Helper()
	deadline := time.Now().Add(statusTimeout)
	for {
		data, err := os.ReadFile(path)
		if err == nil {
			if pid, err := strconv.Atoi(strings.TrimSpace(string(data))); err == nil && pid > 0 {
				return pid
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("pid file %s: %q %v", path, data, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// waitFor polls cond until it holds; fails the test after statusTimeout.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(statusTimeout)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// hostCapNames are the capabilities in the test process's bounding set:
// all a container can be given on this host (CAP_SYS_RESOURCE is missing
// on these machines).
func hostCapNames(t *testing.T) []string {
	t.Helper()
	bnd := parseHex(t, procStatusOf(t, os.Getpid())["CapBnd"])
	var names []string
	for n, bit := range capBits {
		if bnd&(1<<bit) != 0 {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	return names
}

func fileSHA256(t *testing.T, path string) string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(h.Sum(nil))
}

func copyFile(t *testing.T, src, dst string, mode os.FileMode) {
	t.Helper()
	data, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(dst, data, mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(dst, mode); err != nil {
		t.Fatal(err)
	}
}

// shQuote quotes s for sh.
func shQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// runUnderScript runs the runtime with args under `script -qec CMD
// /dev/null` (util-linux), so that it has a real terminal as stdin, stdout
// and stderr. stdin is fed to script (and through it to the terminal).
// Returns script's result: its exit status is the runtime's.
func (e *Env) runUnderScript(stdin string, args ...string) *result {
	e.t.Helper()
	if _, err := exec.LookPath("script"); err != nil {
		e.t.Skip("script (util-linux) is not installed")
	}
	full := append([]string{hakoBin, "--root", e.Root}, args...)
	if e.as != nil { // as a user: its copy of the runtime, its default root
		full = append([]string{rl.bin}, args...)
	}
	var quoted []string
	for _, a := range full {
		quoted = append(quoted, shQuote(a))
	}
	in := e.writeFile("script-stdin-"+randomHex(3), stdin, 0o644)
	inF, err := os.Open(in)
	if err != nil {
		e.t.Fatal(err)
	}
	defer inF.Close()
	out, err := os.CreateTemp(e.dir, "script-out-")
	if err != nil {
		e.t.Fatal(err)
	}
	defer out.Close()
	ctx, cancel := context.WithTimeout(context.Background(), cmdTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, "script", "-qec", strings.Join(quoted, " "), "/dev/null")
	cmd.WaitDelay = 5 * time.Second
	cmd.Env = append(os.Environ(), "HAKO_ITEST="+e.mark, "SHELL=/bin/sh")
	if e.as != nil {
		e.as.apply(e, cmd, nil)
	}
	cmd.Stdin, cmd.Stdout, cmd.Stderr = inF, out, out
	r := &result{args: cmd.Args}
	start := time.Now()
	if err := startManaged(cmd); err != nil {
		r.err, r.code = err, -1
		return r
	}
	err = waitManaged(cmd)
	r.elapsed = time.Since(start)
	r.code = cmd.ProcessState.ExitCode()
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) {
		r.err = err
	}
	if ctx.Err() != nil {
		r.err = fmt.Errorf("killed after %v timeout", cmdTimeout)
	}
	data, _ := os.ReadFile(out.Name())
	r.stdout = strings.ReplaceAll(string(data), "\r\n", "\n")
	return r
}

// ---------------------------------------------------------------------------
// Console sockets.

// consoleRecv is the receiving end of a --console-socket: a unix listener
// that accepts one connection and receives one fd (the pty master) with
// SCM_RIGHTS.
type consoleRecv struct {
	path string
	l    *net.UnixListener
	got  chan recvResult
}

type recvResult struct {
	f   *os.File
	err error
}

// consoleSocket listens on a fresh socket. The socket lives in a short
// directory of its own under /tmp: the test's directory can be too long
// for sun_path (108 bytes).
func (e *Env) consoleSocket() *consoleRecv {
	e.t.Helper()
	dir, err := os.MkdirTemp("/tmp", "hkc-")
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { os.RemoveAll(dir) })
	path := filepath.Join(dir, "c.sock")
	l, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		e.t.Fatal(err)
	}
	cr := &consoleRecv{path: path, l: l, got: make(chan recvResult, 1)}
	go func() {
		f, err := receiveOneFD(l)
		cr.got <- recvResult{f, err}
	}()
	e.t.Cleanup(func() { l.Close() })
	return cr
}

func receiveOneFD(l *net.UnixListener) (*os.File, error) {
	_ = l.SetDeadline(time.Now().Add(cmdTimeout))
	conn, err := l.AcceptUnix()
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	raw, err := conn.SyscallConn()
	if err != nil {
		return nil, err
	}
	_ = conn.SetReadDeadline(time.Now().Add(cmdTimeout))
	buf := make([]byte, 4096)
	oob := make([]byte, unix.CmsgSpace(4*4))
	var n, oobn int
	var rerr error
	err = raw.Read(func(fd uintptr) bool {
		n, oobn, _, _, rerr = unix.Recvmsg(int(fd), buf, oob, unix.MSG_CMSG_CLOEXEC)
		return rerr != unix.EAGAIN
	})
	if err == nil {
		err = rerr
	}
	if err != nil {
		return nil, fmt.Errorf("recvmsg: %w", err)
	}
	msgs, err := unix.ParseSocketControlMessage(oob[:oobn])
	if err != nil {
		return nil, fmt.Errorf("control message: %w", err)
	}
	var fds []int
	for i := range msgs {
		more, err := unix.ParseUnixRights(&msgs[i])
		if err == nil {
			fds = append(fds, more...)
		}
	}
	if len(fds) != 1 {
		for _, fd := range fds {
			unix.Close(fd)
		}
		return nil, fmt.Errorf("received %d fds (message %q), want 1", len(fds), buf[:n])
	}
	if err := unix.SetNonblock(fds[0], true); err != nil {
		unix.Close(fds[0])
		return nil, err
	}
	return os.NewFile(uintptr(fds[0]), "pty-master"), nil
}

// master waits for the pty master; the test closes it at its end.
func (cr *consoleRecv) master(t *testing.T) *os.File {
	t.Helper()
	select {
	case r := <-cr.got:
		if r.err != nil {
			t.Fatalf("console socket: %v", r.err)
		}
		t.Cleanup(func() { r.f.Close() })
		return r.f
	case <-time.After(cmdTimeout):
		t.Fatal("console socket: no connection")
	}
	return nil
}

// ptyReader accumulates what is read from a pty master.
type ptyReader struct {
	f   *os.File
	buf strings.Builder
}

// until reads until the output contains want (or EOF/EIO, or timeout) and
// returns all output so far. ok is false if want never came.
func (p *ptyReader) until(want string, timeout time.Duration) (string, bool) {
	deadline := time.Now().Add(timeout)
	b := make([]byte, 4096)
	for !strings.Contains(p.buf.String(), want) {
		_ = p.f.SetReadDeadline(deadline)
		n, err := p.f.Read(b)
		p.buf.Write(b[:n])
		if err != nil {
			return p.buf.String(), strings.Contains(p.buf.String(), want)
		}
	}
	return p.buf.String(), true
}

// isWriteDenied reports whether a shell's error message is one of the
// errors that stop a write to a runtime's binary: EROFS (read-only mount),
// ETXTBSY (running), EPERM (sealed memfd), EACCES.
func isWriteDenied(msg string) bool {
	for _, s := range []string{"Read-only file system", "Text file busy", "Operation not permitted", "Permission denied"} {
		if strings.Contains(msg, s) {
			return true
		}
	}
	return false
}

// killPid sends SIGKILL to a process the test started (by pid).
func killPid(pid int) {
	_ = syscall.Kill(pid, syscall.SIGKILL)
}
