package activation

import "os"

// Inherited returns nil on Windows: there is no socket activation.
func Inherited() []*os.File { return nil }

// InheritedFiles returns (nil, nil) on Windows: there is no socket activation.
func InheritedFiles() ([]*os.File, error) { return nil, nil }
