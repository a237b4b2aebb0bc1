package systemd

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"

	"github.com/godbus/dbus/v5"
	specs "github.com/opencontainers/runtime-spec/specs-go"

	"github.com/hako-runtime/hako/cgroupv2"
)

// property is one unit property of StartTransientUnit and
// SetUnitProperties: D-Bus type (sv).
type property struct {
	Name  string
	Value dbus.Variant
}

// props is an ordered property list in which a later assignment of a name
// replaces the earlier one (systemd would apply both, in order).
type props []property

func (p *props) set(name string, value any) {
	p.setVariant(name, dbus.MakeVariant(value))
}

func (p *props) setVariant(name string, v dbus.Variant) {
	if i := slices.IndexFunc(*p, func(q property) bool { return q.Name == name }); i >= 0 {
		(*p)[i].Value = v
		return
	}
	*p = append(*p, property{name, v})
}

func (p props) get(name string) (dbus.Variant, bool) {
	if i := slices.IndexFunc(p, func(q property) bool { return q.Name == name }); i >= 0 {
		return p[i].Value, true
	}
	return dbus.Variant{}, false
}

// infinity is systemd's "no limit" for the uint64 limits (CGROUP_LIMIT_MAX,
// USEC_INFINITY).
const infinity = math.MaxUint64

// need is a controller a property needs, and the config field that asked
// for it (for the error message).
type need struct {
	controller, field string
}

func addNeed(ns []need, controller, field string) []need {
	if slices.ContainsFunc(ns, func(n need) bool { return n.controller == controller }) {
		return ns
	}
	return append(ns, need{controller, field})
}

// resourceProperties converts the resources systemd has unit properties
// for, with the conversions of the cgroupv2 package (and of runc's systemd
// driver), and lists the controllers they need:
//
//	memory.limit        MemoryMax          memory
//	memory.reservation  MemoryLow          memory
//	memory.swap         MemorySwapMax      memory  (swap.max = swap - limit)
//	pids.limit          TasksMax           pids    (> 0; -1 is infinity)
//	cpu.shares          CPUWeight          cpu     (shares to weight)
//	cpu.quota, .period  CPUQuotaPerSecUSec, CPUQuotaPeriodUSec   cpu
//	cpu.cpus            AllowedCPUs        cpuset  (bitmask)
//	cpu.mems            AllowedMemoryNodes cpuset  (bitmask)
//	blockIO.weight      IOWeight           io      (10..1000 to 1..10000)
//	unified memory.{max,high,low,min,swap.max}, pids.max, cpu.weight,
//	        cpu.max, cpuset.cpus, cpuset.mems: the same properties, after
//	        (so winning over) the converted fields, as in the fs driver.
//
// Everything else (hugetlb, rdma, io.max and per-device weights, cpu burst
// and idle, other unified keys, devices) has no property: the fs driver
// writes it into the scope's cgroup. A value of 0 means "unset" where runc
// reads it so; pids.limit 0 (no tasks at all), which systemd refuses as
// TasksMax, is left to the fs driver too.
func resourceProperties(res *specs.LinuxResources) (props, []need, error) {
	var p props
	var ns []need
	if res == nil {
		return p, nil, nil
	}
	const f = "linux.resources."
	if mem := res.Memory; mem != nil {
		if v, ok := limit(mem.Limit); ok {
			p.set("MemoryMax", v)
			ns = addNeed(ns, "memory", f+"memory.limit")
		}
		if v, ok := limit(mem.Reservation); ok {
			p.set("MemoryLow", v)
			ns = addNeed(ns, "memory", f+"memory.reservation")
		}
		swap, err := swapMax(mem.Swap, mem.Limit)
		if err != nil {
			return nil, nil, err
		}
		if swap != nil {
			p.set("MemorySwapMax", *swap)
			ns = addNeed(ns, "memory", f+"memory.swap")
		}
	}
	if pids := res.Pids; pids != nil && pids.Limit != nil && *pids.Limit != 0 {
		v := uint64(infinity)
		if *pids.Limit > 0 {
			v = uint64(*pids.Limit)
		}
		p.set("TasksMax", v)
		ns = addNeed(ns, "pids", f+"pids.limit")
	}
	if c := res.CPU; c != nil {
		if c.Shares != nil && *c.Shares != 0 {
			p.set("CPUWeight", sharesToWeight(*c.Shares))
			ns = addNeed(ns, "cpu", f+"cpu.shares")
		}
		var period uint64
		if c.Period != nil {
			period = *c.Period
		}
		var quota int64
		if c.Quota != nil {
			quota = *c.Quota
		}
		if period != 0 {
			p.set("CPUQuotaPeriodUSec", period)
			ns = addNeed(ns, "cpu", f+"cpu.period")
		}
		if quota != 0 {
			p.set("CPUQuotaPerSecUSec", quotaPerSec(quota, period))
			ns = addNeed(ns, "cpu", f+"cpu.quota")
		}
		if c.Cpus != "" {
			bits, err := rangeToBits(c.Cpus)
			if err != nil {
				return nil, nil, fmt.Errorf("%scpu.cpus: %w", f, err)
			}
			p.set("AllowedCPUs", bits)
			ns = addNeed(ns, "cpuset", f+"cpu.cpus")
		}
		if c.Mems != "" {
			bits, err := rangeToBits(c.Mems)
			if err != nil {
				return nil, nil, fmt.Errorf("%scpu.mems: %w", f, err)
			}
			p.set("AllowedMemoryNodes", bits)
			ns = addNeed(ns, "cpuset", f+"cpu.mems")
		}
	}
	if b := res.BlockIO; b != nil && b.Weight != nil && *b.Weight != 0 {
		w, err := ioWeight(*b.Weight)
		if err != nil {
			return nil, nil, fmt.Errorf("%sblockIO.weight: %w", f, err)
		}
		p.set("IOWeight", w)
		ns = addNeed(ns, "io", f+"blockIO.weight")
	}
	for _, k := range sortedKeys(res.Unified) {
		field := fmt.Sprintf("%sunified[%q]", f, k)
		added, err := unifiedProperty(&p, k, strings.TrimSpace(res.Unified[k]))
		if err != nil {
			return nil, nil, fmt.Errorf("%s: %w", field, err)
		}
		if added {
			c, _, _ := strings.Cut(k, ".")
			ns = addNeed(ns, c, field)
		}
	}
	return p, ns, nil
}

