package seccomp

import (
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/sys/unix"
)

// The binary form of a Program lets a caller compile in one process and
// load in another (the init receives it over the sync socket), or keep
// compiled programs in a cache. It is for this machine only: native byte
// order, and a program compiled for this kernel, libseccomp and hako, which
// a cache key must therefore include along with the config.

var binaryMagic = [8]byte{'h', 'a', 'k', 'o', 'b', 'p', 'f', '1'}

const binaryHeader = len(binaryMagic) + 4 + 4 // magic, flags, instruction count

// loadFlags are the flags Compile may set.
const loadFlags = unix.SECCOMP_FILTER_FLAG_LOG | unix.SECCOMP_FILTER_FLAG_SPEC_ALLOW |
	unix.SECCOMP_FILTER_FLAG_NEW_LISTENER | unix.SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV

// MarshalBinary encodes the instructions and the flags. ListenerPath,
// ListenerMetadata and UnknownSyscalls are not part of it.
func (p *Program) MarshalBinary() ([]byte, error) {
	if p == nil || len(p.insns) == 0 {
		return nil, errors.New("seccomp: marshal an empty program")
	}
	b := make([]byte, binaryHeader, binaryHeader+len(p.insns)*sockFilterSize)
	copy(b, binaryMagic[:])
	binary.NativeEndian.PutUint32(b[8:], uint32(p.flags))
	binary.NativeEndian.PutUint32(b[12:], uint32(len(p.insns)))
	for _, in := range p.insns {
		b = binary.NativeEndian.AppendUint16(b, in.Code)
		b = append(b, in.Jt, in.Jf)
		b = binary.NativeEndian.AppendUint32(b, in.K)
	}
	return b, nil
}

// UnmarshalBinary decodes what MarshalBinary encoded. The kernel checks the
// instructions themselves when Load installs them.
func (p *Program) UnmarshalBinary(b []byte) error {
	if len(b) < binaryHeader || [8]byte(b[:8]) != binaryMagic {
		return errors.New("seccomp: not a compiled hako seccomp program")
	}
	flags := uintptr(binary.NativeEndian.Uint32(b[8:]))
	n := int(binary.NativeEndian.Uint32(b[12:]))
	if flags&^loadFlags != 0 {
		return fmt.Errorf("seccomp: compiled program has unknown flags %#x", flags&^loadFlags)
	}
	if n == 0 || n > maxInstructions || len(b) != binaryHeader+n*sockFilterSize {
		return fmt.Errorf("seccomp: compiled program of %d bytes does not hold %d instructions", len(b), n)
	}
	insns, err := decodeBPF(b[binaryHeader:])
	if err != nil {
		return err
	}
	p.insns = insns
	p.flags = flags
	p.fprog = unix.SockFprog{Len: uint16(len(insns)), Filter: &p.insns[0]}
	return nil
}
