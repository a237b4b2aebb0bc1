package systemd

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// The D-Bus names of systemd's manager.
const (
	busName     = "org.freedesktop.systemd1"
	managerPath = dbus.ObjectPath("/org/freedesktop/systemd1")
	managerIf   = "org.freedesktop.systemd1.Manager"
	unitPrefix  = "/org/freedesktop/systemd1/unit/"
	jobRemoved  = managerIf + ".JobRemoved"
)

// Where systemd listens, as root.
var (
	systemPrivateSocket = "/run/systemd/private"
	systemBusSocket     = "/run/dbus/system_bus_socket"
)

// DefaultTimeout bounds each call and each job (the start or stop of a
// unit) when Conn.Timeout is 0.
const DefaultTimeout = 30 * time.Second

// Conn is a connection to a systemd manager: PID 1 as root, the user's
// own manager (user@UID.service) rootless. One Conn serves a whole hako
// process; it is safe for concurrent use (jobs are waited for one at a
// time).
type Conn struct {
	conn    *dbus.Conn
	address string
	// direct is a peer-to-peer connection to systemd's private socket:
	// no bus daemon in between, no Hello, no match rules (systemd sends
	// every signal to such connections).
	direct   bool
	rootless bool

	// Timeout bounds each call and job; 0 is DefaultTimeout.
	Timeout time.Duration

	mu      sync.Mutex // one job at a time: signals are matched to it
	matched bool       // the JobRemoved match rule is on the bus

	// cgroupRoot is the unified hierarchy's mount point; "" is
	// cgroupv2.Mountpoint() (tests point it at a fake tree).
	cgroupRoot string

	rootOnce sync.Once
	rootPath string // the manager's own cgroup (Manager.ControlGroup)
	rootErr  error
}

// Address returns the D-Bus address the Conn is connected to.
func (c *Conn) Address() string { return c.address }

// Close closes the connection.
func (c *Conn) Close() error { return c.conn.Close() }

func (c *Conn) timeout() time.Duration {
	if c.Timeout > 0 {
		return c.Timeout
	}
	return DefaultTimeout
}

// Connect connects to the systemd manager that runs hako's scopes.
//
// As root (rootless false) that is PID 1: through the system bus
// ($DBUS_SYSTEM_BUS_ADDRESS, or /run/dbus/system_bus_socket), else
// systemd's private socket /run/systemd/private (a direct connection, as
// systemctl makes; it needs no bus daemon).
//
// Rootless it is the user's own manager (user@UID.service), through
// $DBUS_SESSION_BUS_ADDRESS when set, else the user bus
// $XDG_RUNTIME_DIR/bus, else the manager's private socket
// $XDG_RUNTIME_DIR/systemd/private (what `systemctl --user` uses; it needs
// no dbus-user-session). Without any of them the error says how to get
// one (dbus-user-session, and `loginctl enable-linger $USER` so that the
// manager runs without a login session).
//
// The buses come first because they are cheaper to join: measured in the
// systemd tier, connecting and authenticating takes 0.7 to 1 ms on a bus
// and 2 to 3 ms on a private socket (PID 1 serves new private
// connections slowly); StartScope costs the same on both.
//
// Authentication is EXTERNAL with the socket's credentials, which the
// kernel translates: a rootless hako inside a user namespace (uid 0 to
// itself, as under RootlessKit) is the user it is outside.
func Connect(rootless bool) (*Conn, error) {
	var addrs []string
	var tried []string
	if !rootless {
		if a := os.Getenv("DBUS_SYSTEM_BUS_ADDRESS"); a != "" {
			addrs = append(addrs, a)
		} else if isSocket(systemBusSocket) {
			addrs = append(addrs, "unix:path="+systemBusSocket)
		} else {
			tried = append(tried, systemBusSocket)
		}
		if isSocket(systemPrivateSocket) {
			addrs = append(addrs, "unix:path="+systemPrivateSocket)
		} else {
			tried = append(tried, systemPrivateSocket)
		}
		if len(addrs) == 0 {
			return nil, fmt.Errorf("--systemd-cgroup: no systemd to talk to: neither %s exists (is systemd the init, PID 1?); run without --systemd-cgroup to use the cgroupfs driver",
				strings.Join(tried, " nor "))
		}
	} else {
		xdg := os.Getenv("XDG_RUNTIME_DIR")
		if a := os.Getenv("DBUS_SESSION_BUS_ADDRESS"); a != "" {
			addrs = append(addrs, a)
		}
		if xdg != "" {
			for _, s := range []string{filepath.Join(xdg, "bus"), filepath.Join(xdg, "systemd/private")} {
				if isSocket(s) {
					addrs = append(addrs, "unix:path="+s)
				} else {
					tried = append(tried, s)
				}
			}
		}
		if len(addrs) == 0 {
			where := "XDG_RUNTIME_DIR is not set"
			if xdg != "" {
				where = "neither " + strings.Join(tried, " nor ") + " exists"
			}
			return nil, fmt.Errorf("rootless --systemd-cgroup needs your systemd user manager, and DBUS_SESSION_BUS_ADDRESS is not set and %s: "+
				"run `loginctl enable-linger $USER` (the user manager then runs without a login session) and install dbus-user-session for the user bus, "+
				"and set XDG_RUNTIME_DIR=/run/user/$(id -u); or run without --systemd-cgroup", where)
		}
	}
	var errs []error
	for _, a := range addrs {
		c, err := Dial(a, rootless)
		if err == nil {
			return c, nil
		}
		errs = append(errs, err)
	}
	err := errors.Join(errs...)
	if rootless {
		return nil, fmt.Errorf("rootless --systemd-cgroup: cannot reach your systemd user manager (is user@%d.service running? `loginctl enable-linger $USER` starts it): %w", os.Getuid(), err)
	}
	return nil, fmt.Errorf("--systemd-cgroup: cannot reach systemd: %w", err)
}

