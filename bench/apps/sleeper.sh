#!/bin/sh
# Benchmark fixture: a tiny long-running app that does nothing but sleep. gpm and PM2 both run this very file,
# executed directly (interpreter "none"), so both supervise identical children.
while :; do
	sleep 10
done
