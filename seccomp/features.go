package seccomp

import (
	"fmt"
	"sync"

	libseccomp "github.com/seccomp/libseccomp-golang"
)

// Version returns the version of the linked libseccomp, as "2.5.4".
func Version() string {
	major, minor, micro := libseccomp.GetLibraryVersion()
	return fmt.Sprintf("%d.%d.%d", major, minor, micro)
}

// Actions lists the actions Compile accepts, for the features document.
func Actions() []string { return strs(actionNames) }

// Operators lists the argument operators Compile accepts.
func Operators() []string { return strs(operatorNames) }

// KnownFlags lists the filter flags Compile accepts (see the package
// documentation for SECCOMP_FILTER_FLAG_TSYNC).
func KnownFlags() []string { return strs(flagNames) }

// SupportedFlags lists the known flags that this kernel supports.
func SupportedFlags() []string {
	var out []string
	for _, f := range flagNames {
		if checkKernelFlag(knownFlags[f]) == nil {
			out = append(out, string(f))
		}
	}
	return out
}

// Archs lists the architectures the linked libseccomp supports, for the
// features document. Compile accepts those that have the byte order of the
// native architecture (a filter cannot mix byte orders).
func Archs() []string { return append([]string(nil), supportedArchs()...) }

var supportedArchs = sync.OnceValue(func() []string {
	var out []string
	for _, a := range archNames {
		f, err := libseccomp.NewFilter(libseccomp.ActAllow)
		if err != nil {
			return nil
		}
		// Alone in the filter, an architecture fails only when this
		// libseccomp does not know it.
		if f.RemoveArch(libseccomp.ArchNative) == nil && f.AddArch(archs[a]) == nil {
			out = append(out, string(a))
		}
		f.Release()
	}
	return out
})

func strs[T ~string](in []T) []string {
	out := make([]string, len(in))
	for i, s := range in {
		out[i] = string(s)
	}
	return out
}
