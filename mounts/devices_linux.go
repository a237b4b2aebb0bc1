package mounts

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// defaultDevices are created in every container whose /dev is not the
// host's, unless linux.devices has an entry of the same path.
var defaultDevices = []specs.LinuxDevice{
	{Path: "/dev/null", Type: "c", Major: 1, Minor: 3},
	{Path: "/dev/zero", Type: "c", Major: 1, Minor: 5},
	{Path: "/dev/full", Type: "c", Major: 1, Minor: 7},
	{Path: "/dev/random", Type: "c", Major: 1, Minor: 8},
	{Path: "/dev/urandom", Type: "c", Major: 1, Minor: 9},
	{Path: "/dev/tty", Type: "c", Major: 5, Minor: 0},
}

func (r *root) createDevices(cfg *RootfsConfig) error {
	configured := make(map[string]bool, len(cfg.Devices))
	for _, d := range cfg.Devices {
		configured[filepath.Clean("/"+d.Path)] = true
	}
	for i := range defaultDevices {
		if configured[defaultDevices[i].Path] {
			continue
		}
		if err := r.device(&defaultDevices[i], cfg.InUserNS); err != nil {
			return err
		}
	}
	for i := range cfg.Devices {
		if err := r.device(&cfg.Devices[i], cfg.InUserNS); err != nil {
			return err
		}
	}
	return nil
}

// device creates one device node inside the rootfs: mknod, or in a user
// namespace (where mknod of a device is refused) a bind mount of the host's
// node of the same path onto an empty file. FIFOs are made with mknod in
// both cases.
func (r *root) device(d *specs.LinuxDevice, inUserNS bool) error {
	dst := filepath.Clean("/" + d.Path)
	fail := func(step string, err error) error {
		return fmt.Errorf("create device %s: %s: %w", d.Path, step, err)
	}
	var typ uint32
	switch d.Type {
	case "c", "u":
		typ = syscall.S_IFCHR
	case "b":
		typ = syscall.S_IFBLK
	case "p":
		typ = syscall.S_IFIFO
	default:
		return fmt.Errorf("create device %s: unknown device type %q", d.Path, d.Type)
	}
	dir, name := filepath.Split(dst)
	if name == "" {
		return fmt.Errorf("create device %s: not a file path", d.Path)
	}
	if inUserNS && typ != syscall.S_IFIFO {
		srcfd, err := openat(atFdcwd, dst, oPath, 0)
		if err != nil {
			return fail("open host device", err)
		}
		defer closeFd(srcfd)
		tgt, _, err := r.target(dst, false)
		if err != nil {
			return fail("create mount point", err)
		}
		defer closeFd(tgt)
		mfd, err := bindFd(srcfd, tgt, false)
		if err != nil {
			return fail("bind host device", err)
		}
		closeFd(mfd)
		return nil
	}
	perm := uint32(0o666)
	if d.FileMode != nil {
		perm = uint32(d.FileMode.Perm())
	}
	pfd, _, err := r.target(dir, true)
	if err != nil {
		return fail("create parent directory", err)
	}
	defer closeFd(pfd)
	dev := int(mkdev(d.Major, d.Minor))
	err = syscall.Mknodat(pfd, name, typ|perm, dev)
	if err == syscall.EEXIST {
		// Whatever the image has there (a stale node, a symlink planted
		// to redirect later uses of the device) is replaced; unlink does
		// not follow a symlink, and refuses a directory.
		if err := syscall.Unlinkat(pfd, name); err != nil {
			return fail("remove existing file", err)
		}
		err = syscall.Mknodat(pfd, name, typ|perm, dev)
	}
	if err != nil {
		return fail("mknod", err)
	}
	uid, gid := 0, 0
	if d.UID != nil {
		uid = int(*d.UID)
	}
	if d.GID != nil {
		gid = int(*d.GID)
	}
	if err := syscall.Fchownat(pfd, name, uid, gid, atSymlinkNofoll); err != nil {
		return fail("chown", err)
	}
	// mknod applied the umask. The node was just made by us in a rootfs
	// nothing else runs in yet, so the chmod (which follows symlinks)
	// meets that node.
	if err := syscall.Fchmodat(pfd, name, perm, 0); err != nil {
		return fail("chmod", err)
	}
	return nil
}

