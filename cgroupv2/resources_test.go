package cgroupv2

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	specs "github.com/opencontainers/runtime-spec/specs-go"
)

func i64(v int64) *int64    { return &v }
func u64(v uint64) *uint64  { return &v }
func u32(v uint32) *uint32  { return &v }
func u16(v uint16) *uint16  { return &v }
func boolp(v bool) *bool    { return &v }
func deref(p *int64) string { return map[bool]string{true: "nil", false: "set"}[p == nil] }

func TestSharesToWeight(t *testing.T) {
	tests := []struct{ shares, weight uint64 }{
		{0, 0},          // unset
		{1, 1},          // below the v1 minimum: clamped
		{2, 1},          // minimum
		{3, 2},          // just above the minimum
		{512, 59},       //
		{1024, 100},     // the two defaults meet
		{2048, 174},     //
		{10000, 627},    //
		{262143, 10000}, // just below the maximum
		{262144, 10000}, // maximum
		{1 << 30, 10000},
	}
	for _, tt := range tests {
		if got := sharesToWeight(tt.shares); got != tt.weight {
			t.Errorf("sharesToWeight(%d) = %d, want %d", tt.shares, got, tt.weight)
		}
	}
	// Monotonic over the whole range.
	prev := uint64(0)
	for s := uint64(2); s <= 262144; s++ {
		w := sharesToWeight(s)
		if w < prev || w < 1 || w > 10000 {
			t.Fatalf("sharesToWeight(%d) = %d after %d", s, w, prev)
		}
		prev = w
	}
}

func TestIOWeight(t *testing.T) {
	tests := []struct {
		blkio uint16
		io    uint64
		err   bool
	}{
		{10, 1, false},
		{100, 910, false},
		{500, 4950, false},
		{1000, 10000, false},
		{9, 0, true},
		{1001, 0, true},
	}
	for _, tt := range tests {
		got, err := ioWeight(tt.blkio)
		if (err != nil) != tt.err || got != tt.io {
			t.Errorf("ioWeight(%d) = %d, %v; want %d (error %v)", tt.blkio, got, err, tt.io, tt.err)
		}
	}
}

