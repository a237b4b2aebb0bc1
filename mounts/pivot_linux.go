package mounts

import (
	"fmt"
	"syscall"
)

// PivotRoot makes the prepared rootfs the root of the mount namespace and
// the working directory "/". With cfg.NoPivot it moves the rootfs mount
// onto "/" and chroots instead (for a root that pivot_root refuses, such as
// a ramfs).
func PivotRoot(cfg *RootfsConfig) error {
	if cfg.HostMountNS {
		// The caller's namespace keeps its root: only this process
		// (and what it execs) moves into the rootfs.
		return Chroot(cfg.Rootfs)
	}
	if cfg.NoPivot {
		return moveRoot(cfg.Rootfs)
	}
	oldroot, err := openat(atFdcwd, "/", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("pivot_root into %s: open old root: %w", cfg.Rootfs, err)
	}
	defer closeFd(oldroot)
	newroot, err := openat(atFdcwd, cfg.Rootfs, syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return fmt.Errorf("pivot_root into %s: open new root: %w", cfg.Rootfs, err)
	}
	defer closeFd(newroot)
	if err := syscall.Fchdir(newroot); err != nil {
		return fmt.Errorf("pivot_root into %s: chdir: %w", cfg.Rootfs, err)
	}
	// pivot_root(".", ".") stacks the old root on top of the new one, at
	// "/", with no directory needed for it inside the rootfs.
	if err := syscall.PivotRoot(".", "."); err != nil {
		return fmt.Errorf("pivot_root into %s: %w", cfg.Rootfs, err)
	}
	if err := syscall.Fchdir(oldroot); err != nil {
		return fmt.Errorf("pivot_root into %s: chdir to old root: %w", cfg.Rootfs, err)
	}
	// Make the old root a slave before detaching it, so the unmount does
	// not propagate to the host's mounts it may be a peer of.
	if err := syscall.Mount("", ".", "", syscall.MS_SLAVE|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("pivot_root into %s: make old root rslave: %w", cfg.Rootfs, err)
	}
	if err := syscall.Unmount(".", syscall.MNT_DETACH); err != nil {
		return fmt.Errorf("pivot_root into %s: detach old root: %w", cfg.Rootfs, err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return fmt.Errorf("pivot_root into %s: chdir /: %w", cfg.Rootfs, err)
	}
	return nil
}

func moveRoot(rootfs string) error {
	if err := syscall.Chdir(rootfs); err != nil {
		return fmt.Errorf("move rootfs %s to /: chdir: %w", rootfs, err)
	}
	if err := syscall.Mount(rootfs, "/", "", syscall.MS_MOVE, ""); err != nil {
		return fmt.Errorf("move rootfs %s to /: %w", rootfs, err)
	}
	if err := syscall.Chroot("."); err != nil {
		return fmt.Errorf("move rootfs %s to /: chroot: %w", rootfs, err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return fmt.Errorf("move rootfs %s to /: chdir /: %w", rootfs, err)
	}
	return nil
}

// Chroot makes rootfs the root and working directory of this process.
func Chroot(rootfs string) error {
	if err := syscall.Chdir(rootfs); err != nil {
		return fmt.Errorf("chroot into %s: chdir: %w", rootfs, err)
	}
	if err := syscall.Chroot("."); err != nil {
		return fmt.Errorf("chroot into %s: %w", rootfs, err)
	}
	if err := syscall.Chdir("/"); err != nil {
		return fmt.Errorf("chroot into %s: chdir /: %w", rootfs, err)
	}
	return nil
}
