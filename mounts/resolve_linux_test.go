package mounts

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// hostileTree builds base/root with symlinks that point out of it in every
// way, and base/outside, which nothing may touch.
func hostileTree(t *testing.T) (base, root string, rootfd int) {
	t.Helper()
	base = t.TempDir()
	root = filepath.Join(base, "root")
	outside := filepath.Join(base, "outside")
	for _, d := range []string{root, outside, root + "/etc", root + "/a/b", outside + "/secret"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	files := map[string]string{
		root + "/etc/passwd":  "container\n",
		outside + "/file":     "host\n",
		root + "/a/b/regular": "x",
	}
	for p, c := range files {
		if err := os.WriteFile(p, []byte(c), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	links := map[string]string{
		"abs-etc":      "/etc",                        // absolute: the container's /etc
		"abs-outside":  outside,                       // absolute host path of outside
		"dotdot":       "../../../../../../..",        // .. chain above the root
		"dotdot-out":   "../outside",                  // one level above the root
		"a/b/up":       "../../../../outside/secret",  // .. chain from deeper
		"loop1":        "loop2",                       // loop
		"loop2":        "loop1",                       // loop
		"self":         "self/x",                      // self-referencing
		"dangling":     outside + "/newdir/deeper",    // dangling absolute
		"dangling-rel": "../../outside/made",          // dangling relative
		"magic":        "/proc/self/root",             // magic link outside the root
		"chain1":       "chain2/..//b",                // .. after a symlink: parent of its target
		"chain2":       "a/b",                         // to a directory
		"file-link":    "a/b/regular",                 // to a file
		"a/b/via-abs":  "/abs-etc/../../../outside2x", // absolute, symlink, then .. chain
	}
	for name, target := range links {
		if err := os.Symlink(target, filepath.Join(root, name)); err != nil {
			t.Fatal(err)
		}
	}
	fd, err := syscall.Open(root, oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { syscall.Close(fd) })
	return base, root, fd
}

func pathOf(t *testing.T, fd int) string {
	t.Helper()
	p, err := fdPath(fd)
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// realRoot is root as the kernel names it (TMPDIR may hold symlinks).
func realRoot(t *testing.T, root string) string {
	r, err := filepath.EvalSymlinks(root)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestOpenInRoot(t *testing.T) {
	base, root, rootfd := hostileTree(t)
	rr := realRoot(t, root)
	rbase := realRoot(t, base)
	tests := []struct {
		path string
		want string // path inside root, or "" for an error
		err  error
	}{
		{"/", "/", nil},
		{"etc/passwd", "/etc/passwd", nil},
		{"/abs-etc/passwd", "/etc/passwd", nil},
		{"abs-outside", "", syscall.ENOENT}, // would be <base>/outside on the host
		{"abs-outside/file", "", syscall.ENOENT},
		{"dotdot", "/", nil},
		{"dotdot/etc/passwd", "/etc/passwd", nil},
		{"../../../../etc/passwd", "/etc/passwd", nil},
		{"dotdot-out", "", syscall.ENOENT},
		{"a/b/up", "", syscall.ENOENT},
		{"loop1", "", syscall.ELOOP},
		{"self", "", syscall.ELOOP},
		{"magic", "", syscall.ENOENT}, // /proc/self/root inside the root: no /proc there
		{"chain1", "/a/b", nil},
		{"file-link", "/a/b/regular", nil},
		{"a/b/via-abs", "", syscall.ENOENT},
	}
	for _, tt := range tests {
		fd, err := OpenInRoot(rootfd, tt.path, oPath)
		if tt.err != nil {
			if err == nil {
				got := pathOf(t, fd)
				syscall.Close(fd)
				t.Errorf("OpenInRoot(%q) = %s, want error %v", tt.path, got, tt.err)
			} else if !errors.Is(err, tt.err) {
				t.Errorf("OpenInRoot(%q): error %v, want %v", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("OpenInRoot(%q): %v", tt.path, err)
			continue
		}
		got := pathOf(t, fd)
		syscall.Close(fd)
		if want := filepath.Join(rr, tt.want); got != want {
			t.Errorf("OpenInRoot(%q) = %s, want %s", tt.path, got, want)
		}
	}
	assertUntouched(t, rbase)

	// Magic links are refused outright, even where they exist: resolve in
	// the host's root, which has a /proc.
	hostfd, err := syscall.Open("/", oPath|syscall.O_DIRECTORY|syscall.O_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer syscall.Close(hostfd)
	for _, p := range []string{"/proc/self/root", "/proc/self/root/etc", "/proc/self/cwd", "/proc/self/exe"} {
		if fd, err := OpenInRoot(hostfd, p, oPath); !errors.Is(err, syscall.ELOOP) {
			syscall.Close(fd)
			t.Errorf("OpenInRoot(/, %q): %v, want ELOOP", p, err)
		}
	}
	if fd, err := OpenInRoot(hostfd, "/proc/self/status", syscall.O_RDONLY); err != nil {
		t.Errorf("OpenInRoot(/, /proc/self/status): %v", err)
	} else {
		syscall.Close(fd)
	}
}

func TestMkdirAllInRoot(t *testing.T) {
	base, root, rootfd := hostileTree(t)
	rr := realRoot(t, root)
	rbase := realRoot(t, base)
	tests := []struct {
		path string
		want string
		err  error
	}{
		{"/", "/", nil},
		{"etc", "/etc", nil},
		{"new/deep/dir", "/new/deep/dir", nil},
		{"abs-etc/sub", "/etc/sub", nil},
		{"abs-outside/sub", filepath.Join(base, "outside/sub"), nil}, // created inside the root
		{"dangling", filepath.Join(base, "outside/newdir/deeper"), nil},
		{"dangling-rel", "/outside/made", nil},
		{"dotdot-out/x", "/outside/x", nil},
		{"a/b/up/y", "/outside/secret/y", nil},
		{"dotdot/../../z", "/z", nil},
		{"chain1/c", "/a/b/c", nil},
		{"a/b/via-abs", "/outside2x", nil},
		{"loop1/x", "", syscall.ELOOP},
		{"self", "", syscall.ELOOP},
		{"etc/passwd/x", "", syscall.ENOTDIR},
		{"file-link", "", syscall.ENOTDIR},
		{"magic/x", "/proc/self/root/x", nil}, // /proc/self/root made as plain dirs inside the root
	}
	for _, tt := range tests {
		fd, err := MkdirAllInRoot(rootfd, tt.path, 0o755)
		if tt.err != nil {
			if err == nil {
				got := pathOf(t, fd)
				syscall.Close(fd)
				t.Errorf("MkdirAllInRoot(%q) = %s, want error %v", tt.path, got, tt.err)
			} else if !errors.Is(err, tt.err) {
				t.Errorf("MkdirAllInRoot(%q): error %v, want %v", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("MkdirAllInRoot(%q): %v", tt.path, err)
			continue
		}
		got := pathOf(t, fd)
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFDIR {
			t.Errorf("MkdirAllInRoot(%q): not a directory", tt.path)
		}
		syscall.Close(fd)
		if want := filepath.Join(rr, tt.want); got != want {
			t.Errorf("MkdirAllInRoot(%q) = %s, want %s", tt.path, got, want)
		}
	}
	assertUntouched(t, rbase)
	// The symlinks themselves are still symlinks.
	for _, l := range []string{"abs-outside", "dangling", "dangling-rel", "dotdot-out"} {
		if st, err := os.Lstat(filepath.Join(root, l)); err != nil || st.Mode()&os.ModeSymlink == 0 {
			t.Errorf("%s is no longer a symlink", l)
		}
	}
}

func TestCreateFileInRoot(t *testing.T) {
	base, root, rootfd := hostileTree(t)
	rr := realRoot(t, root)
	rbase := realRoot(t, base)
	tests := []struct {
		path string
		want string
		err  error
	}{
		{"newfile", "/newfile", nil},
		{"d1/d2/newfile", "/d1/d2/newfile", nil},
		{"etc/passwd", "/etc/passwd", nil}, // existing file kept
		{"file-link", "/a/b/regular", nil},
		{"abs-outside/file", filepath.Join(base, "outside/file"), nil},
		{"dotdot-out/file", "/outside/file", nil},
		{"dangling", filepath.Join(base, "outside/newdir/deeper"), nil},
		{"etc", "", syscall.EISDIR},
		{"abs-etc", "", syscall.EISDIR},
		{"loop1", "", syscall.ELOOP},
		{"etc/passwd/x", "", syscall.ENOTDIR},
	}
	for _, tt := range tests {
		fd, err := CreateFileInRoot(rootfd, tt.path, 0o644)
		if tt.err != nil {
			if err == nil {
				got := pathOf(t, fd)
				syscall.Close(fd)
				t.Errorf("CreateFileInRoot(%q) = %s, want error %v", tt.path, got, tt.err)
			} else if !errors.Is(err, tt.err) {
				t.Errorf("CreateFileInRoot(%q): error %v, want %v", tt.path, err, tt.err)
			}
			continue
		}
		if err != nil {
			t.Errorf("CreateFileInRoot(%q): %v", tt.path, err)
			continue
		}
		got := pathOf(t, fd)
		var st syscall.Stat_t
		if err := syscall.Fstat(fd, &st); err != nil || st.Mode&syscall.S_IFMT != syscall.S_IFREG {
			t.Errorf("CreateFileInRoot(%q): not a regular file", tt.path)
		}
		if parent, err := os.Stat(filepath.Dir(got)); err != nil || parent.Mode().Perm()&0o700 != 0o700 {
			t.Errorf("CreateFileInRoot(%q): parent directory mode %v %v", tt.path, parent.Mode(), err)
		}
		syscall.Close(fd)
		if want := filepath.Join(rr, tt.want); got != want {
			t.Errorf("CreateFileInRoot(%q) = %s, want %s", tt.path, got, want)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(root, "etc/passwd")); string(b) != "container\n" {
		t.Errorf("existing file changed: %q", b)
	}
	assertUntouched(t, rbase)
}

// assertUntouched checks that base/outside still holds exactly what
// hostileTree put there.
func assertUntouched(t *testing.T, base string) {
	t.Helper()
	var got []string
	err := filepath.Walk(filepath.Join(base, "outside"), func(p string, info os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		got = append(got, strings.TrimPrefix(p, base))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	want := "/outside /outside/file /outside/secret"
	if strings.Join(got, " ") != want {
		t.Errorf("outside of the root changed: %v", got)
	}
	if b, _ := os.ReadFile(filepath.Join(base, "outside/file")); string(b) != "host\n" {
		t.Errorf("outside/file changed: %q", b)
	}
	// Nothing was created in the host's real /etc either.
	if _, err := os.Lstat("/etc/sub"); err == nil {
		t.Errorf("/etc/sub exists on the host")
	}
}

func TestInsideRoot(t *testing.T) {
	for _, tt := range []struct {
		prefix, p, rel string
		ok             bool
	}{
		{"/r", "/r", "/", true},
		{"/r", "/r/a", "/a", true},
		{"/r", "/rr/a", "", false},
		{"/r", "/", "", false},
		{"/", "/x", "/x", true},
		{"/r", "anon_inode:[x]", "", false},
	} {
		rel, ok := insideRoot(tt.prefix, tt.p)
		if rel != tt.rel || ok != tt.ok {
			t.Errorf("insideRoot(%q, %q) = %q, %v", tt.prefix, tt.p, rel, ok)
		}
	}
}
