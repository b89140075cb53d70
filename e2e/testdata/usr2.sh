#!/bin/bash
# Logs "got USR2" when it receives SIGUSR2.
trap 'echo "got USR2"' USR2
echo "ready"
while :; do sleep 0.05; done