// unifiedProperty converts the unified keys systemd has a property for;
// false for the others (the fs driver writes them).
func unifiedProperty(p *props, key, value string) (bool, error) {
	name := map[string]string{
		"memory.max":      "MemoryMax",
		"memory.high":     "MemoryHigh",
		"memory.low":      "MemoryLow",
		"memory.min":      "MemoryMin",
		"memory.swap.max": "MemorySwapMax",
		"pids.max":        "TasksMax",
	}[key]
	switch {
	case name != "":
		v, err := maxOrUint(value)
		if err != nil {
			return false, err
		}
		if name == "TasksMax" && v == 0 {
			return false, nil // systemd refuses 0: the fs driver writes it
		}
		p.set(name, v)
	case key == "cpu.weight":
		v, err := strconv.ParseUint(value, 10, 64)
		if err != nil || v < 1 || v > 10000 {
			return false, fmt.Errorf("%q is not a weight (1..10000)", value)
		}
		p.set("CPUWeight", v)
	case key == "cpu.max":
		// "$MAX [$PERIOD]"
		fields := strings.Fields(value)
		if len(fields) < 1 || len(fields) > 2 {
			return false, fmt.Errorf("%q is not \"max|QUOTA [PERIOD]\"", value)
		}
		var period uint64
		if len(fields) == 2 {
			v, err := strconv.ParseUint(fields[1], 10, 64)
			if err != nil || v == 0 {
				return false, fmt.Errorf("%q: bad period %q", value, fields[1])
			}
			period = v
			p.set("CPUQuotaPeriodUSec", period)
		}
		quota := int64(-1)
		if fields[0] != "max" {
			v, err := strconv.ParseInt(fields[0], 10, 64)
			if err != nil || v <= 0 {
				return false, fmt.Errorf("%q: bad quota %q", value, fields[0])
			}
			quota = v
		}
		p.set("CPUQuotaPerSecUSec", quotaPerSec(quota, period))
	case key == "cpuset.cpus" || key == "cpuset.mems":
		bits, err := rangeToBits(value)
		if err != nil {
			return false, err
		}
		if key == "cpuset.cpus" {
			p.set("AllowedCPUs", bits)
		} else {
			p.set("AllowedMemoryNodes", bits)
		}
	default:
		return false, nil
	}
	return true, nil
}

func maxOrUint(s string) (uint64, error) {
	if s == "max" {
		return infinity, nil
	}
	v, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("%q is neither \"max\" nor a number", s)
	}
	return v, nil
}

