package mounts

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

// How mounts are made, and why (Prepare runs before the pivot, so /proc is
// the host's procfs, copied into our mount namespace, and /proc/self works):
//
//   - Every destination is resolved inside the rootfs (MkdirAllInRoot,
//     CreateFileInRoot) to an O_PATH fd, whose path is checked to be below
//     the rootfs, and the mount is made onto that fd: mount(2) with target
//     /proc/self/fd/N for new filesystems (the kernel takes the fd's exact
//     dentry), move_mount(2) with MOVE_MOUNT_T_EMPTY_PATH for binds.
//   - A bind is open_tree(OPEN_TREE_CLONE) of an fd of the source, opened on
//     the host, then move_mount onto the target fd: no path is walked twice.
//     The fd of the new mount then serves the remount and the propagation
//     changes (through /proc/self/fd/M).
//   - After mount(2) of a new filesystem, the mount is found again, when
//     something remains to be done to it, by opening its resolved path from
//     the root with RESOLVE_NO_SYMLINKS and checking it is not the directory
//     that was mounted over.

// root is the rootfs being set up: its host path, an O_PATH fd of the root
// of its top mount, and the fd's path as /proc/self/fd shows it (the prefix
// every resolved destination must have).
type root struct {
	path   string
	fd     int
	prefix string
}

func openRoot(path string) (*root, error) {
	r := &root{path: path, fd: -1}
	if err := r.reopenRoot(); err != nil {
		return nil, err
	}
	return r, nil
}

// reopenRoot opens the root again: after a mount onto "/" of the container
// the old fd is below that mount.
func (r *root) reopenRoot() error {
	fd, err := openat(atFdcwd, r.path, oPath|syscall.O_DIRECTORY, 0)
	if err != nil {
		return err
	}
	prefix, err := fdPath(fd)
	if err != nil {
		closeFd(fd)
		return err
	}
	closeFd(r.fd)
	r.fd, r.prefix = fd, prefix
	return nil
}

func (r *root) close() {
	closeFd(r.fd)
	r.fd = -1
}

// check verifies that fd is below the rootfs and returns its path inside.
func (r *root) check(fd int) (string, error) {
	p, err := fdPath(fd)
	if err != nil {
		return "", err
	}
	rel, ok := insideRoot(r.prefix, p)
	if !ok {
		return "", outsideErr(p)
	}
	return rel, nil
}

// target resolves (and creates) a mount point inside the rootfs: a
// directory, or a file when dir is false. It returns an O_PATH fd and the
// resolved path inside the rootfs.
func (r *root) target(dst string, dir bool) (int, string, error) {
	var fd int
	var err error
	if dir {
		fd, err = MkdirAllInRoot(r.fd, dst, 0o755)
	} else {
		fd, err = CreateFileInRoot(r.fd, dst, 0o644)
	}
	if err != nil {
		return -1, "", err
	}
	rel, err := r.check(fd)
	if err != nil {
		closeFd(fd)
		return -1, "", err
	}
	return fd, rel, nil
}

// reopen opens the mount just made at rel (a path inside the rootfs with no
// symlinks), and checks it is not old, the directory mounted over.
func (r *root) reopen(rel string, old int, flags int) (int, error) {
	var fd int
	var err error
	if rel == "/" {
		if err := r.reopenRoot(); err != nil {
			return -1, err
		}
		fd, err = openat(r.fd, ".", flags, 0)
	} else {
		fd, err = openat2(r.fd, rel, flags, 0, inRoot|resolveNoSymlinks)
	}
	if err != nil {
		return -1, err
	}
	var a, b syscall.Stat_t
	if err := syscall.Fstat(old, &a); err != nil {
		closeFd(fd)
		return -1, err
	}
	if err := syscall.Fstat(fd, &b); err != nil {
		closeFd(fd)
		return -1, err
	}
	if a.Dev == b.Dev && a.Ino == b.Ino {
		closeFd(fd)
		return -1, fmt.Errorf("no mount found at %s after mounting", rel)
	}
	return fd, nil
}

