package main

import (
	"reflect"
	"strings"
	"testing"

	"github.com/alecthomas/kong"
)

// kongParse parses args the slow, complete way and returns the command
// kong selected (nil on a parse error).
func kongParse(t *testing.T, cli *CLI, args []string) runner {
	t.Helper()
	p, err := kong.New(cli, kong.Vars{"version": "test"}, kong.Exit(func(int) { panic("kong exited") }))
	if err != nil {
		t.Fatal(err)
	}
	ctx, err := p.Parse(args)
	if err != nil {
		return nil
	}
	v := ctx.Selected().Target
	r, _ := v.Addr().Interface().(runner)
	return r
}

// The fast path must accept only lines kong accepts, and fill the same
// values; lines it declines go to kong.
func TestFastParseAgreesWithKong(t *testing.T) {
	tests := []struct {
		line string
		fast bool // whether the fast path takes the line
	}{
		// What conmon, containerd's shim, Docker and podman call.
		{"--root /run/x --log /b/log.json --log-format json create --bundle /b --pid-file /b/pid id1", true},
		{"--root /run/x --log /b/log.json --log-format json create --bundle /b --pid-file /b/pid --console-socket /s.sock id1", true},
		{"create -b /b id1", true},
		{"create --bundle=/b --no-pivot --no-new-keyring --preserve-fds 2 id1", true},
		{"--systemd-cgroup --root /r create --bundle /b id1", true},
		{"--rootless true create --bundle /b id1", true},
		{"--rootless=false list", true},
		{"--debug start id1", true},
		{"state id1", true},
		{"kill id1", true},
		{"kill id1 9", true},
		{"kill --all id1 KILL", true},
		{"kill -a id1 SIGKILL", true},
		{"delete id1", true},
		{"delete --force id1", true},
		{"delete -f id1", true},
		{"delete id1 --force", true},
		{"run --bundle /b id1", true},
		{"run -d --bundle /b --keep id1", true},
		{"exec --process /p.json --detach --pid-file /pid id1", true},
		{"exec --pid-file /pid --process /p.json --detach --tty --console-socket /s id1", true},
		{"exec id1 sh -c true", true},
		{"exec -t -e A=1,2 -e B=3 --cap CAP_A,CAP_B -c CAP_C -u 1:2 --cwd /tmp id1 ls -l /", true},
		{"exec --preserve-fds 1 id1 cat", true},
		{"ps --format json id1", true},
		{"ps id1 -ef", false}, // kong's passthrough rules
		{"ps id1", true},
		{"pause id1", true},
		{"resume id1", true},
		{"list", true},
		{"list -q", true},
		{"list --format json", true},
		{"update --resources - id1", true},
		{"update --memory 64m --pids-limit 10 id1", true},
		{"spec --bundle /b", true},
		{"features", true},
		// Declined: kong decides, with its messages.
		{"", false},
		{"--help", false},
		{"create --help", false},
		{"-v", false},
		{"--version", false},
		{"create", false},
		{"create --bundle", false},
		{"create --bogus id1", false},
		{"create id1 id2", false},
		{"list --format yaml", false},
		{"--log-format xml list", false},
		{"--rootless maybe list", false},
		{"spec --rootless", false},
		{"kill id1 -9", false},
		{"exec id1 -- sh", false},
		{"delete -fx id1", false},
		{"create --preserve-fds x id1", false},
		{"bogus id1", false},
		{"events --stats id1", false},
		{"create --bundle /b id1 --root /r", false},
	}
	for _, tt := range tests {
		args := strings.Fields(tt.line)
		var fast CLI
		got := fastParse(&fast, args)
		if (got != nil) != tt.fast {
			t.Errorf("%q: fast path took it: %v, want %v", tt.line, got != nil, tt.fast)
			continue
		}
		if got == nil {
			continue
		}
		var slow CLI
		want := kongParse(t, &slow, args)
		if want == nil {
			t.Errorf("%q: the fast path accepted a line kong rejects", tt.line)
			continue
		}
		if reflect.TypeOf(got) != reflect.TypeOf(want) {
			t.Errorf("%q: command %T, kong's %T", tt.line, got, want)
			continue
		}
		// kong also fills the defaults of the commands not chosen: compare
		// the globals and the chosen command.
		if !reflect.DeepEqual(fast.Globals, slow.Globals) {
			t.Errorf("%q: globals\nfast %+v\nkong %+v", tt.line, fast.Globals, slow.Globals)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("%q: command\nfast %+v\nkong %+v", tt.line, got, want)
		}
	}
}

func TestFlagName(t *testing.T) {
	for field, want := range map[string]string{
		"PidFile": "pid-file", "NoNewKeyring": "no-new-keyring", "CPUShare": "cpu-share",
		"Root": "root", "PreserveFds": "preserve-fds", "CpusetCpus": "cpuset-cpus",
		"AdditionalGids": "additional-gids", "LogFormat": "log-format",
	} {
		if got := flagName(field); got != want {
			t.Errorf("flagName(%s) = %s, want %s", field, got, want)
		}
	}
}
