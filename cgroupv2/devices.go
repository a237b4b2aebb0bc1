package cgroupv2

import (
	"errors"
	"fmt"
	"math"
	"unsafe"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/asm"
	"github.com/cilium/ebpf/link"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// deviceProgramName names hako's device programs in the kernel, so that
// SetDevices replaces its own program and nobody else's.
const deviceProgramName = "hako_devices"

// devRule is one validated device rule.
type devRule struct {
	allow        bool
	typ          byte  // 'a' (any), 'b' or 'c'
	major, minor int64 // -1: any
	access       uint32
}

// Access bits as the kernel passes them to a device program.
const (
	accMknod = unix.BPF_DEVCG_ACC_MKNOD
	accRead  = unix.BPF_DEVCG_ACC_READ
	accWrite = unix.BPF_DEVCG_ACC_WRITE
	accAll   = accMknod | accRead | accWrite
)

// defaultDeviceRules are the devices every container may use, the list
// runc and crun add to every config: mknod of any device (opening it is
// what the rules decide), /dev/null, zero, full, random, urandom, tty,
// console, ptmx, the pts slaves (136:*) and /dev/net/tun (10:200, kept by
// both runtimes for compatibility since the Docker days).
var defaultDeviceRules = []devRule{
	{true, 'c', -1, -1, accMknod},
	{true, 'b', -1, -1, accMknod},
	{true, 'c', 1, 3, accAll},    // null
	{true, 'c', 1, 5, accAll},    // zero
	{true, 'c', 1, 7, accAll},    // full
	{true, 'c', 1, 8, accAll},    // random
	{true, 'c', 1, 9, accAll},    // urandom
	{true, 'c', 5, 0, accAll},    // tty
	{true, 'c', 5, 1, accAll},    // console
	{true, 'c', 5, 2, accAll},    // ptmx
	{true, 'c', 136, -1, accAll}, // pts/*
	{true, 'c', 10, 200, accAll}, // net/tun
}

// deviceRules validates the config's rules and appends the defaults when
// asked, after the config's, so that they win (as with runc and crun).
func deviceRules(rules []specs.LinuxDeviceCgroup, defaults bool) ([]devRule, error) {
	out := make([]devRule, 0, len(rules)+len(defaultDeviceRules))
	for i, r := range rules {
		field := fmt.Sprintf("linux.resources.devices[%d]", i)
		d := devRule{allow: r.Allow, typ: 'a', major: -1, minor: -1}
		switch r.Type {
		case "", "a":
		case "b", "c":
			d.typ = r.Type[0]
		default:
			return nil, fmt.Errorf("%s.type: %q is none of a, b, c", field, r.Type)
		}
		for _, n := range []struct {
			name string
			v    *int64
			dst  *int64
		}{{"major", r.Major, &d.major}, {"minor", r.Minor, &d.minor}} {
			if n.v == nil || *n.v == -1 {
				continue
			}
			if *n.v < 0 || *n.v > math.MaxUint32 {
				return nil, fmt.Errorf("%s.%s: %d is neither a device number nor -1 (any)", field, n.name, *n.v)
			}
			*n.dst = *n.v
		}
		if r.Access == "" {
			return nil, fmt.Errorf("%s.access: empty (give some of r, w, m)", field)
		}
		for _, c := range r.Access {
			switch c {
			case 'r':
				d.access |= accRead
			case 'w':
				d.access |= accWrite
			case 'm':
				d.access |= accMknod
			default:
				return nil, fmt.Errorf("%s.access: %q is not made of r, w and m", field, r.Access)
			}
		}
		out = append(out, d)
	}
	if defaults {
		out = append(out, defaultDeviceRules...)
	}
	return out, nil
}

// deviceAllowed is the meaning of a rule list, for one request: each
// access bit asked for is decided by the last rule that matches the
// device and has that bit (allow or deny), and is denied when no rule
// does; the request is allowed when every bit it asks for is. So a later
// rule overrides an earlier one, also partly: "allow c *:* rwm" then
// "deny c 1:3 w" leaves /dev/null readable but not writable. (runc gets
// the same answers, but refuses such hole-punching lists because cgroup
// v1 could not express them; there is no reason to refuse them in v2.)
// The compiled program must agree with this function; the tests check it.
func deviceAllowed(rules []devRule, typ byte, major, minor uint32, access uint32) bool {
	for _, bit := range []uint32{accMknod, accRead, accWrite} {
		if access&bit == 0 {
			continue
		}
		allowed := false
		for i := len(rules) - 1; i >= 0; i-- {
			r := rules[i]
			if r.access&bit != 0 && (r.typ == 'a' || r.typ == typ) &&
				(r.major < 0 || uint32(r.major) == major) && (r.minor < 0 || uint32(r.minor) == minor) {
				allowed = r.allow
				break
			}
		}
		if !allowed {
			return false
		}
	}
	return true
}

// compileDevices turns rules into a BPF_PROG_TYPE_CGROUP_DEVICE program
// with the meaning of deviceAllowed. The context (struct
// bpf_cgroup_dev_ctx) holds access_type (device type in the low 16 bits,
// access bits in the high ones), major and minor.
//
// The program has no branches. It walks the rules last one first keeping
// two masks of access bits: decided (R6), the bits a matching rule has
// already ruled on, and allowed (R7), those of them an allow rule ruled
// on; a rule decides the bits it covers that are still undecided. The
// request passes when every bit it asks for is allowed. Matches are
// computed arithmetically ((x|-x)>>63 is 1 iff x != 0) rather than with
// jumps, so the verifier walks one path: a program with branches per rule
// makes it explore and copy a state per branch, which took 1-2 ms per
// container here; this one verifies in a small fraction of that.
func compileDevices(rules []devRule) asm.Instructions {
	insns := asm.Instructions{
		asm.LoadMem(asm.R2, asm.R1, 0, asm.Word), // access_type
		asm.Mov.Reg32(asm.R3, asm.R2),
		asm.RSh.Imm32(asm.R3, 16),                // R3 = requested access bits
		asm.And.Imm32(asm.R2, 0xffff),            // R2 = device type
		asm.LoadMem(asm.R4, asm.R1, 4, asm.Word), // R4 = major
		asm.LoadMem(asm.R5, asm.R1, 8, asm.Word), // R5 = minor
		asm.Mov.Imm(asm.R6, 0),                   // decided
		asm.Mov.Imm(asm.R7, 0),                   // allowed
	}
	// isZero appends R0 = (reg == 0) for a 64-bit reg.
	isZero := func(reg asm.Register) {
		insns = append(insns,
			asm.Mov.Reg(asm.R0, reg),
			asm.Neg.Imm(asm.R0, 0),
			asm.Or.Reg(asm.R0, reg),
			asm.RSh.Imm(asm.R0, 63), // 1 iff reg != 0
			asm.Xor.Imm(asm.R0, 1),
		)
	}
	var settled uint32 // bits ruled on for every device by a rule already emitted
	for i := len(rules) - 1; i >= 0 && settled != accAll; i-- {
		r := rules[i]
		if r.access&^settled == 0 {
			continue // a later rule decides all its bits for every device
		}
		insns = append(insns, asm.Mov.Imm(asm.R8, 1)) // R8 = this rule matches
		cond := func(reg asm.Register, v uint32) {
			insns = append(insns,
				asm.Mov.Reg32(asm.R9, reg),
				asm.Xor.Imm32(asm.R9, int32(v)), // zero iff equal
			)
			isZero(asm.R9)
			insns = append(insns, asm.And.Reg(asm.R8, asm.R0))
		}
		unconditional := true
		if r.typ != 'a' {
			t := uint32(unix.BPF_DEVCG_DEV_CHAR)
			if r.typ == 'b' {
				t = unix.BPF_DEVCG_DEV_BLOCK
			}
			cond(asm.R2, t)
			unconditional = false
		}
		if r.major >= 0 {
			cond(asm.R4, uint32(r.major))
			unconditional = false
		}
		if r.minor >= 0 {
			cond(asm.R5, uint32(r.minor))
			unconditional = false
		}
		insns = append(insns,
			asm.Neg.Imm(asm.R8, 0), // all ones on a match
			asm.Mov.Reg(asm.R9, asm.R6),
			asm.Xor.Imm(asm.R9, -1),
			asm.And.Imm(asm.R9, int32(r.access)),
			asm.And.Reg(asm.R9, asm.R8), // the bits this rule decides
			asm.Or.Reg(asm.R6, asm.R9),
		)
		if r.allow {
			insns = append(insns, asm.Or.Reg(asm.R7, asm.R9))
		}
		if unconditional {
			settled |= r.access
		}
	}
	insns = append(insns,
		asm.Xor.Imm(asm.R7, -1),
		asm.And.Reg(asm.R7, asm.R3), // requested bits not allowed
	)
	isZero(asm.R7)
	return append(insns, asm.Return())
}

// SetDevices compiles the device rules (linux.resources.devices: allow or
// deny, type a/b/c, major and minor with -1 or absent for any, access of
// r, w, m) into an eBPF device program and attaches it to the cgroup,
// replacing the program an earlier SetDevices attached. Later rules
// override earlier ones (see deviceAllowed for the exact meaning), and a
// device no rule allows is denied. With defaults, the standard devices
// (null, zero, full, random, urandom, tty, console, ptmx, pts/*, tun,
// and mknod of anything) are allowed after the rules, whatever they say.
//
// The program is attached with BPF_F_ALLOW_MULTI, so programs of others
// on the cgroup and its ancestors still apply; an earlier hako program is
// swapped for the new one atomically (BPF_F_REPLACE, Linux 5.6), or, if
// that cannot be done, the new one is attached before the old is detached,
// so that the container is never without a filter. Loading the program
// needs no RLIMIT_MEMLOCK on Linux 5.11 and later (BPF memory is charged
// to the memory cgroup); only when loading fails with EPERM is the limit
// raised, as far as allowed, and the load tried again.
func (m *Manager) SetDevices(rules []specs.LinuxDeviceCgroup, defaults bool) error {
	f, err := NewDeviceFilter(rules, defaults)
	if err != nil {
		return err
	}
	return m.ApplyDeviceFilter(f)
}

// DeviceFilter is a device rule list checked and compiled, not yet
// loaded into the kernel.
type DeviceFilter struct {
	insns asm.Instructions
}

// NewDeviceFilter checks and compiles rules as SetDevices does, without
// touching the kernel: a create finds a bad rule before it starts anything
// and attaches the filter while the container's init starts.
func NewDeviceFilter(rules []specs.LinuxDeviceCgroup, defaults bool) (*DeviceFilter, error) {
	rs, err := deviceRules(rules, defaults)
	if err != nil {
		return nil, err
	}
	return &DeviceFilter{insns: compileDevices(rs)}, nil
}

// ApplyDeviceFilter loads f and attaches it as SetDevices does.
func (m *Manager) ApplyDeviceFilter(f *DeviceFilter) error {
	dir, err := m.Dir()
	if err != nil {
		return err
	}
	prog, err := loadDeviceProgram(f.insns)
	if err != nil {
		return fmt.Errorf("linux.resources.devices: %w", err)
	}
	defer prog.Close()
	if err := attachDeviceProgram(dir, prog); err != nil {
		return fmt.Errorf("linux.resources.devices: %s: %w", dir, err)
	}
	return nil
}

func loadDeviceProgram(insns asm.Instructions) (*ebpf.Program, error) {
	spec := &ebpf.ProgramSpec{
		Name:         deviceProgramName,
		Type:         ebpf.CGroupDevice,
		Instructions: insns,
		// The program calls no helper, so no GPL-only one either: any
		// license string loads.
		License: "Apache-2.0",
	}
	prog, err := ebpf.NewProgram(spec)
	if errors.Is(err, unix.EPERM) {
		// Before Linux 5.11, BPF memory counted against RLIMIT_MEMLOCK.
		raiseMemlock()
		prog, err = ebpf.NewProgram(spec)
	}
	if err != nil {
		return nil, fmt.Errorf("load the device program: %w", err)
	}
	return prog, nil
}

// raiseMemlock raises RLIMIT_MEMLOCK as far as it may: to infinity with
// CAP_SYS_RESOURCE, else the soft limit to the hard one. A refusal is not
// an error: the load may work anyway.
func raiseMemlock() {
	inf := unix.Rlimit{Cur: unix.RLIM_INFINITY, Max: unix.RLIM_INFINITY}
	if unix.Setrlimit(unix.RLIMIT_MEMLOCK, &inf) == nil {
		return
	}
	var cur unix.Rlimit
	if unix.Getrlimit(unix.RLIMIT_MEMLOCK, &cur) == nil && cur.Cur < cur.Max {
		cur.Cur = cur.Max
		_ = unix.Setrlimit(unix.RLIMIT_MEMLOCK, &cur)
	}
}

// attachDeviceProgram attaches prog to the cgroup dir in place of hako's
// earlier programs there.
func attachDeviceProgram(dir string, prog *ebpf.Program) error {
	cg, err := unix.Open(dir, unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return err
	}
	defer unix.Close(cg)
	old, err := hakoDevicePrograms(cg)
	if err != nil {
		return err
	}
	defer func() {
		for _, p := range old {
			p.Close()
		}
	}()
	if len(old) == 1 {
		err := progAttach(cg, prog.FD(), unix.BPF_F_ALLOW_MULTI|unix.BPF_F_REPLACE, old[0].FD())
		if err == nil {
			return nil
		}
		// EINVAL: a kernel without BPF_F_REPLACE; ENOENT: the old program
		// went away meanwhile. Otherwise it is a real error.
		if !errors.Is(err, unix.EINVAL) && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("replace the device program: %w", err)
		}
	}
	if err := progAttach(cg, prog.FD(), unix.BPF_F_ALLOW_MULTI, -1); err != nil {
		return fmt.Errorf("attach the device program: %w", err)
	}
	for _, p := range old {
		if err := progDetach(cg, p.FD()); err != nil && !errors.Is(err, unix.ENOENT) {
			return fmt.Errorf("detach the old device program: %w", err)
		}
	}
	return nil
}

