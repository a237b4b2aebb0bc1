package container

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	"golang.org/x/sys/unix"

	"github.com/hako-runtime/hako/seccomp"
)

// compileSeccomp returns the compiled filter of cfg in seccomp's binary
// form, from the cache under the state root when it is there. libseccomp
// takes about 20 ms for podman's default profile (three architectures),
// while a cache hit costs a hash and a small read: every container of a
// podman or Kubernetes host uses one of a handful of profiles.
//
// The key covers everything the program depends on: the profile, this
// binary (its identity, so a rebuilt hako never reuses an old program),
// the linked libseccomp, the architecture and the running kernel.
func compileSeccomp(root string, cfg *specs.LinuxSeccomp) ([]byte, error) {
	if cfg == nil {
		return nil, nil
	}
	raw, err := json.Marshal(cfg)
	if err != nil {
		return nil, err
	}
	h := sha256.New()
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/exe", &st); err == nil {
		fmt.Fprintf(h, "exe %d %d %d %d\n", st.Dev, st.Ino, st.Size, st.Mtim.Nano())
	}
	var uts unix.Utsname
	unix.Uname(&uts)
	fmt.Fprintf(h, "libseccomp %s\narch %s\nkernel %s %s\n", seccomp.Version(), runtime.GOARCH,
		unix.ByteSliceToString(uts.Release[:]), unix.ByteSliceToString(uts.Version[:]))
	h.Write(raw)
	dir := filepath.Join(root, ".cache", "seccomp")
	path := filepath.Join(dir, hex.EncodeToString(h.Sum(nil)))
	if b, err := os.ReadFile(path); err == nil {
		var p seccomp.Program
		if p.UnmarshalBinary(b) == nil {
			return b, nil
		}
	}
	prog, err := seccomp.Compile(cfg)
	if err != nil {
		return nil, err
	}
	b, err := prog.MarshalBinary()
	if err != nil {
		return nil, err
	}
	// The cache is an optimisation: failing to write it is not an error.
	if os.MkdirAll(dir, 0o700) == nil {
		tmp := fmt.Sprintf("%s.%d.tmp", path, os.Getpid())
		if os.WriteFile(tmp, b, 0o600) == nil {
			if os.Rename(tmp, path) != nil {
				os.Remove(tmp)
			}
		}
	}
	return b, nil
}
