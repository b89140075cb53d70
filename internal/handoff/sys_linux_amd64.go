package handoff

// System call numbers of linux/amd64 (package syscall's, which this package does not import: handoff_linux.go).
const (
	sysRead       = 0
	sysClose      = 3
	sysExecve     = 59
	sysOpenat     = 257
	sysReadlinkat = 267
)
