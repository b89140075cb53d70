#!/bin/sh
# Prints the variables gpm sets (and a few the tests set), then sleeps: the env and instance tests read its log.
echo "GPM_NAME=$GPM_NAME"
echo "GPM_ID=$GPM_ID"
echo "GPM_HOME=$GPM_HOME"
echo "GPM_INSTANCE=$GPM_INSTANCE"
echo "NODE_APP_INSTANCE=$NODE_APP_INSTANCE"
echo "PORT=$PORT"
echo "FOO=$FOO"
echo "MODE=$MODE"
echo "ready"
exec sleep 1000
