#!/usr/bin/env bash
# The demo behind `make demo`: a throw-away daemon (GPM_HOME=.demo) runs examples/ecosystem.json — a Python web
# app on 2 workers sharing one port, and a background job — then shows the list, a request, a zero-downtime
# reload, the logs, and stops everything.
set -euo pipefail
cd "$(dirname "$0")/.."
GPM=${GPM:-$PWD/bin/gpm}
export GPM_HOME=$PWD/.demo
trap '"$GPM" kill >/dev/null 2>&1 || true' EXIT

say() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

"$GPM" kill >/dev/null 2>&1 || true
rm -rf "$GPM_HOME" # a fresh home: the logs shown below are this run's
say "gpm start examples/ecosystem.json"
"$GPM" start examples/ecosystem.json
say "curl http://127.0.0.1:8080/  (x4)"
for _ in 1 2 3 4; do curl -fsS http://127.0.0.1:8080/ || python3 -c 'import urllib.request;print(urllib.request.urlopen("http://127.0.0.1:8080/").read().decode(),end="")'; done
say "gpm reload web   # each new worker is ready before the old one stops"
"$GPM" reload web
say "gpm logs --nostream --lines 3"
"$GPM" logs --nostream --lines 3
sleep 2
say "gpm ls"
"$GPM" ls
say "gpm kill"
"$GPM" kill
trap - EXIT
