package integration

import (
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// ttyScript prints what the terminal looks like from inside, then reads a
// line from it and echoes it back.
const ttyScript = `tty; stty size; [ -t 0 ] && [ -t 1 ] && [ -t 2 ] && echo stdio-is-tty; ` +
	`[ -c /dev/console ] && echo console-is-chardev; echo ready; read line; echo "got:$line"; exit 3`

// TestTerminalConsoleSocket: create with process.terminal and
// --console-socket sends the pty master; the container's stdio is the
// slave, /dev/pts/0 of its own devpts, sized as process.consoleSize, with
// /dev/console; a line written to the master reaches the container.
func TestTerminalConsoleSocket(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Process.Terminal = true
		s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
	})
	b.sh(ttyScript)
	sock := e.consoleSocket()
	c := e.mustCreate(b, "--console-socket", sock.path)
	m := &ptyReader{f: sock.master(t)}
	c.mustStart()
	out, ok := m.until("ready", statusTimeout)
	if !ok {
		t.Fatalf("the container never printed ready on the terminal: %q (stderr %q)", out, c.errOutput())
	}
	lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
	for _, want := range []string{"/dev/pts/0", "24 80", "stdio-is-tty", "console-is-chardev"} {
		if !contains(lines, want) {
			t.Errorf("terminal output lacks %q: %q", want, out)
		}
	}
	if _, err := m.f.Write([]byte("hello-from-host\n")); err != nil {
		t.Fatal(err)
	}
	if out, ok := m.until("got:hello-from-host", statusTimeout); !ok {
		t.Errorf("the container did not read the line written to the master: %q", out)
	}
	e.waitStatus(c.id, "stopped")
	if s := c.output() + c.errOutput(); strings.Contains(s, "got:") {
		t.Errorf("the container's output went to create's stdio, not the terminal: %q", s)
	}
}

// TestTerminalExec: exec -t --console-socket, in the foreground and with
// --detach.
func TestTerminalExec(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	b := e.newBundle()
	c, _ := e.startLoop(b)

	t.Run("foreground", func(t *testing.T) {
		hakoOnly(t, "ignores --console-socket in the foreground and needs a terminal on its own stdin")
		sock := e.consoleSocket()
		bg := e.startHako(opts{}, "exec", "-t", "--console-socket", sock.path, c.id, "sh", "-c", ttyScript)
		m := &ptyReader{f: sock.master(t)}
		out, ok := m.until("ready", statusTimeout)
		if !ok {
			r := bg.wait()
			t.Fatalf("the exec'd process never printed ready on the terminal: %q\n%s", out, r)
		}
		lines := strings.Split(strings.ReplaceAll(out, "\r\n", "\n"), "\n")
		if len(lines) == 0 || !strings.HasPrefix(lines[0], "/dev/pts/") {
			t.Errorf("tty in exec -t: %q, want /dev/pts/N", out)
		}
		if !contains(lines, "stdio-is-tty") {
			t.Errorf("exec -t: stdio is not the terminal: %q", out)
		}
		if _, err := m.f.Write([]byte("typed\n")); err != nil {
			t.Fatal(err)
		}
		if out, ok := m.until("got:typed", statusTimeout); !ok {
			t.Errorf("the exec'd process did not read the line written to the master: %q", out)
		}
		r := bg.wait()
		if r.code != 3 {
			t.Errorf("exec -t --console-socket: exit %d, want the process's 3: %s", r.code, r)
		}
	})
	t.Run("detach", func(t *testing.T) {
		sock := e.consoleSocket()
		r := e.hako("exec", "-t", "-d", "--console-socket", sock.path, "--pid-file", e.dir+"/tty-exec.pid", c.id, "sh", "-c", ttyScript)
		if !r.ok() {
			t.Fatalf("exec -t -d --console-socket: %s", r)
		}
		m := &ptyReader{f: sock.master(t)}
		pid := readPidFile(t, e.dir+"/tty-exec.pid")
		if out, ok := m.until("ready", statusTimeout); !ok {
			t.Fatalf("the detached exec'd process never printed ready: %q", out)
		}
		if _, err := m.f.Write([]byte("typed-detached\n")); err != nil {
			t.Fatal(err)
		}
		if out, ok := m.until("got:typed-detached", statusTimeout); !ok {
			t.Errorf("the detached exec'd process did not read the line: %q", out)
		}
		waitGone(t, pid)
	})
	e.expectState(c.id, "running", 0)
}

