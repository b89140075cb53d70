//go:build unix

package config

import "io/fs"

// executable reports whether a file with mode m can be exec'd by someone: a file nobody may execute is a script
// for an interpreter.
func executable(m fs.FileMode) bool { return m&0o111 != 0 }