func TestSwapMax(t *testing.T) {
	tests := []struct {
		name        string
		swap, limit *int64
		want        string
		err         string
	}{
		{"nothing", nil, nil, "", ""},
		{"limit only", nil, i64(1000), "", ""},
		{"swap 0 is unset", i64(0), i64(1000), "", ""},
		{"unlimited memory makes swap unlimited", nil, i64(-1), "max", ""},
		{"unlimited both", i64(-1), i64(-1), "max", ""},
		{"unlimited swap with a limit", i64(-1), i64(1000), "max", ""},
		{"unlimited swap alone", i64(-1), nil, "max", ""},
		{"memory+swap minus memory", i64(500), i64(200), "300", ""},
		{"equal: no swap", i64(1000), i64(1000), "0", ""},
		{"unlimited memory: swap as is", i64(300), i64(-1), "300", ""},
		{"swap without limit", i64(300), nil, "", "needs linux.resources.memory.limit"},
		{"swap with limit 0", i64(300), i64(0), "", "needs linux.resources.memory.limit"},
		{"swap below limit", i64(300), i64(400), "", "is below linux.resources.memory.limit 400"},
	}
	for _, tt := range tests {
		got, err := swapMax(tt.swap, tt.limit)
		if tt.err != "" {
			if err == nil || !strings.Contains(err.Error(), tt.err) {
				t.Errorf("%s: swapMax = %q, %v; want error %q", tt.name, got, err, tt.err)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("%s: swapMax = %q, %v; want %q", tt.name, got, err, tt.want)
		}
	}
}

func TestLimitValue(t *testing.T) {
	for _, tt := range []struct {
		v    *int64
		want string
	}{{nil, ""}, {i64(0), ""}, {i64(-1), "max"}, {i64(4096), "4096"}} {
		if got := limitValue(tt.v); got != tt.want {
			t.Errorf("limitValue(%s) = %q, want %q", deref(tt.v), got, tt.want)
		}
	}
}

func TestCPUMax(t *testing.T) {
	tests := []struct {
		name    string
		quota   *int64
		period  *uint64
		current string
		want    string
	}{
		{"nothing", nil, nil, "max 100000\n", ""},
		{"zeros are unset", i64(0), u64(0), "max 100000\n", ""},
		{"quota and period", i64(50000), u64(200000), "", "50000 200000"},
		{"quota only keeps the period", i64(50000), nil, "", "50000"},
		{"unlimited quota", i64(-1), nil, "", "max"},
		{"unlimited quota with period", i64(-1), u64(100000), "", "max 100000"},
		{"any negative quota is unlimited", i64(-5), u64(100000), "", "max 100000"},
		{"period only keeps the quota", nil, u64(50000), "20000 100000\n", "20000 50000"},
		{"period only, quota 0", i64(0), u64(50000), "max 100000\n", "max 50000"},
		{"period only, unreadable current", nil, u64(50000), "", "max 50000"},
	}
	for _, tt := range tests {
		if got := cpuMax(tt.quota, tt.period, tt.current); got != tt.want {
			t.Errorf("%s: cpuMax = %q, want %q", tt.name, got, tt.want)
		}
	}
}

func TestIOMaxLines(t *testing.T) {
	td := func(maj, min int64, rate uint64) specs.LinuxThrottleDevice {
		var d specs.LinuxThrottleDevice
		d.Major, d.Minor, d.Rate = maj, min, rate
		return d
	}
	b := &specs.LinuxBlockIO{
		ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{td(8, 0, 1048576), td(8, 16, 0)},
		ThrottleWriteBpsDevice:  []specs.LinuxThrottleDevice{td(8, 0, 2097152)},
		ThrottleReadIOPSDevice:  []specs.LinuxThrottleDevice{td(259, 0, 100), td(259, 0, 200)},
		ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{td(8, 0, 300)},
	}
	got := strings.Join(ioMaxLines(b), "|")
	want := "8:0 rbps=1048576 wbps=2097152 wiops=300|8:16 rbps=max|259:0 riops=200"
	if got != want {
		t.Fatalf("ioMaxLines:\n got %s\nwant %s", got, want)
	}
	if l := ioMaxLines(&specs.LinuxBlockIO{}); len(l) != 0 {
		t.Fatalf("no throttles gave %q", l)
	}
}

func TestHugetlbNames(t *testing.T) {
	if f := hugetlbFile("2MB"); f != "hugetlb.2MB.max" {
		t.Fatalf("hugetlbFile = %q", f)
	}
	for s, ok := range map[string]bool{
		"2MB": true, "1GB": true, "64KB": true, "512MB": true, "16GB": true,
		"": false, "MB": false, "2mb": false, "2M": false, "02MB": false, "2TB": false,
		"2MB/../x": false, "../2MB": false, "2 MB": false, "B": false,
	} {
		if validPageSize(s) != ok {
			t.Errorf("validPageSize(%q) = %v", s, !ok)
		}
	}
}

func TestRdmaLine(t *testing.T) {
	tests := []struct {
		r    specs.LinuxRdma
		want string
	}{
		{specs.LinuxRdma{HcaHandles: u32(3), HcaObjects: u32(10000)}, "mlx5_1 hca_handle=3 hca_object=10000"},
		{specs.LinuxRdma{HcaObjects: u32(1000)}, "mlx5_1 hca_object=1000"},
		{specs.LinuxRdma{HcaHandles: u32(0)}, "mlx5_1 hca_handle=0"},
		{specs.LinuxRdma{}, ""},
	}
	for _, tt := range tests {
		if got := rdmaLine("mlx5_1", tt.r); got != tt.want {
			t.Errorf("rdmaLine = %q, want %q", got, tt.want)
		}
	}
}

func TestUnifiedKeys(t *testing.T) {
	for k, ok := range map[string]bool{
		"memory.high": true, "io.max": true, "cgroup.type": true, "hugetlb.1GB.max": true, "misc.max": true,
		"": false, ".": false, "..": false, "memory": false, ".hidden": false,
		"../memory.max": false, "a/memory.max": false, "memory..max": false, "x.y\x00": false,
	} {
		if err := checkUnifiedKey(k); (err == nil) != ok {
			t.Errorf("checkUnifiedKey(%q) = %v", k, err)
		}
	}
	for k, c := range map[string]string{"memory.high": "memory", "cgroup.type": "", "hugetlb.2MB.max": "hugetlb", "misc.max": "misc"} {
		if got := unifiedController(k); got != c {
			t.Errorf("unifiedController(%q) = %q, want %q", k, got, c)
		}
	}
}

func TestCheckResources(t *testing.T) {
	tests := []struct {
		name string
		res  specs.LinuxResources
		err  string
	}{
		{"empty", specs.LinuxResources{}, ""},
		{"realtime runtime", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(950000)}}, "linux.resources.cpu.realtimeRuntime: "},
		{"realtime period", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimePeriod: u64(1000000)}}, "linux.resources.cpu.realtimePeriod: "},
		{"realtime zero is unset", specs.LinuxResources{CPU: &specs.LinuxCPU{RealtimeRuntime: i64(0), RealtimePeriod: u64(0)}}, ""},
		{"idle 2", specs.LinuxResources{CPU: &specs.LinuxCPU{Idle: i64(2)}}, "linux.resources.cpu.idle: "},
		{"swappiness", specs.LinuxResources{Memory: &specs.LinuxMemory{Swappiness: u64(0)}}, "linux.resources.memory.swappiness: "},
		{"kernelTCP", specs.LinuxResources{Memory: &specs.LinuxMemory{KernelTCP: i64(1 << 20)}}, "linux.resources.memory.kernelTCP: "},
		{"kernel is ignored", specs.LinuxResources{Memory: &specs.LinuxMemory{Kernel: i64(1 << 20)}}, ""},
		{"disable OOM killer", specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolp(true)}}, "linux.resources.memory.disableOOMKiller: "},
		{"OOM killer on", specs.LinuxResources{Memory: &specs.LinuxMemory{DisableOOMKiller: boolp(false)}}, ""},
		{"no hierarchy", specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: boolp(false)}}, "linux.resources.memory.useHierarchy: "},
		{"hierarchy", specs.LinuxResources{Memory: &specs.LinuxMemory{UseHierarchy: boolp(true)}}, ""},
		{"negative limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(-2)}}, "linux.resources.memory.limit: -2"},
		{"swap below limit", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(2000), Swap: i64(1000)}}, "linux.resources.memory.swap: "},
		{"network", specs.LinuxResources{Network: &specs.LinuxNetwork{ClassID: u32(1)}}, "linux.resources.network: "},
		{"empty network", specs.LinuxResources{Network: &specs.LinuxNetwork{}}, ""},
		{"blkio weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(5)}}, "linux.resources.blockIO.weight: 5 is out of"},
		{"leaf weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{LeafWeight: u16(100)}}, "linux.resources.blockIO.leafWeight: "},
		{"device leaf weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{LeafWeight: u16(100)}}}}, "linux.resources.blockIO.weightDevice[0].leafWeight: "},
		{"device weight", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{{Weight: u16(2000)}}}}, "linux.resources.blockIO.weightDevice[0].weight: "},
		{"bad page size", specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}, {Pagesize: "../x"}}}, "linux.resources.hugepageLimits[1].pageSize: "},
		{"bad rdma device", specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"a b": {}}}, "linux.resources.rdma: "},
		{"unified slash", specs.LinuxResources{Unified: map[string]string{"../memory.max": "1"}}, `linux.resources.unified["../memory.max"]: `},
		{"unified dotdot", specs.LinuxResources{Unified: map[string]string{"memory..max": "1"}}, `linux.resources.unified["memory..max"]: `},
	}
	for _, tt := range tests {
		err := checkResources(&tt.res)
		if tt.err == "" {
			if err != nil {
				t.Errorf("%s: %v", tt.name, err)
			}
			continue
		}
		if err == nil || !strings.HasPrefix(err.Error(), tt.err) {
			t.Errorf("%s: err = %v, want prefix %q", tt.name, err, tt.err)
		}
	}
}

