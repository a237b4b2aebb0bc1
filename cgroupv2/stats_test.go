package cgroupv2

import (
	"encoding/json"
	"math"
	"reflect"
	"strings"
	"testing"
)

func TestStats(t *testing.T) {
	root := fakeTree(t, map[string]string{
		"c/cgroup.controllers":    allControllers,
		"c/cgroup.procs":          "10\n11\n",
		"c/cpu.stat":              "usage_usec 3000\nuser_usec 2000\nsystem_usec 1000\nnr_periods 7\nnr_throttled 2\nthrottled_usec 50\nnr_bursts 0\n",
		"c/cpu.pressure":          "some avg10=1.50 avg60=0.25 avg300=0.00 total=1234\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=99\n",
		"c/cpuset.cpus.effective": "0-2,5\n",
		"c/cpuset.mems.effective": "0\n",
		"c/memory.current":        "1000\n",
		"c/memory.max":            "4000\n",
		"c/memory.peak":           "1500\n",
		"c/memory.stat":           "anon 600\nfile 400\n",
		"c/memory.events":         "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n",
		"c/memory.swap.current":   "100\n",
		"c/memory.swap.max":       "max\n",
		"c/memory.swap.events":    "high 0\nmax 4\nfail 0\n",
		"c/pids.current":          "5\n",
		"c/pids.max":              "max\n",
		"c/io.stat":               "8:0 rbytes=4096 wbytes=8192 rios=1 wios=2 dbytes=0 dios=0\n",
		"c/hugetlb.2MB.current":   "2097152\n",
		"c/hugetlb.2MB.max":       "4194304\n",
		"c/hugetlb.2MB.events":    "max 6\n",
		"c/hugetlb.1GB.current":   "0\n",
		"c/hugetlb.1GB.max":       "max\n",
		"c/hugetlb.1GB.events":    "max 0\n",
	})
	m := &Manager{root: root, path: "/c"}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.CPU.Usage != (CPUUsage{Total: 3000000, Kernel: 1000000, User: 2000000}) {
		t.Errorf("cpu usage = %+v", st.CPU.Usage)
	}
	if st.CPU.Throttling != (Throttling{Periods: 7, ThrottledPeriods: 2, ThrottledTime: 50000}) {
		t.Errorf("throttling = %+v", st.CPU.Throttling)
	}
	if p := st.CPU.PSI; p == nil || p.Some.Avg10 != 1.5 || p.Some.Total != 1234 || p.Full.Total != 99 {
		t.Errorf("cpu psi = %+v", p)
	}
	if !reflect.DeepEqual(st.CPUSet.CPUs, []uint16{0, 1, 2, 5}) || !reflect.DeepEqual(st.CPUSet.Mems, []uint16{0}) {
		t.Errorf("cpuset = %+v", st.CPUSet)
	}
	mem := st.Memory
	if mem.Usage != (MemoryEntry{Usage: 1000, Limit: 4000, Max: 1500, Failcnt: 3}) {
		t.Errorf("memory usage = %+v", mem.Usage)
	}
	if mem.Swap != (MemoryEntry{Usage: 1100, Limit: math.MaxUint64, Failcnt: 4}) {
		t.Errorf("memory swap = %+v", mem.Swap)
	}
	if mem.Cache != 400 || mem.Raw["anon"] != 600 || mem.OOM != 2 || mem.OOMKill != 1 {
		t.Errorf("memory = %+v", mem)
	}
	if st.Pids != (Pids{Current: 5}) {
		t.Errorf("pids = %+v", st.Pids)
	}
	wantIO := []BlkioEntry{{8, 0, "Read", 4096}, {8, 0, "Write", 8192}}
	if !reflect.DeepEqual(st.Blkio.IoServiceBytesRecursive, wantIO) {
		t.Errorf("io bytes = %+v", st.Blkio.IoServiceBytesRecursive)
	}
	if !reflect.DeepEqual(st.Blkio.IoServicedRecursive, []BlkioEntry{{8, 0, "Read", 1}, {8, 0, "Write", 2}}) {
		t.Errorf("io ops = %+v", st.Blkio.IoServicedRecursive)
	}
	if st.Hugetlb["2MB"] != (Hugetlb{Usage: 2097152, Failcnt: 6, Limit: 4194304}) || st.Hugetlb["1GB"] != (Hugetlb{Limit: math.MaxUint64}) {
		t.Errorf("hugetlb = %+v", st.Hugetlb)
	}
	n, err := m.OOMKills()
	if err != nil || n != 1 {
		t.Errorf("OOMKills = %d, %v", n, err)
	}

	// The JSON has runc's keys.
	data, err := json.Marshal(st)
	if err != nil {
		t.Fatal(err)
	}
	for _, key := range []string{
		`"cpu":{"usage":{"total":3000000,"kernel":1000000,"user":2000000},"throttling":{"periods":7,"throttledPeriods":2,"throttledTime":50000},"psi":{"some":{"avg10":1.5,`,
		`"cpuset":{"cpus":[0,1,2,5],"cpu_exclusive":0,"mems":[0],"mem_hardwall":0,`,
		`"memory":{"cache":400,"usage":{"limit":4000,"usage":1000,"max":1500,"failcnt":3},"swap":{"limit":18446744073709551615,"usage":1100,"failcnt":4},"raw":{"anon":600,"file":400}`,
		`"pids":{"current":5}`,
		`"blkio":{"ioServiceBytesRecursive":[{"major":8,"op":"Read","value":4096},`,
		`"hugetlb":{"1GB":{"failcnt":0},"2MB":{"usage":2097152,"failcnt":6}}`,
	} {
		if !strings.Contains(string(data), key) {
			t.Errorf("JSON lacks %s\n%s", key, data)
		}
	}
}

