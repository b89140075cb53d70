#!/bin/sh
# Usage: late_crash.sh MARKER STAMPS. The first start (no MARKER yet) runs for 3.5 s, longer than the test's
# min_uptime and than PM2's whole counting window; every later start crashes at once: a crash loop that begins late.
date +%s%N >> "$2"
if [ -e "$1" ]; then
	echo "crashing at once"
	exit 1
fi
: > "$1"
echo "stable for a while"
sleep 3.5
exit 1
