package mounts

// Every raw kernel call of this package that the syscall package lacks lives
// in this file: openat2, the new mount API (open_tree, move_mount,
// mount_setattr, fsopen, fsconfig, fsmount), readlinkat and symlinkat. The
// module does not depend on golang.org/x/sys, so the structures and
// constants are spelled out here (values from the kernel's uapi headers).

import (
	"strconv"
	"syscall"
	"unsafe"
)

// openat2 resolve flags (linux/openat2.h).
const (
	resolveNoXdev       = 0x01
	resolveNoMagiclinks = 0x02
	resolveNoSymlinks   = 0x04
	resolveBeneath      = 0x08
	resolveInRoot       = 0x10
)

// Mount flags missing from the syscall package.
const (
	msNoSymfollow = 0x100   // MS_NOSYMFOLLOW (5.10)
	msLazytime    = 1 << 25 // MS_LAZYTIME
	msStrictatime = 1 << 24 // MS_STRICTATIME
)

// statfs f_flags (ST_*), which do not all equal the MS_* flags.
const (
	stRdonly      = 0x1
	stNosuid      = 0x2
	stNodev       = 0x4
	stNoexec      = 0x8
	stNoatime     = 0x400
	stNodiratime  = 0x800
	stRelatime    = 0x1000
	stNosymfollow = 0x2000
)

// mount_setattr attributes (linux/mount.h).
const (
	MountAttrRdonly      = 0x00000001
	MountAttrNosuid      = 0x00000002
	MountAttrNodev       = 0x00000004
	MountAttrNoexec      = 0x00000008
	MountAttrAtimeMask   = 0x00000070 // MOUNT_ATTR__ATIME
	MountAttrRelatime    = 0x00000000
	MountAttrNoatime     = 0x00000010
	MountAttrStrictatime = 0x00000020
	MountAttrNodiratime  = 0x00000080
	MountAttrIdmap       = 0x00100000
	MountAttrNosymfollow = 0x00200000
)

// Flags of the new mount API and of *at calls.
const (
	atEmptyPath     = 0x1000
	atSymlinkNofoll = 0x100
	atRecursive     = 0x8000
	atFdcwd         = -100

	openTreeClone   = 0x1
	openTreeCloexec = syscall.O_CLOEXEC

	moveMountFEmptyPath = 0x4
	moveMountTEmptyPath = 0x40

	fsopenCloexec   = 0x1
	fsmountCloexec  = 0x1
	fsconfigCmdCrea = 6 // FSCONFIG_CMD_CREATE
)

// Filesystem magic numbers (linux/magic.h).
const (
	cgroup2SuperMagic = 0x63677270
)

type openHow struct {
	Flags   uint64
	Mode    uint64
	Resolve uint64
}

type mountAttr struct {
	AttrSet     uint64
	AttrClr     uint64
	Propagation uint64
	UsernsFd    uint64
}

func errnoErr(e syscall.Errno) error {
	if e == 0 {
		return nil
	}
	return e
}

// openat2 opens path relative to dirfd with the given resolve flags. O_CLOEXEC
// is always added. The kernel answers EAGAIN when a concurrent rename or
// mount could have fooled a RESOLVE_IN_ROOT walk: retry a bounded number of
// times.
func openat2(dirfd int, path string, flags int, mode uint32, resolve uint64) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	how := openHow{Flags: uint64(flags) | syscall.O_CLOEXEC, Mode: uint64(mode), Resolve: resolve}
	for i := 0; ; i++ {
		fd, _, e := syscall.Syscall6(sysOpenat2, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(unsafe.Pointer(&how)), unsafe.Sizeof(how), 0, 0)
		if e == 0 {
			return int(fd), nil
		}
		if (e == syscall.EAGAIN || e == syscall.EINTR) && i < 32 {
			continue
		}
		return -1, e
	}
}

// openat opens one path relative to dirfd (no special resolution), O_CLOEXEC.
func openat(dirfd int, path string, flags int, mode uint32) (int, error) {
	for {
		fd, err := syscall.Openat(dirfd, path, flags|syscall.O_CLOEXEC, mode)
		if err != syscall.EINTR {
			return fd, err
		}
	}
}