func isSocket(p string) bool {
	st, err := os.Stat(p)
	return err == nil && st.Mode().Type() == fs.ModeSocket
}

// Dial connects to the systemd manager at a D-Bus address: a unix socket
// path ending in /systemd/private is systemd's own (a direct connection),
// anything else a bus (Hello, then match rules for job signals). See
// dialBus for the authentication.
func Dial(address string, rootless bool) (*Conn, error) {
	c := &Conn{address: address, rootless: rootless, direct: strings.HasSuffix(address, "/systemd/private")}
	type result struct {
		conn *dbus.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		conn, err := dialBus(address, c.timeout())
		if err == nil && !c.direct {
			if err = conn.Hello(); err != nil {
				conn.Close()
			}
		}
		done <- result{conn, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			return nil, fmt.Errorf("systemd: connect to %s: %w", address, r.err)
		}
		c.conn = r.conn
	case <-time.After(c.timeout()):
		go func() {
			if r := <-done; r.conn != nil {
				r.conn.Close()
			}
		}()
		return nil, fmt.Errorf("systemd: connect to %s: no answer in %v", address, c.timeout())
	}
	return c, nil
}

// dbusErrorName returns the D-Bus error name of err, or "".
func dbusErrorName(err error) string {
	var e dbus.Error
	if errors.As(err, &e) {
		return e.Name
	}
	var pe *dbus.Error
	if errors.As(err, &pe) && pe != nil {
		return pe.Name
	}
	return ""
}

const (
	errNoSuchUnit = "org.freedesktop.systemd1.NoSuchUnit"
	errUnitExists = "org.freedesktop.systemd1.UnitExists"
	errLoadFailed = "org.freedesktop.systemd1.LoadFailed"
)

// callJob calls a manager method that returns a job and waits (bounded by
// ctx) for the job's JobRemoved signal; it returns the job's result
// ("done", "failed", "canceled", "timeout", "dependency", "skipped").
func (c *Conn) callJob(ctx context.Context, method string, args ...any) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.direct && !c.matched {
		// On a bus, systemd sends JobRemoved to the client that queued
		// the job (it tracks it) without Subscribe; the bus daemon still
		// wants a match rule to pass it on.
		err := c.conn.AddMatchSignalContext(ctx,
			dbus.WithMatchSender(busName),
			dbus.WithMatchObjectPath(managerPath),
			dbus.WithMatchInterface(managerIf),
			dbus.WithMatchMember("JobRemoved"))
		if err != nil {
			return "", fmt.Errorf("subscribe to systemd's job signals: %w", err)
		}
		c.matched = true
	}
	ch := make(chan *dbus.Signal, 32)
	c.conn.Signal(ch)
	defer c.conn.RemoveSignal(ch)
	var job dbus.ObjectPath
	if err := c.conn.Object(busName, managerPath).CallWithContext(ctx, managerIf+"."+method, 0, args...).Store(&job); err != nil {
		return "", err
	}
	for {
		select {
		case sig, ok := <-ch:
			if !ok {
				return "", fmt.Errorf("connection to systemd closed while waiting for job %s", job)
			}
			if sig.Name != jobRemoved || len(sig.Body) < 4 {
				continue
			}
			if p, _ := sig.Body[1].(dbus.ObjectPath); p != job {
				continue
			}
			result, _ := sig.Body[3].(string)
			return result, nil
		case <-ctx.Done():
			return "", fmt.Errorf("job %s did not finish in %v", job, c.timeout())
		}
	}
}

