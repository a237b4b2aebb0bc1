package container

import (
	"fmt"
	"io"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// The binary a container init runs from must never be writable from the
// container (CVE-2019-5736: a container process reopens /proc/PID/exe of
// a runtime process for writing and replaces the host's binary).
//
// Copying the ~6 MB static binary into a sealed memfd for every container
// costs milliseconds. Instead hako clones a detached bind mount of its own
// binary with open_tree(OPEN_TREE_CLONE), makes that mount read-only with
// mount_setattr and execs the init through it: /proc/PID/exe then leads to
// a file on a read-only mount that exists in no mount table, so reopening
// it for writing fails with EROFS whatever the container's capabilities,
// and nothing is left behind when the last process using it exits. Two
// system calls, about 30 µs. Without CAP_SYS_ADMIN over our mount
// namespace (a rootless hako) the fallback is a sealed memfd copy.

// sealedExe returns an fd of the binary to exec the init from, numbered at
// least minFD so that the child's fd shuffling cannot overwrite it before
// the exec. The caller closes it once the init has started.
func sealedExe(minFD int) (*os.File, error) {
	// A normal user's container runs with that user's ids and its
	// subordinate ones: a binary the user cannot write (installed by
	// root) needs no protection, and a copy would only cost time.
	if os.Geteuid() != 0 && unix.Faccessat(unix.AT_FDCWD, "/proc/self/exe", unix.W_OK, unix.AT_EACCESS) != nil {
		fd, err := unix.Open("/proc/self/exe", unix.O_PATH|unix.O_CLOEXEC, 0)
		if err != nil {
			return nil, fmt.Errorf("open own binary: %w", err)
		}
		return highFD(fd, minFD, "hako-exe")
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, "/proc/self/exe", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC)
	if err == nil {
		err = unix.MountSetattr(tree, "", unix.AT_EMPTY_PATH, &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_RDONLY | unix.MOUNT_ATTR_NOSUID | unix.MOUNT_ATTR_NODEV})
		if err == nil {
			return highFD(tree, minFD, "hako-sealed")
		}
		unix.Close(tree)
	}
	fd, err := memfdCopy()
	if err != nil {
		return nil, err
	}
	return highFD(fd, minFD, "hako-memfd")
}

// exePath is the path that execs the binary behind f.
func exePath(f *os.File) string {
	return "/proc/self/fd/" + strconv.Itoa(int(f.Fd()))
}

func highFD(fd, minFD int, name string) (*os.File, error) {
	nfd, err := unix.FcntlInt(uintptr(fd), unix.F_DUPFD_CLOEXEC, minFD)
	unix.Close(fd)
	if err != nil {
		return nil, fmt.Errorf("dup sealed binary fd: %w", err)
	}
	return os.NewFile(uintptr(nfd), name), nil
}

// memfdCopy copies the binary into a memfd and seals it against writes.
func memfdCopy() (int, error) {
	fd, err := unix.MemfdCreate("hako", unix.MFD_CLOEXEC|unix.MFD_ALLOW_SEALING)
	if err != nil {
		return -1, fmt.Errorf("memfd for own binary: %w", err)
	}
	f := os.NewFile(uintptr(fd), "hako-memfd")
	src, err := os.Open("/proc/self/exe")
	if err != nil {
		f.Close()
		return -1, err
	}
	defer src.Close()
	if _, err := io.Copy(f, src); err != nil {
		f.Close()
		return -1, fmt.Errorf("copy own binary: %w", err)
	}
	seals := unix.F_SEAL_SEAL | unix.F_SEAL_SHRINK | unix.F_SEAL_GROW | unix.F_SEAL_WRITE
	if _, err := unix.FcntlInt(uintptr(fd), unix.F_ADD_SEALS, seals); err != nil {
		f.Close()
		return -1, fmt.Errorf("seal own binary: %w", err)
	}
	nfd, err := unix.Dup(fd)
	f.Close()
	return nfd, err
}
