package integration

import (
	"context"
	"encoding/json"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp/notifytest"
)

// TestSeccompListener: a SCMP_ACT_NOTIFY rule with linux.seccomp.listenerPath
// hands the listener fd, with the container process state, to an agent
// that answers the container's system calls (runtime-spec config-linux.md).
func TestSeccompListener(t *testing.T) {
	e := newEnv(t)
	// sun_path is 108 bytes: keep the socket path short.
	sockDir, err := os.MkdirTemp("", "hk-agent-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(sockDir)
	sock := filepath.Join(sockDir, "a.sock")
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: sock, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()

	type got struct {
		state   specs.ContainerProcessState
		seen    []string
		err     error
		payload string
	}
	done := make(chan got, 1)
	go func() {
		var g got
		defer func() { done <- g }()
		ln.SetDeadline(time.Now().Add(20 * time.Second))
		conn, err := ln.AcceptUnix()
		if err != nil {
			g.err = err
			return
		}
		defer conn.Close()
		fd, payload, err := notifytest.RecvFD(conn)
		if err != nil {
			g.err = err
			return
		}
		defer unix.Close(fd)
		g.payload = string(payload)
		if err := json.Unmarshal(payload, &g.state); err != nil {
			g.err = err
			return
		}
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
		defer cancel()
		g.err = notifytest.Serve(ctx, fd, func(n *notifytest.Notif) notifytest.Resp {
			g.seen = append(g.seen, strconv.Itoa(int(n.Data.Nr)))
			return notifytest.Errno(n.ID, unix.EDQUOT)
		})
	}()

	b := e.newBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction:    specs.ActAllow,
			ListenerPath:     sock,
			ListenerMetadata: "agent-metadata",
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"mkdir", "mkdirat"}, Action: specs.ActNotify},
			},
		}
	}).sh(`mkdir /tmp/x 2>&1; echo "rc=$?"; [ -d /tmp/x ] && echo made || echo absent`)
	r, id := e.runBundle(b)
	g := <-done
	if g.err != nil {
		t.Fatalf("agent: %v (run: %s)", g.err, r)
	}
	out := r.stdout + r.stderr
	if !strings.Contains(out, "Disk quota exceeded") || !strings.Contains(out, "rc=1") || !strings.Contains(out, "absent") {
		t.Errorf("mkdir was not answered by the agent (want EDQUOT):\n%s", r)
	}
	if len(g.seen) == 0 {
		t.Error("the agent saw no notification")
	}
	st := g.state
	if len(st.Fds) != 1 || st.Fds[0] != specs.SeccompFdName {
		t.Errorf("fds %v, want [%q]; payload %s", st.Fds, specs.SeccompFdName, g.payload)
	}
	if st.Metadata != "agent-metadata" {
		t.Errorf("metadata %q, want agent-metadata", st.Metadata)
	}
	if st.State.ID != id || st.Pid <= 0 || st.Version == "" {
		t.Errorf("container process state %+v, want id %s and a pid", st, id)
	}
}

// TestSeccompUnknownSyscallSkipped: a name the kernel and libseccomp do
// not know is skipped, the rest of the profile applies.
func TestSeccompUnknownSyscallSkipped(t *testing.T) {
	e := newEnv(t)
	b := e.newBundle(func(s *specs.Spec) {
		s.Mounts = append(s.Mounts, specs.Mount{Destination: "/tmp", Type: "tmpfs", Source: "tmpfs"})
		s.Linux.Seccomp = &specs.LinuxSeccomp{
			DefaultAction: specs.ActAllow,
			Syscalls: []specs.LinuxSyscall{
				{Names: []string{"no_such_syscall_hako", "mkdir", "mkdirat"}, Action: specs.ActErrno},
			},
		}
	}).sh(`mkdir /tmp/x 2>&1; echo "rc=$?"`)
	out := e.mustRun(b)
	if !strings.Contains(out, "Operation not permitted") {
		t.Errorf("mkdir not blocked with EPERM:\n%s", out)
	}
}
