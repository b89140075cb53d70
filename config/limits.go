package config

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxInstances is the most instances one app may have, however the count arrives: `-i`, `gpm scale`, a process
// file, the protocol's start and scale, PM2's dump, resurrect. It guards against a typo starting 100,000 processes
// (each holds pipes and log files in the daemon; the machine runs out of pids and descriptors long before).
const MaxInstances = 1024

// InstancesMsg completes "<app>.instances " for a count over MaxInstances.
func InstancesMsg(n int) string {
	return fmt.Sprintf("must be at most %d (config.MaxInstances), got %d", MaxInstances, n)
}

// CheckInstances refuses an instance count outside 1..MaxInstances; what names the count in the message
// ("-i", "scale api to").
func CheckInstances(what string, n int) error {
	switch {
	case n < 1:
		return fmt.Errorf("%s %d: at least 1 instance is needed", what, n)
	case n > MaxInstances:
		return fmt.Errorf("%s %d: at most %d instances per app (config.MaxInstances)", what, n, MaxInstances)
	}
	return nil
}

// MaxNameLen is the longest app name or namespace, in bytes. A name is part of file names: its log files are
// logs/<name>-error-<id>.log and the file-system limit is 255 bytes a component.
const MaxNameLen = 128

// CheckName enforces the rules for app names and namespaces (README "Names"), wherever a name enters: CLI flags,
// process files, the protocol, dump.json and PM2's dump.pm2. A name
//   - is 1 to MaxNameLen bytes of valid UTF-8;
//   - holds no control characters (newline, tab, ESC...: they would break `gpm ls` and reach terminals raw) and no
//     path separator ('/', '\');
//   - is not all digits (a target that is a number means the process with that id) and is not "all" (every
//     process): either could never be addressed by name.
//
// The error completes "<app>.name " or "<app>.namespace ".
func CheckName(name string) error {
	switch {
	case name == "":
		return errors.New("must not be empty")
	case len(name) > MaxNameLen:
		return fmt.Errorf("is %d bytes long; at most %d are allowed (config.MaxNameLen): it is part of log file names",
			len(name), MaxNameLen)
	case !utf8.ValidString(name):
		return fmt.Errorf("%q is not valid UTF-8", name)
	case strings.ContainsAny(name, "/\\"):
		return fmt.Errorf("%q must not contain path separators ('/' or '\\')", name)
	case strings.IndexFunc(name, unicode.IsControl) >= 0:
		return fmt.Errorf("%q must not contain control characters (newline, tab, escape, ...)", name)
	case strings.Trim(name, "0123456789") == "":
		return fmt.Errorf("%q must not be all digits: a number as a target means a process id, so the app could not be addressed by name", name)
	case name == "all":
		return errors.New(`must not be "all": as a target, all means every process`)
	}
	return nil
}
