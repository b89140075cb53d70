#!/bin/bash
# Usage: chatty.sh N: writes "line 1" .. "line N" to stdout as fast as it can, one write per line, then "done".
i=1
while [ "$i" -le "$1" ]; do
	echo "line $i"
	i=$((i + 1))
done
echo "done"
exec sleep 1000