// fakeTree makes a directory tree that looks like a cgroup hierarchy to
// this package: files with the given contents (dirs made as needed).
func fakeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	root := t.TempDir()
	for name, content := range files {
		p := filepath.Join(root, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return root
}

func readFake(t *testing.T, root, name string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(data)
}

const allControllers = "cpuset cpu io memory hugetlb pids rdma misc"

// fullLeaf is a container cgroup with every controller's files.
func fullLeaf(dir string) map[string]string {
	files := map[string]string{}
	for _, f := range []string{
		"pids.max", "memory.max", "memory.low", "memory.high", "memory.swap.max",
		"cpu.weight", "cpu.max.burst", "cpu.idle", "cpuset.cpus", "cpuset.mems",
		"io.max", "hugetlb.2MB.max", "hugetlb.2MB.rsvd.max", "hugetlb.1GB.max", "rdma.max", "misc.max",
	} {
		files[dir+"/"+f] = ""
	}
	files[dir+"/cpu.max"] = "max 100000\n"
	files[dir+"/io.weight"] = "default 100\n"
	files[dir+"/cgroup.controllers"] = allControllers + "\n"
	files[dir+"/cgroup.subtree_control"] = ""
	return files
}

func TestSetWritesEveryResource(t *testing.T) {
	files := fullLeaf("hako/c1")
	files["cgroup.controllers"] = allControllers + "\n"
	files["cgroup.subtree_control"] = allControllers + "\n"
	files["hako/cgroup.controllers"] = allControllers + "\n"
	files["hako/cgroup.subtree_control"] = allControllers + "\n"
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/hako/c1"}

	td := func(maj, min int64, rate uint64) specs.LinuxThrottleDevice {
		var d specs.LinuxThrottleDevice
		d.Major, d.Minor, d.Rate = maj, min, rate
		return d
	}
	wd := specs.LinuxWeightDevice{Weight: u16(500)}
	wd.Major, wd.Minor = 8, 0
	res := &specs.LinuxResources{
		Pids:   &specs.LinuxPids{Limit: i64(0)},
		Memory: &specs.LinuxMemory{Limit: i64(256 << 20), Reservation: i64(128 << 20), Swap: i64(512 << 20), Kernel: i64(1 << 20)},
		CPU: &specs.LinuxCPU{
			Shares: u64(1024), Quota: i64(50000), Period: u64(200000), Burst: u64(10000), Idle: i64(0),
			Cpus: "0-1", Mems: "0",
		},
		BlockIO: &specs.LinuxBlockIO{
			Weight:                  u16(100),
			WeightDevice:            []specs.LinuxWeightDevice{wd},
			ThrottleReadBpsDevice:   []specs.LinuxThrottleDevice{td(8, 0, 1048576)},
			ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{td(8, 0, 100), td(8, 16, 0)},
		},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB", Limit: 4 << 20}, {Pagesize: "1GB", Limit: 1 << 30}},
		Rdma:           map[string]specs.LinuxRdma{"mlx5_1": {HcaHandles: u32(3), HcaObjects: u32(10000)}, "mlx4_0": {HcaObjects: u32(1000)}},
		Unified:        map[string]string{"memory.high": "200000000", "misc.max": "res_a 1"},
	}
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{
		"pids.max":             "0",
		"memory.max":           "268435456",
		"memory.low":           "134217728",
		"memory.swap.max":      "268435456",
		"memory.high":          "200000000",
		"cpu.weight":           "100",
		"cpu.max":              "50000 200000",
		"cpu.max.burst":        "10000",
		"cpu.idle":             "0",
		"cpuset.cpus":          "0-1",
		"cpuset.mems":          "0",
		"io.weight":            "8:0 4950\n",
		"io.max":               "8:0 rbps=1048576 wiops=100\n8:16 wiops=max\n",
		"hugetlb.2MB.max":      "4194304",
		"hugetlb.2MB.rsvd.max": "4194304",
		"hugetlb.1GB.max":      "1073741824",
		"rdma.max":             "mlx4_0 hca_object=1000\nmlx5_1 hca_handle=3 hca_object=10000\n",
		"misc.max":             "res_a 1",
	}
	for f, w := range want {
		if got := readFake(t, root, "hako/c1/"+f); got != w {
			t.Errorf("%s = %q, want %q", f, got, w)
		}
	}
	// Nothing was enabled: everything already was.
	if got := readFake(t, root, "cgroup.subtree_control"); got != allControllers+"\n" {
		t.Errorf("root subtree_control rewritten: %q", got)
	}
	// Set is idempotent.
	if err := m.Set(res); err != nil {
		t.Fatal(err)
	}
	if got := readFake(t, root, "hako/c1/io.max"); got != want["io.max"] {
		t.Errorf("second Set: io.max = %q", got)
	}
}

func TestSetBlkioWeightPrefersBFQ(t *testing.T) {
	files := fullLeaf("c")
	files["cgroup.controllers"] = allControllers
	files["cgroup.subtree_control"] = allControllers
	files["c/io.bfq.weight"] = "default 100\n"
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/c"}
	wd := specs.LinuxWeightDevice{Weight: u16(300)}
	wd.Major, wd.Minor = 8, 0
	if err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{wd}}}); err != nil {
		t.Fatal(err)
	}
	if got := readFake(t, root, "c/io.bfq.weight"); got != "8:0 300\n" {
		t.Errorf("io.bfq.weight = %q", got)
	}
	if err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(300)}}); err != nil {
		t.Fatal(err)
	}
	if got := readFake(t, root, "c/io.bfq.weight"); got != "300" {
		t.Errorf("io.bfq.weight = %q", got)
	}
	if got := readFake(t, root, "c/io.weight"); got != "default 100\n" {
		t.Errorf("io.weight written too: %q", got)
	}

	// An old BFQ (a single number) takes no per-device weights: io.weight.
	if err := os.WriteFile(filepath.Join(root, "c/io.bfq.weight"), []byte("100\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{WeightDevice: []specs.LinuxWeightDevice{wd}}}); err != nil {
		t.Fatal(err)
	}
	if got := readFake(t, root, "c/io.weight"); got != "8:0 2930\n" {
		t.Errorf("io.weight = %q", got)
	}
}