// TestTerminalForeground: run and exec -t in the foreground without a
// console socket, with a real terminal (script(1)): output and input go
// through the runtime, the exit status passes through.
func TestTerminalForeground(t *testing.T) {
	t.Parallel()
	t.Run("run", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) {
			s.Process.Terminal = true
			s.Process.ConsoleSize = &specs.Box{Height: 24, Width: 80}
		})
		b.sh(ttyScript)
		b.save()
		r := e.runUnderScript("typed-run\n", "run", "--bundle", b.Dir, e.newID())
		if r.code != 3 {
			t.Errorf("run with a terminal: exit %d, want 3: %s", r.code, r)
		}
		lines := strings.Split(r.stdout, "\n")
		for _, want := range []string{"/dev/pts/0", "stdio-is-tty", "got:typed-run"} {
			if !contains(lines, want) {
				t.Errorf("run with a terminal: output lacks %q: %q", want, r.stdout)
			}
		}
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		c, _ := e.startLoop(b)
		r := e.runUnderScript("typed-exec\n", "exec", "-t", c.id, "sh", "-c", ttyScript)
		if r.code != 3 {
			t.Errorf("exec -t with a terminal: exit %d, want 3: %s", r.code, r)
		}
		lines := strings.Split(r.stdout, "\n")
		for _, want := range []string{"stdio-is-tty", "got:typed-exec"} {
			if !contains(lines, want) {
				t.Errorf("exec -t with a terminal: output lacks %q: %q", want, r.stdout)
			}
		}
		if !strings.Contains(r.stdout, "/dev/pts/") {
			t.Errorf("exec -t: tty printed no /dev/pts/N: %q", r.stdout)
		}
		e.expectState(c.id, "running", 0)
	})
}

// TestTerminalErrors: terminal without a way to hand out the pty, or a
// console socket without a terminal, are errors that say so.
func TestTerminalErrors(t *testing.T) {
	t.Parallel()
	t.Run("create terminal without console-socket", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle(func(s *specs.Spec) { s.Process.Terminal = true })
		c := e.create(b)
		expectFail(t, c.create, "create with terminal: true and no --console-socket")
		if !strings.Contains(strings.ToLower(c.create.stderr), "console") {
			t.Errorf("the error does not mention the console socket: %q", c.create.stderr)
		}
		e.expectNothingLeft(c.id, b)
	})
	t.Run("create console-socket without terminal", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		sock := e.consoleSocket()
		c := e.create(b, "--console-socket", sock.path)
		expectFail(t, c.create, "create with --console-socket and terminal: false")
		if !strings.Contains(strings.ToLower(c.create.stderr), "console") {
			t.Errorf("the error does not mention the console socket: %q", c.create.stderr)
		}
		e.expectNothingLeft(c.id, b)
	})
	t.Run("exec", func(t *testing.T) {
		t.Parallel()
		e := newEnv(t)
		b := e.newBundle()
		c, pid := e.startLoop(b)
		sock := e.consoleSocket()
		r := e.hako("exec", "--console-socket", sock.path, c.id, "true")
		expectFail(t, r, "exec --console-socket without --tty")
		r = e.hako("exec", "-t", "-d", c.id, "true")
		expectFail(t, r, "exec --tty --detach without --console-socket")
		if !strings.Contains(strings.ToLower(r.stderr), "console") {
			t.Errorf("the error does not mention the console socket: %q", r.stderr)
		}
		time.Sleep(50 * time.Millisecond)
		e.expectState(c.id, "running", pid)
	})
}
