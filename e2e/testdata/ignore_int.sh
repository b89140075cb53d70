#!/bin/sh
# Usage: ignore_int.sh PIDFILE. Ignores SIGINT and forks a child that ignores it too; writes "LEADER CHILD" pids.
trap '' INT
sh -c 'trap "" INT; while :; do sleep 0.2; done' &
echo "$$ $!" > "$1.tmp" && mv "$1.tmp" "$1"
while :; do sleep 0.2; done