func TestSetCPUIdleOrder(t *testing.T) {
	files := fullLeaf("c")
	files["cgroup.controllers"] = allControllers
	files["cgroup.subtree_control"] = allControllers
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/c"}
	// Without a quota, a period alone keeps the quota in cpu.max.
	if err := os.WriteFile(filepath.Join(root, "c/cpu.max"), []byte("30000 100000\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := m.Set(&specs.LinuxResources{CPU: &specs.LinuxCPU{Period: u64(50000), Idle: i64(1)}}); err != nil {
		t.Fatal(err)
	}
	if got := readFake(t, root, "c/cpu.max"); got != "30000 50000" {
		t.Errorf("cpu.max = %q", got)
	}
	if got := readFake(t, root, "c/cpu.idle"); got != "1" {
		t.Errorf("cpu.idle = %q", got)
	}
}

func TestSetSwapWithoutSwapAccounting(t *testing.T) {
	files := fullLeaf("c")
	delete(files, "c/memory.swap.max")
	files["cgroup.controllers"] = allControllers
	files["cgroup.subtree_control"] = allControllers
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/c"}
	// Unlimited or no swap is what a host without swap accounting has.
	for _, mem := range []*specs.LinuxMemory{
		{Limit: i64(-1)},
		{Limit: i64(1000), Swap: i64(1000)},
		{Limit: i64(1000), Swap: i64(-1)},
	} {
		if err := m.Set(&specs.LinuxResources{Memory: mem}); err != nil {
			t.Errorf("%+v: %v", mem, err)
		}
	}
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1000), Swap: i64(3000)}})
	if err == nil || !strings.HasPrefix(err.Error(), "linux.resources.memory.swap: write \"2000\"") {
		t.Errorf("a real swap limit without memory.swap.max: %v", err)
	}
}

