#!/bin/sh
# gpm preremove (deb: "remove" | "upgrade" | ...; rpm: 0 = erase, 1 = upgrade).
# On removal (not on an upgrade), the system daemon is stopped and disabled, and so is every service that
# `gpm startup` wrote (they run /usr/bin/gpm, which is going away): nothing of gpm keeps running. Their unit files
# stay, as the administrator's configuration; `gpm unstartup` (before removal) deletes them.
set -e

case "$1" in
remove | 0) ;;
*) exit 0 ;;
esac

if [ -d /run/systemd/system ]; then
	systemctl --no-reload disable --now gpm.service gpm.socket >/dev/null 2>&1 || true
	for unit in /etc/systemd/system/*.service; do
		[ -f "$unit" ] || continue
		if grep -q '^# Written by `gpm startup`' "$unit" && grep -q '^ExecStart=/usr/bin/gpm ' "$unit"; then
			systemctl --no-reload disable --now "$(basename "$unit")" >/dev/null 2>&1 || true
		fi
	done
fi
exit 0