// Prepare builds the rootfs in the init's new mount namespace, before the
// pivot: the propagation of "/", the bind of the rootfs onto itself, every
// mount of the config in order, the devices and the /dev symlinks.
func Prepare(cfg *RootfsConfig) error {
	if !filepath.IsAbs(cfg.Rootfs) {
		return fmt.Errorf("rootfs %q is not an absolute path", cfg.Rootfs)
	}
	rootfs := filepath.Clean(cfg.Rootfs)
	prop, err := parseRootPropagation(cfg.Propagation)
	if err != nil {
		return err
	}
	if cfg.HostMountNS {
		return prepareInHostNS(cfg, rootfs)
	}
	if err := syscall.Mount("", "/", "", prop.before, ""); err != nil {
		return fmt.Errorf("set propagation of / to %s: %w", prop.name, err)
	}
	shared := prop.before&syscall.MS_SHARED != 0
	if shared {
		// pivot_root(2) refuses a shared new root, a shared parent of it
		// and a shared current root; MS_MOVE refuses a shared parent. Make
		// those three mounts private (not their children); Finalize makes
		// the new "/" shared again.
		if err := makeParentPrivate(rootfs); err != nil {
			return err
		}
	}
	if err := syscall.Mount(rootfs, rootfs, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", rootfs, err)
	}
	if shared {
		if err := syscall.Mount("", rootfs, "", syscall.MS_PRIVATE, ""); err != nil {
			return fmt.Errorf("make rootfs %s private: %w", rootfs, err)
		}
	}
	return prepareMounts(cfg, rootfs)
}

// prepareInHostNS is Prepare for a container in its caller's mount
// namespace: the rootfs bind is made rprivate at once (nothing of the
// container propagates to the caller's peers; "/" is left alone), and on
// failure it is detached again, with everything mounted under it.
func prepareInHostNS(cfg *RootfsConfig, rootfs string) error {
	if err := syscall.Mount(rootfs, rootfs, "", syscall.MS_BIND|syscall.MS_REC, ""); err != nil {
		return fmt.Errorf("bind rootfs %s onto itself: %w", rootfs, err)
	}
	err := syscall.Mount("", rootfs, "", syscall.MS_PRIVATE|syscall.MS_REC, "")
	if err != nil {
		err = fmt.Errorf("make rootfs %s rprivate: %w", rootfs, err)
	} else {
		err = prepareMounts(cfg, rootfs)
	}
	if err != nil {
		syscall.Unmount(rootfs, syscall.MNT_DETACH)
	}
	return err
}

// prepareMounts makes the configured mounts, devices and /dev symlinks in
// the rootfs, which is bound onto itself.
func prepareMounts(cfg *RootfsConfig, rootfs string) error {
	r, err := openRoot(rootfs)
	if err != nil {
		return fmt.Errorf("open rootfs %s: %w", rootfs, err)
	}
	defer r.close()

	devBind, procMount, devptsMount := false, false, false
	for i := range cfg.Mounts {
		m := &cfg.Mounts[i]
		if err := r.mountEntry(m, cfg.InUserNS, cfg.Detached[i]); err != nil {
			return err
		}
		switch filepath.Clean("/" + m.Destination) {
		case "/dev":
			opts, _ := ParseOptions(m.Options)
			devBind = isBind(m, opts)
		case "/proc":
			procMount = true
		case "/dev/pts":
			devptsMount = m.Type == "devpts"
		}
	}
	if devBind {
		// /dev is the host's (or some directory of it): creating nodes
		// and symlinks there would change the host.
		return nil
	}
	if err := r.createDevices(cfg); err != nil {
		return err
	}
	return r.devSymlinks(procMount, devptsMount)
}

type rootProp struct {
	name   string
	before uintptr // applied recursively to "/" by Prepare
	after  uintptr // applied to the new "/" by Finalize (0: nothing)
}

func parseRootPropagation(p string) (rootProp, error) {
	const rec = syscall.MS_REC
	switch p {
	case "":
		return rootProp{"rslave", syscall.MS_SLAVE | rec, 0}, nil
	case "slave", "rslave":
		return rootProp{p, syscall.MS_SLAVE | rec, 0}, nil
	case "private", "rprivate":
		return rootProp{p, syscall.MS_PRIVATE | rec, 0}, nil
	case "shared":
		return rootProp{p, syscall.MS_SHARED, syscall.MS_SHARED}, nil
	case "rshared":
		return rootProp{p, syscall.MS_SHARED | rec, syscall.MS_SHARED | rec}, nil
	case "unbindable", "runbindable":
		// An unbindable "/" could not be bound onto itself: keep it
		// private until the pivot, then make the new root unbindable.
		after := uintptr(syscall.MS_UNBINDABLE)
		if p == "runbindable" {
			after |= rec
		}
		return rootProp{p, syscall.MS_PRIVATE | rec, after}, nil
	}
	return rootProp{}, fmt.Errorf("invalid rootfsPropagation %q", p)
}