func TestSetCheckBeforeUpdate(t *testing.T) {
	files := fullLeaf("c")
	files["cgroup.controllers"] = allControllers
	files["cgroup.subtree_control"] = allControllers
	files["c/memory.current"] = "5000\n"
	files["c/memory.swap.current"] = "1000\n"
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/c"}
	check := boolp(true)
	err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(4000), CheckBeforeUpdate: check}})
	if err == nil || !strings.Contains(err.Error(), "not above the current usage 5000") {
		t.Errorf("limit below usage: %v", err)
	}
	err = m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(5500), Swap: i64(6000), CheckBeforeUpdate: check}})
	if err == nil || !strings.Contains(err.Error(), "memory+swap usage 6000") {
		t.Errorf("memory+swap below usage: %v", err)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(6000), CheckBeforeUpdate: check}}); err != nil {
		t.Error(err)
	}
	if err := m.Set(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(4000)}}); err != nil {
		t.Errorf("without the check: %v", err)
	}
}

func TestSetMissingHugePageSize(t *testing.T) {
	files := fullLeaf("c")
	files["cgroup.controllers"] = allControllers
	files["cgroup.subtree_control"] = allControllers
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/c"}
	err := m.Set(&specs.LinuxResources{HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "16GB", Limit: 1}}})
	want := "linux.resources.hugepageLimits[0].pageSize: the host has no 16GB huge pages (it has: 1GB, 2MB)"
	if err == nil || err.Error() != want {
		t.Errorf("err = %v\nwant %s", err, want)
	}
}

