package cgroupv2

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/cilium/ebpf/asm"
	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// runDeviceProgram interprets the compiled program, encoded as the kernel
// gets it, for one request: it supports exactly the instructions
// compileDevices emits, and fails the test on anything else.
func runDeviceProgram(t *testing.T, code []byte, typ byte, major, minor, access uint32) bool {
	t.Helper()
	ctx := make([]byte, 12)
	devType := uint32(unix.BPF_DEVCG_DEV_CHAR)
	if typ == 'b' {
		devType = unix.BPF_DEVCG_DEV_BLOCK
	}
	binary.LittleEndian.PutUint32(ctx[0:], devType|access<<16)
	binary.LittleEndian.PutUint32(ctx[4:], major)
	binary.LittleEndian.PutUint32(ctx[8:], minor)

	var reg [11]uint64
	n := len(code) / 8
	for pc, steps := 0, 0; ; pc, steps = pc+1, steps+1 {
		if pc < 0 || pc >= n || steps > 100000 {
			t.Fatalf("program ran off at pc %d after %d steps", pc, steps)
		}
		ins := code[pc*8 : pc*8+8]
		op := ins[0]
		dst, src := ins[1]&0x0f, ins[1]>>4
		off := int16(binary.LittleEndian.Uint16(ins[2:]))
		imm := int32(binary.LittleEndian.Uint32(ins[4:]))
		switch op {
		case 0x61: // ldxw dst, [src+off]; src is the context
			if src != 1 || off < 0 || off > 8 || off%4 != 0 {
				t.Fatalf("pc %d: load from r%d%+d", pc, src, off)
			}
			reg[dst] = uint64(binary.LittleEndian.Uint32(ctx[off:]))
		case 0xb7: // mov64 dst, imm
			reg[dst] = uint64(int64(imm))
		case 0xbf: // mov64 dst, src
			reg[dst] = reg[src]
		case 0xa4: // xor32 dst, imm
			reg[dst] = uint64(uint32(reg[dst]) ^ uint32(imm))
		case 0xa7: // xor64 dst, imm
			reg[dst] ^= uint64(int64(imm))
		case 0x87: // neg64 dst
			reg[dst] = -reg[dst]
		case 0x4f: // or64 dst, src
			reg[dst] |= reg[src]
		case 0x5f: // and64 dst, src
			reg[dst] &= reg[src]
		case 0x57: // and64 dst, imm
			reg[dst] &= uint64(int64(imm))
		case 0x77: // rsh64 dst, imm
			reg[dst] >>= uint32(imm)
		case 0x54: // and32 dst, imm
			reg[dst] = uint64(uint32(reg[dst]) & uint32(imm))
		case 0x74: // rsh32 dst, imm
			reg[dst] = uint64(uint32(reg[dst]) >> uint32(imm))
		case 0xbc: // mov32 dst, src
			reg[dst] = uint64(uint32(reg[src]))
		case 0xb4: // mov32 dst, imm
			reg[dst] = uint64(uint32(imm))
		case 0x16: // jeq32 dst, imm, +off
			if uint32(reg[dst]) == uint32(imm) {
				pc += int(off)
			}
		case 0x56: // jne32 dst, imm, +off
			if uint32(reg[dst]) != uint32(imm) {
				pc += int(off)
			}
		case 0x05: // ja +off
			pc += int(off)
		case 0x95: // exit
			if reg[0] > 1 {
				t.Fatalf("returned %d", reg[0])
			}
			return reg[0] == 1
		default:
			t.Fatalf("pc %d: unexpected opcode %#x", pc, op)
		}
	}
}

func encode(t *testing.T, insns asm.Instructions) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := insns.Marshal(&buf, binary.LittleEndian); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func rule(allow bool, typ string, major, minor int64, access string) specs.LinuxDeviceCgroup {
	r := specs.LinuxDeviceCgroup{Allow: allow, Type: typ, Access: access}
	if major != -2 {
		r.Major = &major
	}
	if minor != -2 {
		r.Minor = &minor
	}
	return r
}

const anyNum = -2 // absent major/minor in rule()

func accessBits(s string) uint32 {
	var a uint32
	for _, c := range s {
		switch c {
		case 'r':
			a |= accRead
		case 'w':
			a |= accWrite
		case 'm':
			a |= accMknod
		}
	}
	return a
}

