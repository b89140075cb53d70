package handoff

// System call numbers of linux/arm64 (package syscall's, which this package does not import: handoff_linux.go).
const (
	sysOpenat     = 56
	sysClose      = 57
	sysRead       = 63
	sysReadlinkat = 78
	sysExecve     = 221
)
