package cgroupv2

import (
	"errors"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path"
	"path/filepath"
	"slices"
	"strconv"
	"strings"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"
)

// need is a controller some resource requires, and the first field of the
// config that requires it (for the error message).
type need struct {
	controller, field string
}

// needs lists the controllers res requires, in a fixed order. A controller
// no limit asks for is not required, so a host without it still runs
// containers that do not limit it.
func needs(res *specs.LinuxResources) []need {
	if res == nil {
		return nil
	}
	var ns []need
	add := func(controller, field string) {
		for _, n := range ns {
			if n.controller == controller {
				return
			}
		}
		ns = append(ns, need{controller, field})
	}
	if p := res.Pids; p != nil && p.Limit != nil {
		add("pids", "linux.resources.pids.limit")
	}
	if mem := res.Memory; mem != nil {
		switch {
		case set(mem.Limit):
			add("memory", "linux.resources.memory.limit")
		case set(mem.Reservation):
			add("memory", "linux.resources.memory.reservation")
		case set(mem.Swap):
			add("memory", "linux.resources.memory.swap")
		}
	}
	if c := res.CPU; c != nil {
		switch {
		case c.Shares != nil && *c.Shares != 0:
			add("cpu", "linux.resources.cpu.shares")
		case set(c.Quota):
			add("cpu", "linux.resources.cpu.quota")
		case c.Period != nil && *c.Period != 0:
			add("cpu", "linux.resources.cpu.period")
		case c.Burst != nil:
			add("cpu", "linux.resources.cpu.burst")
		case c.Idle != nil:
			add("cpu", "linux.resources.cpu.idle")
		}
		switch {
		case c.Cpus != "":
			add("cpuset", "linux.resources.cpu.cpus")
		case c.Mems != "":
			add("cpuset", "linux.resources.cpu.mems")
		}
	}
	if b := res.BlockIO; b != nil {
		switch {
		case b.Weight != nil && *b.Weight != 0:
			add("io", "linux.resources.blockIO.weight")
		case slices.ContainsFunc(b.WeightDevice, func(d specs.LinuxWeightDevice) bool { return d.Weight != nil }):
			add("io", "linux.resources.blockIO.weightDevice")
		case len(b.ThrottleReadBpsDevice) > 0:
			add("io", "linux.resources.blockIO.throttleReadBpsDevice")
		case len(b.ThrottleWriteBpsDevice) > 0:
			add("io", "linux.resources.blockIO.throttleWriteBpsDevice")
		case len(b.ThrottleReadIOPSDevice) > 0:
			add("io", "linux.resources.blockIO.throttleReadIOPSDevice")
		case len(b.ThrottleWriteIOPSDevice) > 0:
			add("io", "linux.resources.blockIO.throttleWriteIOPSDevice")
		}
	}
	if len(res.HugepageLimits) > 0 {
		add("hugetlb", "linux.resources.hugepageLimits")
	}
	if len(res.Rdma) > 0 {
		add("rdma", "linux.resources.rdma")
	}
	for _, k := range sortedKeys(res.Unified) {
		if c := unifiedController(k); c != "" {
			add(c, unifiedField(k))
		}
	}
	return ns
}