// A host like this one: the unified hierarchy has hugetlb only.
func hugetlbOnlyHost(t *testing.T, extra map[string]string) string {
	files := map[string]string{
		"cgroup.controllers":     "hugetlb\n",
		"cgroup.subtree_control": "hugetlb\n",
	}
	for k, v := range extra {
		files[k] = v
	}
	return fakeTree(t, files)
}

func TestCreateControllerErrors(t *testing.T) {
	tests := []struct {
		name string
		res  specs.LinuxResources
		want string
	}{
		{"memory", specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}},
			"linux.resources.memory.limit: the memory controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"reservation", specs.LinuxResources{Memory: &specs.LinuxMemory{Reservation: i64(1 << 20)}},
			"linux.resources.memory.reservation: the memory controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"pids", specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(100)}},
			"linux.resources.pids.limit: the pids controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"shares with a quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(512), Quota: i64(1000)}},
			"linux.resources.cpu.shares: the cpu controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"quota", specs.LinuxResources{CPU: &specs.LinuxCPU{Quota: i64(1000)}},
			"linux.resources.cpu.quota: the cpu controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"cpus", specs.LinuxResources{CPU: &specs.LinuxCPU{Cpus: "0"}},
			"linux.resources.cpu.cpus: the cpuset controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"io", specs.LinuxResources{BlockIO: &specs.LinuxBlockIO{Weight: u16(100)}},
			"linux.resources.blockIO.weight: the io controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"rdma", specs.LinuxResources{Rdma: map[string]specs.LinuxRdma{"mlx5_0": {HcaHandles: u32(1)}}},
			"linux.resources.rdma: the rdma controller is not available in ROOT (cgroup.controllers: hugetlb)"},
		{"unified", specs.LinuxResources{Unified: map[string]string{"memory.high": "1000000"}},
			`linux.resources.unified["memory.high"]: the memory controller is not available in ROOT (cgroup.controllers: hugetlb)`},
		{"unified misc", specs.LinuxResources{Unified: map[string]string{"misc.max": "x 1"}},
			`linux.resources.unified["misc.max"]: the misc controller is not available in ROOT (cgroup.controllers: hugetlb)`},
	}
	for _, tt := range tests {
		root := hugetlbOnlyHost(t, nil)
		m := &Manager{root: root, path: "/hako/c1"}
		err := m.Create(&tt.res)
		want := strings.ReplaceAll(tt.want, "ROOT", root)
		if err == nil || err.Error() != want {
			t.Errorf("%s:\n got %v\nwant %s", tt.name, err, want)
			continue
		}
		if !errors.Is(err, ErrControllerUnavailable) {
			t.Errorf("%s: not ErrControllerUnavailable", tt.name)
		}
		if _, err := os.Stat(filepath.Join(root, "hako")); !os.IsNotExist(err) {
			t.Errorf("%s: a failed Create left %s/hako behind", tt.name, root)
		}
	}
}

