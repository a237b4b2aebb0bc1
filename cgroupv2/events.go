package cgroupv2

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sys/unix"
)

// Event is something that happened to the cgroup (see WatchEvents).
type Event struct {
	// Type is "oom" when the OOM killer killed processes of the cgroup
	// (OOMKills then holds the new total of memory.events' oom_kill),
	// and "empty" when no process is left in the cgroup.
	Type     string
	OOMKills uint64
}

// WatchEvents reports OOM kills and the cgroup becoming empty, as they
// happen: the kernel notifies changes of memory.events and cgroup.events,
// which it watches with inotify. The channel closes after "empty", when
// the cgroup goes away, or when ctx is done. Start it once the container's
// first process is in the cgroup: an empty cgroup reports "empty" at once.
// Without the memory controller there are no "oom" events.
func (m *Manager) WatchEvents(ctx context.Context) (<-chan Event, error) {
	dir, err := m.Dir()
	if err != nil {
		return nil, err
	}
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("cgroup: watch %s: inotify: %w", dir, err)
	}
	f := os.NewFile(uintptr(fd), "inotify")
	if _, err := unix.InotifyAddWatch(fd, filepath.Join(dir, "cgroup.events"), unix.IN_MODIFY); err != nil {
		f.Close()
		return nil, fmt.Errorf("cgroup: watch %s: %w", dir, err)
	}
	_, _ = unix.InotifyAddWatch(fd, filepath.Join(dir, "memory.events"), unix.IN_MODIFY)

	var lastOOM uint64
	if ev, err := readKeyed(dir, "memory.events"); err == nil {
		lastOOM = ev["oom_kill"]
	}
	ch := make(chan Event)
	go func() {
		defer close(ch)
		defer f.Close()
		stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
		defer stop()
		send := func(e Event) bool {
			select {
			case ch <- e:
				return true
			case <-ctx.Done():
				return false
			}
		}
		// check reports whether watching is over.
		check := func() bool {
			if ev, err := readKeyed(dir, "memory.events"); err == nil && ev["oom_kill"] > lastOOM {
				lastOOM = ev["oom_kill"]
				if !send(Event{Type: "oom", OOMKills: lastOOM}) {
					return true
				}
			}
			ev, err := readKeyed(dir, "cgroup.events")
			if err != nil {
				return true // the cgroup is gone
			}
			if ev["populated"] == 0 {
				send(Event{Type: "empty", OOMKills: lastOOM})
				return true
			}
			return false
		}
		buf := make([]byte, 4096)
		for !check() {
			if _, err := f.Read(buf); err != nil {
				return
			}
		}
	}()
	return ch, nil
}
