//go:build unix

package service

import "golang.org/x/sys/unix"

// nanotime reads CLOCK_MONOTONIC, the clock systemd compares MONOTONIC_USEC= with.
func nanotime() int64 {
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_MONOTONIC, &ts); err != nil {
		return 0
	}
	return ts.Nano()
}
