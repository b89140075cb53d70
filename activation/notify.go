package activation

import (
	"strings"
)

// State strings of sd_notify(3).
const (
	Ready     = "READY=1"
	Reloading = "RELOADING=1"
	Stopping  = "STOPPING=1"
	Watchdog  = "WATCHDOG=1"
)

// MaxNotifyMessage bounds a notify message, as systemd's (NOTIFY_BUFFER_MAX, PIPE_BUF). Declared for every OS, as
// the rest of the API is: the daemon names it in a message on every OS (a declaration in notify_unix.go alone made
// gpm fail to build for Windows).
const MaxNotifyMessage = 4096

// Message is one received notification.
type Message struct {
	PID, UID int               // the sender, from SCM_CREDENTIALS
	Fields   map[string]string // KEY=VALUE lines; a later duplicate wins
	// Truncated: the message was longer than MaxNotifyMessage, and is dropped (Fields is nil).
	Truncated bool
}

// ParseState splits an sd_notify payload into its KEY=VALUE lines. Lines without '=' are ignored, as systemd does.
func ParseState(payload string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(payload, "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && k != "" {
			m[k] = v
		}
	}
	return m
}
