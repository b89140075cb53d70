//go:build !windows

package startup

// setRecovery is never reached off Windows (installWindows refuses first).
func setRecovery(string) error { return errNotWindows }
