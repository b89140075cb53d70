// Package rawfile reads the small files of the kernel's pseudo file systems (/proc, the cgroup file system) with
// bare syscalls: open(2), read(2) or pread(2), close(2), into a caller's buffer. os.ReadFile would do, but the
// daemon reads such files for every process at every sample (platform's tree accounting, the cgroup figures, the
// HTTP API's own figures): os.File registers each file with the network poller (two more syscalls) and allocates,
// which made up most of the idle daemon's CPU time. One implementation for all of them, with the limit every read
// needs (a fork bomb's cgroup.procs, a hostile /proc/PID/environ).
package rawfile
