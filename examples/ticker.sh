#!/bin/sh
# A background job: one line every second.
n=0
while :; do
  n=$((n + 1))
  echo "tick $n"
  sleep 1
done
