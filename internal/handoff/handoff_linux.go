package handoff

import "syscall"

func init() {
	args := cmdline()
	if len(args) < 2 || !Needed(args[1:]) {
		return
	}
	exe := executable()
	if exe == "" {
		return
	}
	dir := parent(exe)
	for _, p := range []string{dir + "/" + fullName, parent(dir) + "/libexec/gpm/" + fullName} {
		var st syscall.Stat_t
		if p == exe || syscall.Stat(p, &st) != nil || st.Mode&syscall.S_IFMT == syscall.S_IFDIR {
			continue
		}
		// It returns only when it failed: main's hand-off then tries again and reports the error.
		syscall.Exec(p, args, syscall.Environ())
		return
	}
}

// cmdline is this process's arguments, from /proc/self/cmdline (os.Args is not set before package os is
// initialised); nil when it cannot be read.
func cmdline() []string {
	fd, err := syscall.Open("/proc/self/cmdline", syscall.O_RDONLY|syscall.O_CLOEXEC, 0)
	if err != nil {
		return nil
	}
	defer syscall.Close(fd)
	var b []byte
	buf := make([]byte, 4096)
	for {
		n, err := syscall.Read(fd, buf)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return nil
		}
		if n == 0 {
			break
		}
		b = append(b, buf[:n]...)
	}
	// Each argument ends with a NUL, an empty one included.
	var args []string
	for start, i := 0, 0; i < len(b); i++ {
		if b[i] == 0 {
			args = append(args, string(b[start:i]))
			start = i + 1
		}
	}
	return args
}

// executable is this program's path as the kernel resolved it (links followed, as cmd/gpm's programPath does);
// "" when unknown or when the file was deleted or replaced since (the kernel then appends " (deleted)").
func executable() string {
	buf := make([]byte, 4096)
	n, err := syscall.Readlink("/proc/self/exe", buf)
	if err != nil || n <= 0 || n == len(buf) || buf[0] != '/' {
		return ""
	}
	p := string(buf[:n])
	if len(p) > len(" (deleted)") && p[len(p)-len(" (deleted)"):] == " (deleted)" {
		return ""
	}
	return p
}

// parent is the directory of an absolute, clean path ("/" for "/x" and for "/").
func parent(p string) string {
	for i := len(p) - 1; i > 0; i-- {
		if p[i] == '/' {
			return p[:i]
		}
	}
	return "/"
}
