package mounts

import (
	"fmt"
	"strings"
	"syscall"
)

// Options is the parsed form of a mount's "options" list.
type Options struct {
	// Flags are the MS_* flags to set (including MS_BIND, MS_REC and
	// MS_REMOUNT when asked for), without propagation flags.
	Flags uintptr
	// ClearFlags are the MS_* flags an option explicitly cleared ("rw",
	// "suid", "dev", "exec", ...). Mount(2) has no way to clear a flag other
	// than not passing it; they are kept so callers can tell "rw" from
	// "not said".
	ClearFlags uintptr
	// PropagationFlags are MS_SHARED/MS_SLAVE/MS_PRIVATE/MS_UNBINDABLE
	// (with MS_REC for the r* forms), in the order given, to apply one by
	// one after the mount.
	PropagationFlags []uintptr
	// RecAttrSet and RecAttrClr are MOUNT_ATTR_* bits of the recursive
	// options (rro, rnosuid, ...), applied with mount_setattr(AT_RECURSIVE).
	// When the access-time mode changes, RecAttrClr holds all of
	// MOUNT_ATTR__ATIME, as the kernel requires.
	RecAttrSet, RecAttrClr uint64
	// Data is everything else, comma separated, for the filesystem.
	Data string
	// Bind is set by "bind" and "rbind"; Recursive by "rbind".
	Bind, Recursive bool
	// IDMap and RIDMap are "idmap" and "ridmap".
	IDMap, RIDMap bool
	// TmpCopyUp is "tmpcopyup": copy the directory's previous contents into
	// the new tmpfs.
	TmpCopyUp bool
}

type flagOption struct {
	clear bool
	flag  uintptr
}

var flagOptions = map[string]flagOption{
	"defaults":      {false, 0},
	"ro":            {false, syscall.MS_RDONLY},
	"rw":            {true, syscall.MS_RDONLY},
	"nosuid":        {false, syscall.MS_NOSUID},
	"suid":          {true, syscall.MS_NOSUID},
	"nodev":         {false, syscall.MS_NODEV},
	"dev":           {true, syscall.MS_NODEV},
	"noexec":        {false, syscall.MS_NOEXEC},
	"exec":          {true, syscall.MS_NOEXEC},
	"sync":          {false, syscall.MS_SYNCHRONOUS},
	"async":         {true, syscall.MS_SYNCHRONOUS},
	"dirsync":       {false, syscall.MS_DIRSYNC},
	"remount":       {false, syscall.MS_REMOUNT},
	"mand":          {false, syscall.MS_MANDLOCK},
	"nomand":        {true, syscall.MS_MANDLOCK},
	"noatime":       {false, syscall.MS_NOATIME},
	"atime":         {true, syscall.MS_NOATIME},
	"nodiratime":    {false, syscall.MS_NODIRATIME},
	"diratime":      {true, syscall.MS_NODIRATIME},
	"relatime":      {false, syscall.MS_RELATIME},
	"norelatime":    {true, syscall.MS_RELATIME},
	"strictatime":   {false, msStrictatime},
	"nostrictatime": {true, msStrictatime},
	"lazytime":      {false, msLazytime},
	"nolazytime":    {true, msLazytime},
	"silent":        {false, syscall.MS_SILENT},
	"loud":          {true, syscall.MS_SILENT},
	"nosymfollow":   {false, msNoSymfollow},
	"symfollow":     {true, msNoSymfollow},
	"bind":          {false, syscall.MS_BIND},
	"rbind":         {false, syscall.MS_BIND | syscall.MS_REC},
}

var propagationOptions = map[string]uintptr{
	"shared":      syscall.MS_SHARED,
	"rshared":     syscall.MS_SHARED | syscall.MS_REC,
	"slave":       syscall.MS_SLAVE,
	"rslave":      syscall.MS_SLAVE | syscall.MS_REC,
	"private":     syscall.MS_PRIVATE,
	"rprivate":    syscall.MS_PRIVATE | syscall.MS_REC,
	"unbindable":  syscall.MS_UNBINDABLE,
	"runbindable": syscall.MS_UNBINDABLE | syscall.MS_REC,
}