// makeParentPrivate makes "/" and the mount that holds rootfs private, not
// recursively. Only the shared propagations need it, so only they read
// mountinfo.
func makeParentPrivate(rootfs string) error {
	if err := syscall.Mount("", "/", "", syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make / private: %w", err)
	}
	mp, err := mountPointOf(rootfs)
	if err != nil {
		return fmt.Errorf("find the mount holding rootfs %s: %w", rootfs, err)
	}
	if mp == "/" {
		return nil
	}
	if err := syscall.Mount("", mp, "", syscall.MS_PRIVATE, ""); err != nil {
		return fmt.Errorf("make %s (parent of rootfs %s) private: %w", mp, rootfs, err)
	}
	return nil
}

// mountPointOf returns the mount point, from /proc/self/mountinfo, of the
// mount that holds path: the longest mount point that is path or above it.
func mountPointOf(path string) (string, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return "", err
	}
	defer f.Close()
	best := "/"
	s := bufio.NewScanner(f)
	s.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for s.Scan() {
		fields := strings.Fields(s.Text())
		if len(fields) < 5 {
			continue
		}
		mp := unescapeMountinfo(fields[4])
		if len(mp) >= len(best) && (mp == path || strings.HasPrefix(path, strings.TrimSuffix(mp, "/")+"/")) {
			best = mp
		}
	}
	return best, s.Err()
}

// unescapeMountinfo undoes the octal escapes (\040 and friends) of
// /proc/self/mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+3 < len(s) {
			if v, ok := octal3(s[i+1 : i+4]); ok {
				b.WriteByte(v)
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}

func octal3(s string) (byte, bool) {
	if len(s) != 3 {
		return 0, false
	}
	var v int
	for _, c := range []byte(s) {
		if c < '0' || c > '7' {
			return 0, false
		}
		v = v*8 + int(c-'0')
	}
	if v > 255 {
		return 0, false
	}
	return byte(v), true
}

// isBind says whether m is a bind mount: the spec's way is a "bind" or
// "rbind" option; the types "bind" and "none" are also taken to mean a bind
// (a plain, non-recursive one without those options), as older configs
// write them.
func isBind(m *specs.Mount, opts Options) bool {
	return opts.Bind || m.Type == "bind" || m.Type == "none"
}

// mountEntry makes one mount of the config. detached, when > 0, is a
// prepared (idmapped) mount to attach instead.
func (r *root) mountEntry(m *specs.Mount, inUserNS bool, detached int) error {
	dst := filepath.Clean("/" + m.Destination)
	opts, err := ParseOptions(m.Options)
	e := &MountError{Source: m.Source, Destination: m.Destination}
	if m.Source == "" {
		e.Source = m.Type
	}
	if err != nil {
		return e.fail("parse options", err)
	}
	if opts.IDMap || opts.RIDMap || len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		if detached <= 0 {
			return fmt.Errorf("mount %s: idmap: no idmapped mount was prepared for it", m.Destination)
		}
		e.Bind = true
		return r.attachEntry(e, detached, dst, opts)
	}
	bind := isBind(m, opts)
	e.Bind = bind
	switch {
	case opts.Flags&syscall.MS_REMOUNT != 0:
		return r.remountEntry(e, m, dst, opts, bind)
	case bind:
		if opts.TmpCopyUp {
			return e.fail("tmpcopyup", errors.New("only a tmpfs can have tmpcopyup"))
		}
		return r.bindEntry(e, m.Source, dst, opts)
	default:
		return r.fsEntry(e, m, dst, opts, inUserNS)
	}
}

func (e *MountError) fail(step string, err error) error {
	e.Step, e.Err = step, err
	return e
}