func openTree(dirfd int, path string, flags uint) (int, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return -1, err
	}
	fd, _, e := syscall.Syscall(sysOpenTree, uintptr(dirfd), uintptr(unsafe.Pointer(p)), uintptr(flags))
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func moveMount(fromfd int, frompath string, tofd int, topath string, flags uint) error {
	fp, err := syscall.BytePtrFromString(frompath)
	if err != nil {
		return err
	}
	tp, err := syscall.BytePtrFromString(topath)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(sysMoveMount, uintptr(fromfd), uintptr(unsafe.Pointer(fp)),
		uintptr(tofd), uintptr(unsafe.Pointer(tp)), uintptr(flags), 0)
	return errnoErr(e)
}

func mountSetattr(dirfd int, path string, flags uint, attr *mountAttr) error {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall6(sysMountSetattr, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(flags), uintptr(unsafe.Pointer(attr)), unsafe.Sizeof(*attr), 0)
	return errnoErr(e)
}

func fsopen(fstype string, flags uint) (int, error) {
	p, err := syscall.BytePtrFromString(fstype)
	if err != nil {
		return -1, err
	}
	fd, _, e := syscall.Syscall(sysFsopen, uintptr(unsafe.Pointer(p)), uintptr(flags), 0)
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

func fsconfigCreate(fsfd int) error {
	_, _, e := syscall.Syscall6(sysFsconfig, uintptr(fsfd), fsconfigCmdCrea, 0, 0, 0, 0)
	return errnoErr(e)
}

func fsmount(fsfd int, flags uint, attrs uint) (int, error) {
	fd, _, e := syscall.Syscall(sysFsmount, uintptr(fsfd), uintptr(flags), uintptr(attrs))
	if e != 0 {
		return -1, e
	}
	return int(fd), nil
}

// readlinkat reads a symlink; with path "" it reads the symlink dirfd was
// opened on (O_PATH|O_NOFOLLOW).
func readlinkat(dirfd int, path string) (string, error) {
	p, err := syscall.BytePtrFromString(path)
	if err != nil {
		return "", err
	}
	for size := 256; ; size *= 2 {
		buf := make([]byte, size)
		n, _, e := syscall.Syscall6(syscall.SYS_READLINKAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
			uintptr(unsafe.Pointer(&buf[0])), uintptr(size), 0, 0)
		if e != 0 {
			return "", e
		}
		if int(n) < size {
			return string(buf[:n]), nil
		}
	}
}

func symlinkat(target string, dirfd int, name string) error {
	t, err := syscall.BytePtrFromString(target)
	if err != nil {
		return err
	}
	n, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	_, _, e := syscall.Syscall(syscall.SYS_SYMLINKAT, uintptr(unsafe.Pointer(t)), uintptr(dirfd), uintptr(unsafe.Pointer(n)))
	return errnoErr(e)
}

// procFd is the magic link of one of our fds. Mounting onto it (or from it)
// makes the kernel use exactly the dentry the fd holds, without another path
// walk that a planted symlink could redirect.
func procFd(fd int) string {
	return "/proc/self/fd/" + strconv.Itoa(fd)
}

// fdPath is the path the kernel reports for fd, relative to our root.
func fdPath(fd int) (string, error) {
	p, err := readlinkat(atFdcwd, procFd(fd))
	if err != nil {
		return "", err
	}
	return p, nil
}

func closeFd(fd int) {
	if fd >= 0 {
		_ = syscall.Close(fd)
	}
}

func mkdev(major, minor int64) uint64 {
	ma, mi := uint64(major), uint64(minor)
	return (mi & 0xff) | ((ma & 0xfff) << 8) | ((mi &^ 0xff) << 12) | ((ma &^ 0xfff) << 32)
}

func devMajor(dev uint64) uint64 { return ((dev >> 8) & 0xfff) | ((dev >> 32) & 0xfffff000) }
func devMinor(dev uint64) uint64 { return (dev & 0xff) | ((dev >> 12) & 0xffffff00) }

// utimensat sets the access and modification times of name in dirfd
// without following a symlink.
func utimensat(dirfd int, name string, atime, mtime syscall.Timespec) error {
	p, err := syscall.BytePtrFromString(name)
	if err != nil {
		return err
	}
	ts := [2]syscall.Timespec{atime, mtime}
	_, _, e := syscall.Syscall6(syscall.SYS_UTIMENSAT, uintptr(dirfd), uintptr(unsafe.Pointer(p)),
		uintptr(unsafe.Pointer(&ts[0])), atSymlinkNofoll, 0, 0)
	return errnoErr(e)
}

// oPath is O_PATH (the same value on every architecture Go supports), which
// the syscall package does not define.
const oPath = 0x200000
