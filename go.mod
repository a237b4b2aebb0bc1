module github.com/hako-runtime/hako

go 1.26.8

require (
	github.com/alecthomas/kong v1.17.0
	github.com/opencontainers/runtime-spec v1.3.0
	github.com/seccomp/libseccomp-golang v0.11.1
	golang.org/x/sys v0.50.0
)

require (
	github.com/cilium/ebpf v0.20.0 // indirect
	github.com/godbus/dbus/v5 v5.2.4 // indirect
)
