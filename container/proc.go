package container

import (
	"bytes"
	"fmt"
	"strconv"

	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/internal/rawfile"
)

// procStat reads the state letter and the start time of a process from
// /proc/PID/stat.
func procStat(pid int) (state byte, start uint64, err error) {
	b, err := rawfile.Read("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, 0, err
	}
	// The command name may hold spaces and parentheses: fields start
	// after the last ')'.
	i := bytes.LastIndexByte(b, ')')
	if i < 0 || i+2 >= len(b) {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	fields := bytes.Fields(b[i+2:])
	// fields[0] is field 3 (state); start time is field 22.
	if len(fields) < 20 {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat", pid)
	}
	start, err = strconv.ParseUint(string(fields[19]), 10, 64)
	if err != nil {
		return 0, 0, fmt.Errorf("parse /proc/%d/stat: %w", pid, err)
	}
	return fields[0][0], start, nil
}

// processAlive says whether pid still names the process that started at
// start (0: any) and has not exited. A zombie has exited.
func processAlive(pid int, start uint64) bool {
	state, st, err := procStat(pid)
	if err != nil {
		return false
	}
	if start != 0 && st != start {
		return false
	}
	return state != 'Z' && state != 'X'
}

// nsInode returns the inode of /proc/PID/ns/NAME.
func nsInode(pid int, name string) (uint64, error) {
	var st unix.Stat_t
	if err := unix.Stat("/proc/"+strconv.Itoa(pid)+"/ns/"+name, &st); err != nil {
		return 0, err
	}
	return st.Ino, nil
}

// openProcess returns a pidfd for the container's init, checked against
// its start time so that a recycled pid is never signalled.
func openProcess(pid int, start uint64) (int, error) {
	fd, err := unix.PidfdOpen(pid, 0)
	if err != nil {
		return -1, fmt.Errorf("open process %d: %w", pid, err)
	}
	// With the pidfd held, the pid cannot be reused: check it is still ours.
	if !processAlive(pid, start) {
		unix.Close(fd)
		return -1, fmt.Errorf("process %d: %w", pid, unix.ESRCH)
	}
	return fd, nil
}

// waitExit waits until the process behind pidfd has exited.
func waitExit(pidfd int) error {
	fds := []unix.PollFd{{Fd: int32(pidfd), Events: unix.POLLIN}}
	for {
		_, err := unix.Poll(fds, -1)
		if err == unix.EINTR {
			continue
		}
		return err
	}
}
