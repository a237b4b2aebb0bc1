//go:build linux && (mips || mipsle)

package mounts

// o32 numbers are offset by 4000.
const (
	sysOpenTree     = 4000 + 428
	sysMoveMount    = 4000 + 429
	sysFsopen       = 4000 + 430
	sysFsconfig     = 4000 + 431
	sysFsmount      = 4000 + 432
	sysOpenat2      = 4000 + 437
	sysMountSetattr = 4000 + 442
)
