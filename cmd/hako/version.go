package main

import (
	"fmt"
	"runtime"

	specs "github.com/opencontainers/runtime-spec/specs-go"
	seccomp "github.com/seccomp/libseccomp-golang"
)

// versionText is runc's --version layout, which clients parse.
func versionText() string {
	maj, min, mic := seccomp.GetLibraryVersion()
	return fmt.Sprintf("hako version %s\ncommit: %s\nspec: %s\ngo: %s\nlibseccomp: %d.%d.%d",
		version, gitCommit, specs.Version, runtime.Version(), maj, min, mic)
}
