//go:build linux && !mips && !mipsle && !mips64 && !mips64le

package mounts

// Since Linux 5.1 new system calls have the same number on every
// architecture (except alpha and the mips ABIs, which add an offset).
const (
	sysOpenTree     = 428
	sysMoveMount    = 429
	sysFsopen       = 430
	sysFsconfig     = 431
	sysFsmount      = 432
	sysOpenat2      = 437
	sysMountSetattr = 442
)
