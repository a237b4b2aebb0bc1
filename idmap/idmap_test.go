package idmap

import (
	"reflect"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

const sample = `# comment
alice:100000:65536
1001:200000:1000
bob:300000:65536

alice:500000:10
carol:0:0
`

func TestParse(t *testing.T) {
	tests := []struct {
		name string
		user string
		id   uint32
		want []Range
	}{
		{"by name, several ranges sorted", "alice", 1000, []Range{{100000, 65536}, {500000, 10}}},
		{"by numeric id", "dave", 1001, []Range{{200000, 1000}}},
		{"none", "erin", 1005, nil},
		{"zero-size ignored", "carol", 1010, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parse(strings.NewReader(sample), "/etc/subuid", tt.user, tt.id)
			if err != nil {
				t.Fatal(err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, bad := range []string{"alice:100000\n", "alice:x:5\n", "alice:4294967295:2\n"} {
		_, err := parse(strings.NewReader(bad), "/etc/subuid", "alice", 1000)
		if err == nil || !strings.Contains(err.Error(), "/etc/subuid:1") {
			t.Errorf("%q: err %v, want one naming /etc/subuid:1", bad, err)
		}
	}
}

func TestRootlessMappings(t *testing.T) {
	got := RootlessMappings(1000, []Range{{100000, 65536}, {500000, 10}})
	want := []specs.LinuxIDMapping{
		{ContainerID: 0, HostID: 1000, Size: 1},
		{ContainerID: 1, HostID: 100000, Size: 65536},
		{ContainerID: 65537, HostID: 500000, Size: 10},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
}

func TestCovered(t *testing.T) {
	sub := []Range{{100000, 65536}, {165536, 100}}
	tests := []struct {
		name string
		m    []specs.LinuxIDMapping
		ok   bool
	}{
		{"own id", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, true},
		{"inside a range", []specs.LinuxIDMapping{{ContainerID: 1, HostID: 100010, Size: 100}}, true},
		{"across adjacent ranges", []specs.LinuxIDMapping{{ContainerID: 1, HostID: 165000, Size: 600}}, true},
		{"past the end", []specs.LinuxIDMapping{{ContainerID: 1, HostID: 165600, Size: 100}}, false},
		{"someone else's id", []specs.LinuxIDMapping{{ContainerID: 0, HostID: 0, Size: 1}}, false},
	}
	for _, tt := range tests {
		if _, ok := Covered(tt.m, 1000, sub); ok != tt.ok {
			t.Errorf("%s: covered %v, want %v", tt.name, ok, tt.ok)
		}
	}
}

func TestIsSelfOnly(t *testing.T) {
	if !IsSelfOnly([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 1}}, 1000) {
		t.Error("own single mapping not recognised")
	}
	if IsSelfOnly([]specs.LinuxIDMapping{{ContainerID: 0, HostID: 1000, Size: 2}}, 1000) {
		t.Error("two ids taken as self-only")
	}
}