// unitPath is the D-Bus object path of a unit: its name escaped the way
// sd-bus does (bus_label_escape: every byte but [A-Za-z0-9], and a leading
// digit, becomes _XX in lowercase hex).
func unitPath(unit string) dbus.ObjectPath {
	if unit == "" {
		return unitPrefix + "_"
	}
	const hex = "0123456789abcdef"
	var b strings.Builder
	b.WriteString(unitPrefix)
	for i := 0; i < len(unit); i++ {
		ch := unit[i]
		if 'a' <= ch && ch <= 'z' || 'A' <= ch && ch <= 'Z' || i > 0 && '0' <= ch && ch <= '9' {
			b.WriteByte(ch)
			continue
		}
		b.WriteByte('_')
		b.WriteByte(hex[ch>>4])
		b.WriteByte(hex[ch&15])
	}
	return dbus.ObjectPath(b.String())
}

// getProperty reads a property of a systemd object.
func (c *Conn) getProperty(ctx context.Context, path dbus.ObjectPath, iface, name string) (dbus.Variant, error) {
	var v dbus.Variant
	err := c.conn.Object(busName, path).CallWithContext(ctx, "org.freedesktop.DBus.Properties.Get", 0, iface, name).Store(&v)
	return v, err
}

// unitString reads a string property of a unit.
func (c *Conn) unitString(ctx context.Context, unit, iface, name string) (string, error) {
	v, err := c.getProperty(ctx, unitPath(unit), iface, name)
	if err != nil {
		return "", err
	}
	s, ok := v.Value().(string)
	if !ok {
		return "", fmt.Errorf("%s of %s is a %s, not a string", name, unit, v.Signature())
	}
	return s, nil
}

// managerCgroup returns the manager's own cgroup (its ControlGroup
// property: "/" for PID 1 in the root or its own cgroup namespace,
// /user.slice/user-UID.slice/user@UID.service for a user manager).
func (c *Conn) managerCgroup(ctx context.Context) (string, error) {
	c.rootOnce.Do(func() {
		v, err := c.getProperty(ctx, managerPath, managerIf, "ControlGroup")
		if err != nil {
			c.rootErr = fmt.Errorf("systemd: read the manager's ControlGroup: %w", err)
			return
		}
		s, _ := v.Value().(string)
		if s == "" {
			s = "/"
		}
		c.rootPath = s
	})
	return c.rootPath, c.rootErr
}

// StopUnit stops a unit and waits for the stop job. A unit that is not
// loaded (already gone) is not an error. A scope's processes get SIGTERM
// and, after its TimeoutStopUSec, SIGKILL: kill them first (cgroup.kill)
// to stop at once. A unit that failed stays loaded until ResetFailed.
func (c *Conn) StopUnit(unit string) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	result, err := c.callJob(ctx, "StopUnit", unit, "replace")
	switch {
	case dbusErrorName(err) == errNoSuchUnit:
		return nil
	case err != nil:
		return fmt.Errorf("systemd: stop %s: %w", unit, err)
	case result != "done":
		return fmt.Errorf("systemd: stop %s: job %s", unit, result)
	}
	return nil
}

// ResetFailed resets a unit's failed state, so that systemd forgets it
// and its name can be used again. A unit that is not loaded, or not
// failed, is not an error.
func (c *Conn) ResetFailed(unit string) error {
	ctx, cancel := context.WithTimeout(context.Background(), c.timeout())
	defer cancel()
	err := c.conn.Object(busName, managerPath).CallWithContext(ctx, managerIf+".ResetFailedUnit", 0, unit).Err
	if err != nil && dbusErrorName(err) != errNoSuchUnit {
		return fmt.Errorf("systemd: reset-failed %s: %w", unit, err)
	}
	return nil
}