// The meaning of rule lists, checked on the reference function and on the
// compiled program.
func TestDeviceRuleSemantics(t *testing.T) {
	denyAll := rule(false, "a", anyNum, anyNum, "rwm")
	type req struct {
		typ          byte
		major, minor uint32
		access       string
		want         bool
	}
	tests := []struct {
		name     string
		rules    []specs.LinuxDeviceCgroup
		defaults bool
		reqs     []req
	}{
		{"no rules deny everything", nil, false, []req{
			{'c', 1, 3, "r", false}, {'b', 8, 0, "m", false},
		}},
		{"deny all, allow null rw", []specs.LinuxDeviceCgroup{denyAll, rule(true, "c", 1, 3, "rw")}, false, []req{
			{'c', 1, 3, "r", true}, {'c', 1, 3, "rw", true}, {'c', 1, 3, "m", false}, {'c', 1, 3, "rwm", false},
			{'b', 1, 3, "r", false}, {'c', 1, 5, "r", false},
		}},
		{"allow all", []specs.LinuxDeviceCgroup{rule(true, "a", anyNum, anyNum, "rwm")}, false, []req{
			{'c', 1, 3, "rwm", true}, {'b', 8, 0, "rw", true}, {'c', 4294967295, 4294967295, "r", true},
		}},
		{"later rule wins", []specs.LinuxDeviceCgroup{rule(true, "c", 1, 3, "rwm"), rule(false, "c", 1, 3, "rwm")}, false, []req{
			{'c', 1, 3, "r", false},
		}},
		{"hole in a wildcard, per access bit", []specs.LinuxDeviceCgroup{rule(true, "c", anyNum, anyNum, "rwm"), rule(false, "c", 1, 3, "w")}, false, []req{
			{'c', 1, 3, "r", true}, {'c', 1, 3, "w", false}, {'c', 1, 3, "rw", false}, {'c', 1, 5, "rw", true},
			{'b', 1, 3, "r", false},
		}},
		{"bits from different rules", []specs.LinuxDeviceCgroup{rule(true, "c", 1, anyNum, "r"), rule(true, "c", anyNum, 3, "w")}, false, []req{
			{'c', 1, 3, "rw", true}, {'c', 1, 4, "rw", false}, {'c', 2, 3, "w", true},
		}},
		{"major -1 is any", []specs.LinuxDeviceCgroup{rule(true, "c", -1, 7, "r")}, false, []req{
			{'c', 9, 7, "r", true}, {'c', 9, 8, "r", false},
		}},
		{"type a with numbers", []specs.LinuxDeviceCgroup{rule(true, "", 8, anyNum, "r")}, false, []req{
			{'b', 8, 1, "r", true}, {'c', 8, 2, "r", true}, {'c', 9, 2, "r", false},
		}},
		{"defaults win over the rules", []specs.LinuxDeviceCgroup{denyAll, rule(false, "c", 1, 3, "rwm")}, true, []req{
			{'c', 1, 3, "rw", true}, {'c', 5, 2, "rw", true}, {'c', 136, 7, "rw", true}, {'c', 10, 200, "rw", true},
			{'c', 4, 1, "m", true}, {'b', 8, 0, "m", true}, {'b', 8, 0, "r", false}, {'c', 4, 1, "r", false},
		}},
		{"a wildcard deny after allows", []specs.LinuxDeviceCgroup{rule(true, "c", 1, 3, "rwm"), denyAll}, false, []req{
			{'c', 1, 3, "r", false},
		}},
	}
	for _, tt := range tests {
		rs, err := deviceRules(tt.rules, tt.defaults)
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		code := encode(t, compileDevices(rs))
		for _, r := range tt.reqs {
			if got := deviceAllowed(rs, r.typ, r.major, r.minor, accessBits(r.access)); got != r.want {
				t.Errorf("%s: deviceAllowed(%c %d:%d %s) = %v", tt.name, r.typ, r.major, r.minor, r.access, got)
			}
			if got := runDeviceProgram(t, code, r.typ, r.major, r.minor, accessBits(r.access)); got != r.want {
				t.Errorf("%s: program(%c %d:%d %s) = %v", tt.name, r.typ, r.major, r.minor, r.access, got)
			}
		}
	}
}

