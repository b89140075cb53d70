package service

import "os"

// redirectStdio does nothing on Windows: the service writes its log through the File alone.
func redirectStdio(f *os.File) {}