// bindEntry bind-mounts src (a host path) onto dst inside the rootfs.
func (r *root) bindEntry(e *MountError, src, dst string, opts Options) error {
	srcfd, err := openat(atFdcwd, src, oPath, 0)
	if err != nil {
		return e.fail("open source", err)
	}
	defer closeFd(srcfd)
	var st syscall.Stat_t
	if err := syscall.Fstat(srcfd, &st); err != nil {
		return e.fail("stat source", err)
	}
	tgt, rel, err := r.target(dst, st.Mode&syscall.S_IFMT == syscall.S_IFDIR)
	if err != nil {
		return e.fail("create mount point", err)
	}
	defer closeFd(tgt)
	mfd, err := bindFd(srcfd, tgt, opts.Recursive)
	if err != nil {
		return e.fail("", err)
	}
	defer closeFd(mfd)
	// The new mount is where the target fd was (move_mount attached it
	// there, not at a path walked again): check it anyway, it costs one
	// readlink.
	if at, err := r.check(mfd); err != nil || at != rel {
		if err == nil {
			err = fmt.Errorf("landed at %s instead of %s", at, rel)
		}
		return e.fail("verify", err)
	}
	if rel == "/" {
		if err := r.reopenRoot(); err != nil {
			return e.fail("reopen rootfs", err)
		}
	}
	return finishMount(e, mfd, opts, true)
}

// attachEntry attaches a detached mount prepared by the parent onto dst,
// then applies the flags as for a bind.
func (r *root) attachEntry(e *MountError, mfd int, dst string, opts Options) error {
	var st syscall.Stat_t
	if err := syscall.Fstat(mfd, &st); err != nil {
		return e.fail("stat prepared mount", err)
	}
	tgt, rel, err := r.target(dst, st.Mode&syscall.S_IFMT == syscall.S_IFDIR)
	if err != nil {
		return e.fail("create mount point", err)
	}
	defer closeFd(tgt)
	if err := moveMount(mfd, "", tgt, "", moveMountFEmptyPath|moveMountTEmptyPath); err != nil {
		return e.fail("attach idmapped mount", err)
	}
	if at, err := r.check(mfd); err != nil || at != rel {
		if err == nil {
			err = fmt.Errorf("landed at %s instead of %s", at, rel)
		}
		return e.fail("verify", err)
	}
	return finishMount(e, mfd, opts, true)
}

// bindFd clones the mount at srcfd (with its submounts when recursive) and
// attaches the clone onto tgt. It returns an fd of the new mount.
func bindFd(srcfd, tgt int, recursive bool) (int, error) {
	flags := uint(openTreeClone | openTreeCloexec | atEmptyPath)
	if recursive {
		flags |= atRecursive
	}
	mfd, err := openTree(srcfd, "", flags)
	if err != nil {
		return -1, err
	}
	if err := moveMount(mfd, "", tgt, "", moveMountFEmptyPath|moveMountTEmptyPath); err != nil {
		closeFd(mfd)
		return -1, err
	}
	return mfd, nil
}

// finishMount applies what follows a mount, on the fd of the new mount: the
// remount of a bind with its flags, the propagation changes and the
// recursive attributes.
func finishMount(e *MountError, mfd int, opts Options, bind bool) error {
	if bind && opts.Flags&^(syscall.MS_BIND|syscall.MS_REC|syscall.MS_REMOUNT) != 0 {
		if err := remountBind(procFd(mfd), mfd, opts.Flags); err != nil {
			return e.fail("remount", err)
		}
	}
	for _, p := range opts.PropagationFlags {
		if err := syscall.Mount("", procFd(mfd), "", p, ""); err != nil {
			return e.fail("set propagation", err)
		}
	}
	if opts.RecAttrSet != 0 || opts.RecAttrClr != 0 {
		attr := mountAttr{AttrSet: opts.RecAttrSet, AttrClr: opts.RecAttrClr}
		if err := mountSetattr(mfd, "", atEmptyPath|atRecursive, &attr); err != nil {
			return e.fail("set recursive attributes", err)
		}
	}
	return nil
}

