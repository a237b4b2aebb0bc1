package seccomp_test

import (
	"bytes"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/seccomp"
)

func TestBinaryRoundTrip(t *testing.T) {
	for _, cfg := range []*specs.LinuxSeccomp{
		podmanConfig(t),
		{DefaultAction: specs.ActAllow, Flags: []specs.LinuxSeccompFlag{specs.LinuxSeccompFlagLog},
			Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActNotify, nil)}},
	} {
		prog, err := seccomp.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		b, err := prog.MarshalBinary()
		if err != nil {
			t.Fatal(err)
		}
		var back seccomp.Program
		if err := back.UnmarshalBinary(b); err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back.Instructions(), prog.Instructions()) || back.Flags() != prog.Flags() {
			t.Error("round trip changed the program")
		}
		// Compile is deterministic.
		again, err := seccomp.Compile(cfg)
		if err != nil {
			t.Fatal(err)
		}
		if b2, _ := again.MarshalBinary(); !bytes.Equal(b, b2) {
			t.Error("two compilations differ")
		}
	}
}

func TestBinaryErrors(t *testing.T) {
	prog, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, nil)}})
	if err != nil {
		t.Fatal(err)
	}
	good, _ := prog.MarshalBinary()
	mod := func(f func(b []byte) []byte) []byte { return f(slices.Clone(good)) }
	for name, b := range map[string][]byte{
		"empty":       nil,
		"magic":       mod(func(b []byte) []byte { b[0] = 'x'; return b }),
		"truncated":   good[:len(good)-1],
		"extra":       append(slices.Clone(good), 0),
		"flags":       mod(func(b []byte) []byte { b[8] |= 1; return b }), // TSYNC
		"no program":  mod(func(b []byte) []byte { clear(b[12:16]); return b[:16] }),
		"count":       mod(func(b []byte) []byte { b[12]++; return b }),
		"header only": good[:10],
	} {
		var p seccomp.Program
		if err := p.UnmarshalBinary(b); err == nil || !strings.HasPrefix(err.Error(), "seccomp: ") {
			t.Errorf("%s: UnmarshalBinary error = %v", name, err)
		}
	}
	var empty *seccomp.Program
	if _, err := empty.MarshalBinary(); err == nil {
		t.Error("nil program marshalled")
	}
}

// TestBinaryLoad: a program compiled here and loaded by another process.
func TestBinaryLoad(t *testing.T) {
	requireFile(t, busybox)
	prog, err := seccomp.Compile(&specs.LinuxSeccomp{DefaultAction: specs.ActAllow, Syscalls: []specs.LinuxSyscall{mkdirRule(specs.ActErrno, errnoRet(38))}})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := prog.MarshalBinary()
	dir := filepath.Join(t.TempDir(), "made")
	// The child compiles nothing of its own: a nil config.
	r := runChild(t, childJob{Compiled: b, Argv: []string{busybox, "mkdir", dir}})
	if !r.exited(1) || !strings.Contains(r.Out, "Function not implemented") {
		t.Errorf("want ENOSYS; %v", r)
	}
}