// limit converts a memory limit: unset (nil or 0) is false, a negative
// value is infinity.
func limit(v *int64) (uint64, bool) {
	switch {
	case v == nil || *v == 0:
		return 0, false
	case *v < 0:
		return infinity, true
	}
	return uint64(*v), true
}

// swapMax is the cgroupv2 package's conversion of memory.swap
// (memory+swap, the v1 memsw limit) to memory.swap.max, as a
// MemorySwapMax value: nil means nothing to set.
func swapMax(swap, lim *int64) (*uint64, error) {
	var s, l int64
	if swap != nil {
		s = *swap
	}
	if lim != nil {
		l = *lim
	}
	v := func(x uint64) (*uint64, error) { return &x, nil }
	switch {
	case s == 0:
		if l == -1 {
			return v(infinity)
		}
		return nil, nil
	case s < 0:
		return v(infinity)
	case l == -1:
		return v(uint64(s))
	case l == 0:
		return nil, fmt.Errorf("linux.resources.memory.swap: %d is memory+swap, which needs linux.resources.memory.limit too", s)
	case s < l:
		return nil, fmt.Errorf("linux.resources.memory.swap: %d (memory+swap) is below linux.resources.memory.limit %d", s, l)
	}
	return v(uint64(s - l))
}

// sharesToWeight and ioWeight are the fs driver's conversions: systemd's
// properties must say what the cgroup files would.
var (
	sharesToWeight = cgroupv2.SharesToWeight
	ioWeight       = cgroupv2.IOWeight
)

// defaultPeriod is the kernel's (and systemd's) default CFS period, µs.
const defaultPeriod = 100000

// quotaPerSec converts a CFS quota and period (µs) to CPUQuotaPerSecUSec:
// a negative quota is infinity; otherwise quota per second of the period
// (the default period when 0), rounded up to a multiple of 10 ms, because
// systemd keeps the quota as a whole percentage of a CPU (runc does the
// same). The fs driver then writes the exact cpu.max.
func quotaPerSec(quota int64, period uint64) uint64 {
	if quota < 0 {
		return infinity
	}
	if period == 0 {
		period = defaultPeriod
	}
	v := uint64(quota) * 1000000 / period
	if v%10000 != 0 {
		v = (v/10000 + 1) * 10000
	}
	return v
}

// rangeToBits converts a cpuset list ("0-3,8,10-11") to the bitmask bytes
// of AllowedCPUs and AllowedMemoryNodes: byte i holds CPUs 8i..8i+7, the
// lowest in bit 0 (systemd's cpu_set_to_dbus).
func rangeToBits(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, errors.New("empty list")
	}
	const maxCPU = 1 << 16 // systemd's CPU_SET_MAX_CPU... with room
	var bits []byte
	for r := range strings.SplitSeq(s, ",") {
		r = strings.TrimSpace(r)
		lo, hi, isRange := strings.Cut(r, "-")
		first, err := strconv.ParseUint(lo, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%q is not a list like 0-3,5: bad number %q", s, lo)
		}
		last := first
		if isRange {
			if last, err = strconv.ParseUint(hi, 10, 32); err != nil {
				return nil, fmt.Errorf("%q is not a list like 0-3,5: bad number %q", s, hi)
			}
		}
		if last < first {
			return nil, fmt.Errorf("%q: range %s goes backwards", s, r)
		}
		if last >= maxCPU {
			return nil, fmt.Errorf("%q: %d is too large", s, last)
		}
		for i := first; i <= last; i++ {
			for uint64(len(bits)) <= i/8 {
				bits = append(bits, 0)
			}
			bits[i/8] |= 1 << (i % 8)
		}
	}
	return bits, nil
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// AnnotationPrefix starts the annotations that set unit properties:
// "org.systemd.property.TimeoutStopUSec": "uint64 5000000".
const AnnotationPrefix = "org.systemd.property."

// reserved are the properties hako sets itself and an annotation may not
// change.
var reserved = map[string]string{
	"PIDs":     "hako places the container's init itself",
	"Slice":    "the slice comes from linux.cgroupsPath",
	"Delegate": "hako needs the scope delegated (Delegate=yes) to manage its cgroup",
}

