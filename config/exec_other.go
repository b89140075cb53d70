//go:build !unix

package config

import "io/fs"

// executable: without exec bits (Windows decides by extension), every file counts as executable, so no
// interpreter is guessed for an extensionless one.
func executable(fs.FileMode) bool { return true }
