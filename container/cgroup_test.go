package container

import (
	"fmt"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func TestWithConfigDevices(t *testing.T) {
	deny := specs.LinuxDeviceCgroup{Allow: false, Access: "rwm"}
	tests := []struct {
		name    string
		devices []specs.LinuxDevice
		want    []string // type major:minor of the added allow rules
	}{
		{name: "none", devices: nil, want: nil},
		{name: "char and block", devices: []specs.LinuxDevice{
			{Path: "/dev/a", Type: "c", Major: 10, Minor: 666},
			{Path: "/dev/b", Type: "b", Major: 8, Minor: 666},
		}, want: []string{"c 10:666", "b 8:666"}},
		{name: "unbuffered char is a char device", devices: []specs.LinuxDevice{
			{Path: "/dev/u", Type: "u", Major: 4, Minor: 1},
		}, want: []string{"c 4:1"}},
		{name: "fifo needs no rule", devices: []specs.LinuxDevice{
			{Path: "/dev/a", Type: "c", Major: 10, Minor: 666},
			{Path: "/dev/fifo", Type: "p", Major: 8, Minor: 666},
		}, want: []string{"c 10:666"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sp := &specs.Spec{Linux: &specs.Linux{Devices: tt.devices}}
			got := withConfigDevices([]specs.LinuxDeviceCgroup{deny}, sp)
			if len(got) != 1+len(tt.want) || got[0].Allow || got[0].Type != "" {
				t.Fatalf("got %+v: the config's rule must come first, then %v", got, tt.want)
			}
			for i, w := range tt.want {
				r := got[1+i]
				s := fmt.Sprintf("%s %d:%d", r.Type, *r.Major, *r.Minor)
				if s != w || !r.Allow || r.Access != "rwm" {
					t.Errorf("rule %d = %s allow=%v access=%q, want allowed %s rwm", i, s, r.Allow, r.Access, w)
				}
			}
		})
	}
}