// remountBind changes the per-mount flags of the bind mount at path (fd is
// an fd of it). A bind inherits the flags of its source, and in a user
// namespace the flags the source had when the namespace was made (nosuid,
// nodev, noexec, ro, the atime mode) are locked: a remount that would drop
// one fails with EPERM. Then retry with the source's current flags added,
// read with fstatfs, which is what lets rootless binds of such sources
// become read-only.
func remountBind(path string, fd int, flags uintptr) error {
	fl := flags &^ (syscall.MS_BIND | syscall.MS_REC | syscall.MS_REMOUNT | propagationMask)
	err := syscall.Mount("", path, "", syscall.MS_REMOUNT|syscall.MS_BIND|fl, "")
	if err != syscall.EPERM {
		return err
	}
	var st syscall.Statfs_t
	if serr := syscall.Fstatfs(fd, &st); serr != nil {
		return err
	}
	locked := withLockedFlags(fl, uint64(st.Flags))
	if locked == fl {
		return err
	}
	return syscall.Mount("", path, "", syscall.MS_REMOUNT|syscall.MS_BIND|locked, "")
}

const atimeFlags = syscall.MS_NOATIME | syscall.MS_RELATIME | msStrictatime | syscall.MS_NODIRATIME

// withLockedFlags adds to fl the lockable flags the mount has (statfs
// f_flags). The access-time mode is locked as a whole: when fl sets one, it
// is replaced by the mount's; when fl says nothing, the kernel keeps it.
func withLockedFlags(fl uintptr, st uint64) uintptr {
	for _, f := range [...]struct {
		st uint64
		ms uintptr
	}{
		{stRdonly, syscall.MS_RDONLY},
		{stNosuid, syscall.MS_NOSUID},
		{stNodev, syscall.MS_NODEV},
		{stNoexec, syscall.MS_NOEXEC},
		{stNosymfollow, msNoSymfollow},
	} {
		if st&f.st != 0 {
			fl |= f.ms
		}
	}
	if fl&atimeFlags != 0 {
		fl &^= atimeFlags
		switch {
		case st&stNoatime != 0:
			fl |= syscall.MS_NOATIME
		case st&stRelatime != 0:
			fl |= syscall.MS_RELATIME
		default:
			fl |= msStrictatime
		}
		if st&stNodiratime != 0 {
			fl |= syscall.MS_NODIRATIME
		}
	}
	return fl
}

// remountEntry handles a config mount with the "remount" option: it
// changes the mount already at dst, which must exist.
func (r *root) remountEntry(e *MountError, m *specs.Mount, dst string, opts Options, bind bool) error {
	fd, err := OpenInRoot(r.fd, dst, oPath)
	if err != nil {
		return e.fail("open mount point", err)
	}
	defer closeFd(fd)
	if _, err := r.check(fd); err != nil {
		return e.fail("open mount point", err)
	}
	if bind {
		err = remountBind(procFd(fd), fd, opts.Flags)
	} else {
		err = syscall.Mount("", procFd(fd), m.Type, opts.Flags&^syscall.MS_REC, opts.Data)
	}
	if err != nil {
		return e.fail("remount", err)
	}
	return finishMount(e, fd, opts, false)
}