// Without controllers (a cgroup on this host's unified hierarchy): zeros,
// and the task count from cgroup.threads.
func TestStatsWithoutControllers(t *testing.T) {
	root := fakeTree(t, map[string]string{
		"c/cgroup.controllers":       "",
		"c/cgroup.threads":           "10\n12\n",
		"c/sub/cgroup.threads":       "13\n",
		"c/cpu.stat":                 "usage_usec 10\nuser_usec 5\nsystem_usec 5\n",
		"c/memory.pressure":          "some avg10=0.00 avg60=0.00 avg300=0.00 total=0\nfull avg10=0.00 avg60=0.00 avg300=0.00 total=0\n",
		"c/hugetlb.2MB.current":      "0\n",
		"c/hugetlb.2MB.rsvd.max":     "max\n",
		"c/hugetlb.2MB.max":          "max\n",
		"c/hugetlb.2MB.rsvd.current": "4096\n",
	})
	m := &Manager{root: root, path: "/c"}
	st, err := m.Stats()
	if err != nil {
		t.Fatal(err)
	}
	if st.Pids.Current != 3 || st.Pids.Limit != 0 {
		t.Errorf("pids = %+v", st.Pids)
	}
	if st.Memory.Usage != (MemoryEntry{}) || st.Memory.Raw != nil || st.Memory.PSI == nil {
		t.Errorf("memory = %+v", st.Memory)
	}
	if st.CPU.Usage.Total != 10000 || st.CPU.Throttling != (Throttling{}) {
		t.Errorf("cpu = %+v", st.CPU)
	}
	if h := st.Hugetlb["2MB"]; h.Usage != 4096 || len(st.Hugetlb) != 1 {
		t.Errorf("hugetlb = %+v (rsvd.current is the usage where it exists)", st.Hugetlb)
	}
	n, err := m.OOMKills()
	if err != nil || n != 0 {
		t.Errorf("OOMKills = %d, %v", n, err)
	}
}

func TestParseList(t *testing.T) {
	for s, want := range map[string][]uint16{"": nil, "0": {0}, "0-3,7": {0, 1, 2, 3, 7}, "2,4-5": {2, 4, 5}} {
		got, err := parseList(s)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseList(%q) = %v, %v", s, got, err)
		}
	}
	for _, s := range []string{"a", "3-1", "1-", "-1"} {
		if _, err := parseList(s); err == nil {
			t.Errorf("parseList(%q) accepted", s)
		}
	}
}
