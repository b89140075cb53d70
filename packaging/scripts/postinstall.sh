#!/bin/sh
# gpm postinstall (deb: "configure" [old-version]; rpm: 1 = install, 2 = upgrade).
# Makes the group gpm, /run/gpm, the units and the D-Bus policy known to the running system. It starts nothing: the
# system daemon starts with `systemctl enable --now gpm.socket` (or `gpm --system startup`), a user's daemon with
# `gpm startup`. On an upgrade, a running system daemon is restarted so that the new binary runs (its apps come
# back from the fd store and the saved list).
set -e

upgrade=
case "$1" in
configure) [ -n "$2" ] && upgrade=1 ;;
[0-9]*) [ "$1" -ge 2 ] && upgrade=1 ;;
esac

if command -v systemd-sysusers >/dev/null 2>&1; then
	systemd-sysusers gpm.conf || true
elif ! getent group gpm >/dev/null 2>&1; then
	groupadd --system gpm || true
fi
if command -v systemd-tmpfiles >/dev/null 2>&1; then
	systemd-tmpfiles --create gpm.conf || true
fi

if [ -d /run/systemd/system ]; then
	systemctl --system daemon-reload >/dev/null || true
	if [ -n "$upgrade" ]; then
		systemctl try-restart gpm.service >/dev/null || true
	fi
fi

# A running bus reads a new policy file only when told to.
if [ -S /run/dbus/system_bus_socket ] && command -v dbus-send >/dev/null 2>&1; then
	dbus-send --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig >/dev/null 2>&1 || true
fi
exit 0
