#!/usr/bin/env bash
# bench/monit.sh: the cpu of `gpm monit` in steady state (issue 9: <= 2 % of a core with 100 apps).
#   APPS sleeping apps (default 100, bench/apps/sleeper.sh), `gpm monit` in a private tmux server (a real terminal
#   of 120x40), its utime+stime over DURATION seconds (default 30) once it has drawn the apps and two samples.
#   Figure: % of one core. The daemon's own cpu over the same window is printed beside it, for scale.
# Environment: GPM_BIN (default: built from this tree, with gpm-monit beside it, where gpm monit looks), APPS, DURATION, QUIET_WAIT and QUIET_BUSY (bench/lib.sh).
# Needs tmux and jq.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APPS=${APPS:-100}
DURATION=${DURATION:-30}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY=${QUIET_BUSY:-15}
log() { echo "[monit] $*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

WORK=$(mktemp -d /tmp/gpm-monit.XXXXXX)
SOCK=gpm-monit-bench-$$
HOME_DIR=$WORK/home
trap 'tmux -L "$SOCK" kill-server 2>/dev/null; rm -f "${TMUX_TMPDIR:-/tmp}/tmux-$(id -u)/$SOCK"; GPM_HOME=$HOME_DIR "$GPM_BIN" kill >/dev/null 2>&1; rm -rf "$WORK"' EXIT
if [[ -z ${GPM_BIN:-} ]]; then
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/gpm" ./cmd/gpm && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/gpm-monit" ./cmd/gpm-monit)
	GPM_BIN=$WORK/gpm
fi
clk=$(getconf CLK_TCK)

# cpu_ticks PID: utime+stime of PID in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

mkdir -p "$HOME_DIR"
chmod 700 "$HOME_DIR"
export GPM_HOME=$HOME_DIR
eco=$WORK/apps.json
jq -n --arg s "$ROOT/bench/apps/sleeper.sh" --argjson n "$APPS" \
	'{apps: [range($n) | {name: "s\(.)", script: $s, interpreter: "none"}]}' >"$eco"
"$GPM_BIN" start "$eco" >/dev/null
until [ "$("$GPM_BIN" jlist | jq '[.[] | select(.status == "online")] | length')" = "$APPS" ]; do sleep 0.2; done
daemon=$(cat "$HOME_DIR/gpm.pid")

tmux -L "$SOCK" -f /dev/null new-session -d -s b -x 120 -y 40 "exec env GPM_HOME=$HOME_DIR $GPM_BIN monit"
# The console's pid: the pane's shell execs gpm, which execs gpm-monit.
monit=$(tmux -L "$SOCK" display-message -p -t b '#{pane_pid}')
until tmux -L "$SOCK" capture-pane -p -t b | grep -q "$APPS procs"; do sleep 0.2; done
[ "$(cat "/proc/$monit/comm")" = gpm-monit ] || { log "pane pid $monit is $(cat "/proc/$monit/comm"), not gpm-monit"; exit 1; }
sleep 5 # two samples drawn: what follows is the steady state
busy=$(quiet_busy)
a=$(cpu_ticks "$monit")
d0=$(cpu_ticks "$daemon")
t0=$EPOCHREALTIME
sleep "$DURATION"
b=$(cpu_ticks "$monit")
d1=$(cpu_ticks "$daemon")
t1=$EPOCHREALTIME
tmux -L "$SOCK" capture-pane -p -t b | grep -q "$APPS procs" || { log "the console no longer shows the apps"; exit 1; }
pct() { awk -v a="$1" -v b="$2" -v t0="$t0" -v t1="$t1" -v hz="$clk" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / (t1 - t0) }'; }
echo "monit     apps=$APPS window=${DURATION}s terminal=120x40 monit_cpu=$(pct "$a" "$b")% of a core daemon_cpu=$(pct "$d0" "$d1")% (machine ${busy}% busy before)"
