#!/bin/sh
# Usage: crash.sh CODE [STAMPS]: appends a nanosecond timestamp to STAMPS (one line per start), then exits CODE.
if [ -n "$2" ]; then date +%s%N >> "$2"; fi
echo "crashing with $1"
exit "${1:-1}"
