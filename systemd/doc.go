// Package systemd is hako's systemd cgroup driver (--systemd-cgroup): it
// asks a systemd manager over D-Bus for a transient scope unit that holds
// the container, and leaves the cgroup files to the cgroupv2 package.
//
// # Names
//
// ParsePath turns linux.cgroupsPath into a slice and a scope unit, with
// runc's convention "slice:prefix:name" -> "prefix-name.scope" in slice
// (the default slice is system.slice as root, user.slice rootless; an
// empty cgroupsPath is ":hako:<id>").
//
// # Which manager
//
// As root the scope is made by PID 1, rootless by the user's own manager
// (user@UID.service), which gets the scope delegated to the user: its
// cgroup, under user.slice/user-UID.slice/user@UID.service/, is owned by
// the user, who can write its files and make cgroups below it. See
// Connect for how the manager is reached. One Conn serves a hako process.
//
// # The flow in the lifecycle
//
// A scope can only be started around a process that exists (its PIDs
// property), so the init cannot be cloned straight into the container's
// cgroup (CLONE_INTO_CGROUP) as with the cgroupfs driver. Instead:
//
//  1. ParsePath, then Connect (before anything is started, so that a
//     missing bus fails the create early);
//  2. start the init without a cgroup fd; its C stage (nsexec) blocks
//     reading the bootstrap from the sync socket, so it has run nothing
//     of the container yet;
//  3. StartScope(slice, unit, initPid, resources, annotations): systemd
//     moves the init into the new scope and applies the limits it has
//     properties for; it returns the scope's cgroup;
//  4. cgroupv2.Restore(cgroup, nil): Set(resources) writes every limit
//     (the exact values, and what systemd has no property for: hugetlb,
//     rdma, io.max, unified keys, ...), and as root SetDevices installs
//     the device filter;
//  5. only then send the bootstrap: everything the init does from then
//     on, including the fork of the container's PID 1 in a new pid
//     namespace, happens inside the scope.
//
// From then on the cgroup is the fs driver's (pids, freeze and thaw,
// kill, stats, OOM events). `update` calls SetResources before the fs
// driver's Set, so that systemd's properties follow. `exec` clones into
// the scope (CLONE_INTO_CGROUP) as with the fs driver; a rootless hako
// outside the user's own cgroup tree (a login session's scope, a system
// service) is refused that (EACCES: the common ancestor is root's) and
// starts the process without it, then has AttachProcesses move it before
// its bootstrap. At delete: kill through the cgroup (cgroup.kill; systemd
// removes an emptied scope at once, so the cgroup may vanish under the
// kill), then StopUnit (a unit already gone is fine), ResetFailed, and
// the fs driver's Destroy for what may be left. Created levels are nil:
// systemd owns the scope and its slices.
//
// # Resources
//
// The limits systemd has properties for (MemoryMax, MemoryLow,
// MemorySwapMax, TasksMax, CPUWeight, CPUQuotaPerSecUSec and
// CPUQuotaPeriodUSec, AllowedCPUs, AllowedMemoryNodes, IOWeight) are set
// as properties, converted as the cgroupv2 package converts them, so that
// a daemon-reload (when systemd rewrites the cgroup files of its units
// from their properties) keeps them. A limit whose controller the slice
// cannot get is refused with an error naming the controller (systemd
// would silently ignore the property).
package systemd
