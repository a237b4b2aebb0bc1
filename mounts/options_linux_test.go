package mounts

import (
	"reflect"
	"strings"
	"syscall"
	"testing"
)

func TestParseOptions(t *testing.T) {
	const (
		ro     = syscall.MS_RDONLY
		nosuid = syscall.MS_NOSUID
		nodev  = syscall.MS_NODEV
		noexec = syscall.MS_NOEXEC
		bind   = syscall.MS_BIND
		rec    = syscall.MS_REC
	)
	tests := []struct {
		name string
		in   []string
		want Options
	}{
		{"empty", nil, Options{}},
		{"defaults", []string{"defaults"}, Options{}},
		{"ro", []string{"ro"}, Options{Flags: ro}},
		{"rw", []string{"rw"}, Options{ClearFlags: ro}},
		{"later wins: ro,rw", []string{"ro", "rw"}, Options{ClearFlags: ro}},
		{"later wins: rw,ro", []string{"rw", "ro"}, Options{Flags: ro}},
		{"proc", []string{"nosuid", "noexec", "nodev"}, Options{Flags: nosuid | noexec | nodev}},
		{"clears", []string{"suid", "dev", "exec", "async", "nomand", "atime", "diratime", "norelatime", "nostrictatime", "nolazytime", "loud", "symfollow"},
			Options{ClearFlags: nosuid | nodev | noexec | syscall.MS_SYNCHRONOUS | syscall.MS_MANDLOCK | syscall.MS_NOATIME |
				syscall.MS_NODIRATIME | syscall.MS_RELATIME | msStrictatime | msLazytime | syscall.MS_SILENT | msNoSymfollow}},
		{"sets", []string{"sync", "dirsync", "remount", "mand", "noatime", "nodiratime", "relatime", "strictatime", "lazytime", "silent", "nosymfollow"},
			Options{Flags: syscall.MS_SYNCHRONOUS | syscall.MS_DIRSYNC | syscall.MS_REMOUNT | syscall.MS_MANDLOCK | syscall.MS_NOATIME |
				syscall.MS_NODIRATIME | syscall.MS_RELATIME | msStrictatime | msLazytime | syscall.MS_SILENT | msNoSymfollow}},
		{"bind", []string{"bind"}, Options{Flags: bind, Bind: true}},
		{"rbind ro", []string{"rbind", "ro"}, Options{Flags: bind | rec | ro, Bind: true, Recursive: true}},
		{"docker bind", []string{"rbind", "rprivate"}, Options{Flags: bind | rec, Bind: true, Recursive: true,
			PropagationFlags: []uintptr{syscall.MS_PRIVATE | rec}}},
		{"propagation in order", []string{"shared", "rshared", "slave", "rslave", "private", "rprivate", "unbindable", "runbindable"},
			Options{PropagationFlags: []uintptr{
				syscall.MS_SHARED, syscall.MS_SHARED | rec, syscall.MS_SLAVE, syscall.MS_SLAVE | rec,
				syscall.MS_PRIVATE, syscall.MS_PRIVATE | rec, syscall.MS_UNBINDABLE, syscall.MS_UNBINDABLE | rec}}},
		{"tmpfs data", []string{"nosuid", "strictatime", "mode=755", "size=65536k"},
			Options{Flags: nosuid | msStrictatime, Data: "mode=755,size=65536k"}},
		{"tmpfs size", []string{"size=64k", "mode=755"}, Options{Data: "size=64k,mode=755"}},
		{"devpts", []string{"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"},
			Options{Flags: nosuid | noexec, Data: "newinstance,ptmxmode=0666,mode=0620,gid=5"}},
		{"overlay", []string{"lowerdir=/a:/b", "upperdir=/u", "workdir=/w"},
			Options{Data: "lowerdir=/a:/b,upperdir=/u,workdir=/w"}},
		{"rro", []string{"rbind", "rro"}, Options{Flags: bind | rec, Bind: true, Recursive: true, RecAttrSet: MountAttrRdonly}},
		{"rro then rrw", []string{"rro", "rrw"}, Options{RecAttrClr: MountAttrRdonly}},
		{"r flags", []string{"rnosuid", "rnodev", "rnoexec", "rnodiratime", "rnosymfollow"},
			Options{RecAttrSet: MountAttrNosuid | MountAttrNodev | MountAttrNoexec | MountAttrNodiratime | MountAttrNosymfollow}},
		{"r clears", []string{"rsuid", "rdev", "rexec", "rdiratime", "rsymfollow"},
			Options{RecAttrClr: MountAttrNosuid | MountAttrNodev | MountAttrNoexec | MountAttrNodiratime | MountAttrNosymfollow}},
		{"rnoatime", []string{"rnoatime"}, Options{RecAttrSet: MountAttrNoatime, RecAttrClr: MountAttrAtimeMask}},
		{"rstrictatime", []string{"rstrictatime"}, Options{RecAttrSet: MountAttrStrictatime, RecAttrClr: MountAttrAtimeMask}},
		{"rnoatime then rrelatime", []string{"rnoatime", "rrelatime"}, Options{RecAttrSet: MountAttrRelatime, RecAttrClr: MountAttrAtimeMask}},
		{"ratime", []string{"ratime"}, Options{RecAttrClr: MountAttrAtimeMask}},
		{"rnorelatime", []string{"rnorelatime"}, Options{RecAttrSet: MountAttrStrictatime, RecAttrClr: MountAttrAtimeMask}},
		{"rnostrictatime", []string{"rnostrictatime"}, Options{RecAttrClr: MountAttrAtimeMask}},
		{"atime mode keeps others", []string{"rro", "rnoatime", "rnodiratime"},
			Options{RecAttrSet: MountAttrRdonly | MountAttrNoatime | MountAttrNodiratime, RecAttrClr: MountAttrAtimeMask}},
		{"tmpcopyup", []string{"tmpcopyup", "mode=1777"}, Options{TmpCopyUp: true, Data: "mode=1777"}},
		{"idmap", []string{"bind", "idmap"}, Options{Flags: bind, Bind: true, IDMap: true}},
		{"ridmap", []string{"rbind", "ridmap"}, Options{Flags: bind | rec, Bind: true, Recursive: true, RIDMap: true}},
		{"empty option skipped", []string{"", "ro", ""}, Options{Flags: ro}},
		{"unknown to data in order", []string{"context=\"system_u:object_r:x\"", "ro", "foo", "bar=baz"},
			Options{Flags: ro, Data: "context=\"system_u:object_r:x\",foo,bar=baz"}},
		{"looks like a flag", []string{"ro=1", "Ro"}, Options{Data: "ro=1,Ro"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseOptions(tt.in)
			if err != nil {
				t.Fatalf("ParseOptions(%q): %v", tt.in, err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("ParseOptions(%q)\n got %+v\nwant %+v", tt.in, got, tt.want)
			}
		})
	}
}

func TestParseOptionsErrors(t *testing.T) {
	for _, in := range [][]string{
		{"idmap", "ridmap"},
		{"size=1\x00k"},
	} {
		if _, err := ParseOptions(in); err == nil {
			t.Errorf("ParseOptions(%q): no error", in)
		}
	}
}

// Every option the brief lists is understood (none of them lands in Data).
func TestParseOptionsKnown(t *testing.T) {
	all := strings.Fields(`defaults rw ro suid nosuid dev nodev exec noexec sync async dirsync remount mand nomand
		atime noatime diratime nodiratime bind rbind relatime norelatime strictatime nostrictatime lazytime nolazytime
		silent loud shared rshared slave rslave private rprivate unbindable runbindable rro rrw rnosuid rsuid rnodev rdev
		rnoexec rexec rnoatime ratime rnodiratime rdiratime rrelatime rnorelatime rstrictatime rnostrictatime nosymfollow
		rnosymfollow symfollow rsymfollow tmpcopyup idmap ridmap`)
	for _, o := range all {
		got, err := ParseOptions([]string{o})
		if err != nil {
			t.Errorf("%s: %v", o, err)
			continue
		}
		if got.Data != "" {
			t.Errorf("%s went to data", o)
		}
	}
}

func TestWithLockedFlags(t *testing.T) {
	tests := []struct {
		name string
		fl   uintptr
		st   uint64
		want uintptr
	}{
		{"nothing locked", syscall.MS_RDONLY, 0, syscall.MS_RDONLY},
		{"nosuid nodev added", syscall.MS_RDONLY, stNosuid | stNodev | stRelatime, syscall.MS_RDONLY | syscall.MS_NOSUID | syscall.MS_NODEV},
		{"noexec ro added", syscall.MS_NOSUID, stRdonly | stNoexec, syscall.MS_NOSUID | syscall.MS_RDONLY | syscall.MS_NOEXEC},
		{"atime replaced", syscall.MS_RDONLY | syscall.MS_NOATIME, stRelatime, syscall.MS_RDONLY | syscall.MS_RELATIME},
		{"strictatime kept as is", syscall.MS_RDONLY | syscall.MS_RELATIME, stNodiratime, syscall.MS_RDONLY | msStrictatime | syscall.MS_NODIRATIME},
		{"nosymfollow", syscall.MS_RDONLY, stNosymfollow, syscall.MS_RDONLY | msNoSymfollow},
	}
	for _, tt := range tests {
		if got := withLockedFlags(tt.fl, tt.st); got != tt.want {
			t.Errorf("%s: got %#x want %#x", tt.name, got, tt.want)
		}
	}
}

func TestRootPropagation(t *testing.T) {
	for _, p := range []string{"", "slave", "rslave", "private", "rprivate"} {
		rp, err := parseRootPropagation(p)
		if err != nil || rp.after != 0 || rp.before&syscall.MS_REC == 0 || rp.before&syscall.MS_SHARED != 0 {
			t.Errorf("%q: %+v %v", p, rp, err)
		}
	}
	for _, p := range []string{"shared", "rshared", "unbindable", "runbindable"} {
		rp, err := parseRootPropagation(p)
		if err != nil || rp.after == 0 {
			t.Errorf("%q: %+v %v", p, rp, err)
		}
	}
	if _, err := parseRootPropagation("bogus"); err == nil {
		t.Error("bogus propagation accepted")
	}
}

func TestMountError(t *testing.T) {
	e := &MountError{Source: "proc", Destination: "/proc", Err: syscall.EPERM}
	if got, want := e.Error(), "mount proc to /proc: operation not permitted"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
	e = &MountError{Source: "/host/src", Destination: "/mnt", Bind: true, Step: "open source", Err: syscall.ENOENT}
	if got, want := e.Error(), "mount /host/src to /mnt (bind): open source: no such file or directory"; got != want {
		t.Errorf("got %q want %q", got, want)
	}
}

func TestMkdev(t *testing.T) {
	for _, d := range [][2]int64{{1, 3}, {5, 0}, {136, 2}, {4095, 255}, {4096, 256}, {300000, 1 << 19}} {
		dev := mkdev(d[0], d[1])
		if int64(devMajor(dev)) != d[0] || int64(devMinor(dev)) != d[1] {
			t.Errorf("mkdev(%d, %d) = %#x round-trips to %d:%d", d[0], d[1], dev, devMajor(dev), devMinor(dev))
		}
	}
	if mkdev(1, 3) != 0x103 {
		t.Errorf("mkdev(1,3) = %#x", mkdev(1, 3))
	}
}

func TestUnescapeMountinfo(t *testing.T) {
	for in, want := range map[string]string{
		`/a\040b`:   "/a b",
		`/plain`:    "/plain",
		`/t\011x`:   "/t\tx",
		`/bad\09`:   `/bad\09`,
		`/end\04`:   `/end\04`,
		`/back\134`: `/back\`,
	} {
		if got := unescapeMountinfo(in); got != want {
			t.Errorf("%q: got %q want %q", in, got, want)
		}
	}
}