// set reports whether an optional int64 asks for something: runc and
// crun treat 0 as "not set" for these fields, and so does hako.
func set(v *int64) bool {
	return v != nil && *v != 0
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func unifiedField(k string) string {
	return fmt.Sprintf("linux.resources.unified[%q]", k)
}

// unifiedController returns the controller a unified key belongs to, or ""
// for the core files (cgroup.*), which need none.
func unifiedController(k string) string {
	c, _, _ := strings.Cut(k, ".")
	if c == "cgroup" {
		return ""
	}
	return c
}

// controllerError says that a controller is not available in a cgroup.
type controllerError struct {
	field, controller, dir, available string
}

func (e *controllerError) Error() string {
	have := "cgroup.controllers: " + e.available
	if e.available == "" {
		have = "cgroup.controllers is empty"
	}
	return fmt.Sprintf("%s: the %s controller is not available in %s (%s)", e.field, e.controller, e.dir, have)
}

func (e *controllerError) Is(target error) bool {
	return target == ErrControllerUnavailable
}

// Create makes the cgroup (mkdir -p, mode 0755), enabling in the
// cgroup.subtree_control of every level above it, from the root down to
// its parent, exactly the controllers res needs (pids, memory, cpu, io,
// cpuset, hugetlb, rdma, misc, ...: only those some limit asks for); a
// controller a level does not offer fails with an error naming the
// controller, the level and what it offers. Then it applies res with Set.
// On failure it removes the levels it made. The levels it made are
// remembered for Destroy (see Created).
func (m *Manager) Create(res *specs.LinuxResources) (err error) {
	root, err := m.mount()
	if err != nil {
		return err
	}
	if m.path == "/" {
		return errors.New("cgroup: a container cannot use the root cgroup")
	}
	if err := checkResources(res); err != nil {
		return err
	}
	res = withoutUnofferedWeight(root, res)
	ns := needs(res)
	var made []string
	defer func() {
		if err != nil {
			for _, d := range slices.Backward(made) {
				_ = unix.Rmdir(filepath.Join(root, d))
			}
		}
	}()
	// A shared ancestor made by another container can vanish between our
	// mkdir of it and of its child when that container is destroyed:
	// start again then.
	for attempt := 0; ; attempt++ {
		err = m.mkdirAll(root, ns, &made)
		if err == nil || !errors.Is(err, fs.ErrNotExist) || attempt == 3 {
			break
		}
	}
	if err != nil {
		return err
	}
	if err := m.Set(res); err != nil {
		return err
	}
	for _, d := range made {
		if !slices.Contains(m.created, d) {
			m.created = append(m.created, d)
		}
	}
	return nil
}

// mkdirAll walks from the root to the cgroup, enabling the controllers in
// each level before making the next one.
func (m *Manager) mkdirAll(root string, ns []need, made *[]string) error {
	parent := "/"
	for _, level := range levels(m.path) {
		if err := enable(root, parent, ns); err != nil {
			return err
		}
		dir := filepath.Join(root, level)
		if err := os.Mkdir(dir, 0o755); err == nil {
			*made = append(*made, level)
		} else if !errors.Is(err, fs.ErrExist) {
			return fmt.Errorf("cgroup: create %s: %w", dir, err)
		}
		parent = level
	}
	return nil
}

// levels returns "/a", "/a/b", "/a/b/c" for "/a/b/c".
func levels(p string) []string {
	var ls []string
	for i := 1; i < len(p); i++ {
		if p[i] == '/' {
			ls = append(ls, p[:i])
		}
	}
	return append(ls, p)
}

// enable makes sure the controllers ns are in the cgroup.subtree_control
// of the level (relative to root), writing only the missing ones.
func enable(root, level string, ns []need) error {
	if len(ns) == 0 {
		return nil
	}
	dir := filepath.Join(root, level)
	enabled, _, err := readFields(dir, "cgroup.subtree_control")
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	var (
		available     map[string]bool
		availableText string
		missing       []string
		field         string
	)
	for _, n := range ns {
		if enabled[n.controller] || slices.Contains(missing, n.controller) {
			continue
		}
		if available == nil {
			available, availableText, err = readFields(dir, "cgroup.controllers")
			if err != nil {
				return fmt.Errorf("cgroup: %w", err)
			}
		}
		if !available[n.controller] {
			return &controllerError{n.field, n.controller, dir, availableText}
		}
		if field == "" {
			field = n.field
		}
		missing = append(missing, n.controller)
	}
	if len(missing) == 0 {
		return nil
	}
	if err := writeFile(dir, "cgroup.subtree_control", "+"+strings.Join(missing, " +")); err != nil {
		hint := ""
		switch {
		case errors.Is(err, unix.EBUSY):
			hint = " (the cgroup has processes of its own; cgroup v2 gives a controller to the children of a cgroup only when it has none)"
		case errors.Is(err, unix.EOPNOTSUPP):
			hint = " (a threaded cgroup cannot have domain controllers)"
		}
		return fmt.Errorf("%s: cannot enable the %s controller in %s: %w%s",
			field, strings.Join(missing, ", "), dir, err, hint)
	}
	return nil
}

// ensureControllers enables the controllers res needs when the cgroup does
// not have them yet (an update that limits something new).
func (m *Manager) ensureControllers(root, dir string, ns []need) error {
	if len(ns) == 0 {
		return nil
	}
	have, _, err := readFields(dir, "cgroup.controllers")
	if err != nil {
		return fmt.Errorf("cgroup: %w", err)
	}
	if !slices.ContainsFunc(ns, func(n need) bool { return !have[n.controller] }) {
		return nil
	}
	parent := "/"
	for _, level := range levels(m.path) {
		if err := enable(root, parent, ns); err != nil {
			return err
		}
		parent = level
	}
	return nil
}

// Set writes res to the cgroup's interface files: the values of the spec's
// v1-shaped fields converted to v2 the way runc and crun do (pids.max,
// memory.max/.low/.swap.max, cpu.weight/.max/.max.burst/.idle,
// cpuset.cpus/.mems, io.weight or io.bfq.weight, io.max,
// hugetlb.<size>.max and .rsvd.max, rdma.max; see the conversion
// functions), then the unified map verbatim, in key order (so it wins over
// converted values). A controller the cgroup lacks is enabled first, as
// Create does, or named in the error.
//
// Fields asking for what v2 cannot do are refused with an error naming
// the field, before anything is written: cpu.realtimeRuntime and
// realtimePeriod, memory.swappiness, memory.kernelTCP,
// memory.disableOOMKiller true, memory.useHierarchy false, the blockIO
// leaf weights, network. memory.kernel is deprecated by the spec and
// ignored, as runc does. Devices are SetDevices' job.
//
// Set writes absolute values only, so it is idempotent and serves
// `update`; a field left out (nil, or 0 where runc reads 0 as unset) is
// left as it is.
func (m *Manager) Set(res *specs.LinuxResources) error {
	if res == nil {
		return nil
	}
	if err := checkResources(res); err != nil {
		return err
	}
	root, err := m.mount()
	if err != nil {
		return err
	}
	res = withoutUnofferedWeight(root, res)
	dir := filepath.Join(root, m.path)
	if err := m.ensureControllers(root, dir, needs(res)); err != nil {
		return err
	}
	w := &writer{dir: dir}
	for _, step := range []func(*specs.LinuxResources) error{
		w.pids, w.memory, w.cpu, w.cpuset, w.io, w.hugetlb, w.rdma, w.unified,
	} {
		if err := step(res); err != nil {
			return err
		}
	}
	return nil
}

// Warn receives a note for each resource skipped rather than refused
// (see withoutUnofferedWeight); the CLI sends it to its log.
var Warn = func(msg string) {}

// withoutUnofferedWeight returns res without linux.resources.cpu.shares
// when the hierarchy's root offers no cpu controller at all (a hybrid
// host keeps it in cgroup v1, which hako does not use) and shares is the
// only cpu field asking for the controller. Shares are a relative weight,
// not a limit, and clients send them unasked: ctr 1024 by default,
// containerd's CRI 2 for every pod sandbox. Refusing them would make every
// such container fail on these hosts, where runc applies them in v1. A
// limit (quota, period, burst, idle, cpuset) still needs the controller
// and fails as before, and so does a level below the root without it.
func withoutUnofferedWeight(root string, res *specs.LinuxResources) *specs.LinuxResources {
	if res == nil || res.CPU == nil || res.CPU.Shares == nil || *res.CPU.Shares == 0 {
		return res
	}
	cpu := *res.CPU
	cpu.Shares = nil
	for _, n := range needs(&specs.LinuxResources{CPU: &cpu}) {
		if n.controller == "cpu" {
			return res
		}
	}
	if avail, _, err := readFields(root, "cgroup.controllers"); err != nil || avail["cpu"] {
		return res
	}
	Warn(fmt.Sprintf("linux.resources.cpu.shares (%d) ignored: the cgroup v2 hierarchy at %s has no cpu controller", *res.CPU.Shares, root))
	out := *res
	out.CPU = &cpu
	return &out
}

// checkResources refuses what cgroup v2 cannot do, and malformed values,
// before anything is written.
func checkResources(res *specs.LinuxResources) error {
	if res == nil {
		return nil
	}
	if n := res.Network; n != nil && (n.ClassID != nil || len(n.Priorities) > 0) {
		return errors.New("linux.resources.network: cgroup v2 has no net_cls or net_prio controller")
	}
	if mem := res.Memory; mem != nil {
		for _, f := range []struct {
			name string
			v    *int64
		}{{"limit", mem.Limit}, {"reservation", mem.Reservation}, {"swap", mem.Swap}} {
			if f.v != nil && *f.v < -1 {
				return fmt.Errorf("linux.resources.memory.%s: %d is neither a size nor -1 (unlimited)", f.name, *f.v)
			}
		}
		if _, err := swapMax(mem.Swap, mem.Limit); err != nil {
			return err
		}
		if mem.KernelTCP != nil {
			return errors.New("linux.resources.memory.kernelTCP: cgroup v2 has no separate limit for kernel TCP memory (memory.max covers it)")
		}
		if mem.Swappiness != nil {
			return errors.New("linux.resources.memory.swappiness: cgroup v2 has no per-cgroup swappiness")
		}
		if mem.DisableOOMKiller != nil && *mem.DisableOOMKiller {
			return errors.New("linux.resources.memory.disableOOMKiller: cgroup v2 cannot disable the OOM killer")
		}
		if mem.UseHierarchy != nil && !*mem.UseHierarchy {
			return errors.New("linux.resources.memory.useHierarchy: cgroup v2 accounting is always hierarchical")
		}
	}
	if c := res.CPU; c != nil {
		if set(c.RealtimeRuntime) {
			return errors.New("linux.resources.cpu.realtimeRuntime: cgroup v2 has no real-time CPU time limits")
		}
		if c.RealtimePeriod != nil && *c.RealtimePeriod != 0 {
			return errors.New("linux.resources.cpu.realtimePeriod: cgroup v2 has no real-time CPU time limits")
		}
		if c.Idle != nil && *c.Idle != 0 && *c.Idle != 1 {
			return fmt.Errorf("linux.resources.cpu.idle: %d is neither 0 nor 1", *c.Idle)
		}
	}
	if b := res.BlockIO; b != nil {
		if b.Weight != nil && *b.Weight != 0 {
			if _, err := ioWeight(*b.Weight); err != nil {
				return fmt.Errorf("linux.resources.blockIO.weight: %w", err)
			}
		}
		if b.LeafWeight != nil && *b.LeafWeight != 0 {
			return errors.New("linux.resources.blockIO.leafWeight: cgroup v2 has no leaf weights (they were CFQ's)")
		}
		for i, d := range b.WeightDevice {
			field := fmt.Sprintf("linux.resources.blockIO.weightDevice[%d]", i)
			if err := checkDevice(d.Major, d.Minor); err != nil {
				return fmt.Errorf("%s: %w", field, err)
			}
			if d.LeafWeight != nil && *d.LeafWeight != 0 {
				return fmt.Errorf("%s.leafWeight: cgroup v2 has no leaf weights (they were CFQ's)", field)
			}
			if d.Weight != nil {
				if _, err := ioWeight(*d.Weight); err != nil {
					return fmt.Errorf("%s.weight: %w", field, err)
				}
			}
		}
		for _, l := range throttleLists(b) {
			for i, d := range l.devs {
				if err := checkDevice(d.Major, d.Minor); err != nil {
					return fmt.Errorf("linux.resources.blockIO.%s[%d]: %w", l.name, i, err)
				}
			}
		}
	}
	for i, h := range res.HugepageLimits {
		if !validPageSize(h.Pagesize) {
			return fmt.Errorf("linux.resources.hugepageLimits[%d].pageSize: %q is not a huge page size like 2MB or 1GB", i, h.Pagesize)
		}
	}
	for dev := range res.Rdma {
		if dev == "" || strings.ContainsAny(dev, " \t\n\x00") {
			return fmt.Errorf("linux.resources.rdma: %q is not a device name", dev)
		}
	}
	for k := range res.Unified {
		if err := checkUnifiedKey(k); err != nil {
			return fmt.Errorf("%s: %w", unifiedField(k), err)
		}
	}
	return nil
}

func checkDevice(major, minor int64) error {
	if major < 0 || major > math.MaxUint32 || minor < 0 || minor > math.MaxUint32 {
		return fmt.Errorf("%d:%d is not a device number", major, minor)
	}
	return nil
}

// checkUnifiedKey accepts the name of one interface file of the cgroup.
func checkUnifiedKey(k string) error {
	switch {
	case k == "" || k == "." || k == "..":
		return errors.New("not a cgroup file name")
	case strings.ContainsAny(k, "/\x00"):
		return errors.New("must be a file name of the cgroup, without '/'")
	case strings.Contains(k, ".."):
		return errors.New("must not contain \"..\"")
	case !strings.Contains(k, ".") || strings.HasPrefix(k, "."):
		return errors.New("must have the form controller.file (like memory.high)")
	}
	return nil
}

// validPageSize accepts the kernel's names of huge page sizes: digits
// then KB, MB or GB ("64KB", "2MB", "1GB").
func validPageSize(s string) bool {
	n := len(s)
	if n < 3 || s[n-1] != 'B' || !strings.ContainsRune("KMG", rune(s[n-2])) {
		return false
	}
	digits := s[:n-2]
	return digits != "" && strings.Trim(digits, "0123456789") == "" && digits[0] != '0'
}

// SharesToWeight converts cpu.shares (exported for the systemd driver,
// whose CPUWeight property must agree).
func SharesToWeight(shares uint64) uint64 { return sharesToWeight(shares) }

// IOWeight converts a blkio weight to io.weight (exported for the systemd
// driver's IOWeight property).
func IOWeight(w uint16) (uint64, error) { return ioWeight(w) }

// sharesToWeight converts cpu.shares (cgroup v1: 2..262144, default 1024)
// to cpu.weight (cgroup v2: 1..10000, default 100). It is the conversion
// of runc 1.4 (opencontainers/cgroups ConvertCPUSharesToCgroupV2Value) and
// crun 1.23 (convert_shares_to_weight): a quadratic in log2(shares) that
// maps the minimum, the default and the maximum onto each other, so the
// default 1024 becomes the default 100. (Before, both used the linear
// 1 + (shares-2)*9999/262142, which turns 1024 into 39.) Out-of-range
// values are clamped; 0 means unset.
func sharesToWeight(shares uint64) uint64 {
	switch {
	case shares == 0:
		return 0
	case shares <= 2:
		return 1
	case shares >= 262144:
		return 10000
	}
	l := math.Log2(float64(shares))
	exp := (l*l+125*l)/612.0 - 7.0/34.0
	return uint64(math.Ceil(math.Pow(10, exp)))
}

// ioWeight converts a blkio weight (10..1000) to io.weight (1..10000),
// linearly, as runc and crun do: 1 + (w-10)*9999/990.
func ioWeight(w uint16) (uint64, error) {
	if w < 10 || w > 1000 {
		return 0, fmt.Errorf("%d is out of the blkio weight range 10..1000", w)
	}
	return 1 + (uint64(w)-10)*9999/990, nil
}

// limitValue renders a memory size for a v2 .max/.low/.high file: -1 is
// "max"; "" means unset (nil or 0, as for runc).
func limitValue(v *int64) string {
	switch {
	case v == nil || *v == 0:
		return ""
	case *v < 0:
		return "max"
	}
	return strconv.FormatInt(*v, 10)
}

// swapMax computes memory.swap.max from the spec's memory.swap, which is
// memory+swap (the v1 memsw limit), and memory.limit: swap.max =
// swap - limit. The rules are runc's (ConvertMemorySwapToCgroupV2Value,
// fs2 setMemory):
//
//   - swap unset (nil or 0): unset, except that an unlimited memory limit
//     (-1) also makes swap unlimited, as a v1 memsw limit would follow;
//   - swap -1: "max";
//   - memory limit -1: swap is taken as is (there is no sum to subtract
//     from);
//   - swap without a memory limit: error, the split is unknown;
//   - swap below the memory limit: error;
//   - swap equal to the memory limit: "0", no swap at all.
//
// "" means nothing to write.
func swapMax(swap, limit *int64) (string, error) {
	var s, l int64
	if swap != nil {
		s = *swap
	}
	if limit != nil {
		l = *limit
	}
	switch {
	case s == 0:
		if l == -1 {
			return "max", nil
		}
		return "", nil
	case s < 0:
		return "max", nil
	case l == -1:
		return strconv.FormatInt(s, 10), nil
	case l == 0:
		return "", fmt.Errorf("linux.resources.memory.swap: %d is memory+swap, which needs linux.resources.memory.limit too", s)
	case s < l:
		return "", fmt.Errorf("linux.resources.memory.swap: %d (memory+swap) is below linux.resources.memory.limit %d", s, l)
	}
	return strconv.FormatInt(s-l, 10), nil
}

// cpuMax computes the cpu.max line from the spec's quota and period. A
// positive quota is written as is, a negative one is "max" (no limit);
// quota 0 or unset with a period keeps the current quota (the first word
// of current, the file's content), so that `update --cpu-period` does not
// drop a limit; a period of 0 or unset is not written, which keeps the
// current one (100000 in a new cgroup). "" means nothing to write.
func cpuMax(quota *int64, period *uint64, current string) string {
	hasQuota := set(quota)
	hasPeriod := period != nil && *period != 0
	if !hasQuota && !hasPeriod {
		return ""
	}
	q := "max"
	switch {
	case hasQuota && *quota > 0:
		q = strconv.FormatInt(*quota, 10)
	case !hasQuota:
		if f := strings.Fields(current); len(f) > 0 {
			q = f[0]
		}
	}
	if !hasPeriod {
		return q
	}
	return q + " " + strconv.FormatUint(*period, 10)
}

type throttleList struct {
	name, key string
	devs      []specs.LinuxThrottleDevice
}

func throttleLists(b *specs.LinuxBlockIO) []throttleList {
	return []throttleList{
		{"throttleReadBpsDevice", "rbps", b.ThrottleReadBpsDevice},
		{"throttleWriteBpsDevice", "wbps", b.ThrottleWriteBpsDevice},
		{"throttleReadIOPSDevice", "riops", b.ThrottleReadIOPSDevice},
		{"throttleWriteIOPSDevice", "wiops", b.ThrottleWriteIOPSDevice},
	}
}

// ioMaxLines turns the four throttle lists into io.max lines, one per
// device in the order devices first appear ("8:0 rbps=1048576 wiops=100").
// A rate of 0, which removed a v1 throttle, is "max" (the kernel refuses a
// 0 limit); a later entry for the same device and key wins.
func ioMaxLines(b *specs.LinuxBlockIO) []string {
	type dev struct{ major, minor int64 }
	var order []dev
	vals := map[dev][]string{}
	for _, l := range throttleLists(b) {
		for _, d := range l.devs {
			k := dev{d.Major, d.Minor}
			if _, ok := vals[k]; !ok {
				order = append(order, k)
			}
			v := "max"
			if d.Rate != 0 {
				v = strconv.FormatUint(d.Rate, 10)
			}
			kv := vals[k]
			kv = slices.DeleteFunc(kv, func(s string) bool { return strings.HasPrefix(s, l.key+"=") })
			vals[k] = append(kv, l.key+"="+v)
		}
	}
	lines := make([]string, 0, len(order))
	for _, k := range order {
		kv := vals[k]
		// A stable key order: rbps wbps riops wiops.
		slices.SortStableFunc(kv, func(a, b string) int { return ioKeyRank(a) - ioKeyRank(b) })
		lines = append(lines, fmt.Sprintf("%d:%d %s", k.major, k.minor, strings.Join(kv, " ")))
	}
	return lines
}

func ioKeyRank(kv string) int {
	for i, p := range []string{"rbps=", "wbps=", "riops=", "wiops="} {
		if strings.HasPrefix(kv, p) {
			return i
		}
	}
	return 4
}

// hugetlbFile names the limit file of a page size: "2MB" -> hugetlb.2MB.max.
func hugetlbFile(pageSize string) string {
	return "hugetlb." + pageSize + ".max"
}

// rdmaLine renders one rdma.max line; "" when neither limit is given.
func rdmaLine(dev string, r specs.LinuxRdma) string {
	line := dev
	if r.HcaHandles != nil {
		line += " hca_handle=" + strconv.FormatUint(uint64(*r.HcaHandles), 10)
	}
	if r.HcaObjects != nil {
		line += " hca_object=" + strconv.FormatUint(uint64(*r.HcaObjects), 10)
	}
	if line == dev {
		return ""
	}
	return line
}

// writer writes the interface files of one cgroup.
type writer struct {
	dir string
}

// write writes value to file for field; a missing file of a controller
// the cgroup does not have becomes the controller error.
func (w *writer) write(field, controller, file, value string) error {
	err := writeFile(w.dir, file, value)
	if err == nil {
		return nil
	}
	if errors.Is(err, fs.ErrNotExist) && controller != "" {
		have, text, rerr := readFields(w.dir, "cgroup.controllers")
		if rerr == nil && !have[controller] {
			return &controllerError{field, controller, w.dir, text}
		}
	}
	return fmt.Errorf("%s: write %q to %s: %w", field, value, path.Join(w.dir, file), err)
}

func (w *writer) exists(file string) bool {
	_, err := os.Stat(filepath.Join(w.dir, file))
	return err == nil
}

func (w *writer) pids(res *specs.LinuxResources) error {
	if res.Pids == nil || res.Pids.Limit == nil {
		return nil
	}
	// -1 (any negative, as runc and crun take it) is no limit; 0 is a
	// real limit of no tasks at all (the spec says so; runc writes 1).
	v := "max"
	if l := *res.Pids.Limit; l >= 0 {
		v = strconv.FormatInt(l, 10)
	}
	return w.write("linux.resources.pids.limit", "pids", "pids.max", v)
}

func (w *writer) memory(res *specs.LinuxResources) error {
	mem := res.Memory
	if mem == nil {
		return nil
	}
	const f = "linux.resources.memory."
	if mem.CheckBeforeUpdate != nil && *mem.CheckBeforeUpdate {
		if err := w.checkMemoryUsage(mem); err != nil {
			return err
		}
	}
	swap, err := swapMax(mem.Swap, mem.Limit)
	if err != nil {
		return err
	}
	if swap != "" {
		if err := w.write(f+"swap", "memory", "memory.swap.max", swap); err != nil {
			// Without swap accounting there is no memory.swap.max; then
			// asking for no swap or for unlimited swap is already true.
			if !errors.Is(err, fs.ErrNotExist) || (swap != "max" && swap != "0") {
				return err
			}
		}
	}
	if v := limitValue(mem.Limit); v != "" {
		if err := w.write(f+"limit", "memory", "memory.max", v); err != nil {
			return err
		}
	}
	if v := limitValue(mem.Reservation); v != "" {
		if err := w.write(f+"reservation", "memory", "memory.low", v); err != nil {
			return err
		}
	}
	// memory.kernel is deprecated by the spec and ignored, as runc does:
	// v2 has no separate kernel memory limit and accounts it in memory.max.
	return nil
}

// checkMemoryUsage implements memory.checkBeforeUpdate: v2 does not refuse
// a limit below the usage (it reclaims, then OOM-kills), so hako refuses
// it itself. Best effort: without readable usage there is nothing to check.
func (w *writer) checkMemoryUsage(mem *specs.LinuxMemory) error {
	usage, err := readUint(w.dir, "memory.current")
	if err != nil {
		return nil
	}
	if mem.Limit != nil && *mem.Limit > 0 && uint64(*mem.Limit) <= usage {
		return fmt.Errorf("linux.resources.memory.limit: %d is not above the current usage %d (checkBeforeUpdate)", *mem.Limit, usage)
	}
	if mem.Swap != nil && *mem.Swap > 0 {
		swapUsage, _ := readUint(w.dir, "memory.swap.current")
		if uint64(*mem.Swap) <= usage+swapUsage {
			return fmt.Errorf("linux.resources.memory.swap: %d is not above the current memory+swap usage %d (checkBeforeUpdate)", *mem.Swap, usage+swapUsage)
		}
	}
	return nil
}

func (w *writer) cpu(res *specs.LinuxResources) error {
	c := res.CPU
	if c == nil {
		return nil
	}
	const f = "linux.resources.cpu."
	// The kernel refuses a weight for an idle cgroup, so leaving idle
	// comes before the weight and entering it after.
	if c.Idle != nil && *c.Idle == 0 {
		if err := w.write(f+"idle", "cpu", "cpu.idle", "0"); err != nil {
			return err
		}
	}
	if c.Shares != nil && *c.Shares != 0 {
		v := strconv.FormatUint(sharesToWeight(*c.Shares), 10)
		if err := w.write(f+"shares", "cpu", "cpu.weight", v); err != nil {
			return err
		}
	}
	if c.Idle != nil && *c.Idle != 0 {
		if err := w.write(f+"idle", "cpu", "cpu.idle", strconv.FormatInt(*c.Idle, 10)); err != nil {
			return err
		}
	}
	// A burst above what the current quota allows is refused (EINVAL);
	// when a new quota comes too, try the burst again after it.
	burstLater := false
	if c.Burst != nil {
		err := w.write(f+"burst", "cpu", "cpu.max.burst", strconv.FormatUint(*c.Burst, 10))
		if err != nil {
			if !errors.Is(err, unix.EINVAL) || !set(c.Quota) {
				return err
			}
			burstLater = true
		}
	}
	current := ""
	if c.Period != nil && *c.Period != 0 && !set(c.Quota) {
		if data, err := os.ReadFile(filepath.Join(w.dir, "cpu.max")); err == nil {
			current = string(data)
		}
	}
	if v := cpuMax(c.Quota, c.Period, current); v != "" {
		field := f + "quota"
		if !set(c.Quota) {
			field = f + "period"
		}
		if err := w.write(field, "cpu", "cpu.max", v); err != nil {
			return err
		}
	}
	if burstLater {
		return w.write(f+"burst", "cpu", "cpu.max.burst", strconv.FormatUint(*c.Burst, 10))
	}
	return nil
}

func (w *writer) cpuset(res *specs.LinuxResources) error {
	c := res.CPU
	if c == nil {
		return nil
	}
	if c.Cpus != "" {
		if err := w.write("linux.resources.cpu.cpus", "cpuset", "cpuset.cpus", c.Cpus); err != nil {
			return err
		}
	}
	if c.Mems != "" {
		return w.write("linux.resources.cpu.mems", "cpuset", "cpuset.mems", c.Mems)
	}
	return nil
}

// io writes the blkio weights and throttles. Weights go to io.bfq.weight
// as they are when the BFQ scheduler offers it (its range is blkio's), else
// to io.weight converted (ioWeight), as runc and crun do; per-device
// weights likewise, to io.bfq.weight when it takes per-device lines (Linux
// 5.4: the file then reads "default N"), else to io.weight.
func (w *writer) io(res *specs.LinuxResources) error {
	b := res.BlockIO
	if b == nil {
		return nil
	}
	const f = "linux.resources.blockIO."
	bfq, bfqErr := os.ReadFile(filepath.Join(w.dir, "io.bfq.weight"))
	hasBFQ := bfqErr == nil
	bfqPerDevice := hasBFQ && strings.HasPrefix(strings.TrimSpace(string(bfq)), "default")
	if b.Weight != nil && *b.Weight != 0 {
		var err error
		if hasBFQ {
			err = w.write(f+"weight", "io", "io.bfq.weight", strconv.FormatUint(uint64(*b.Weight), 10))
		} else {
			v, _ := ioWeight(*b.Weight)
			err = w.write(f+"weight", "io", "io.weight", strconv.FormatUint(v, 10))
		}
		if err != nil {
			return err
		}
	}
	var bfqLines, ioLines []string
	for _, d := range b.WeightDevice {
		if d.Weight == nil {
			continue
		}
		if bfqPerDevice {
			bfqLines = append(bfqLines, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, *d.Weight))
		} else {
			v, _ := ioWeight(*d.Weight)
			ioLines = append(ioLines, fmt.Sprintf("%d:%d %d", d.Major, d.Minor, v))
		}
	}
	if len(bfqLines) > 0 {
		if err := w.write(f+"weightDevice", "io", "io.bfq.weight", strings.Join(bfqLines, "\n")+"\n"); err != nil {
			return err
		}
	}
	if len(ioLines) > 0 {
		if err := w.write(f+"weightDevice", "io", "io.weight", strings.Join(ioLines, "\n")+"\n"); err != nil {
			return err
		}
	}
	if lines := ioMaxLines(b); len(lines) > 0 {
		field := f + "throttle"
		for _, l := range throttleLists(b) {
			if len(l.devs) > 0 {
				field = f + l.name
				break
			}
		}
		return w.write(field, "io", "io.max", strings.Join(lines, "\n")+"\n")
	}
	return nil
}