// devSymlinks makes the usual /dev symlinks, leaving alone any name that
// already exists.
func (r *root) devSymlinks(procMount, devptsMount bool) error {
	links := [][2]string{
		{"fd", "/proc/self/fd"},
		{"stdin", "/proc/self/fd/0"},
		{"stdout", "/proc/self/fd/1"},
		{"stderr", "/proc/self/fd/2"},
	}
	if procMount {
		links = append(links, [2]string{"core", "/proc/kcore"})
	}
	if devptsMount {
		links = append(links, [2]string{"ptmx", "pts/ptmx"})
	}
	devfd, _, err := r.target("/dev", true)
	if err != nil {
		return fmt.Errorf("create symlinks in /dev: %w", err)
	}
	defer closeFd(devfd)
	for _, l := range links {
		if err := symlinkat(l[1], devfd, l[0]); err != nil && err != syscall.EEXIST {
			return fmt.Errorf("create symlink /dev/%s -> %s: %w", l[0], l[1], err)
		}
	}
	return nil
}

// copyUp copies the tree of the directory fd from into the directory fd to
// (the new tmpfs) and gives the tmpfs root the old directory's owner and
// mode, unless the mount options set them. Nothing in the old tree is
// followed: every entry is opened O_NOFOLLOW relative to its parent's fd,
// symlinks are copied as symlinks.
func copyUp(from, to int, data string) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(from, &st); err != nil {
		return err
	}
	if err := copyDir(from, to); err != nil {
		return err
	}
	opts := map[string]bool{}
	for _, o := range strings.Split(data, ",") {
		if k, _, ok := strings.Cut(o, "="); ok {
			opts[k] = true
		}
	}
	if !opts["uid"] && !opts["gid"] {
		if err := syscall.Fchown(to, int(st.Uid), int(st.Gid)); err != nil {
			return err
		}
	}
	if !opts["mode"] {
		if err := syscall.Fchmod(to, st.Mode&0o7777); err != nil {
			return err
		}
	}
	return nil
}

func copyDir(from, to int) error {
	d, err := openat(from, ".", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	f := os.NewFile(uintptr(d), "tmpcopyup")
	defer f.Close()
	names, err := f.Readdirnames(-1)
	if err != nil {
		return err
	}
	for _, name := range names {
		if err := copyEntry(from, to, name); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	return nil
}

func copyEntry(from, to int, name string) error {
	fd, err := openat(from, name, oPath|syscall.O_NOFOLLOW, 0)
	if err != nil {
		return err
	}
	defer closeFd(fd)
	var st syscall.Stat_t
	if err := syscall.Fstat(fd, &st); err != nil {
		return err
	}
	mode := st.Mode & 0o7777
	switch st.Mode & syscall.S_IFMT {
	case syscall.S_IFDIR:
		if err := syscall.Mkdirat(to, name, 0o700); err != nil {
			return err
		}
		sub, err := openat(from, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer closeFd(sub)
		dsub, err := openat(to, name, syscall.O_RDONLY|syscall.O_DIRECTORY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		defer closeFd(dsub)
		if err := copyDir(sub, dsub); err != nil {
			return err
		}
	case syscall.S_IFREG:
		in, err := openat(from, name, syscall.O_RDONLY|syscall.O_NOFOLLOW, 0)
		if err != nil {
			return err
		}
		inf := os.NewFile(uintptr(in), name)
		defer inf.Close()
		out, err := openat(to, name, syscall.O_WRONLY|syscall.O_CREAT|syscall.O_EXCL|syscall.O_NOFOLLOW, 0o600)
		if err != nil {
			return err
		}
		outf := os.NewFile(uintptr(out), name)
		_, err = io.Copy(outf, inf)
		if cerr := outf.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return err
		}
	case syscall.S_IFLNK:
		target, err := readlinkat(fd, "")
		if err != nil {
			return err
		}
		if err := symlinkat(target, to, name); err != nil {
			return err
		}
	default: // devices, FIFOs, sockets
		if err := syscall.Mknodat(to, name, st.Mode, int(st.Rdev)); err != nil {
			return err
		}
	}
	if err := syscall.Fchownat(to, name, int(st.Uid), int(st.Gid), atSymlinkNofoll); err != nil {
		return err
	}
	if st.Mode&syscall.S_IFMT != syscall.S_IFLNK {
		// Entries of the new tmpfs are ours alone: the chmod cannot be
		// redirected. After the chown, which clears set-id bits.
		if err := syscall.Fchmodat(to, name, mode, 0); err != nil {
			return err
		}
	}
	return utimensat(to, name, st.Atim, st.Mtim)
}
