package containerinit

import (
	"errors"
	"fmt"
	"strings"

	"golang.org/x/sys/unix"
)

// setupNamespaced sets what belongs to the container's own namespaces:
// hostname, domainname and sysctls. It runs after pivot_root, so /proc is
// the container's.
func setupNamespaced(cfg *Config) error {
	s := cfg.Spec
	if s.Hostname != "" {
		if err := unix.Sethostname([]byte(s.Hostname)); err != nil {
			return fmt.Errorf("set hostname %q: %w", s.Hostname, err)
		}
	}
	if s.Domainname != "" {
		if err := unix.Setdomainname([]byte(s.Domainname)); err != nil {
			return fmt.Errorf("set domainname %q: %w", s.Domainname, err)
		}
	}
	if s.Linux != nil {
		for k, v := range s.Linux.Sysctl {
			if err := writeSysctl(k, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeSysctl writes one sysctl through the container's /proc/sys without
// following symlinks out of it.
func writeSysctl(key, value string) error {
	// Dots separate levels; a slash stands for a dot inside a name
	// (an interface like eth0.1), as sysctl(8) spells it.
	rel := strings.Map(func(r rune) rune {
		switch r {
		case '.':
			return '/'
		case '/':
			return '.'
		}
		return r
	}, key)
	dir, err := unix.Open("/proc/sys", unix.O_PATH|unix.O_DIRECTORY|unix.O_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("linux.sysctl %s: open /proc/sys (is /proc mounted?): %w", key, err)
	}
	defer unix.Close(dir)
	fd, err := unix.Openat2(dir, rel, &unix.OpenHow{
		Flags:   unix.O_WRONLY | unix.O_TRUNC | unix.O_CLOEXEC,
		Resolve: unix.RESOLVE_BENEATH | unix.RESOLVE_NO_SYMLINKS,
	})
	if err != nil {
		return fmt.Errorf("linux.sysctl %s: %w", key, err)
	}
	defer unix.Close(fd)
	if _, err := unix.Write(fd, []byte(value)); err != nil {
		return fmt.Errorf("linux.sysctl %s=%s: %w", key, value, err)
	}
	return nil
}

// joinSessionKeyring gives the container its own session keyring, so that
// it cannot read the caller's keys.
func joinSessionKeyring(id string) error {
	name := "_ses." + id
	if len(name) > 255 {
		name = name[:255]
	}
	if _, err := unix.KeyctlJoinSessionKeyring(name); err != nil {
		// Keyrings may be unavailable (kernel config, or blocked by
		// a seccomp policy around us): not fatal, as in other runtimes.
		if errors.Is(err, unix.ENOSYS) || errors.Is(err, unix.EPERM) || errors.Is(err, unix.EACCES) {
			return nil
		}
		return fmt.Errorf("join a new session keyring: %w", err)
	}
	return nil
}