// recAttrOption is a recursive option: clear or set attr. An atime option
// (atime true) replaces the whole access-time mode with attr.
type recAttrOption struct {
	clear bool
	atime bool
	attr  uint64
}

var recAttrOptions = map[string]recAttrOption{
	"rro":          {false, false, MountAttrRdonly},
	"rrw":          {true, false, MountAttrRdonly},
	"rnosuid":      {false, false, MountAttrNosuid},
	"rsuid":        {true, false, MountAttrNosuid},
	"rnodev":       {false, false, MountAttrNodev},
	"rdev":         {true, false, MountAttrNodev},
	"rnoexec":      {false, false, MountAttrNoexec},
	"rexec":        {true, false, MountAttrNoexec},
	"rnodiratime":  {false, false, MountAttrNodiratime},
	"rdiratime":    {true, false, MountAttrNodiratime},
	"rnosymfollow": {false, false, MountAttrNosymfollow},
	"rsymfollow":   {true, false, MountAttrNosymfollow},
	// The access time is one mode out of three (relatime, noatime,
	// strictatime); the kernel accepts a change only with all of
	// MOUNT_ATTR__ATIME cleared. "ratime" and "rnostrictatime" go back to the
	// kernel default, relatime; "rnorelatime" means full updates, strictatime.
	"rnoatime":       {false, true, MountAttrNoatime},
	"ratime":         {false, true, MountAttrRelatime},
	"rrelatime":      {false, true, MountAttrRelatime},
	"rnorelatime":    {false, true, MountAttrStrictatime},
	"rstrictatime":   {false, true, MountAttrStrictatime},
	"rnostrictatime": {false, true, MountAttrRelatime},
}

// ParseOptions turns a mount's options into flags, propagation changes,
// recursive attributes and the data string for the filesystem. A later
// option overrides an earlier one that contradicts it ("ro,rw" is rw).
// Options it does not know go to Data unchanged, in order.
func ParseOptions(options []string) (Options, error) {
	var o Options
	var data []string
	for _, opt := range options {
		if opt == "" {
			continue
		}
		if strings.IndexByte(opt, 0) >= 0 {
			return Options{}, fmt.Errorf("mount option %q contains a NUL byte", opt)
		}
		if f, ok := flagOptions[opt]; ok {
			if f.clear {
				o.Flags &^= f.flag
				o.ClearFlags |= f.flag
			} else {
				o.Flags |= f.flag
				o.ClearFlags &^= f.flag
			}
			switch opt {
			case "bind":
				o.Bind = true
			case "rbind":
				o.Bind, o.Recursive = true, true
			}
			continue
		}
		if p, ok := propagationOptions[opt]; ok {
			o.PropagationFlags = append(o.PropagationFlags, p)
			continue
		}
		if r, ok := recAttrOptions[opt]; ok {
			switch {
			case r.atime:
				o.RecAttrClr |= MountAttrAtimeMask
				o.RecAttrSet = o.RecAttrSet&^MountAttrAtimeMask | r.attr
			case r.clear:
				o.RecAttrSet &^= r.attr
				o.RecAttrClr |= r.attr
			default:
				o.RecAttrSet |= r.attr
				o.RecAttrClr &^= r.attr
			}
			continue
		}
		switch opt {
		case "tmpcopyup":
			o.TmpCopyUp = true
		case "idmap":
			o.IDMap = true
		case "ridmap":
			o.RIDMap = true
		default:
			data = append(data, opt)
		}
	}
	if o.IDMap && o.RIDMap {
		return Options{}, fmt.Errorf("mount options idmap and ridmap conflict")
	}
	o.Data = strings.Join(data, ",")
	return o, nil
}

// propagationMask is every MS_* bit that is about propagation.
const propagationMask = syscall.MS_SHARED | syscall.MS_SLAVE | syscall.MS_PRIVATE | syscall.MS_UNBINDABLE