// fsEntry mounts a new filesystem (proc, sysfs, tmpfs, devpts, mqueue,
// cgroup2, overlay, ...) onto dst inside the rootfs.
func (r *root) fsEntry(e *MountError, m *specs.Mount, dst string, opts Options, inUserNS bool) error {
	fstype := m.Type
	if fstype == "cgroup" {
		fstype = "cgroup2" // hako is cgroup v2 only
	}
	tgt, rel, err := r.target(dst, true)
	if err != nil {
		return e.fail("create mount point", err)
	}
	defer closeFd(tgt)
	if (fstype == "proc" || fstype == "sysfs") && rel != dst {
		// A procfs or sysfs somewhere else than asked (through a symlink
		// of the image) would let the runtime's later writes to
		// /proc/sys, and the container's view, be redirected.
		return e.fail("create mount point", fmt.Errorf("%s is reached through a symlink (to %s)", dst, rel))
	}
	flags := opts.Flags &^ syscall.MS_REC
	olddir := -1
	if opts.TmpCopyUp {
		if fstype != "tmpfs" {
			return e.fail("tmpcopyup", errors.New("only a tmpfs can have tmpcopyup"))
		}
		// tmpcopyup: keep an fd of the directory being covered. After the
		// mount it still reads the old contents, which are then copied
		// into the new tmpfs through an fd of it: no temporary mount, no
		// path the image could redirect. The tmpfs is made read-only, if
		// asked, only after the copy.
		olddir, err = openat(tgt, ".", syscall.O_RDONLY|syscall.O_DIRECTORY, 0)
		if err != nil {
			return e.fail("tmpcopyup: open old contents", err)
		}
		defer closeFd(olddir)
		flags &^= syscall.MS_RDONLY
	}
	src := m.Source
	if src == "" {
		src = fstype
	}
	if err := syscall.Mount(src, procFd(tgt), fstype, flags, opts.Data); err != nil {
		host, recursive := fallbackBind(fstype, err, inUserNS)
		if host == "" {
			return e.fail("", err)
		}
		e.Bind = true
		if err := r.bindFallback(e, host, tgt, opts, recursive); err != nil {
			return err
		}
		return nil
	}
	if rel == "/" {
		if err := r.reopenRoot(); err != nil {
			return e.fail("reopen rootfs", err)
		}
	}
	if olddir < 0 && len(opts.PropagationFlags) == 0 && opts.RecAttrSet == 0 && opts.RecAttrClr == 0 {
		return nil
	}
	mnt, err := r.reopen(rel, tgt, syscall.O_RDONLY|syscall.O_DIRECTORY)
	if err != nil {
		return e.fail("reopen mount", err)
	}
	defer closeFd(mnt)
	if olddir >= 0 {
		if err := copyUp(olddir, mnt, opts.Data); err != nil {
			return e.fail("tmpcopyup", err)
		}
		if opts.Flags&syscall.MS_RDONLY != 0 {
			if err := syscall.Mount("", procFd(mnt), "", syscall.MS_REMOUNT|flags|syscall.MS_RDONLY, ""); err != nil {
				return e.fail("remount read-only after tmpcopyup", err)
			}
		}
	}
	return finishMount(e, mnt, opts, false)
}

// fallbackBind says which host mount to bind when a filesystem cannot be
// mounted: cgroup2 without a cgroup namespace of our own (EPERM, or EBUSY),
// sysfs and mqueue in a user namespace that does not own the network or
// IPC namespace (EPERM).
func fallbackBind(fstype string, err error, inUserNS bool) (string, bool) {
	switch fstype {
	case "cgroup2":
		if err == syscall.EPERM || err == syscall.EBUSY {
			return hostCgroup2(), true
		}
	case "sysfs":
		if err == syscall.EPERM && inUserNS {
			return "/sys", true
		}
	case "mqueue":
		if err == syscall.EPERM && inUserNS {
			if st, err := os.Stat("/dev/mqueue"); err == nil && st.IsDir() {
				return "/dev/mqueue", false
			}
		}
	}
	return "", false
}

// hostCgroup2 is where the host's cgroup2 hierarchy is mounted: at
// /sys/fs/cgroup on unified hosts, /sys/fs/cgroup/unified on hybrid ones.
func hostCgroup2() string {
	for _, p := range []string{"/sys/fs/cgroup", "/sys/fs/cgroup/unified"} {
		var st syscall.Statfs_t
		if syscall.Statfs(p, &st) == nil && st.Type == cgroup2SuperMagic {
			return p
		}
	}
	return ""
}

func (r *root) bindFallback(e *MountError, host string, tgt int, opts Options, recursive bool) error {
	fail := func(step string, err error) error {
		return e.fail(strings.TrimSuffix("fall back to bind of "+host+": "+step, ": "), err)
	}
	srcfd, err := openat(atFdcwd, host, oPath|syscall.O_DIRECTORY, 0)
	if err != nil {
		return fail("open source", err)
	}
	defer closeFd(srcfd)
	mfd, err := bindFd(srcfd, tgt, recursive)
	if err != nil {
		return fail("", err)
	}
	defer closeFd(mfd)
	if recursive && opts.Flags&syscall.MS_RDONLY != 0 {
		// A filesystem mounted read-only has no writable submounts; the
		// host's tree that replaces it may have some: make them all
		// read-only.
		opts.RecAttrSet |= MountAttrRdonly
		opts.RecAttrClr &^= MountAttrRdonly
	}
	if err := finishMount(e, mfd, opts, true); err != nil {
		e.Step = "fall back to bind of " + host + ": " + e.Step
		return e
	}
	return nil
}
