// Package mounts builds a container's root filesystem inside the init's new
// mount namespace: the configured mounts, devices, the pivot into the rootfs
// and the masked and read-only paths. Every destination is resolved inside
// the rootfs so that a symlink planted in the image can never make a mount
// land on the host.
package mounts

import specs "github.com/opencontainers/runtime-spec/specs-go"

// RootfsConfig is everything the rootfs set-up needs, taken from the spec by
// the init process.
type RootfsConfig struct {
	// Rootfs is the absolute host path of the container's root filesystem.
	Rootfs string
	// Mounts are mounted in order, after the rootfs itself.
	Mounts []specs.Mount
	// Propagation is linux.rootfsPropagation ("" means rslave, as runc).
	Propagation string
	// Readonly is root.readonly.
	Readonly bool
	// Devices are linux.devices, created after the default devices.
	Devices []specs.LinuxDevice
	// InUserNS says the init runs in a new user namespace: devices are
	// bind-mounted from the host instead of made with mknod.
	InUserNS bool
	// NoPivot uses MS_MOVE and chroot instead of pivot_root (--no-pivot).
	NoPivot bool
	// HostMountNS says the container has no mount namespace of its own
	// (the config lists none): the init runs in its caller's. Nothing
	// outside the rootfs is changed then: "/" keeps its propagation, the
	// rootfs bind is made rprivate so that the container's mounts do not
	// propagate to the caller's peers, and the init chroots instead of
	// pivoting. The caller's runtime detaches the bind at delete.
	HostMountNS bool
	// MaskedPaths and ReadonlyPaths are linux.maskedPaths and linux.readonlyPaths.
	MaskedPaths   []string
	ReadonlyPaths []string
	// Detached maps the index of a mount in Mounts to an fd of a detached
	// mount tree made for it by hako's parent process (open_tree and
	// mount_setattr): idmapped mounts, which need privileges over the
	// filesystem that the init, inside the container's user namespace,
	// does not have. Prepare attaches it at the destination.
	Detached map[int]int
}

// NeedsIDMap says whether a mount asks for an idmapped mount: explicit
// uidMappings/gidMappings, or the idmap/ridmap options.
func NeedsIDMap(m *specs.Mount) (need, recursive bool, err error) {
	opts, err := ParseOptions(m.Options)
	if err != nil {
		return false, false, err
	}
	need = opts.IDMap || opts.RIDMap || len(m.UIDMappings) > 0 || len(m.GIDMappings) > 0
	return need, opts.RIDMap || (need && opts.Recursive), nil
}
