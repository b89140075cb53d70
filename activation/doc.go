// Package activation passes listening sockets and readiness between a supervisor and its workers with systemd's
// protocols, so that any program that already speaks socket activation can be clustered and reloaded with no
// refused connection:
//
//   - Sockets: a Set is bound once (or taken over from systemd's LISTEN_FDS) and handed to every worker as fds
//     3, 4, ... with LISTEN_FDS, LISTEN_FDNAMES and LISTEN_PID set to the worker's own pid (sd_listen_fds(3)).
//     Go cannot set a variable between fork and exec, so the worker is started through a trampoline: the
//     supervisor's own binary, re-executed with TrampolineArg, sets LISTEN_PID=getpid() and execs the worker.
//   - Readiness, worker to supervisor: a NotifyServer receives sd_notify(3) datagrams (READY=1, STATUS=...,
//     WATCHDOG=1, STOPPING=1) on the NOTIFY_SOCKET it gives workers, with the sender's pid from SCM_CREDENTIALS.
//   - Readiness, supervisor to systemd: Notify sends the same messages, and NotifyWithFDs sends FDSTORE=1 with
//     the sockets attached (SCM_RIGHTS), which go-systemd's SdNotify cannot do.
//
// A Go program can use this package on its own; see the example.
package activation

// ListenFDsStart is the first passed fd: SD_LISTEN_FDS_START.
const ListenFDsStart = 3
