package nsexec

import (
	"encoding/binary"
	"fmt"
	"strings"
)

// ExecPlan is everything the C stage needs to turn a process that has
// joined a container's namespaces into the process `hako exec` runs,
// without starting the Go runtime: the parent resolves and checks the
// process attributes, the C stage applies them in the order
// containerinit's exec uses and execs. It covers processes without a
// terminal and without a seccomp listener; those take the Go path.
type ExecPlan struct {
	Args []string
	Env  []string
	Cwd  string

	UID, GID       uint32
	AdditionalGids []uint32
	Umask          uint32 // 0o022 unless the process sets one

	// Caps is nil when process.capabilities is absent: the capability
	// sets are then left as they are.
	Caps *CapSets

	Rlimits     []Rlimit
	NoNewPrivs  bool
	OOMScoreAdj *int
	Personality int    // -1: leave
	IOPrio      int    // -1: leave
	SchedAttr   []byte // struct sched_attr, or nil

	// Seccomp is the filter as an array of struct sock_filter, loaded
	// with SeccompFlags.
	Seccomp      []byte
	SeccompFlags uint32

	PreserveFDs int
}

// CapSets are the five capability sets as bit masks.
type CapSets struct {
	Bounding, Effective, Permitted, Inheritable, Ambient uint64
}

// Rlimit is one process.rlimits entry.
type Rlimit struct {
	Resource  uint32
	Soft, Max uint64
}

// Record tags of the plan frame. Each record is a tag byte, a 4-byte
// big-endian length and the payload; numbers in payloads are in the
// machine's byte order (both ends are this binary).
const (
	planArg       = 'a'
	planEnv       = 'e'
	planCwd       = 'c'
	planUser      = 'u' // uid, gid (u32 each)
	planGroup     = 'G' // one additional gid (u32)
	planUmask     = 'm' // u32
	planCaps      = 'C' // five u64: bounding, effective, permitted, inheritable, ambient
	planRlimit    = 'r' // u32 resource, u64 soft, u64 hard
	planNNP       = 'n'
	planOOM       = 'o' // i32
	planPersona   = 'P' // u32
	planIOPrio    = 'i' // u32
	planSched     = 'S' // struct sched_attr
	planSeccomp   = 's' // u32 flags, then the filter
	planPreserved = 'f' // u32
)

// Encode renders the plan as the frame the C stage reads.
func (p *ExecPlan) Encode() ([]byte, error) {
	if len(p.Args) == 0 {
		return nil, fmt.Errorf("process.args: empty")
	}
	var b []byte
	rec := func(tag byte, payload []byte) {
		b = append(b, tag)
		b = binary.BigEndian.AppendUint32(b, uint32(len(payload)))
		b = append(b, payload...)
	}
	u32 := func(v ...uint32) []byte {
		var out []byte
		for _, x := range v {
			out = binary.NativeEndian.AppendUint32(out, x)
		}
		return out
	}
	for i, a := range p.Args {
		if strings.IndexByte(a, 0) >= 0 {
			return nil, fmt.Errorf("process.args[%d]: contains a NUL byte", i)
		}
		rec(planArg, []byte(a))
	}
	for i, e := range p.Env {
		if strings.IndexByte(e, 0) >= 0 {
			return nil, fmt.Errorf("process.env[%d]: contains a NUL byte", i)
		}
		rec(planEnv, []byte(e))
	}
	if strings.IndexByte(p.Cwd, 0) >= 0 {
		return nil, fmt.Errorf("process.cwd: contains a NUL byte")
	}
	if p.Cwd != "" {
		rec(planCwd, []byte(p.Cwd))
	}
	rec(planUser, u32(p.UID, p.GID))
	for _, g := range p.AdditionalGids {
		rec(planGroup, u32(g))
	}
	rec(planUmask, u32(p.Umask))
	if c := p.Caps; c != nil {
		var v []byte
		for _, m := range []uint64{c.Bounding, c.Effective, c.Permitted, c.Inheritable, c.Ambient} {
			v = binary.NativeEndian.AppendUint64(v, m)
		}
		rec(planCaps, v)
	}
	for _, r := range p.Rlimits {
		v := u32(r.Resource)
		v = binary.NativeEndian.AppendUint64(v, r.Soft)
		v = binary.NativeEndian.AppendUint64(v, r.Max)
		rec(planRlimit, v)
	}
	if p.NoNewPrivs {
		rec(planNNP, nil)
	}
	if p.OOMScoreAdj != nil {
		rec(planOOM, u32(uint32(int32(*p.OOMScoreAdj))))
	}
	if p.Personality >= 0 {
		rec(planPersona, u32(uint32(p.Personality)))
	}
	if p.IOPrio >= 0 {
		rec(planIOPrio, u32(uint32(p.IOPrio)))
	}
	if len(p.SchedAttr) > 0 {
		rec(planSched, p.SchedAttr)
	}
	if len(p.Seccomp) > 0 {
		rec(planSeccomp, append(u32(p.SeccompFlags), p.Seccomp...))
	}
	rec(planPreserved, u32(uint32(p.PreserveFDs)))
	if len(b) > maxBootstrap {
		return nil, fmt.Errorf("exec: the process's arguments and environment take %d bytes (at most %d)", len(b), maxBootstrap)
	}
	return b, nil
}

// maxBootstrap is MAX_BOOTSTRAP of nsexec.c: the largest frame it reads.
const maxBootstrap = 4 << 20
