// Package rawfile reads small files with bare system calls.
//
// os.ReadFile asks the file's kind (fcntl), its size (fstat) and tries
// to register it with the network poller (epoll_ctl) before it reads:
// seven system calls for a 200-byte state.json or /proc/PID/stat, three
// of them wasted. `hako list` reads four such files per container, so
// with hundreds of containers the difference is most of its time.
package rawfile

import (
	"io/fs"

	"golang.org/x/sys/unix"
)

// Read returns the contents of the file at path: open, read until end of
// file, close. Errors are *fs.PathError, so errors.Is(err,
// fs.ErrNotExist) works as with os.ReadFile.
func Read(path string) ([]byte, error) {
	fd, err := openRetry(path)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	defer unix.Close(fd)
	buf := make([]byte, 0, 1024)
	for {
		if len(buf) == cap(buf) {
			buf = append(buf, 0)[:len(buf)]
		}
		n, err := unix.Read(fd, buf[len(buf):cap(buf)])
		if err == unix.EINTR {
			continue
		}
		if err != nil {
			return nil, &fs.PathError{Op: "read", Path: path, Err: err}
		}
		if n == 0 {
			return buf, nil
		}
		buf = buf[:len(buf)+n]
	}
}

func openRetry(path string) (int, error) {
	for {
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != unix.EINTR {
			return fd, err
		}
	}
}
