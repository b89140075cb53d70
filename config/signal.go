package config

import (
	"strconv"
	"strings"
)

// signals holds the portable POSIX numbers so that validation works on every OS the CLI builds for.
var signals = map[string]int{
	"SIGHUP": 1, "SIGINT": 2, "SIGQUIT": 3, "SIGILL": 4, "SIGTRAP": 5, "SIGABRT": 6, "SIGBUS": 7, "SIGFPE": 8,
	"SIGKILL": 9, "SIGUSR1": 10, "SIGSEGV": 11, "SIGUSR2": 12, "SIGPIPE": 13, "SIGALRM": 14, "SIGTERM": 15,
	"SIGCHLD": 17, "SIGCONT": 18, "SIGSTOP": 19, "SIGTSTP": 20, "SIGTTIN": 21, "SIGTTOU": 22, "SIGURG": 23,
	"SIGXCPU": 24, "SIGXFSZ": 25, "SIGVTALRM": 26, "SIGPROF": 27, "SIGWINCH": 28, "SIGIO": 29, "SIGPWR": 30,
	"SIGSYS": 31,
	// SIGBREAK is Windows only: the C runtime's 21, a CTRL_BREAK_EVENT, which Node sees as SIGBREAK. Elsewhere 21 is
	// SIGTTIN, and platform refuses the name SIGBREAK when it is sent.
	"SIGBREAK": 21,
}

// SignalNumber parses "SIGTERM", "TERM", "term" or "15" into a Linux signal number.
// The daemon maps it to the OS's own number through platform; these are only used to validate and to name.
func SignalNumber(s string) (int, bool) {
	s = strings.ToUpper(strings.TrimSpace(s))
	if n, err := strconv.Atoi(s); err == nil {
		return n, n > 0 && n < 65
	}
	if !strings.HasPrefix(s, "SIG") {
		s = "SIG" + s
	}
	n, ok := signals[s]
	return n, ok
}

// SignalName returns the canonical "SIGXXX" name of s, or s unchanged when it is unknown.
func SignalName(s string) string {
	u := strings.ToUpper(strings.TrimSpace(s))
	if !strings.HasPrefix(u, "SIG") {
		u = "SIG" + u
	}
	if _, ok := signals[u]; ok {
		return u
	}
	return s
}
