package containerinit

import (
	"fmt"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/nsexec"
	"github.com/hako-runtime/hako/seccomp"
	"github.com/hako-runtime/hako/spec"
)

// PlanFits says whether `hako exec` of p can run as an exec plan in the C
// stage: everything but a terminal (the pty is made in Go, inside the
// container) and a seccomp listener (its fd goes to an agent).
func PlanFits(p *specs.Process, compiledSeccomp []byte) bool {
	if p.Terminal {
		return false
	}
	if len(compiledSeccomp) > 0 {
		prog := new(seccomp.Program)
		if prog.UnmarshalBinary(compiledSeccomp) != nil || prog.NeedsListener() {
			return false
		}
	}
	return true
}

// BuildExecPlan resolves the process of an exec into the plan the C stage
// applies. It checks what prepareProcess checks, with the same messages,
// before anything is started; what needs the container's view (the
// executable, HOME) is resolved by the C stage inside it.
func BuildExecPlan(sp *specs.Spec, p *specs.Process, compiledSeccomp []byte, preserveFDs int) (*nsexec.ExecPlan, error) {
	pl := &nsexec.ExecPlan{
		Args:           p.Args,
		Env:            p.Env,
		Cwd:            p.Cwd,
		UID:            p.User.UID,
		GID:            p.User.GID,
		AdditionalGids: p.User.AdditionalGids,
		Umask:          0o022,
		NoNewPrivs:     p.NoNewPrivileges,
		OOMScoreAdj:    p.OOMScoreAdj,
		Personality:    -1,
		IOPrio:         -1,
		PreserveFDs:    preserveFDs,
	}
	if p.User.Umask != nil {
		pl.Umask = *p.User.Umask
	}
	cs, err := parseCaps(p.Capabilities)
	if err != nil {
		return nil, err
	}
	if cs.set {
		pl.Caps = &nsexec.CapSets{Bounding: cs.bounding, Effective: cs.effective, Permitted: cs.permitted, Inheritable: cs.inheritable, Ambient: cs.ambient}
	}
	for _, r := range p.Rlimits {
		res, err := spec.RlimitValue(r.Type)
		if err != nil {
			return nil, fmt.Errorf("process.rlimits: %w", err)
		}
		pl.Rlimits = append(pl.Rlimits, nsexec.Rlimit{Resource: uint32(res), Soft: r.Soft, Max: r.Hard})
	}
	if sc := p.Scheduler; sc != nil {
		a, err := schedAttr(sc)
		if err != nil {
			return nil, err
		}
		pl.SchedAttr = unsafe.Slice((*byte)(unsafe.Pointer(a)), unix.SizeofSchedAttr)
	}
	if io := p.IOPriority; io != nil {
		class, ok := ioprioClasses[io.Class]
		if !ok {
			return nil, fmt.Errorf("process.ioPriority.class: unknown class %q", io.Class)
		}
		pl.IOPrio = class<<13 | int(io.Priority)
	}
	if l := sp.Linux; l != nil && l.Personality != nil {
		switch l.Personality.Domain {
		case specs.PerLinux:
			pl.Personality = perLinux
		case specs.PerLinux32:
			pl.Personality = perLinux32
		default:
			return nil, fmt.Errorf("linux.personality.domain: unknown domain %q", l.Personality.Domain)
		}
	}
	if len(compiledSeccomp) > 0 {
		prog := new(seccomp.Program)
		if err := prog.UnmarshalBinary(compiledSeccomp); err != nil {
			return nil, fmt.Errorf("linux.seccomp: %w", err)
		}
		insns := prog.Instructions()
		pl.Seccomp = unsafe.Slice((*byte)(unsafe.Pointer(&insns[0])), len(insns)*int(unsafe.Sizeof(insns[0])))
		pl.SeccompFlags = uint32(prog.Flags())
	}
	return pl, nil
}
