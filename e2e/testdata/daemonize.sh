#!/bin/sh
# Usage: daemonize.sh PIDFILE. Starts a grandchild in a session of its own (setsid: out of the app's process group,
# so a signal to the group misses it) and writes its pid. The leader itself dies on SIGINT.
( setsid sh -c 'echo $$ > "$1.tmp"; mv "$1.tmp" "$1"; exec sleep 1000' sh "$1" & wait ) &
while :; do sleep 0.2; done
