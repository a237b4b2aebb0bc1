package containerinit

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/syncmsg"
)

// setupTerminal makes the process's pty inside the container's devpts,
// hands the master to the parent, and makes the slave our stdio and
// controlling terminal. With console, it is also bind-mounted on
// /dev/console (by fd, so a planted symlink cannot redirect the mount).
func setupTerminal(sock *os.File, size *specs.Box, console bool) error {
	master, err := unix.Open("/dev/pts/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if errors.Is(err, unix.ENOENT) {
		master, err = unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	}
	if err != nil {
		return fmt.Errorf("process.terminal: open /dev/pts/ptmx (is devpts mounted on /dev/pts?): %w", err)
	}
	defer unix.Close(master)
	if err := unix.IoctlSetPointerInt(master, unix.TIOCSPTLCK, 0); err != nil {
		return fmt.Errorf("process.terminal: unlock pty: %w", err)
	}
	n, err := unix.IoctlGetUint32(master, unix.TIOCGPTN)
	if err != nil {
		return fmt.Errorf("process.terminal: pty number: %w", err)
	}
	name := "/dev/pts/" + strconv.FormatUint(uint64(n), 10)
	// TIOCGPTPEER opens the slave from the master, without a path that
	// the container could have swapped.
	r, _, errno := unix.Syscall(unix.SYS_IOCTL, uintptr(master), unix.TIOCGPTPEER, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC)
	if errno != 0 {
		return fmt.Errorf("process.terminal: open %s: %w", name, errno)
	}
	slave := int(r)
	defer unix.Close(slave)
	if size != nil {
		ws := &unix.Winsize{Row: uint16(size.Height), Col: uint16(size.Width)}
		if err := unix.IoctlSetWinsize(slave, unix.TIOCSWINSZ, ws); err != nil {
			return fmt.Errorf("process.consoleSize: %w", err)
		}
	}
	if console {
		if err := mountConsole(slave); err != nil {
			return err
		}
	}
	if err := syncmsg.WriteFD(sock, &syncmsg.Message{Type: syncmsg.TypeConsole, Name: name}, master); err != nil {
		return fmt.Errorf("process.terminal: send pty master: %w", err)
	}
	// A forked init is not yet a session leader; one started directly
	// already is (EPERM).
	if _, err := unix.Setsid(); err != nil && !errors.Is(err, unix.EPERM) {
		return fmt.Errorf("process.terminal: setsid: %w", err)
	}
	for fd := 0; fd <= 2; fd++ {
		if err := unix.Dup3(slave, fd, 0); err != nil {
			return fmt.Errorf("process.terminal: dup pty to fd %d: %w", fd, err)
		}
	}
	if err := unix.IoctlSetInt(0, unix.TIOCSCTTY, 0); err != nil {
		return fmt.Errorf("process.terminal: make %s the controlling terminal: %w", name, err)
	}
	return nil
}

// mountConsole binds the pty slave onto /dev/console. The target is
// created (or opened) without following symlinks and must be a regular
// file or a character device; the source is the slave fd itself.
func mountConsole(slave int) error {
	fd, err := unix.Openat2(unix.AT_FDCWD, "/dev/console", &unix.OpenHow{
		Flags:   unix.O_CREAT | unix.O_EXCL | unix.O_RDONLY | unix.O_CLOEXEC,
		Mode:    0o600,
		Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS,
	})
	if errors.Is(err, unix.EEXIST) {
		fd, err = unix.Openat2(unix.AT_FDCWD, "/dev/console", &unix.OpenHow{
			Flags:   unix.O_PATH | unix.O_NOFOLLOW | unix.O_CLOEXEC,
			Resolve: unix.RESOLVE_IN_ROOT | unix.RESOLVE_NO_SYMLINKS,
		})
	}
	if err != nil {
		return fmt.Errorf("/dev/console: %w", err)
	}
	defer unix.Close(fd)
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		return fmt.Errorf("/dev/console: %w", err)
	}
	if typ := st.Mode & unix.S_IFMT; typ != unix.S_IFREG && typ != unix.S_IFCHR {
		return fmt.Errorf("/dev/console: refusing to mount over a file of type %#o", typ)
	}
	tree, err := unix.OpenTree(slave, "", unix.OPEN_TREE_CLONE|unix.OPEN_TREE_CLOEXEC|unix.AT_EMPTY_PATH)
	if err != nil {
		return fmt.Errorf("bind pty to /dev/console: %w", err)
	}
	defer unix.Close(tree)
	if err := unix.MoveMount(tree, "", fd, "", unix.MOVE_MOUNT_F_EMPTY_PATH|unix.MOVE_MOUNT_T_EMPTY_PATH); err != nil {
		return fmt.Errorf("bind pty to /dev/console: %w", err)
	}
	return nil
}
