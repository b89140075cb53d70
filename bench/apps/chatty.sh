#!/bin/sh
# Benchmark fixture: writes N lines of exactly 100 bytes ("%08d " + 90 zeros + newline) to stdout as fast as it can,
# then idles. Usage: chatty.sh line|bulk N MARKDIR
#   line: one write(2) per line (dash's printf builtin), like console.log or an unbuffered logger;
#   bulk: awk with its block-buffered stdout, a few large writes, to find the manager's own ceiling.
# It writes its start and end times (ns since the epoch) to MARKDIR/start and MARKDIR/end, then sleeps, so that
# the manager does not restart it and write everything again.
mode=$1 n=$2 mark=$3
echo $$ >"$mark/pid" # for the writer's own CPU and run-queue time (/proc/PID/schedstat): the rest is time blocked
date +%s%N >"$mark/start"
case $mode in
line)
	pad=$(printf '%090d' 0)
	i=0
	while [ "$i" -lt "$n" ]; do
		printf '%08d %s\n' "$i" "$pad"
		i=$((i + 1))
	done
	;;
bulk)
	awk -v n="$n" 'BEGIN { pad = sprintf("%090d", 0); for (i = 0; i < n; i++) printf "%08d %s\n", i, pad }'
	;;
*)
	echo "chatty.sh: unknown mode $mode" >&2
	exit 2
	;;
esac
date +%s%N >"$mark/end"
while :; do
	sleep 10
done
