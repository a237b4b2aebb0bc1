package containerinit

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"unsafe"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/spec"
)

// capSets are the five capability sets as 64-bit masks.
type capSets struct {
	bounding, effective, permitted, inheritable, ambient uint64
	// set is false when the config has no capabilities object: the
	// process then keeps what it has (all of them, as root).
	set bool
}

func parseCaps(c *specs.LinuxCapabilities) (capSets, error) {
	var cs capSets
	if c == nil {
		return cs, nil
	}
	cs.set = true
	for _, s := range []struct {
		name string
		list []string
		mask *uint64
	}{
		{"bounding", c.Bounding, &cs.bounding},
		{"effective", c.Effective, &cs.effective},
		{"permitted", c.Permitted, &cs.permitted},
		{"inheritable", c.Inheritable, &cs.inheritable},
		{"ambient", c.Ambient, &cs.ambient},
	} {
		for _, n := range s.list {
			v, err := spec.CapabilityValue(n)
			if err != nil {
				return cs, fmt.Errorf("process.capabilities.%s: %w", s.name, err)
			}
			*s.mask |= 1 << uint(v)
		}
	}
	return cs, nil
}

func lastCap() int {
	b, err := os.ReadFile("/proc/sys/kernel/cap_last_cap")
	if err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(b))); err == nil {
			return n
		}
	}
	return unix.CAP_LAST_CAP
}

// applyWithUser drops the bounding set, changes to the configured user
// while keeping the permitted set, then sets the capability sets. The
// sequence follows capabilities(7): PR_SET_KEEPCAPS keeps the permitted set
// across setuid, capset restores the effective set afterwards.
func (cs *capSets) applyWithUser(u *specs.User) error {
	if cs.set {
		last := lastCap()
		for c := 0; c <= last; c++ {
			if cs.bounding&(1<<uint(c)) != 0 {
				continue
			}
			if err := unix.Prctl(unix.PR_CAPBSET_DROP, uintptr(c), 0, 0, 0); err != nil && err != unix.EINVAL {
				return fmt.Errorf("drop capability %d from the bounding set: %w", c, err)
			}
		}
		if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 1, 0, 0, 0); err != nil {
			return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", err)
		}
	}
	// The credentials change on this thread only, with raw system calls:
	// it is the thread that execs next (the init's main goroutine is
	// locked to it), and exec ends every other thread. syscall.Setresuid
	// and friends would change every thread of the runtime, each a
	// signal and a wait (AllThreadsSyscall), for threads about to vanish.
	gids := make([]uint32, len(u.AdditionalGids))
	copy(gids, u.AdditionalGids)
	var gidp unsafe.Pointer
	if len(gids) > 0 {
		gidp = unsafe.Pointer(&gids[0])
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETGROUPS, uintptr(len(gids)), uintptr(gidp), 0); e != 0 {
		// setgroups is denied in a user namespace whose gid map was
		// written with setgroups=deny; then there is nothing to set.
		if len(gids) > 0 || !isSetgroupsDenied() {
			return fmt.Errorf("set process.user.additionalGids %v: %w", u.AdditionalGids, e)
		}
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESGID, uintptr(u.GID), uintptr(u.GID), uintptr(u.GID)); e != 0 {
		return fmt.Errorf("set process.user.gid %d: %w", u.GID, e)
	}
	if _, _, e := unix.RawSyscall(unix.SYS_SETRESUID, uintptr(u.UID), uintptr(u.UID), uintptr(u.UID)); e != 0 {
		return fmt.Errorf("set process.user.uid %d: %w", u.UID, e)
	}
	if !cs.set {
		return nil
	}
	if err := unix.Prctl(unix.PR_SET_KEEPCAPS, 0, 0, 0, 0); err != nil {
		return fmt.Errorf("prctl(PR_SET_KEEPCAPS): %w", err)
	}
	hdr := unix.CapUserHeader{Version: unix.LINUX_CAPABILITY_VERSION_3}
	var data [2]unix.CapUserData
	for i := 0; i < 2; i++ {
		data[i].Effective = uint32(cs.effective >> (32 * i))
		data[i].Permitted = uint32(cs.permitted >> (32 * i))
		data[i].Inheritable = uint32(cs.inheritable >> (32 * i))
	}
	if err := unix.Capset(&hdr, &data[0]); err != nil {
		return fmt.Errorf("set capabilities (effective %#x, permitted %#x, inheritable %#x): %w", cs.effective, cs.permitted, cs.inheritable, err)
	}
	if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0); err != nil && err != unix.EINVAL {
		return fmt.Errorf("clear ambient capabilities: %w", err)
	}
	for c := 0; c < 64; c++ {
		if cs.ambient&(1<<uint(c)) == 0 {
			continue
		}
		if err := unix.Prctl(unix.PR_CAP_AMBIENT, unix.PR_CAP_AMBIENT_RAISE, uintptr(c), 0, 0); err != nil {
			return fmt.Errorf("raise ambient capability %d (it must also be permitted and inheritable): %w", c, err)
		}
	}
	return nil
}

func isSetgroupsDenied() bool {
	b, err := os.ReadFile("/proc/self/setgroups")
	return err == nil && strings.TrimSpace(string(b)) == "deny"
}