// Random rule lists: the compiled program agrees with deviceAllowed on
// every request of a small universe.
func TestDeviceProgramMatchesReference(t *testing.T) {
	rnd := rand.New(rand.NewPCG(1, 2))
	types := []string{"a", "b", "c", ""}
	nums := []int64{anyNum, -1, 1, 3, 5}
	accesses := []string{"r", "w", "m", "rw", "rm", "wm", "rwm", "mwr"}
	for iter := 0; iter < 400; iter++ {
		var rules []specs.LinuxDeviceCgroup
		for range rnd.IntN(8) {
			rules = append(rules, rule(rnd.IntN(2) == 0, types[rnd.IntN(len(types))],
				nums[rnd.IntN(len(nums))], nums[rnd.IntN(len(nums))], accesses[rnd.IntN(len(accesses))]))
		}
		rs, err := deviceRules(rules, rnd.IntN(4) == 0)
		if err != nil {
			t.Fatal(err)
		}
		code := encode(t, compileDevices(rs))
		for _, typ := range []byte{'b', 'c'} {
			for _, major := range []uint32{1, 3, 5, 10, 136} {
				for _, minor := range []uint32{1, 3, 5, 200} {
					for access := uint32(1); access <= accAll; access++ {
						want := deviceAllowed(rs, typ, major, minor, access)
						if got := runDeviceProgram(t, code, typ, major, minor, access); got != want {
							t.Fatalf("rules %s: %c %d:%d access %d: program %v, reference %v",
								describeRules(rules), typ, major, minor, access, got, want)
						}
					}
				}
			}
		}
	}
}

func describeRules(rules []specs.LinuxDeviceCgroup) string {
	var parts []string
	for _, r := range rules {
		n := func(p *int64) string {
			if p == nil {
				return "nil"
			}
			return fmt.Sprint(*p)
		}
		parts = append(parts, fmt.Sprintf("{%v %q %s:%s %s}", r.Allow, r.Type, n(r.Major), n(r.Minor), r.Access))
	}
	return strings.Join(parts, " ")
}

func TestDeviceRulesValidation(t *testing.T) {
	big := int64(1) << 33
	tests := []struct {
		rule specs.LinuxDeviceCgroup
		err  string
	}{
		{rule(true, "x", anyNum, anyNum, "r"), `linux.resources.devices[0].type: "x" is none of a, b, c`},
		{rule(true, "c", -5, anyNum, "r"), "linux.resources.devices[0].major: -5 is neither"},
		{rule(true, "c", 1, big, "r"), "linux.resources.devices[0].minor: 8589934592 is neither"},
		{rule(true, "c", 1, 3, ""), "linux.resources.devices[0].access: empty"},
		{rule(true, "c", 1, 3, "rx"), `linux.resources.devices[0].access: "rx" is not made of r, w and m`},
	}
	for _, tt := range tests {
		_, err := deviceRules([]specs.LinuxDeviceCgroup{tt.rule}, false)
		if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("err = %v, want %q", err, tt.err)
		}
	}
	rs, err := deviceRules(nil, true)
	if err != nil || len(rs) != len(defaultDeviceRules) {
		t.Fatalf("defaults: %v, %d rules", err, len(rs))
	}
}

// Every jump target is a labelled instruction and nothing is unreachable
// (the verifier refuses both); the root tests load such programs for real.
func TestDeviceProgramHasNoDeadCode(t *testing.T) {
	for _, rules := range [][]specs.LinuxDeviceCgroup{
		nil,
		{rule(true, "a", anyNum, anyNum, "rwm")},
		{rule(false, "a", anyNum, anyNum, "rwm")},
		{rule(true, "a", anyNum, anyNum, "r"), rule(false, "c", 1, 3, "r")},
	} {
		rs, _ := deviceRules(rules, false)
		code := encode(t, compileDevices(rs))
		n := len(code) / 8
		reach := make([]bool, n)
		var visit func(pc int)
		visit = func(pc int) {
			for pc < n && !reach[pc] {
				reach[pc] = true
				op := code[pc*8]
				off := int(int16(binary.LittleEndian.Uint16(code[pc*8+2:])))
				switch op {
				case 0x95:
					return
				case 0x05:
					pc += off + 1
					continue
				case 0x16, 0x56:
					visit(pc + off + 1)
				}
				pc++
			}
		}
		visit(0)
		for pc, ok := range reach {
			if !ok {
				t.Errorf("rules %s: instruction %d is unreachable", describeRules(rules), pc)
			}
		}
	}
}