// cpu.shares alone on a hierarchy without a cpu controller (a hybrid
// host: ctr and containerd's CRI always send shares) is skipped with a
// warning, at create and at update; nothing cpu is enabled or written.
func TestSharesWithoutCPUControllerSkipped(t *testing.T) {
	files := fullLeaf("hako/c1")
	files["hako/c1/cgroup.controllers"] = "hugetlb\n"
	files["hako/cgroup.controllers"] = "hugetlb\n"
	files["hako/cgroup.subtree_control"] = "hugetlb\n"
	root := hugetlbOnlyHost(t, files)
	var warnings []string
	Warn = func(msg string) { warnings = append(warnings, msg) }
	t.Cleanup(func() { Warn = func(string) {} })
	m := &Manager{root: root, path: "/hako/c1"}
	for _, shares := range []uint64{2, 1024} {
		res := &specs.LinuxResources{CPU: &specs.LinuxCPU{Shares: u64(shares)}}
		if err := m.Create(res); err != nil {
			t.Fatalf("Create with shares %d: %v", shares, err)
		}
		if err := m.Set(res); err != nil {
			t.Fatalf("Set with shares %d: %v", shares, err)
		}
		if *res.CPU.Shares != shares {
			t.Errorf("the caller's resources were changed")
		}
	}
	if got := readFake(t, root, "hako/c1/cpu.weight"); got != "" {
		t.Errorf("cpu.weight = %q", got)
	}
	if got := readFake(t, root, "cgroup.subtree_control"); got != "hugetlb\n" {
		t.Errorf("cgroup.subtree_control = %q", got)
	}
	want := "linux.resources.cpu.shares (2) ignored: the cgroup v2 hierarchy at " + root + " has no cpu controller"
	if len(warnings) != 4 || warnings[0] != want {
		t.Errorf("warnings = %q, want 4 starting with %q", warnings, want)
	}
}

// A level below the root that lacks the controller is the one named, and
// the levels above it got the controller enabled on the way.
func TestCreateNamesTheLevelWithoutTheController(t *testing.T) {
	root := fakeTree(t, map[string]string{
		"cgroup.controllers":          "memory hugetlb\n",
		"cgroup.subtree_control":      "hugetlb\n",
		"hako/cgroup.controllers":     "hugetlb\n",
		"hako/cgroup.subtree_control": "",
	})
	m := &Manager{root: root, path: "/hako/c1"}
	err := m.Create(&specs.LinuxResources{Memory: &specs.LinuxMemory{Limit: i64(1 << 20)}})
	want := "linux.resources.memory.limit: the memory controller is not available in " + root + "/hako (cgroup.controllers: hugetlb)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	if got := readFake(t, root, "cgroup.subtree_control"); got != "+memory" {
		t.Errorf("root cgroup.subtree_control = %q, want +memory", got)
	}
	if _, err := os.Stat(filepath.Join(root, "hako")); err != nil {
		t.Errorf("an existing level was removed: %v", err)
	}
}

func TestCreateEnablesOnlyWhatIsNeeded(t *testing.T) {
	root := fakeTree(t, map[string]string{
		"cgroup.controllers":     allControllers,
		"cgroup.subtree_control": "",
	})
	m := &Manager{root: root, path: "/c1"}
	// The fake tree cannot make cgroup.controllers and the interface
	// files appear on mkdir; Create stops at Set, which finds no
	// cgroup.controllers in the new directory, and removes it again.
	err := m.Create(&specs.LinuxResources{
		Pids:    &specs.LinuxPids{Limit: i64(10)},
		CPU:     &specs.LinuxCPU{Shares: u64(100), Cpus: "0"},
		Unified: map[string]string{"memory.high": "max", "cgroup.type": "threaded"},
	})
	if err == nil {
		t.Fatal("Create in a fake tree succeeded")
	}
	if got := readFake(t, root, "cgroup.subtree_control"); got != "+pids +cpu +cpuset +memory" {
		t.Errorf("cgroup.subtree_control = %q", got)
	}
	if _, err := os.Stat(filepath.Join(root, "c1")); !os.IsNotExist(err) {
		t.Errorf("the failed Create left c1: %v", err)
	}
	if len(m.Created()) != 0 {
		t.Errorf("Created after a failure = %v", m.Created())
	}
}