// uint64Props are properties of D-Bus type t that annotations commonly
// set: a plain number (a GVariant int32) is taken as uint64 for them.
var uint64Props = map[string]bool{
	"MemoryMax": true, "MemoryHigh": true, "MemoryLow": true, "MemoryMin": true,
	"MemorySwapMax": true, "MemoryZSwapMax": true, "TasksMax": true,
	"CPUWeight": true, "StartupCPUWeight": true, "IOWeight": true, "StartupIOWeight": true,
	"CPUShares": true, "BlockIOWeight": true, "LimitNOFILE": true, "LimitNPROC": true,
	"RuntimeMaxUSec": true, "RuntimeRandomizedExtraUSec": true, "CPUQuotaPerSecUSec": true,
	"CPUQuotaPeriodUSec": true, "TimeoutStopUSec": true, "TimeoutStartUSec": true,
	"TimeoutAbortUSec": true,
}

// annotationProperties converts the annotations named
// org.systemd.property.NAME into unit properties, as runc does. The value
// is GVariant text (what `busctl`/`gdbus` print and GLib parses):
//
//	true, false                      booleans
//	'text' or "text"                 strings
//	uint64 5000000, @t 5000000       typed integers (also byte, int16,
//	                                 uint16, int32, uint32, int64, double)
//	5000000                          a plain integer is an int32, but taken
//	                                 as uint64 for NAMEs ending in USec and
//	                                 for the usual limits (MemoryMax, ...)
//	['a', 'b'], [uint32 1, 2]        arrays
//
// A NAME ending in "Sec" after a lowercase letter (TimeoutStopSec) is a
// number of seconds (integer or double), converted to the USec property
// (TimeoutStopUSec) in µs, as runc does. NAME must be a property name
// (letters and digits, a capital first). PIDs, Slice and Delegate are
// refused (hako sets them); any other NAME replaces a property hako sets
// (Description, DefaultDependencies, CollectMode) or adds one, which
// systemd checks when the scope starts. Errors name the annotation.
func annotationProperties(annotations map[string]string) (props, error) {
	var p props
	for _, key := range sortedKeys(annotations) {
		name, ok := strings.CutPrefix(key, AnnotationPrefix)
		if !ok {
			continue
		}
		value := annotations[key]
		bad := func(format string, args ...any) error {
			return fmt.Errorf("annotation %s=%q: %s", key, value, fmt.Sprintf(format, args...))
		}
		if !propertyName(name) {
			return nil, bad("%q is not a systemd property name (letters and digits, starting with a capital)", name)
		}
		if why, ok := reserved[name]; ok {
			return nil, bad("%s cannot be set by an annotation: %s", name, why)
		}
		v, err := dbus.ParseVariant(value, dbus.Signature{})
		if err != nil {
			return nil, bad("not a GVariant text value (true, 'text', uint64 5, ...): %v", err)
		}
		if base, ok := strings.CutSuffix(name, "Sec"); ok && len(base) > 0 && isLower(base[len(base)-1]) {
			usec, err := secondsToUSec(v.Value())
			if err != nil {
				return nil, bad("%v", err)
			}
			name = base + "USec"
			v = dbus.MakeVariant(usec)
		} else if strings.HasSuffix(name, "USec") || uint64Props[name] {
			if n, ok := asUint64(v.Value()); ok {
				v = dbus.MakeVariant(n)
			} else if _, isU := v.Value().(uint64); !isU {
				return nil, bad("%s takes an unsigned integer (uint64)", name)
			}
		}
		p.setVariant(name, v)
	}
	return p, nil
}

func isLower(c byte) bool { return 'a' <= c && c <= 'z' }

func propertyName(s string) bool {
	if s == "" || s[0] < 'A' || s[0] > 'Z' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9') {
			return false
		}
	}
	return true
}

// asUint64 converts a non-negative integer of any D-Bus type.
func asUint64(v any) (uint64, bool) {
	switch n := v.(type) {
	case uint8:
		return uint64(n), true
	case uint16:
		return uint64(n), true
	case uint32:
		return uint64(n), true
	case uint64:
		return n, true
	case int16:
		return uint64(n), n >= 0
	case int32:
		return uint64(n), n >= 0
	case int64:
		return uint64(n), n >= 0
	}
	return 0, false
}

// secondsToUSec converts seconds (an integer or a double) to µs.
func secondsToUSec(v any) (uint64, error) {
	if f, ok := v.(float64); ok {
		if f < 0 || math.IsNaN(f) || f*1e6 >= math.MaxUint64 {
			return 0, fmt.Errorf("%v is not a number of seconds", f)
		}
		return uint64(math.Round(f * 1e6)), nil
	}
	n, ok := asUint64(v)
	if !ok {
		return 0, fmt.Errorf("%v is not a number of seconds", v)
	}
	if n > math.MaxUint64/1000000 {
		return infinity, nil
	}
	return n * 1000000, nil
}