// hakoDevicePrograms returns the device programs attached to the cgroup
// itself (not inherited) that carry hako's name.
func hakoDevicePrograms(cg int) ([]*ebpf.Program, error) {
	q, err := link.QueryPrograms(link.QueryOptions{Target: cg, Attach: ebpf.AttachCGroupDevice})
	if err != nil {
		return nil, err
	}
	var progs []*ebpf.Program
	for _, ap := range q.Programs {
		p, err := ebpf.NewProgramFromID(ap.ID)
		if err != nil {
			if errors.Is(err, unix.ENOENT) {
				continue // detached meanwhile
			}
			for _, p := range progs {
				p.Close()
			}
			return nil, fmt.Errorf("open attached device program %d: %w", ap.ID, err)
		}
		if info, err := p.Info(); err == nil && info.Name == deviceProgramName {
			progs = append(progs, p)
			continue
		}
		p.Close()
	}
	return progs, nil
}

// progAttrs is the part of union bpf_attr that BPF_PROG_ATTACH and
// BPF_PROG_DETACH read. (cilium/ebpf's RawAttachProgram cannot pass
// BPF_F_REPLACE for cgroup programs, so these two calls are made here.)
type progAttrs struct {
	targetFd     uint32
	attachBpfFd  uint32
	attachType   uint32
	attachFlags  uint32
	replaceBpfFd uint32
}

func progAttach(cg, prog int, flags uint32, replace int) error {
	attr := progAttrs{
		targetFd:    uint32(cg),
		attachBpfFd: uint32(prog),
		attachType:  unix.BPF_CGROUP_DEVICE,
		attachFlags: flags,
	}
	if replace >= 0 {
		attr.replaceBpfFd = uint32(replace)
	}
	return bpf(unix.BPF_PROG_ATTACH, &attr)
}

func progDetach(cg, prog int) error {
	attr := progAttrs{
		targetFd:    uint32(cg),
		attachBpfFd: uint32(prog),
		attachType:  unix.BPF_CGROUP_DEVICE,
	}
	return bpf(unix.BPF_PROG_DETACH, &attr)
}

func bpf(cmd int, attr *progAttrs) error {
	_, _, errno := unix.Syscall(unix.SYS_BPF, uintptr(cmd), uintptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr))
	if errno != 0 {
		return errno
	}
	return nil
}
