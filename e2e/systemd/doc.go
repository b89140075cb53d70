// Package systemd holds gpm's end-to-end tests under a real systemd (build tag e2e_systemd): see systemd_test.go
// and `make e2e-systemd`. Without the tag the package is empty.
package systemd
