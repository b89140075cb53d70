package cgroup

import "unsafe"

// unsafePointer reads an inotify event header in place (the kernel writes it with the host's layout).
func unsafePointer(b []byte) unsafe.Pointer { return unsafe.Pointer(&b[0]) }
