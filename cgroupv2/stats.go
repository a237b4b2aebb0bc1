package cgroupv2

import (
	"bufio"
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// Stats is what `events --stats` prints for the cgroup. Types, field names
// and JSON tags follow runc's types.Stats (runc/types/events.go) and what
// runc's cgroup v2 driver fills in, so the CLI can print it as runc does.
// runc's JSON also has "intel_rdt" and "network_interfaces", which are not
// cgroup data; a caller that wants them embeds *Stats in a struct with
// those two fields. Values a cgroup cannot give (no controller, no file)
// stay zero.
type Stats struct {
	CPU     CPU                `json:"cpu"`
	CPUSet  CPUSet             `json:"cpuset"`
	Memory  Memory             `json:"memory"`
	Pids    Pids               `json:"pids"`
	Blkio   Blkio              `json:"blkio"`
	Hugetlb map[string]Hugetlb `json:"hugetlb"`
}

// CPU holds cpu.stat (times in nanoseconds, as runc reports them) and
// cpu.pressure.
type CPU struct {
	Usage      CPUUsage   `json:"usage,omitzero"`
	Throttling Throttling `json:"throttling,omitzero"`
	PSI        *PSIStats  `json:"psi,omitempty"`
}

// CPUUsage is usage_usec, system_usec and user_usec of cpu.stat, in
// nanoseconds. (v1's per-CPU times do not exist in v2.)
type CPUUsage struct {
	Total  uint64 `json:"total,omitempty"`
	Kernel uint64 `json:"kernel"`
	User   uint64 `json:"user"`
}

// Throttling is nr_periods, nr_throttled and throttled_usec (in
// nanoseconds) of cpu.stat; zero without the cpu controller.
type Throttling struct {
	Periods          uint64 `json:"periods,omitempty"`
	ThrottledPeriods uint64 `json:"throttledPeriods,omitempty"`
	ThrottledTime    uint64 `json:"throttledTime,omitempty"`
}

// CPUSet has the effective CPUs and memory nodes (cpuset.cpus.effective,
// cpuset.mems.effective, when the cpuset controller is there); the other
// fields are v1 knobs, always zero, kept for runc's JSON.
type CPUSet struct {
	CPUs                  []uint16 `json:"cpus,omitempty"`
	CPUExclusive          uint64   `json:"cpu_exclusive"`
	Mems                  []uint16 `json:"mems,omitempty"`
	MemHardwall           uint64   `json:"mem_hardwall"`
	MemExclusive          uint64   `json:"mem_exclusive"`
	MemoryMigrate         uint64   `json:"memory_migrate"`
	MemorySpreadPage      uint64   `json:"memory_spread_page"`
	MemorySpreadSlab      uint64   `json:"memory_spread_slab"`
	MemoryPressure        uint64   `json:"memory_pressure"`
	SchedLoadBalance      uint64   `json:"sched_load_balance"`
	SchedRelaxDomainLevel int64    `json:"sched_relax_domain_level"`
}

// Memory holds the memory controller's numbers.
type Memory struct {
	// Cache is the "file" line of memory.stat.
	Cache uint64 `json:"cache,omitempty"`
	// Usage: memory.current, memory.max (unlimited is the largest
	// uint64, as in runc), memory.peak, and memory.events' "max" (how
	// often the limit was hit: v1's failcnt).
	Usage MemoryEntry `json:"usage,omitzero"`
	// Swap is memory+swap, as v1 reported it and runc still does:
	// usage memory.current + memory.swap.current, limit memory.max +
	// memory.swap.max (the largest uint64 when either is unlimited);
	// failcnt is memory.swap.events' "max".
	Swap MemoryEntry `json:"swap,omitzero"`
	// Raw is memory.stat.
	Raw map[string]uint64 `json:"raw,omitempty"`
	PSI *PSIStats         `json:"psi,omitempty"`

	// OOM and OOMKill are memory.events' "oom" and "oom_kill"; runc's
	// stats do not have them, so they are not in the JSON.
	OOM     uint64 `json:"-"`
	OOMKill uint64 `json:"-"`
}

// MemoryEntry is one usage/limit pair.
type MemoryEntry struct {
	Limit   uint64 `json:"limit"`
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`
}

// Pids is pids.current and pids.max (0 when unlimited, as in runc).
// Without the pids controller, Current counts the tasks of the cgroup and
// its descendants.
type Pids struct {
	Current uint64 `json:"current,omitempty"`
	Limit   uint64 `json:"limit,omitempty"`
}

// Blkio is io.stat in runc's v1-shaped tables: rbytes and wbytes as
// ioServiceBytesRecursive "Read"/"Write", rios and wios as
// ioServicedRecursive, one entry per device.
type Blkio struct {
	IoServiceBytesRecursive []BlkioEntry `json:"ioServiceBytesRecursive,omitempty"`
	IoServicedRecursive     []BlkioEntry `json:"ioServicedRecursive,omitempty"`
	PSI                     *PSIStats    `json:"psi,omitempty"`
}

// BlkioEntry is one device's counter.
type BlkioEntry struct {
	Major uint64 `json:"major,omitempty"`
	Minor uint64 `json:"minor,omitempty"`
	Op    string `json:"op,omitempty"`
	Value uint64 `json:"value,omitempty"`
}

// Hugetlb is one page size's usage: hugetlb.<size>.rsvd.current where the
// kernel has reservations (as runc reads it), else .current; Failcnt is
// the "max" of hugetlb.<size>.events. Max (the peak) does not exist in v2.
type Hugetlb struct {
	Usage   uint64 `json:"usage,omitempty"`
	Max     uint64 `json:"max,omitempty"`
	Failcnt uint64 `json:"failcnt"`

	// Limit is hugetlb.<size>.max (not in runc's JSON).
	Limit uint64 `json:"-"`
}

// PSIStats is a *.pressure file.
type PSIStats struct {
	Some PSIData `json:"some,omitzero"`
	Full PSIData `json:"full,omitzero"`
}

// PSIData is one line of a *.pressure file.
type PSIData struct {
	Avg10  float64 `json:"avg10"`
	Avg60  float64 `json:"avg60"`
	Avg300 float64 `json:"avg300"`
	Total  uint64  `json:"total"`
}

// Stats reads the cgroup's statistics: cpu.stat, memory.current, .max,
// .peak, .stat, .events, .swap.current, .swap.max, pids.current, .max,
// io.stat, hugetlb.<size>.current, .max, .events, and the pressure files.
// Every file is optional; only a missing cgroup is an error.
func (m *Manager) Stats() (*Stats, error) {
	dir, err := m.Dir()
	if err != nil {
		return nil, err
	}
	if _, err := os.Stat(dir); err != nil {
		return nil, fmt.Errorf("cgroup: stats: %w", err)
	}
	st := &Stats{Hugetlb: map[string]Hugetlb{}}
	var errs []error
	keep := func(err error) {
		if err != nil && !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	keep(statCPU(dir, st))
	keep(statCPUSet(dir, st))
	keep(statMemory(dir, st))
	keep(statPids(dir, st))
	keep(statIO(dir, st))
	keep(statHugetlb(dir, st))
	var perr error
	st.CPU.PSI, perr = readPSI(dir, "cpu.pressure")
	keep(perr)
	st.Memory.PSI, perr = readPSI(dir, "memory.pressure")
	keep(perr)
	st.Blkio.PSI, perr = readPSI(dir, "io.pressure")
	keep(perr)
	if len(errs) > 0 {
		return st, fmt.Errorf("cgroup: stats of %s: %w", dir, errors.Join(errs...))
	}
	return st, nil
}

func statCPU(dir string, st *Stats) error {
	kv, err := readKeyed(dir, "cpu.stat")
	if err != nil {
		return err
	}
	st.CPU.Usage = CPUUsage{
		Total:  kv["usage_usec"] * 1000,
		Kernel: kv["system_usec"] * 1000,
		User:   kv["user_usec"] * 1000,
	}
	st.CPU.Throttling = Throttling{
		Periods:          kv["nr_periods"],
		ThrottledPeriods: kv["nr_throttled"],
		ThrottledTime:    kv["throttled_usec"] * 1000,
	}
	return nil
}

func statCPUSet(dir string, st *Stats) error {
	for _, f := range []struct {
		file string
		dst  *[]uint16
	}{{"cpuset.cpus.effective", &st.CPUSet.CPUs}, {"cpuset.mems.effective", &st.CPUSet.Mems}} {
		data, err := os.ReadFile(filepath.Join(dir, f.file))
		if err != nil {
			return err
		}
		list, err := parseList(strings.TrimSpace(string(data)))
		if err != nil {
			return fmt.Errorf("%s: %w", f.file, err)
		}
		*f.dst = list
	}
	return nil
}

// parseList parses a CPU or node list like "0-3,7".
func parseList(s string) ([]uint16, error) {
	var out []uint16
	if s == "" {
		return nil, nil
	}
	for part := range strings.SplitSeq(s, ",") {
		lo, hi, isRange := strings.Cut(part, "-")
		a, err := strconv.ParseUint(lo, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("bad list %q", s)
		}
		b := a
		if isRange {
			if b, err = strconv.ParseUint(hi, 10, 16); err != nil || b < a {
				return nil, fmt.Errorf("bad list %q", s)
			}
		}
		for i := a; i <= b; i++ {
			out = append(out, uint16(i))
		}
	}
	return out, nil
}

func statMemory(dir string, st *Stats) error {
	current, err := readUint(dir, "memory.current")
	if err != nil {
		return err // no memory controller: all zero
	}
	mem := &st.Memory
	mem.Usage.Usage = current
	var errs []error
	opt := func(v *uint64, file string) {
		n, err := readUint(dir, file)
		if err == nil {
			*v = n
		} else if !errors.Is(err, fs.ErrNotExist) {
			errs = append(errs, err)
		}
	}
	opt(&mem.Usage.Limit, "memory.max")
	opt(&mem.Usage.Max, "memory.peak")
	if raw, err := readKeyed(dir, "memory.stat"); err == nil {
		mem.Raw = raw
		mem.Cache = raw["file"]
	}
	if ev, err := readKeyed(dir, "memory.events"); err == nil {
		mem.Usage.Failcnt = ev["max"]
		mem.OOM = ev["oom"]
		mem.OOMKill = ev["oom_kill"]
	}
	// Swap, as memory+swap.
	var swapCurrent, swapMax uint64
	if n, err := readUint(dir, "memory.swap.current"); err == nil {
		swapCurrent = n
		opt(&swapMax, "memory.swap.max")
		if ev, err := readKeyed(dir, "memory.swap.events"); err == nil {
			mem.Swap.Failcnt = ev["max"]
		}
	} else {
		swapMax = math.MaxUint64 // no swap accounting: no swap limit either
	}
	mem.Swap.Usage = current + swapCurrent
	if mem.Usage.Limit == math.MaxUint64 || swapMax == math.MaxUint64 || mem.Usage.Limit+swapMax < swapMax {
		mem.Swap.Limit = math.MaxUint64
	} else {
		mem.Swap.Limit = mem.Usage.Limit + swapMax
	}
	return errors.Join(errs...)
}

func statPids(dir string, st *Stats) error {
	current, err := readUint(dir, "pids.current")
	if errors.Is(err, fs.ErrNotExist) {
		// No pids controller: count the tasks ourselves.
		var n uint64
		err := walkCgroups(dir, func(d string) error {
			data, err := os.ReadFile(filepath.Join(d, "cgroup.threads"))
			if err != nil {
				if d != dir && errors.Is(err, fs.ErrNotExist) {
					return nil
				}
				return err
			}
			n += uint64(len(strings.Fields(string(data))))
			return nil
		})
		st.Pids.Current = n
		return err
	}
	if err != nil {
		return err
	}
	st.Pids.Current = current
	limit, err := readUint(dir, "pids.max")
	if err != nil {
		return err
	}
	if limit != math.MaxUint64 {
		st.Pids.Limit = limit
	}
	return nil
}

func statIO(dir string, st *Stats) error {
	f, err := os.Open(filepath.Join(dir, "io.stat"))
	if err != nil {
		return err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		fields := strings.Fields(sc.Text())
		if len(fields) < 2 {
			continue
		}
		maj, min, ok := strings.Cut(fields[0], ":")
		if !ok {
			continue
		}
		major, err1 := strconv.ParseUint(maj, 10, 64)
		minor, err2 := strconv.ParseUint(min, 10, 64)
		if err1 != nil || err2 != nil {
			return fmt.Errorf("io.stat: bad device %q", fields[0])
		}
		for _, kv := range fields[1:] {
			k, v, ok := strings.Cut(kv, "=")
			if !ok {
				continue
			}
			var table *[]BlkioEntry
			var op string
			switch k {
			case "rbytes":
				table, op = &st.Blkio.IoServiceBytesRecursive, "Read"
			case "wbytes":
				table, op = &st.Blkio.IoServiceBytesRecursive, "Write"
			case "rios":
				table, op = &st.Blkio.IoServicedRecursive, "Read"
			case "wios":
				table, op = &st.Blkio.IoServicedRecursive, "Write"
			default:
				continue
			}
			n, err := strconv.ParseUint(v, 10, 64)
			if err != nil {
				return fmt.Errorf("io.stat: bad value %q", kv)
			}
			*table = append(*table, BlkioEntry{Major: major, Minor: minor, Op: op, Value: n})
		}
	}
	return sc.Err()
}

func statHugetlb(dir string, st *Stats) error {
	var errs []error
	for _, size := range hugePageSizes(dir) {
		prefix := "hugetlb." + size
		var h Hugetlb
		usage, err := readUint(dir, prefix+".rsvd.current")
		if errors.Is(err, fs.ErrNotExist) {
			usage, err = readUint(dir, prefix+".current")
		}
		if err != nil {
			errs = append(errs, err)
			continue
		}
		h.Usage = usage
		if limit, err := readUint(dir, prefix+".max"); err == nil {
			h.Limit = limit
		}
		if ev, err := readKeyed(dir, prefix+".events"); err == nil {
			h.Failcnt = ev["max"]
		}
		st.Hugetlb[size] = h
	}
	return errors.Join(errs...)
}

// readPSI parses a pressure file ("some avg10=0.00 avg60=0.00 avg300=0.00
// total=0" and a "full" line); nil when there is none.
func readPSI(dir, file string) (*PSIStats, error) {
	data, err := os.ReadFile(filepath.Join(dir, file))
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, unix.EOPNOTSUPP) {
			return nil, nil
		}
		return nil, err
	}
	var ps PSIStats
	for line := range strings.SplitSeq(string(data), "\n") {
		fields := strings.Fields(line)
		if len(fields) == 0 {
			continue
		}
		var d *PSIData
		switch fields[0] {
		case "some":
			d = &ps.Some
		case "full":
			d = &ps.Full
		default:
			continue
		}
		for _, kv := range fields[1:] {
			k, v, _ := strings.Cut(kv, "=")
			var err error
			switch k {
			case "avg10":
				d.Avg10, err = strconv.ParseFloat(v, 64)
			case "avg60":
				d.Avg60, err = strconv.ParseFloat(v, 64)
			case "avg300":
				d.Avg300, err = strconv.ParseFloat(v, 64)
			case "total":
				d.Total, err = strconv.ParseUint(v, 10, 64)
			}
			if err != nil {
				return nil, fmt.Errorf("%s: bad %q", file, kv)
			}
		}
	}
	return &ps, nil
}
