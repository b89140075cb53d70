#!/bin/sh
# Writes out-1..out-10 to stdout and err-1..err-10 to stderr, then sleeps.
for i in 1 2 3 4 5 6 7 8 9 10; do
	echo "out-$i"
	echo "err-$i" >&2
done
exec sleep 1000
