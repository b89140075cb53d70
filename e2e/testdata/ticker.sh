#!/bin/sh
# Prints "tick N" every 50 ms.
i=0
while :; do
	i=$((i + 1))
	echo "tick $i"
	sleep 0.05
done