// hugetlb writes hugetlb.<size>.max and, where the kernel has reservation
// accounting (Linux 5.7), hugetlb.<size>.rsvd.max too: the spec asks for
// the reservation limit when there is one.
func (w *writer) hugetlb(res *specs.LinuxResources) error {
	for i, h := range res.HugepageLimits {
		field := fmt.Sprintf("linux.resources.hugepageLimits[%d]", i)
		v := strconv.FormatUint(h.Limit, 10)
		err := w.write(field, "hugetlb", hugetlbFile(h.Pagesize), v)
		if errors.Is(err, fs.ErrNotExist) { // the controller is there (else a controllerError), the size is not
			return fmt.Errorf("%s.pageSize: the host has no %s huge pages (it has: %s)", field, h.Pagesize, strings.Join(w.pageSizes(), ", "))
		}
		if err != nil {
			return err
		}
		rsvd := "hugetlb." + h.Pagesize + ".rsvd.max"
		if w.exists(rsvd) {
			if err := w.write(field, "hugetlb", rsvd, v); err != nil {
				return err
			}
		}
	}
	return nil
}

// pageSizes lists the huge page sizes the cgroup has files for.
func (w *writer) pageSizes() []string {
	return hugePageSizes(w.dir)
}

func hugePageSizes(dir string) []string {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil
	}
	var sizes []string
	for _, e := range entries {
		n := e.Name()
		if s, ok := strings.CutPrefix(n, "hugetlb."); ok {
			if s, ok := strings.CutSuffix(s, ".max"); ok && validPageSize(s) {
				sizes = append(sizes, s)
			}
		}
	}
	return sizes
}

func (w *writer) rdma(res *specs.LinuxResources) error {
	var lines []string
	for _, dev := range sortedKeys(res.Rdma) {
		if l := rdmaLine(dev, res.Rdma[dev]); l != "" {
			lines = append(lines, l)
		}
	}
	if len(lines) == 0 {
		return nil
	}
	return w.write("linux.resources.rdma", "rdma", "rdma.max", strings.Join(lines, "\n")+"\n")
}

// unified writes the raw map, in key order, each line of a value as a
// write of its own (io.max and friends take one device per write).
func (w *writer) unified(res *specs.LinuxResources) error {
	for _, k := range sortedKeys(res.Unified) {
		v := res.Unified[k]
		if strings.Contains(v, "\n") && !strings.HasSuffix(v, "\n") {
			v += "\n"
		}
		if err := w.write(unifiedField(k), unifiedController(k), k, v); err != nil {
			return err
		}
	}
	return nil
}
