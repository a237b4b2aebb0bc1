package mounts

import (
	"errors"
	"fmt"
	"strings"
	"syscall"
)

// inRoot is how every path of the container is resolved: symlinks, ".." and
// absolute paths are all taken relative to the root fd, as if it were "/",
// and magic links (/proc/self/root, /proc/PID/fd/N) are refused. Mount
// points may be crossed: mounts made inside the rootfs must be seen.
const inRoot = resolveInRoot | resolveNoMagiclinks

// maxSymlinks bounds the symlinks one creating walk follows, as the kernel
// bounds its own walks (MAXSYMLINKS).
const maxSymlinks = 40

// OpenInRoot opens path inside the tree of rootfd, which acts as "/" for
// every symlink and ".." met on the way: nothing outside it can be reached.
// flags are open(2) flags (O_CLOEXEC is added); the caller closes the fd.
func OpenInRoot(rootfd int, path string, flags int) (int, error) {
	return openat2(rootfd, path, flags, 0, inRoot)
}

// MkdirAllInRoot makes path a directory inside the tree of rootfd, creating
// missing components with mode (before the umask), and returns an O_PATH fd
// of it. Symlinks met on the way are followed inside the root; a dangling
// symlink is followed by creating its target inside the root.
func MkdirAllInRoot(rootfd int, path string, mode uint32) (int, error) {
	fd, err := OpenInRoot(rootfd, path, oPath|syscall.O_DIRECTORY)
	if err != syscall.ENOENT {
		return fd, err
	}
	return walkInRoot(rootfd, path, mode, createDir)
}

// CreateFileInRoot makes sure path exists inside the tree of rootfd as a
// file that is not a directory, creating missing parent directories (0755)
// and an empty regular file with mode if nothing is there, and returns an
// O_PATH fd of it. An existing non-directory (a device node, say) is
// returned as it is; an existing directory is an EISDIR error.
func CreateFileInRoot(rootfd int, path string, mode uint32) (int, error) {
	fd, err := OpenInRoot(rootfd, path, oPath)
	switch err {
	case nil:
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			closeFd(fd)
			return -1, err
		}
		if st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			closeFd(fd)
			return -1, syscall.EISDIR
		}
		return fd, nil
	case syscall.ENOENT:
		return walkInRoot(rootfd, path, mode, createFile)
	default:
		return -1, err
	}
}

type createKind int

const (
	createDir createKind = iota
	createFile
)

// walkInRoot resolves path one component at a time, the way the kernel does
// with RESOLVE_IN_ROOT, and creates what is missing. Every step is relative
// to the fd of the directory reached so far (openat/mkdirat of a single
// name, never a host path built from strings). A symlink is read and its
// target's components are put in front of the rest: an absolute target
// restarts at the root, and ".." never goes above it.
//
// stack holds the names from the root to the current directory; each was a
// real directory (not a symlink) when it was entered, so a ".." reopens
// their join from the root with RESOLVE_NO_SYMLINKS, which fails rather
// than follows anything swapped in since.
func walkInRoot(rootfd int, path string, mode uint32, kind createKind) (int, error) {
	cur, err := openat(rootfd, ".", oPath|syscall.O_DIRECTORY, 0)
	if err != nil {
		return -1, err
	}
	defer func() { closeFd(cur) }()
	dirMode := mode
	if kind == createFile {
		dirMode = 0o755 // mode is the file's
	}
	var stack []string
	rest := splitPath(path)
	links := 0
	for len(rest) > 0 {
		name := rest[0]
		rest = rest[1:]
		last := len(rest) == 0
		switch name {
		case ".":
			continue
		case "..":
			if len(stack) == 0 {
				continue
			}
			stack = stack[:len(stack)-1]
			fd, err := openat2(rootfd, "/"+strings.Join(stack, "/"), oPath|syscall.O_DIRECTORY, 0,
				inRoot|resolveNoSymlinks)
			if err != nil {
				return -1, err
			}
			closeFd(cur)
			cur = fd
			continue
		}

		fd, err := openat(cur, name, oPath|syscall.O_NOFOLLOW, 0)
		if err == syscall.ENOENT {
			if last && kind == createFile {
				err = createEmptyFile(cur, name, mode)
			} else {
				err = syscall.Mkdirat(cur, name, dirMode)
			}
			// EEXIST: someone made it meanwhile; look at what it is.
			if err != nil && err != syscall.EEXIST {
				return -1, err
			}
			fd, err = openat(cur, name, oPath|syscall.O_NOFOLLOW, 0)
		}
		if err != nil {
			return -1, err
		}
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil {
			closeFd(fd)
			return -1, err
		}
		switch st.Mode & syscall.S_IFMT {
		case syscall.S_IFDIR:
			closeFd(cur)
			cur = fd
			stack = append(stack, name)
		case syscall.S_IFLNK:
			target, err := readlinkat(fd, "")
			closeFd(fd)
			if err != nil {
				return -1, err
			}
			if links++; links > maxSymlinks {
				return -1, syscall.ELOOP
			}
			rest = append(splitPath(target), rest...)
			if strings.HasPrefix(target, "/") {
				fd, err := openat(rootfd, ".", oPath|syscall.O_DIRECTORY, 0)
				if err != nil {
					return -1, err
				}
				closeFd(cur)
				cur = fd
				stack = stack[:0]
			}
		default:
			if !last || kind != createFile {
				closeFd(fd)
				return -1, syscall.ENOTDIR
			}
			return fd, nil
		}
	}
	if kind == createFile {
		return -1, syscall.EISDIR
	}
	fd := cur
	cur = -1
	return fd, nil
}

func createEmptyFile(dirfd int, name string, mode uint32) error {
	fd, err := openat(dirfd, name, syscall.O_CREAT|syscall.O_EXCL|syscall.O_WRONLY|syscall.O_NOFOLLOW, mode)
	if err != nil {
		return err
	}
	return syscall.Close(fd)
}

func splitPath(p string) []string {
	var out []string
	for _, c := range strings.Split(p, "/") {
		if c != "" {
			out = append(out, c)
		}
	}
	return out
}

// insideRoot reports whether the host path p (as /proc/self/fd shows it) is
// the root prefix or below it, and returns its path inside the root.
func insideRoot(prefix, p string) (string, bool) {
	if prefix == "/" {
		return p, strings.HasPrefix(p, "/")
	}
	if p == prefix {
		return "/", true
	}
	if strings.HasPrefix(p, prefix+"/") {
		return p[len(prefix):], true
	}
	return "", false
}

// errOutside is returned when an fd turns out not to be below the rootfs.
var errOutside = errors.New("resolved outside the rootfs")

func outsideErr(p string) error {
	return fmt.Errorf("%w (%s)", errOutside, p)
}