func TestCreateWithoutLimitsNeedsNoController(t *testing.T) {
	files := map[string]string{
		"cgroup.controllers":     "",
		"cgroup.subtree_control": "",
	}
	for k, v := range fullLeaf("hako/c1") {
		files[k] = v
	}
	files["hako/cgroup.controllers"] = ""
	files["hako/cgroup.subtree_control"] = ""
	files["hako/c1/cgroup.controllers"] = ""
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/hako/c1"}
	res := &specs.LinuxResources{
		Memory:  &specs.LinuxMemory{Limit: i64(0), Swap: i64(0)},
		CPU:     &specs.LinuxCPU{Shares: u64(0), Quota: i64(0)},
		Devices: []specs.LinuxDeviceCgroup{{Allow: false, Access: "rwm"}},
	}
	if err := m.Create(res); err != nil {
		t.Fatal(err)
	}
	if len(m.Created()) != 0 {
		t.Errorf("Created = %v for levels that existed", m.Created())
	}
	if got := readFake(t, root, "cgroup.subtree_control"); got != "" {
		t.Errorf("cgroup.subtree_control = %q", got)
	}
}

func TestSetMissingControllerAtLeaf(t *testing.T) {
	files := fullLeaf("c")
	files["cgroup.controllers"] = "cpu pids\n"
	files["cgroup.subtree_control"] = "cpu pids\n"
	files["c/cgroup.controllers"] = "cpu pids\n"
	root := fakeTree(t, files)
	m := &Manager{root: root, path: "/c"}
	err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}, Unified: map[string]string{"io.max": "8:0 rbps=1"}})
	want := `linux.resources.unified["io.max"]: the io controller is not available in ` + root + " (cgroup.controllers: cpu pids)"
	if err == nil || err.Error() != want {
		t.Fatalf("got %v\nwant %s", err, want)
	}
	// Nothing was written before the check.
	if got := readFake(t, root, "c/pids.max"); got != "" {
		t.Errorf("pids.max = %q", got)
	}
	if err := m.Set(&specs.LinuxResources{Pids: &specs.LinuxPids{Limit: i64(-1)}}); err != nil {
		t.Fatal(err)
	}
	if got := readFake(t, root, "c/pids.max"); got != "max" {
		t.Errorf("pids.max = %q", got)
	}
}

func TestNeeds(t *testing.T) {
	res := &specs.LinuxResources{
		Memory:         &specs.LinuxMemory{Swap: i64(-1)},
		CPU:            &specs.LinuxCPU{Idle: i64(0), Mems: "0"},
		BlockIO:        &specs.LinuxBlockIO{ThrottleWriteIOPSDevice: []specs.LinuxThrottleDevice{{}}},
		HugepageLimits: []specs.LinuxHugepageLimit{{Pagesize: "2MB"}},
		Unified:        map[string]string{"cgroup.type": "threaded", "memory.high": "1", "rdma.max": "x"},
	}
	var got []string
	for _, n := range needs(res) {
		got = append(got, n.controller+"="+n.field)
	}
	want := "memory=linux.resources.memory.swap cpu=linux.resources.cpu.idle cpuset=linux.resources.cpu.mems " +
		"io=linux.resources.blockIO.throttleWriteIOPSDevice hugetlb=linux.resources.hugepageLimits " +
		`rdma=linux.resources.unified["rdma.max"]`
	if strings.Join(got, " ") != want {
		t.Fatalf("needs:\n got %s\nwant %s", strings.Join(got, " "), want)
	}
	if n := needs(&specs.LinuxResources{Pids: &specs.LinuxPids{}}); len(n) != 0 {
		t.Fatalf("an empty pids object needs %v", n)
	}
}
