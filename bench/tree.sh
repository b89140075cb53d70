#!/usr/bin/env bash
# bench/tree.sh: the containment figures of issue 12.
#   1. The daemon's CPU over DURATION seconds (default 60) with APPS sleeping apps (default 100, bench/apps/
#      sleeper.sh: a shell and its sleep, so every app has a tree), at the default sampling interval (2 s), with
#      tree accounting (the whole tree: cgroup cpu.stat + RSS of cgroup.procs, or leader + descendants) and with the
#      leader-only sampling gpm did before (GPM_TREE_ACCOUNTING=off), in cgroup mode and in fallback mode
#      (GPM_CGROUP=off). Figure: % of one core (utime+stime of the daemon over the window).
#   2. The stop latency of an app with 50 descendants (and with none, the control) that ignore the kill signal (so the stop needs the SIGKILL at
#      kill_timeout), kill_timeout KILL_TIMEOUT ms (default 1000), STOP_RUNS runs (default 5) in each mode: the
#      time the stop call takes (bench/cmd/stoplat), minus kill_timeout, is what the stop costs beyond the grace (bar: <= 20 ms).
# Environment: PARTS (default "sampling stop"), GPM_BIN (default: built from this tree), APPS, DURATION, KILL_TIMEOUT, STOP_RUNS, QUIET_WAIT and
# QUIET_BUSY (bench/lib.sh), MODES (default "cgroup fallback"). Needs root for cgroup mode (or a delegated cgroup).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APPS=${APPS:-100}
DURATION=${DURATION:-60}
KILL_TIMEOUT=${KILL_TIMEOUT:-1000}
STOP_RUNS=${STOP_RUNS:-5}
MODES=${MODES:-cgroup fallback}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY=${QUIET_BUSY:-15}
log() { echo "[tree] $*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

WORK=$(mktemp -d /tmp/gpm-tree.XXXXXX)
trap 'for h in "$WORK"/home-*; do [ -d "$h" ] && GPM_HOME=$h "$GPM_BIN" kill >/dev/null 2>&1; done; rm -rf "$WORK"' EXIT
if [[ -z ${GPM_BIN:-} ]]; then
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/gpm" ./cmd/gpm)
	GPM_BIN=$WORK/gpm
fi
clk=$(getconf CLK_TCK)

# cpu_ticks PID: utime+stime of PID in clock ticks.
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }

# daemon HOME ENV...: starts the daemon of HOME with ENV (it inherits the first command's environment).
daemon() {
	local home=$1
	shift
	mkdir -p "$home"
	chmod 700 "$home"
	env "$@" GPM_HOME="$home" "$GPM_BIN" ls >/dev/null
}

mode_env() {
	case $1 in
	cgroup) echo GPM_CGROUP=on ;;
	fallback) echo GPM_CGROUP=off ;;
	esac
}

# 1. Sampling cost.
for mode in $MODES; do
	[[ " ${PARTS:-sampling stop} " == *" sampling "* ]] || break
	for acct in tree leader; do
		home=$WORK/home-$mode-$acct
		tenv=GPM_TREE_ACCOUNTING=on
		[ "$acct" = leader ] && tenv=GPM_TREE_ACCOUNTING=off
		daemon "$home" "$(mode_env "$mode")" "$tenv"
		eco=$home/apps.json
		jq -n --arg s "$ROOT/bench/apps/sleeper.sh" --argjson n "$APPS" \
			'{apps: [range($n) | {name: "s\(.)", script: $s, interpreter: "none"}]}' >"$eco"
		GPM_HOME=$home "$GPM_BIN" start "$eco" >/dev/null
		until [ "$(GPM_HOME=$home "$GPM_BIN" jlist | jq '[.[] | select(.status == "online")] | length')" = "$APPS" ]; do sleep 0.2; done
		containment=$(GPM_HOME=$home "$GPM_BIN" jlist | jq -r '.[0].containment')
		pid=$(cat "$home/gpm.pid")
		sleep 4 # two samples, so that what follows is the steady state
		busy=$(quiet_busy)
		a=$(cpu_ticks "$pid")
		t0=$EPOCHREALTIME
		sleep "$DURATION"
		b=$(cpu_ticks "$pid")
		t1=$EPOCHREALTIME
		pct=$(awk -v a="$a" -v b="$b" -v t0="$t0" -v t1="$t1" -v hz="$clk" 'BEGIN { printf "%.2f", 100 * (b - a) / hz / (t1 - t0) }')
		echo "sampling  mode=$mode ($containment) accounting=$acct apps=$APPS window=${DURATION}s daemon_cpu=${pct}% of a core (machine ${busy}% busy before)"
		GPM_HOME=$home "$GPM_BIN" kill >/dev/null
	done
done

# 2. Stop latency with 50 descendants that ignore the kill signal (bench/cmd/stoplat: one connection, no CLI
# start-up in the figure).
[[ " ${PARTS:-sampling stop} " == *" stop "* ]] || exit 0
(cd "$ROOT" && go build -o "$WORK/stoplat" ./bench/cmd/stoplat)
app=$WORK/fifty.sh
cat >"$app" <<'APP'
#!/bin/sh
trap '' INT TERM
i=0
while [ $i -lt "$N" ]; do sleep 1000 & i=$((i + 1)); done
echo started
while :; do sleep 1000; done
APP
chmod +x "$app"
for mode in $MODES; do
	home=$WORK/home-stop-$mode
	daemon "$home" "$(mode_env "$mode")"
	for n in 0 50; do
		busy=$(quiet_busy)
		res=$(GPM_HOME=$home "$WORK/stoplat" -script "$app" -descendants $n -kill-timeout "${KILL_TIMEOUT}ms" -runs "$STOP_RUNS")
		echo "stop      mode=$mode descendants=$n kill_timeout=${KILL_TIMEOUT}ms stop call minus kill_timeout: $res (machine ${busy}% busy before)"
	done
	GPM_HOME=$home "$GPM_BIN" kill >/dev/null
done
