package spec

import (
	"fmt"
	"sort"
	"strings"

	"golang.org/x/sys/unix"
)

// capabilityNames maps every capability the kernel defines (up to
// CAP_LAST_CAP) to its number. The values come from x/sys/unix so they
// always match the kernel headers the module was generated from.
var capabilityNames = map[string]int{
	"CAP_CHOWN":              unix.CAP_CHOWN,
	"CAP_DAC_OVERRIDE":       unix.CAP_DAC_OVERRIDE,
	"CAP_DAC_READ_SEARCH":    unix.CAP_DAC_READ_SEARCH,
	"CAP_FOWNER":             unix.CAP_FOWNER,
	"CAP_FSETID":             unix.CAP_FSETID,
	"CAP_KILL":               unix.CAP_KILL,
	"CAP_SETGID":             unix.CAP_SETGID,
	"CAP_SETUID":             unix.CAP_SETUID,
	"CAP_SETPCAP":            unix.CAP_SETPCAP,
	"CAP_LINUX_IMMUTABLE":    unix.CAP_LINUX_IMMUTABLE,
	"CAP_NET_BIND_SERVICE":   unix.CAP_NET_BIND_SERVICE,
	"CAP_NET_BROADCAST":      unix.CAP_NET_BROADCAST,
	"CAP_NET_ADMIN":          unix.CAP_NET_ADMIN,
	"CAP_NET_RAW":            unix.CAP_NET_RAW,
	"CAP_IPC_LOCK":           unix.CAP_IPC_LOCK,
	"CAP_IPC_OWNER":          unix.CAP_IPC_OWNER,
	"CAP_SYS_MODULE":         unix.CAP_SYS_MODULE,
	"CAP_SYS_RAWIO":          unix.CAP_SYS_RAWIO,
	"CAP_SYS_CHROOT":         unix.CAP_SYS_CHROOT,
	"CAP_SYS_PTRACE":         unix.CAP_SYS_PTRACE,
	"CAP_SYS_PACCT":          unix.CAP_SYS_PACCT,
	"CAP_SYS_ADMIN":          unix.CAP_SYS_ADMIN,
	"CAP_SYS_BOOT":           unix.CAP_SYS_BOOT,
	"CAP_SYS_NICE":           unix.CAP_SYS_NICE,
	"CAP_SYS_RESOURCE":       unix.CAP_SYS_RESOURCE,
	"CAP_SYS_TIME":           unix.CAP_SYS_TIME,
	"CAP_SYS_TTY_CONFIG":     unix.CAP_SYS_TTY_CONFIG,
	"CAP_MKNOD":              unix.CAP_MKNOD,
	"CAP_LEASE":              unix.CAP_LEASE,
	"CAP_AUDIT_WRITE":        unix.CAP_AUDIT_WRITE,
	"CAP_AUDIT_CONTROL":      unix.CAP_AUDIT_CONTROL,
	"CAP_SETFCAP":            unix.CAP_SETFCAP,
	"CAP_MAC_OVERRIDE":       unix.CAP_MAC_OVERRIDE,
	"CAP_MAC_ADMIN":          unix.CAP_MAC_ADMIN,
	"CAP_SYSLOG":             unix.CAP_SYSLOG,
	"CAP_WAKE_ALARM":         unix.CAP_WAKE_ALARM,
	"CAP_BLOCK_SUSPEND":      unix.CAP_BLOCK_SUSPEND,
	"CAP_AUDIT_READ":         unix.CAP_AUDIT_READ,
	"CAP_PERFMON":            unix.CAP_PERFMON,
	"CAP_BPF":                unix.CAP_BPF,
	"CAP_CHECKPOINT_RESTORE": unix.CAP_CHECKPOINT_RESTORE,
}

// knownCapabilities lists capabilityNames ordered by number.
var knownCapabilities = sortedByValue(capabilityNames)

// CapabilityValue returns the kernel number of a capability named like
// "CAP_SYS_ADMIN". The canonical upper-case spelling is accepted and, for
// convenience, its all-lower-case form ("cap_sys_admin") too; mixed case and
// names without the CAP_ prefix are refused.
func CapabilityValue(name string) (int, error) {
	if v, ok := lookupName(capabilityNames, name); ok {
		return v, nil
	}
	return 0, fmt.Errorf("unknown capability %q", name)
}

// KnownCapabilities returns the names of all capabilities hako knows, in
// upper case and ordered by kernel number (CAP_CHOWN first). The caller may
// modify the returned slice.
func KnownCapabilities() []string {
	return append([]string(nil), knownCapabilities...)
}

// lookupName finds name in table, which is keyed by upper-case names; an
// all-lower-case name is also accepted.
func lookupName(table map[string]int, name string) (int, bool) {
	if v, ok := table[name]; ok {
		return v, true
	}
	if upper := strings.ToUpper(name); upper != name && strings.ToLower(name) == name {
		v, ok := table[upper]
		return v, ok
	}
	return 0, false
}

// sortedByValue returns the keys of table ordered by their values.
func sortedByValue(table map[string]int) []string {
	names := make([]string, 0, len(table))
	for n := range table {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return table[names[i]] < table[names[j]] })
	return names
}
