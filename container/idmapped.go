package container

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/mounts"
	"github.com/hako-runtime/hako/nsexec"
	"github.com/hako-runtime/hako/userns"
)

// prepareIDMapped makes the idmapped mounts of the config as detached
// mount trees, for the init to attach. It must run here, in the parent:
// idmapping a mount needs CAP_SYS_ADMIN over the filesystem (for a disk
// filesystem, root in the initial user namespace), which the init, inside
// the container's user namespace, does not have. The mapping is the
// mount's own uidMappings/gidMappings, else the container's. It returns
// the fds by mount index; the caller closes them.
func prepareIDMapped(sp *specs.Spec, bundle string, initPid int) (idx []int, fds []int, err error) {
	defer func() {
		if err != nil {
			for _, fd := range fds {
				unix.Close(fd)
			}
			idx, fds = nil, nil
		}
	}()
	for i := range sp.Mounts {
		m := &sp.Mounts[i]
		need, recursive, err := mounts.NeedsIDMap(m)
		if err != nil {
			return idx, fds, fmt.Errorf("mounts[%d] (%s): %w", i, m.Destination, err)
		}
		if !need {
			continue
		}
		fd, err := idmappedTree(sp, m, bundle, initPid, recursive)
		if err != nil {
			return idx, fds, fmt.Errorf("mounts[%d] (%s): %w", i, m.Destination, err)
		}
		idx = append(idx, i)
		fds = append(fds, fd)
	}
	return idx, fds, nil
}

func idmappedTree(sp *specs.Spec, m *specs.Mount, bundle string, initPid int, recursive bool) (int, error) {
	var nsfd int
	if len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0 {
		fd, err := mappedUserNS(m.UIDMappings, m.GIDMappings)
		if err != nil {
			return -1, err
		}
		nsfd = fd
	} else {
		if !hasUserNamespace(sp) {
			return -1, errors.New("idmap without uidMappings/gidMappings needs a user namespace in linux.namespaces")
		}
		fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", initPid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			return -1, fmt.Errorf("open the container's user namespace: %w", err)
		}
		nsfd = fd
	}
	defer unix.Close(nsfd)
	src := m.Source
	if !filepath.IsAbs(src) {
		src = filepath.Join(bundle, src)
	}
	otFlags := uint(unix.OPEN_TREE_CLONE | unix.OPEN_TREE_CLOEXEC)
	atFlags := uint(unix.AT_EMPTY_PATH)
	if recursive {
		otFlags |= unix.AT_RECURSIVE
		atFlags |= unix.AT_RECURSIVE
	}
	tree, err := unix.OpenTree(unix.AT_FDCWD, src, otFlags)
	if err != nil {
		if errors.Is(err, unix.EPERM) && os.Geteuid() != 0 {
			return -1, fmt.Errorf("idmap %s: a normal user cannot idmap a host filesystem (it needs CAP_SYS_ADMIN over it, i.e. root): %w", src, err)
		}
		return -1, fmt.Errorf("open source %s: %w", src, err)
	}
	attr := &unix.MountAttr{Attr_set: unix.MOUNT_ATTR_IDMAP, Userns_fd: uint64(nsfd)}
	if err := unix.MountSetattr(tree, "", atFlags, attr); err != nil {
		unix.Close(tree)
		var sfs unix.Statfs_t
		fstype := "its filesystem"
		if unix.Statfs(src, &sfs) == nil {
			fstype = fmt.Sprintf("its filesystem (magic %#x)", sfs.Type)
		}
		switch {
		case errors.Is(err, unix.EPERM):
			return -1, fmt.Errorf("idmap %s: not permitted: idmapping a mount needs CAP_SYS_ADMIN over %s (root on the host for a disk filesystem): %w", src, fstype, err)
		case errors.Is(err, unix.EINVAL):
			return -1, fmt.Errorf("idmap %s: %s cannot be idmapped (or the mapping is the filesystem's own): %w", src, fstype, err)
		}
		return -1, fmt.Errorf("idmap %s: %w", src, err)
	}
	return tree, nil
}

// mappedUserNS returns an fd of a new user namespace with the given maps,
// held open by a short-lived process that never starts the Go runtime.
func mappedUserNS(uidMap, gidMap []specs.LinuxIDMapping) (int, error) {
	if len(uidMap) == 0 || len(gidMap) == 0 {
		return -1, errors.New("uidMappings and gidMappings must be given together")
	}
	r, w, err := os.Pipe()
	if err != nil {
		return -1, err
	}
	defer r.Close()
	defer w.Close()
	cmd := &exec.Cmd{
		Path:        "/proc/self/exe",
		Args:        []string{"hako-userns"},
		Env:         []string{nsexec.EnvUsernsHolder + "=1"},
		Stdin:       r,
		SysProcAttr: &syscall.SysProcAttr{Cloneflags: syscall.CLONE_NEWUSER},
	}
	if err := cmd.Start(); err != nil {
		return -1, fmt.Errorf("user namespace for the mount's mappings: %w", err)
	}
	defer func() {
		w.Close()
		cmd.Wait()
	}()
	if err := userns.WriteMaps(cmd.Process.Pid, uidMap, gidMap); err != nil {
		return -1, err
	}
	fd, err := unix.Open(fmt.Sprintf("/proc/%d/ns/user", cmd.Process.Pid), unix.O_RDONLY|unix.O_CLOEXEC, 0)
	if err != nil {
		return -1, fmt.Errorf("open the mount's user namespace: %w", err)
	}
	return fd, nil
}
