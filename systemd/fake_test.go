package systemd

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"

	"github.com/godbus/dbus/v5"
)

// fakeSystemd speaks just enough D-Bus (the wire protocol, by hand) to
// stand in for systemd's manager: on a socket named .../systemd/private it
// is a direct peer; on any other, it also answers the bus daemon's Hello
// and AddMatch, as a bus would.
type fakeSystemd struct {
	t       *testing.T
	socket  string
	ln      net.Listener
	wg      sync.WaitGroup
	managed string // the manager's ControlGroup

	mu          sync.Mutex
	authUID     string           // the uid EXTERNAL claimed, or "peer"
	calls       []string         // "Member arg0"
	started     []map[string]any // properties of each StartTransientUnit
	units       map[string]string
	unitExists  int    // answer UnitExists this many times
	startError  string // answer StartTransientUnit with this D-Bus error
	startResult string // the start job's result ("" is done)
	noSignal    bool   // never send JobRemoved
	reject      bool   // reject every authentication
	matched     bool   // AddMatch was called
	jobs        uint32
	serial      uint32
}

func newFakeSystemd(t *testing.T, name string) *fakeSystemd {
	t.Helper()
	dir := t.TempDir()
	sock := filepath.Join(dir, name)
	if err := os.MkdirAll(filepath.Dir(sock), 0o700); err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	f := &fakeSystemd{t: t, socket: sock, ln: ln, units: map[string]string{}, managed: "/"}
	f.wg.Add(1)
	go f.accept()
	t.Cleanup(func() {
		ln.Close()
		f.wg.Wait()
	})
	return f
}

func (f *fakeSystemd) address() string { return "unix:path=" + f.socket }

func (f *fakeSystemd) bus() bool { return !strings.HasSuffix(f.socket, "/systemd/private") }

func (f *fakeSystemd) accept() {
	defer f.wg.Done()
	for {
		c, err := f.ln.Accept()
		if err != nil {
			return
		}
		f.wg.Add(1)
		go func() {
			defer f.wg.Done()
			defer c.Close()
			f.serve(c)
		}()
	}
}

// readLine reads one auth line byte by byte (nothing past it).
func readLine(r io.Reader) (string, error) {
	var b []byte
	one := make([]byte, 1)
	for {
		if _, err := io.ReadFull(r, one); err != nil {
			return "", err
		}
		if one[0] == '\n' {
			return strings.TrimSuffix(string(b), "\r"), nil
		}
		b = append(b, one[0])
	}
}

func (f *fakeSystemd) serve(c net.Conn) {
	nul := make([]byte, 1)
	if _, err := io.ReadFull(c, nul); err != nil || nul[0] != 0 {
		return
	}
	for {
		line, err := readLine(c)
		if err != nil {
			return
		}
		fields := strings.Fields(line)
		f.mu.Lock()
		reject := f.reject
		f.mu.Unlock()
		switch {
		case reject && strings.HasPrefix(line, "AUTH"):
			fmt.Fprint(c, "REJECTED EXTERNAL\r\n")
		case line == "AUTH":
			fmt.Fprint(c, "REJECTED EXTERNAL\r\n")
		case line == "AUTH EXTERNAL":
			// No identity: the server asks for it, the client sends
			// none, and the socket's credentials decide.
			fmt.Fprint(c, "DATA\r\n")
		case line == "DATA":
			f.mu.Lock()
			f.authUID = "peer"
			f.mu.Unlock()
			fmt.Fprint(c, "OK 0123456789abcdef0123456789abcdef\r\n")
		case len(fields) == 3 && fields[0] == "AUTH" && fields[1] == "EXTERNAL":
			uid, _ := hex.DecodeString(fields[2])
			f.mu.Lock()
			f.authUID = string(uid)
			f.mu.Unlock()
			fmt.Fprint(c, "OK 0123456789abcdef0123456789abcdef\r\n")
		case line == "NEGOTIATE_UNIX_FD":
			fmt.Fprint(c, "AGREE_UNIX_FD\r\n")
		case line == "BEGIN":
			f.messages(c)
			return
		default:
			fmt.Fprint(c, "ERROR\r\n")
		}
	}
}

