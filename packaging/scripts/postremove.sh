#!/bin/sh
# gpm postremove (deb: "remove" | "purge" | "upgrade" | ...; rpm: 0 = erase, 1 = upgrade).
# Forgets the removed units and D-Bus policy; a purge also deletes the system daemon's state (its saved list and
# logs in /var/lib/gpm). The group gpm stays: files and memberships may refer to it.
set -e

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
fi
if [ -S /run/dbus/system_bus_socket ] && command -v dbus-send >/dev/null 2>&1; then
	dbus-send --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null 2>&1 || true
fi
if [ "$1" = purge ]; then
	rm -rf /var/lib/gpm
fi
exit 0
