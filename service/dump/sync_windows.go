package dump

// syncDir is a no-op on Windows, where directories cannot be opened for fsync; NTFS journals the rename itself.
func syncDir(dir string) error { return nil }
