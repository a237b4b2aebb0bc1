//go:build linux && (mips64 || mips64le)

package mounts

// n64 numbers are offset by 5000.
const (
	sysOpenTree     = 5000 + 428
	sysMoveMount    = 5000 + 429
	sysFsopen       = 5000 + 430
	sysFsconfig     = 5000 + 431
	sysFsmount      = 5000 + 432
	sysOpenat2      = 5000 + 437
	sysMountSetattr = 5000 + 442
)