func (f *fakeSystemd) send(c net.Conn, msg *dbus.Message) {
	var buf bytes.Buffer
	if err := msg.EncodeTo(&buf, binary.LittleEndian); err != nil {
		f.t.Errorf("fake systemd: encode %v: %v", msg, err)
		return
	}
	b := buf.Bytes()
	f.serial++
	binary.LittleEndian.PutUint32(b[8:12], f.serial)
	c.Write(b)
}

func (f *fakeSystemd) reply(c net.Conn, call *dbus.Message, body ...any) {
	h := map[dbus.HeaderField]dbus.Variant{dbus.FieldReplySerial: dbus.MakeVariant(call.Serial())}
	if len(body) > 0 {
		h[dbus.FieldSignature] = dbus.MakeVariant(dbus.SignatureOf(body...))
	}
	f.send(c, &dbus.Message{Type: dbus.TypeMethodReply, Headers: h, Body: body})
}

func (f *fakeSystemd) fail(c net.Conn, call *dbus.Message, name, text string) {
	f.send(c, &dbus.Message{Type: dbus.TypeError, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldReplySerial: dbus.MakeVariant(call.Serial()),
		dbus.FieldErrorName:   dbus.MakeVariant(name),
		dbus.FieldSignature:   dbus.MakeVariant(dbus.SignatureOf(text)),
	}, Body: []any{text}})
}

func (f *fakeSystemd) jobRemoved(c net.Conn, id uint32, job dbus.ObjectPath, unit, result string) {
	body := []any{id, job, unit, result}
	f.send(c, &dbus.Message{Type: dbus.TypeSignal, Headers: map[dbus.HeaderField]dbus.Variant{
		dbus.FieldPath:      dbus.MakeVariant(managerPath),
		dbus.FieldInterface: dbus.MakeVariant(managerIf),
		dbus.FieldMember:    dbus.MakeVariant("JobRemoved"),
		dbus.FieldSignature: dbus.MakeVariant(dbus.SignatureOf(body...)),
	}, Body: body})
}

// job answers a job-returning call and, unless told not to, reports the
// job's end; an unrelated job's end comes first, as on a busy system.
func (f *fakeSystemd) job(c net.Conn, call *dbus.Message, unit, result string) {
	f.jobs++
	path := dbus.ObjectPath("/org/freedesktop/systemd1/job/" + strconv.Itoa(int(f.jobs)))
	f.reply(c, call, path)
	if f.noSignal {
		return
	}
	f.jobRemoved(c, 9999, "/org/freedesktop/systemd1/job/9999", "other.service", "failed")
	f.jobRemoved(c, f.jobs, path, unit, result)
}

