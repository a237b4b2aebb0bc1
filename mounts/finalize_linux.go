package mounts

import (
	"fmt"
	"syscall"
)

// Finalize runs after the pivot (paths are the container's): it makes the
// readonlyPaths read-only, masks the maskedPaths, remounts "/" read-only
// for root.readonly and applies a shared or unbindable rootfsPropagation to
// the new "/".
//
// Every path is resolved from an fd of "/" with RESOLVE_IN_ROOT and
// RESOLVE_NO_MAGICLINKS, and the mounts are made with the fd-based mount API
// (open_tree, fsmount, move_mount, mount_setattr), so that nothing depends
// on the container's /proc, which may be missing or not what it seems.
func Finalize(cfg *RootfsConfig) error {
	rootfd, err := openat(atFdcwd, "/", oPath|syscall.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("open /: %w", err)
	}
	defer closeFd(rootfd)
	for _, p := range cfg.ReadonlyPaths {
		if err := readonlyPath(rootfd, p); err != nil {
			return fmt.Errorf("readonly path %s: %w", p, err)
		}
	}
	null := nullDevice{fd: -1}
	defer null.close()
	for _, p := range cfg.MaskedPaths {
		if err := maskPath(rootfd, p, &null); err != nil {
			return fmt.Errorf("masked path %s: %w", p, err)
		}
	}
	if cfg.Readonly {
		if err := makeReadonly(rootfd, "/", false); err != nil {
			return fmt.Errorf("remount / read-only: %w", err)
		}
	}
	prop, err := parseRootPropagation(cfg.Propagation)
	if err != nil {
		return err
	}
	if prop.after != 0 {
		if err := syscall.Mount("", "/", "", prop.after, ""); err != nil {
			return fmt.Errorf("set propagation of / to %s: %w", prop.name, err)
		}
	}
	return nil
}

// readonlyPath binds path onto itself, with its submounts, and makes the
// new mounts read-only. Missing paths are skipped.
func readonlyPath(rootfd int, path string) error {
	fd, err := OpenInRoot(rootfd, path, oPath)
	if err == syscall.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer closeFd(fd)
	mfd, err := openTree(fd, "", openTreeClone|openTreeCloexec|atEmptyPath|atRecursive)
	if err != nil {
		return fmt.Errorf("clone mount: %w", err)
	}
	defer closeFd(mfd)
	// Read-only before it is attached: the path is never writable
	// through the new mount.
	attr := mountAttr{AttrSet: MountAttrRdonly}
	late := false
	if err := mountSetattr(mfd, "", atEmptyPath|atRecursive, &attr); err != nil {
		if err != syscall.ENOSYS {
			return fmt.Errorf("make read-only: %w", err)
		}
		late = true
	}
	if err := moveMount(mfd, "", fd, "", moveMountFEmptyPath|moveMountTEmptyPath); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	if late {
		if err := makeReadonly(mfd, procFd(mfd), true); err != nil {
			return fmt.Errorf("make read-only: %w", err)
		}
	}
	return nil
}

// makeReadonly makes the mount whose root fd is, at path, read-only.
// mount_setattr changes that one attribute and leaves the others, locked or
// not, as they are. Kernels older than 5.12 get a bind remount with the
// mount's locked flags added (remountBind).
func makeReadonly(fd int, path string, skipSetattr bool) error {
	if !skipSetattr {
		attr := mountAttr{AttrSet: MountAttrRdonly}
		err := mountSetattr(fd, "", atEmptyPath, &attr)
		if err != syscall.ENOSYS {
			return err
		}
	}
	return remountBind(path, fd, syscall.MS_RDONLY)
}

// maskPath hides path: a read-only empty tmpfs over a directory, the
// container's /dev/null over anything else. Missing paths are skipped.
func maskPath(rootfd int, path string, null *nullDevice) error {
	fd, err := OpenInRoot(rootfd, path, oPath)
	if err == syscall.ENOENT {
		return nil
	}
	if err != nil {
		return fmt.Errorf("open: %w", err)
	}
	defer closeFd(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return fmt.Errorf("stat: %w", err)
	}
	var mfd int
	if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
		mfd, err = emptyReadonlyTmpfs()
		if err != nil {
			return fmt.Errorf("make tmpfs: %w", err)
		}
	} else {
		nfd, err := null.get(rootfd)
		if err != nil {
			return err
		}
		mfd, err = openTree(nfd, "", openTreeClone|openTreeCloexec|atEmptyPath)
		if err != nil {
			return fmt.Errorf("clone /dev/null: %w", err)
		}
	}
	defer closeFd(mfd)
	if err := moveMount(mfd, "", fd, "", moveMountFEmptyPath|moveMountTEmptyPath); err != nil {
		return fmt.Errorf("attach: %w", err)
	}
	return nil
}

func emptyReadonlyTmpfs() (int, error) {
	fsfd, err := fsopen("tmpfs", fsopenCloexec)
	if err != nil {
		return -1, err
	}
	defer closeFd(fsfd)
	if err := fsconfigCreate(fsfd); err != nil {
		return -1, err
	}
	return fsmount(fsfd, fsmountCloexec, MountAttrRdonly|MountAttrNosuid|MountAttrNodev|MountAttrNoexec)
}

// nullDevice is the container's /dev/null, opened once and checked before
// it is bound over anything (CVE-2025-31133): the container could have
// replaced it with a symlink to, say, /proc/sys/kernel/core_pattern, and a
// bind of that over a masked path would unmask something instead.
type nullDevice struct {
	fd  int
	err error
}

func (n *nullDevice) get(rootfd int) (int, error) {
	if n.fd >= 0 || n.err != nil {
		return n.fd, n.err
	}
	fd, err := OpenInRoot(rootfd, "/dev/null", oPath|syscall.O_NOFOLLOW)
	if err != nil {
		n.err = fmt.Errorf("open /dev/null: %w", err)
		return -1, n.err
	}
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		closeFd(fd)
		n.err = fmt.Errorf("stat /dev/null: %w", err)
		return -1, n.err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFCHR || devMajor(st.Rdev) != 1 || devMinor(st.Rdev) != 3 {
		closeFd(fd)
		n.err = fmt.Errorf("refusing to mask with /dev/null: it is %s, not the character device 1:3", describe(&st))
		return -1, n.err
	}
	n.fd = fd
	return fd, nil
}

func (n *nullDevice) close() {
	closeFd(n.fd)
	n.fd = -1
}

func describe(st *syscall.Stat_t) string {
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFLNK:
		return "a symlink"
	case syscall.S_IFREG:
		return "a regular file"
	case syscall.S_IFDIR:
		return "a directory"
	case syscall.S_IFCHR:
		return fmt.Sprintf("the character device %d:%d", devMajor(st.Rdev), devMinor(st.Rdev))
	case syscall.S_IFBLK:
		return fmt.Sprintf("the block device %d:%d", devMajor(st.Rdev), devMinor(st.Rdev))
	default:
		return fmt.Sprintf("a file of type %#o", st.Mode&syscall.S_IFMT)
	}
}
