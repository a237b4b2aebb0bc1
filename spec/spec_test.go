package spec

import (
	"encoding/json"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func writeConfig(t *testing.T, content string) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, ConfigName), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestLoad(t *testing.T) {
	tests := []struct {
		name string
		json string
		want []string // substrings of the error; nil means success
	}{
		{
			name: "minimal",
			json: `{"ociVersion":"1.0.2","root":{"path":"rootfs"},"process":{"user":{"uid":1,"gid":2},"args":["sh"],"cwd":"/"}}`,
		},
		{
			name: "unknown fields are ignored",
			json: `{"ociVersion":"1.3.0","futureField":{"x":[1,2]},"process":{"newThing":true,"cwd":"/"}}`,
		},
		{
			name: "null document",
			json: `null`,
		},
		{
			name: "wrong type names the field path",
			json: "{\n  \"process\": {\n    \"user\": {\"uid\": \"0\"}\n  }\n}",
			want: []string{"config.json:3:21: process.user.uid: cannot unmarshal string into a number"},
		},
		{
			name: "number out of range",
			json: `{"process":{"user":{"uid":-1}}}`,
			want: []string{"config.json:1:27: process.user.uid: number -1 is out of range for uint32"},
		},
		{
			name: "array index in the path",
			json: `{"linux":{"namespaces":[{"type":"pid"},{"type":"uts"},{"type":3}]}}`,
			want: []string{"linux.namespaces[2].type: cannot unmarshal number into a string"},
		},
		{
			name: "array element of wrong type",
			json: `{"process":{"args":["sh",1]}}`,
			want: []string{"process.args[1]: cannot unmarshal number into a string"},
		},
		{
			name: "object where an array belongs",
			json: `{"mounts":{"destination":"/x"}}`,
			want: []string{":1:11: mounts: cannot unmarshal object into an array"},
		},
		{
			name: "map key with dots is quoted",
			json: `{"linux":{"sysctl":{"net.ipv4.ip_forward":1}}}`,
			want: []string{`linux.sysctl["net.ipv4.ip_forward"]: cannot unmarshal number into a string`},
		},
		{
			name: "nested map value",
			json: `{"linux":{"timeOffsets":{"boottime":{"secs":"1"}}}}`,
			want: []string{"linux.timeOffsets.boottime.secs: cannot unmarshal string into a number"},
		},
		{
			name: "boolean field",
			json: `{"process":{"terminal":"yes"}}`,
			want: []string{"process.terminal: cannot unmarshal string into a boolean"},
		},
		{
			name: "top level not an object",
			json: `[1]`,
			want: []string{"config.json:1:1: (top level): cannot unmarshal array into an object"},
		},
		{
			name: "after nested objects and arrays",
			json: `{"mounts":[{"destination":"/a","options":["ro"]},{"destination":"/b"}],"hooks":{"poststop":[{"path":"/x","args":[]},{"path":"/y","timeout":"5"}]}}`,
			want: []string{"hooks.poststop[1].timeout: cannot unmarshal string into a number"},
		},
		{
			name: "syntax error gives line and column",
			json: "{\n  \"ociVersion\": \"1.0.0\",\n}",
			want: []string{"config.json:3:1: invalid character '}'"},
		},
		{
			name: "empty file",
			json: "",
			want: []string{"config.json:1:1: unexpected end of JSON input"},
		},
		{
			name: "truncated",
			json: "{\"ociVersion\": \"1.0",
			want: []string{"config.json:1:", "unexpected end of JSON input"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			dir := writeConfig(t, tc.json)
			s, err := Load(dir)
			if tc.want == nil {
				if err != nil {
					t.Fatalf("Load: %v", err)
				}
				if s == nil {
					t.Fatal("Load returned nil spec")
				}
				return
			}
			if err == nil {
				t.Fatalf("Load succeeded, want error containing %q", tc.want)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error is not one line: %q", msg)
			}
			if !strings.HasPrefix(msg, filepath.Join(dir, ConfigName)) {
				t.Errorf("error %q does not start with the file name", msg)
			}
			for _, w := range tc.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q does not contain %q", msg, w)
				}
			}
		})
	}
}

func TestLoadDecodesFields(t *testing.T) {
	dir := writeConfig(t, `{"ociVersion":"1.2.0","process":{"user":{"uid":1000,"gid":100},"args":["a","b"],"cwd":"/w"},"linux":{"namespaces":[{"type":"mount"}]}}`)
	s, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if s.Version != "1.2.0" || s.Process.User.UID != 1000 || s.Process.User.GID != 100 ||
		len(s.Process.Args) != 2 || s.Process.Cwd != "/w" || s.Linux.Namespaces[0].Type != "mount" {
		t.Errorf("unexpected decode: %+v", s)
	}
}

func TestLoadMissing(t *testing.T) {
	dir := t.TempDir()
	_, err := Load(dir)
	if err == nil {
		t.Fatal("Load of an empty bundle succeeded")
	}
	want := "open config.json in bundle " + dir + ": "
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q does not start with %q", err, want)
	}
	if !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("error %q is not fs.ErrNotExist", err)
	}
}

func TestLoadConfigIsDirectory(t *testing.T) {
	dir := t.TempDir()
	if err := os.Mkdir(filepath.Join(dir, ConfigName), 0o755); err != nil {
		t.Fatal(err)
	}
	_, err := Load(dir)
	if err == nil || !strings.Contains(err.Error(), "config.json") {
		t.Fatalf("got %v, want an error naming config.json", err)
	}
}

func TestPosition(t *testing.T) {
	data := []byte("ab\ncd\n\nef")
	tests := []struct {
		off       int64
		line, col int
	}{
		{-5, 1, 1}, {0, 1, 1}, {1, 1, 2}, {2, 1, 3}, {3, 2, 1}, {4, 2, 2},
		{6, 3, 1}, {7, 4, 1}, {8, 4, 2}, {100, 4, 3},
	}
	for _, tc := range tests {
		line, col := position(data, tc.off)
		if line != tc.line || col != tc.col {
			t.Errorf("position(%d) = %d:%d, want %d:%d", tc.off, line, col, tc.line, tc.col)
		}
	}
}

func BenchmarkLoad(b *testing.B) {
	dir := b.TempDir()
	data, err := json.Marshal(Example())
	if err != nil {
		b.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, ConfigName), data, 0o644); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		if _, err := Load(dir); err != nil {
			b.Fatal(err)
		}
	}
}