func (f *fakeSystemd) messages(c net.Conn) {
	for {
		msg, err := dbus.DecodeMessage(c)
		if err != nil {
			return
		}
		if msg.Type != dbus.TypeMethodCall {
			continue
		}
		iface, _ := msg.Headers[dbus.FieldInterface].Value().(string)
		member, _ := msg.Headers[dbus.FieldMember].Value().(string)
		path, _ := msg.Headers[dbus.FieldPath].Value().(dbus.ObjectPath)
		f.mu.Lock()
		arg0 := ""
		if len(msg.Body) > 0 {
			arg0 = fmt.Sprint(msg.Body[0])
		}
		if member != "Get" {
			f.calls = append(f.calls, strings.TrimSpace(member+" "+arg0))
		}
		switch iface + "." + member {
		case "org.freedesktop.DBus.Hello":
			if !f.bus() {
				f.fail(c, msg, "org.freedesktop.DBus.Error.UnknownMethod", "no bus here")
				break
			}
			f.reply(c, msg, ":1.42")
		case "org.freedesktop.DBus.AddMatch":
			if !f.bus() {
				f.fail(c, msg, "org.freedesktop.DBus.Error.UnknownMethod", "no bus here")
				break
			}
			f.matched = true
			f.reply(c, msg)
		case managerIf + ".StartTransientUnit":
			unit := msg.Body[0].(string)
			props := map[string]any{}
			for _, p := range msg.Body[2].([][]any) {
				props[p[0].(string)] = p[1].(dbus.Variant).Value()
			}
			f.started = append(f.started, props)
			switch {
			case f.unitExists > 0:
				f.unitExists--
				f.fail(c, msg, errUnitExists, "Unit "+unit+" already exists.")
			case f.startError != "":
				f.fail(c, msg, f.startError, "Cannot set property Bogus, or unknown property.")
			default:
				result := f.startResult
				if result == "" {
					result = "done"
					f.units[unit] = "active"
				} else {
					f.units[unit] = "failed"
				}
				f.job(c, msg, unit, result)
			}
		case managerIf + ".StopUnit":
			unit := msg.Body[0].(string)
			if _, ok := f.units[unit]; !ok {
				f.fail(c, msg, errNoSuchUnit, "Unit "+unit+" not loaded.")
				break
			}
			delete(f.units, unit)
			f.job(c, msg, unit, "done")
		case managerIf + ".ResetFailedUnit":
			unit := msg.Body[0].(string)
			if _, ok := f.units[unit]; !ok {
				f.fail(c, msg, errNoSuchUnit, "Unit "+unit+" not loaded.")
				break
			}
			if f.units[unit] == "failed" {
				delete(f.units, unit)
			}
			f.reply(c, msg)
		case managerIf + ".SetUnitProperties":
			f.reply(c, msg)
		case managerIf + ".AttachProcessesToUnit":
			unit := msg.Body[0].(string)
			if _, ok := f.units[unit]; !ok {
				f.fail(c, msg, errNoSuchUnit, "Unit "+unit+" not loaded.")
				break
			}
			f.calls[len(f.calls)-1] += fmt.Sprintf(" %v %v", msg.Body[1], msg.Body[2])
			f.reply(c, msg)
		case "org.freedesktop.DBus.Properties.Get":
			f.get(c, msg, path, msg.Body[0].(string), msg.Body[1].(string))
		default:
			f.fail(c, msg, "org.freedesktop.DBus.Error.UnknownMethod", "unknown method "+member)
		}
		f.mu.Unlock()
	}
}

func (f *fakeSystemd) get(c net.Conn, msg *dbus.Message, path dbus.ObjectPath, iface, name string) {
	if path == managerPath {
		if iface == managerIf && name == "ControlGroup" {
			f.reply(c, msg, dbus.MakeVariant(f.managed))
			return
		}
		f.fail(c, msg, "org.freedesktop.DBus.Error.UnknownProperty", "no "+name)
		return
	}
	for unit, state := range f.units {
		if unitPath(unit) != path {
			continue
		}
		switch {
		case name == "ActiveState":
			f.reply(c, msg, dbus.MakeVariant(state))
		case name == "ControlGroup" && iface == "org.freedesktop.systemd1.Scope":
			cg := strings.TrimSuffix(f.managed, "/") + "/system.slice/" + unit
			f.reply(c, msg, dbus.MakeVariant(cg))
		default:
			f.fail(c, msg, "org.freedesktop.DBus.Error.UnknownProperty", "no "+name)
		}
		return
	}
	f.fail(c, msg, errNoSuchUnit, "no unit at "+string(path))
}

func (f *fakeSystemd) callList() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

// state returns what the fake saw, under its lock.
func (f *fakeSystemd) state() (started []map[string]any, matched bool, authUID string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]map[string]any(nil), f.started...), f.matched, f.authUID
}
