#!/usr/bin/env bash
# bench/tree.sh: the containment figures of issue 12.
#   1. The daemon's CPU over DURATION seconds (default 60) with APPS sleeping apps (default 100, bench/apps/
#      sleeper.sh: a shell and its sleep, so every app has a tree), at the default sampling interval (2 s), with
#      tree accounting (the whole tree: cgroup cpu.stat + RSS of cgroup.procs, or leader + descendants) and with the
#      leader-only sampling gpm did before (GPM_TREE_ACCOUNTING=off), in cgroup mode and in fallback mode
#      (GPM_CGROUP=off). Figure: % of one core (utime+stime of the daemon over the window).
#   2. The stop latency of an app with 50 descendants (and with none, the control) that ignore the kill signal (so the stop needs the SIGKILL at
#      kill_timeout), kill_timeout KILL_TIMEOUT ms (default 1000), STOP_RUNS runs (default 5) in each mode: the
#      time the stop call takes (bench/cmd/stoplat), minus kill_timeout, is what the stop costs beyond the grace (bar: <= 20 ms);
#      beside it, in the same rounds, the machine's floor for that stop (bench/cmd/treefloor) and gpm/floor.
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
cleanup() {
	local h
	for h in "$WORK"/home-*; do [ -d "$h" ] && GPM_HOME=$h "$GPM_BIN" kill >/dev/null 2>&1; done
	rm -rf "$WORK"
}
trap cleanup EXIT
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
# start-up in the figure), beside the machine's floor for the same stop (bench/cmd/treefloor: the kill signal to the
# group, kill_timeout, cgroup.kill, "populated 0" seen through inotify, and nothing else), so that the figure says
# how much of it is gpm's and how much the kernel's (killing 51 processes and reporting the cgroup empty). The runs
# are interleaved, one stoplat run of each mode and one treefloor run per round, so that a change in the machine's
# load lands in all of them alike; each round waits for quiet first. The floor is cgroup mode's mechanism, the
# fastest this machine has, so the fallback's ratio to it is what the fallback costs.
[[ " ${PARTS:-sampling stop} " == *" stop "* ]] || exit 0
(cd "$ROOT" && go build -o "$WORK/stoplat" ./bench/cmd/stoplat && go build -o "$WORK/treefloor" ./bench/cmd/treefloor)
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
	daemon "$WORK/home-stop-$mode" "$(mode_env "$mode")"
done
# runs_json: the runs' figures (one a line, in ms) as stoplat's JSON object, with its median (the upper one of an
# even count, as stoplat's), which bench/all.sh reads from the "stop" lines.
runs_json() { jq -sc '{over_kill_timeout_ms: ., median_ms: (sort | .[length / 2 | floor])}'; }
# spread: "min-max" of the numbers on stdin.
spread() { sort -n | awk 'NR == 1 { lo = $1 } { hi = $1 } END { print lo "-" hi }'; }
summary=()
load_before=$(cut -d' ' -f1-3 /proc/loadavg)
for n in 0 50; do
	busy_lo=100 busy_hi=0
	for ((r = 0; r < STOP_RUNS; r++)); do
		busy=$(quiet_busy)
		((busy < busy_lo)) && busy_lo=$busy
		((busy > busy_hi)) && busy_hi=$busy
		for mode in $MODES; do
			GPM_HOME=$WORK/home-stop-$mode "$WORK/stoplat" -script "$app" -descendants $n -kill-timeout "${KILL_TIMEOUT}ms" -runs 1 |
				jq -r '.over_kill_timeout_ms[]' >>"$WORK/stop-$mode-$n"
		done
		# No cgroup v2 to write (not root, no delegation): no floor, and the gpm figures stand alone.
		if "$WORK/treefloor" -script "$app" -descendants $n -kill-timeout "${KILL_TIMEOUT}ms" -runs 1 >"$WORK/floor.json" 2>"$WORK/floor.err"; then
			jq -r '.over_kill_timeout_ms[]' "$WORK/floor.json" >>"$WORK/floor-$n"
			jq -r '.kill_to_empty_ms[]' "$WORK/floor.json" >>"$WORK/floorkill-$n"
			jq -r '.kill_cpu_ms[]' "$WORK/floor.json" >>"$WORK/floorcpu-$n"
		else
			log "treefloor: $(cat "$WORK/floor.err")"
		fi
	done
	machine="(machine ${busy_lo}-${busy_hi}% busy before the runs)"
	floor=- fkill=- fspread=- fcpu=-
	if [ -s "$WORK/floor-$n" ]; then
		# One object as the stop lines' (the same sed reads it), with the bare cgroup.kill to "populated 0" beside, and
		# the cpu time the tree spent dying (its cpu.stat over that time): the kernel's work, which the load does not
		# change, so that "kernel-bound" can be checked against it (over the CPUs there are).
		res=$(jq -c --argjson k "$(runs_json <"$WORK/floorkill-$n")" --argjson c "$(runs_json <"$WORK/floorcpu-$n")" \
			'. + {kill_to_empty_ms: $k.over_kill_timeout_ms, kill_to_empty_median_ms: $k.median_ms,
				kill_cpu_ms: $c.over_kill_timeout_ms, kill_cpu_median_ms: $c.median_ms}' <<<"$(runs_json <"$WORK/floor-$n")")
		floor=$(jq -r .median_ms <<<"$res")
		fkill=$(jq -r .kill_to_empty_median_ms <<<"$res")
		fcpu=$(jq -r .kill_cpu_median_ms <<<"$res")
		fspread=$(spread <"$WORK/floor-$n")
		echo "floor     descendants=$n kill_timeout=${KILL_TIMEOUT}ms stop minus kill_timeout (bench/cmd/treefloor): $res $machine"
	fi
	for mode in $MODES; do
		res=$(runs_json <"$WORK/stop-$mode-$n")
		echo "stop      mode=$mode descendants=$n kill_timeout=${KILL_TIMEOUT}ms stop call minus kill_timeout: $res $machine"
		g=$(jq -r .median_ms <<<"$res")
		ratio=$(awk -v g="$g" -v f="$floor" 'BEGIN { if (f == "-" || f <= 0) print "-"; else printf "%.2fx", g / f }')
		summary+=("| $mode | $n | $g ($(spread <"$WORK/stop-$mode-$n")) | $floor ($fspread) | $ratio | $fkill | $fcpu | ${busy_lo}-${busy_hi} % |")
	done
done
for mode in $MODES; do
	GPM_HOME=$WORK/home-stop-$mode "$GPM_BIN" kill >/dev/null
done
echo
echo "stop minus kill_timeout (${KILL_TIMEOUT} ms), ms, median (min-max) of $STOP_RUNS interleaved runs; load average $load_before before, $(cut -d' ' -f1-3 /proc/loadavg) after"
echo "machine: $(nproc) CPUs, kernel $(uname -r)"
echo "| mode | descendants | gpm | floor | gpm/floor | floor: cgroup.kill to populated 0 | the tree's cpu time dying | machine busy before the runs |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s\n' "${summary[@]}"
