package systemd

import (
	"bytes"
	"reflect"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64    { return &v }
func u64(v uint64) *uint64  { return &v }
func u16(v uint16) *uint16  { return &v }
func bits(b ...byte) []byte { return b }

// propMap flattens props for comparison.
func propMap(p props) map[string]any {
	m := map[string]any{}
	for _, q := range p {
		m[q.Name] = q.Value.Value()
	}
	return m
}

func needList(ns []need) string {
	var s []string
	for _, n := range ns {
		s = append(s, n.controller+"="+n.field)
	}
	return strings.Join(s, " ")
}

func TestResourceProperties(t *testing.T) {
	const inf = uint64(infinity)
	tests := []struct {
		name  string
		res   *specs.LinuxResources
		want  map[string]any
		needs string
		err   string
	}{
		{name: "nil", res: nil, want: map[string]any{}},
		{name: "empty", res: &specs.LinuxResources{}, want: map[string]any{}},
		{
			name:  "memory",
			res:   &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(64 << 20), Reservation: i64(32 << 20), Swap: i64(96 << 20)}},
			want:  map[string]any{"MemoryMax": uint64(64 << 20), "MemoryLow": uint64(32 << 20), "MemorySwapMax": uint64(32 << 20)},
			needs: "memory=linux.resources.memory.limit",
		},
		{
			name:  "memory unlimited makes swap unlimited",
			res:   &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-1)}},
			want:  map[string]any{"MemoryMax": inf, "MemorySwapMax": inf},
			needs: "memory=linux.resources.memory.limit",
		},
		{
			name: "memory zeros are unset",
			res:  &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(0), Reservation: i64(0), Swap: i64(0)}},
			want: map[string]any{},
		},
		{
			name:  "swap equal to limit: no swap",
			res:   &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1000), Swap: i64(1000)}},
			want:  map[string]any{"MemoryMax": uint64(1000), "MemorySwapMax": uint64(0)},
			needs: "memory=linux.resources.memory.limit",
		},
		{
			name: "swap below limit",
			res:  &specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1000), Swap: i64(500)}},
			err:  "linux.resources.memory.swap: 500 (memory+swap) is below",
		},
		{
			name: "swap without limit",
			res:  &specs.LinuxResources{Memory: &specs.LinuxMemory{Swap: i64(500)}},
			err:  "needs linux.resources.memory.limit",
		},
		{
			name:  "pids",
			res:   &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(50)}},
			want:  map[string]any{"TasksMax": uint64(50)},
			needs: "pids=linux.resources.pids.limit",
		},
		{
			name:  "pids unlimited",
			res:   &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}},
			want:  map[string]any{"TasksMax": inf},
			needs: "pids=linux.resources.pids.limit",
		},
		{
			name: "pids 0 is left to the fs driver",
			res:  &specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(0)}},
			want: map[string]any{},
		},
		{
			name:  "cpu shares",
			res:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(1024)}},
			want:  map[string]any{"CPUWeight": uint64(100)},
			needs: "cpu=linux.resources.cpu.shares",
		},
		{
			name:  "cpu quota and period",
			res:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(50000), Period: u64(100000)}},
			want:  map[string]any{"CPUQuotaPeriodUSec": uint64(100000), "CPUQuotaPerSecUSec": uint64(500000)},
			needs: "cpu=linux.resources.cpu.period",
		},
		{
			name:  "cpu quota, default period, rounded up to 10ms",
			res:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(12345)}},
			want:  map[string]any{"CPUQuotaPerSecUSec": uint64(130000)},
			needs: "cpu=linux.resources.cpu.quota",
		},
		{
			name:  "cpu quota unlimited",
			res:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(-1)}},
			want:  map[string]any{"CPUQuotaPerSecUSec": inf},
			needs: "cpu=linux.resources.cpu.quota",
		},
		{
			name:  "cpuset",
			res:   &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-2,9", Mems: "0"}},
			want:  map[string]any{"AllowedCPUs": bits(0x07, 0x02), "AllowedMemoryNodes": bits(0x01)},
			needs: "cpuset=linux.resources.cpu.cpus",
		},
		{
			name: "bad cpuset",
			res:  &specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0-x"}},
			err:  "linux.resources.cpu.cpus:",
		},
		{
			name:  "io weight",
			res:   &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(500)}},
			want:  map[string]any{"IOWeight": uint64(1 + 490*9999/990)},
			needs: "io=linux.resources.blockIO.weight",
		},
		{
			name: "io weight out of range",
			res:  &specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(5)}},
			err:  "linux.resources.blockIO.weight: 5 is out of the blkio weight range",
		},
		{
			name: "no property: hugetlb, rdma, throttling, burst, idle",
			res: &specs.LinuxResources{
				HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 1 << 21}},
				Rdma:           map[string]specs.LinuxRdma{"mlx": {}},
				BlockIO:        &specs.LinuxBlockIO{ThrottleReadBpsDevice: []specs.LinuxThrottleDevice{{Rate: 1}}},
				CPU:            &specs.LinuxCPU{Burst: u64(1000), Idle: i64(1)},
				Unified:        map[string]string{"io.max": "8:0 rbps=1", "memory.oom.group": "1"},
			},
			want: map[string]any{},
		},
		{
			name: "unified keys win over converted fields",
			res: &specs.LinuxResources{
				Memory: &specs.LinuxMemory{Limit: i64(1000)},
				Pids:   &specs.LinuxPids{Limit: i64(10)},
				Unified: map[string]string{
					"memory.max": "max", "memory.high": "5000", "memory.min": "10",
					"pids.max": "20", "cpu.weight": "300", "cpu.max": "25000 50000", "cpuset.cpus": "1",
				},
			},
			want: map[string]any{
				"MemoryMax": inf, "MemoryHigh": uint64(5000), "MemoryMin": uint64(10), "TasksMax": uint64(20),
				"CPUWeight": uint64(300), "CPUQuotaPeriodUSec": uint64(50000), "CPUQuotaPerSecUSec": uint64(500000),
				"AllowedCPUs": bits(0x02),
			},
			needs: "memory=linux.resources.memory.limit pids=linux.resources.pids.limit cpu=linux.resources.unified[\"cpu.max\"] cpuset=linux.resources.unified[\"cpuset.cpus\"]",
		},
		{
			name: "bad unified value",
			res:  &specs.LinuxResources{Unified: map[string]string{"memory.high": "lots"}},
			err:  `linux.resources.unified["memory.high"]: "lots" is neither "max" nor a number`,
		},
		{
			name: "bad unified cpu.max",
			res:  &specs.LinuxResources{Unified: map[string]string{"cpu.max": "1 2 3"}},
			err:  `linux.resources.unified["cpu.max"]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, ns, err := resourceProperties(tt.res)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := propMap(p); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("properties\n got %v\nwant %v", got, tt.want)
			}
			if got := needList(ns); got != tt.needs {
				t.Errorf("needs %q, want %q", got, tt.needs)
			}
		})
	}
}

// The values are the cgroupv2 package's (its TestSharesToWeight): the two
// drivers must convert alike.
func TestSharesToWeightMatchesCgroupv2(t *testing.T) {
	for _, tt := range []struct{ shares, weight uint64 }{
		{0, 0}, {1, 1}, {2, 1}, {3, 2}, {512, 59}, {1024, 100}, {2048, 174},
		{10000, 627}, {262143, 10000}, {262144, 10000}, {1 << 30, 10000},
	} {
		if got := sharesToWeight(tt.shares); got != tt.weight {
			t.Errorf("sharesToWeight(%d) = %d, want %d", tt.shares, got, tt.weight)
		}
	}
}

func TestRangeToBits(t *testing.T) {
	tests := []struct {
		in   string
		want []byte
		err  string
	}{
		{"0", []byte{0x01}, ""},
		{"7", []byte{0x80}, ""},
		{"8", []byte{0x00, 0x01}, ""},
		{"0-3", []byte{0x0f}, ""},
		{"0-3,8-9", []byte{0x0f, 0x03}, ""},
		{" 1 , 3 ", []byte{0x0a}, ""},
		{"2,2", []byte{0x04}, ""},
		{"", nil, "empty list"},
		{"a", nil, "bad number"},
		{"3-1", nil, "goes backwards"},
		{"1-", nil, "bad number"},
		{"100000", nil, "too large"},
	}
	for _, tt := range tests {
		got, err := rangeToBits(tt.in)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("rangeToBits(%q) = %x, %v; want error %q", tt.in, got, err, tt.err)
			}
			continue
		}
		if err != nil || !bytes.Equal(got, tt.want) {
			t.Errorf("rangeToBits(%q) = %x, %v; want %x", tt.in, got, err, tt.want)
		}
	}
}

func TestQuotaPerSec(t *testing.T) {
	for _, tt := range []struct {
		quota  int64
		period uint64
		want   uint64
	}{
		{-1, 0, infinity},
		{100000, 100000, 1000000},
		{50000, 0, 500000},
		{1, 100000, 10000},
		{10001, 1000000, 20000},
		{200000, 100000, 2000000},
	} {
		if got := quotaPerSec(tt.quota, tt.period); got != tt.want {
			t.Errorf("quotaPerSec(%d, %d) = %d, want %d", tt.quota, tt.period, got, tt.want)
		}
	}
}

func TestAnnotationProperties(t *testing.T) {
	tests := []struct {
		name  string
		value string
		key   string // property name after conversion
		want  any
		err   string
	}{
		{name: "TimeoutStopUSec", value: "uint64 5000000", key: "TimeoutStopUSec", want: uint64(5000000)},
		{name: "TimeoutStopUSec", value: "@t 5000000", key: "TimeoutStopUSec", want: uint64(5000000)},
		{name: "TimeoutStopUSec", value: "5000000", key: "TimeoutStopUSec", want: uint64(5000000)},
		{name: "TimeoutStopSec", value: "5", key: "TimeoutStopUSec", want: uint64(5000000)},
		{name: "TimeoutStopSec", value: "uint32 7", key: "TimeoutStopUSec", want: uint64(7000000)},
		{name: "TimeoutStopSec", value: "1.5", key: "TimeoutStopUSec", want: uint64(1500000)},
		{name: "RuntimeMaxSec", value: "3600", key: "RuntimeMaxUSec", want: uint64(3600000000)},
		{name: "MemoryHigh", value: "1048576", key: "MemoryHigh", want: uint64(1048576)},
		{name: "TasksMax", value: "uint64 100", key: "TasksMax", want: uint64(100)},
		{name: "SendSIGHUP", value: "true", key: "SendSIGHUP", want: true},
		{name: "DefaultDependencies", value: "false", key: "DefaultDependencies", want: false},
		{name: "CollectMode", value: "'inactive-or-failed'", key: "CollectMode", want: "inactive-or-failed"},
		{name: "Description", value: `"my container"`, key: "Description", want: "my container"},
		{name: "Wants", value: "['a.service', 'b.service']", key: "Wants", want: []string{"a.service", "b.service"}},
		{name: "Nice", value: "int32 -5", key: "Nice", want: int32(-5)},
		{name: "TimeoutStopSec", value: "-1", err: "is not a number of seconds"},
		{name: "TimeoutStopSec", value: "'soon'", err: "is not a number of seconds"},
		{name: "TimeoutStopUSec", value: "'soon'", err: "takes an unsigned integer"},
		{name: "MemoryMax", value: "-1", err: "takes an unsigned integer"},
		{name: "CollectMode", value: "inactive-or-failed", err: "not a GVariant text value"},
		{name: "Description", value: "'unterminated", err: "not a GVariant text value"},
		{name: "PIDs", value: "[uint32 1]", err: "PIDs cannot be set by an annotation"},
		{name: "Slice", value: "'x.slice'", err: "Slice cannot be set by an annotation"},
		{name: "Delegate", value: "false", err: "Delegate cannot be set by an annotation"},
		{name: "lowercase", value: "true", err: "is not a systemd property name"},
		{name: "Bad-Name", value: "true", err: "is not a systemd property name"},
		{name: "", value: "true", err: "is not a systemd property name"},
	}
	for _, tt := range tests {
		t.Run(tt.name+"="+tt.value, func(t *testing.T) {
			ann := map[string]string{
				AnnotationPrefix + tt.name:       tt.value,
				"org.opencontainers.image.title": "ignored",
			}
			p, err := annotationProperties(ann)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				if !strings.Contains(err.Error(), "annotation "+AnnotationPrefix+tt.name+"=") {
					t.Errorf("error %q does not name the annotation", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if len(p) != 1 || p[0].Name != tt.key || !reflect.DeepEqual(p[0].Value.Value(), tt.want) {
				t.Fatalf("got %v, want %s=%#v", p, tt.key, tt.want)
			}
		})
	}
}

func TestPropsReplace(t *testing.T) {
	var p props
	p.set("A", uint64(1))
	p.set("B", true)
	p.setVariant("A", dbus.MakeVariant(uint64(2)))
	if len(p) != 2 || p[0].Name != "A" || p[0].Value.Value() != uint64(2) {
		t.Fatalf("props = %v", p)
	}
	if v, ok := p.get("B"); !ok || v.Value() != true {
		t.Fatalf("get(B) = %v, %v", v, ok)
	}
}
