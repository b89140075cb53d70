#!/usr/bin/env bash
# bench/dbus.sh: the D-Bus service's numbers (issue 10): io.gpm.Manager1.ListProcesses with APPS apps, median from a
# Go client (bench/cmd/dbuslat) against the control socket's list (target: <= 3 ms and within 2x), and the daemon's
# RSS with D-Bus on and off, APPS apps (target: on <= 13 MB).
# A private session dbus-daemon serves the bus (GPM_DBUS_ADDRESS points the daemon at it); the apps are sleeps.
#
# Environment: GPM_BIN (default: built from this tree with make build's flags), APPS (default 50), CALLS (default
# 500), QUIET_WAIT (60) / QUIET_BUSY (15) as run.sh, RESULTS (also write the report there), BASE_BIN (a gpm binary
# without D-Bus, e.g. built from the commit before it: its RSS is reported too).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APPS=${APPS:-50}
CALLS=${CALLS:-500}
QUIET_WAIT=${QUIET_WAIT:-60}
QUIET_BUSY=${QUIET_BUSY:-15}
log() { echo "bench: $*" >&2; }
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"
for tool in go dbus-daemon; do
	command -v "$tool" >/dev/null || { log "needs $tool"; exit 1; }
done

WORK=$(mktemp -d /tmp/gpm-dbusbench.XXXXXX)
BUSPID=
cleanup() {
	[[ -n ${GPM:-} ]] && GPM_HOME=$WORK/on "$GPM" kill >/dev/null 2>&1 || true
	[[ -n ${GPM:-} ]] && GPM_HOME=$WORK/off "$GPM" kill >/dev/null 2>&1 || true
	[[ -n ${BASE_BIN:-} ]] && GPM_HOME=$WORK/base "$BASE_BIN" kill >/dev/null 2>&1 || true
	[[ -n $BUSPID ]] && kill "$BUSPID" 2>/dev/null || true
	rm -rf "$WORK"
}
trap cleanup EXIT
GPM=${GPM_BIN:-$WORK/gpm}
if [[ -z ${GPM_BIN:-} ]]; then
	(cd "$ROOT" && CGO_ENABLED=0 go build -tags gpmnoweb -trimpath -ldflags "-s -w" -o "$GPM" ./cmd/gpm) # gpmd as shipped
fi
(cd "$ROOT" && go build -o "$WORK/dbuslat" ./bench/cmd/dbuslat)

dbus-daemon --session --nofork --nopidfile --print-address=1 --address="unix:path=$WORK/bus" >"$WORK/bus.addr" &
BUSPID=$!
for _ in $(seq 100); do [[ -s $WORK/bus.addr ]] && break; sleep 0.05; done
ADDR=$(head -1 "$WORK/bus.addr")

# file: a process file of APPS sleeps.
{
	echo '{"apps": ['
	for i in $(seq "$APPS"); do
		sep=,
		((i == APPS)) && sep=
		echo "{\"name\": \"s$i\", \"script\": \"/bin/sleep\", \"args\": [\"3600\"]}$sep"
	done
	echo ']}'
} >"$WORK/apps.json"

rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }

# run MODE: a daemon with D-Bus on (the private bus) or off, APPS apps; its RSS in KB once the apps are online
# (RSS0), and after CALLS lists (and, with D-Bus, CALLS ListProcesses) went through it (RSS): the calls differ
# between the modes (in-process Go clients against 500 CLI calls), the first reading does not.
declare -A RSS RSS0
run() {
	local mode=$1 home=$WORK/$1 dpid GPM=$GPM
	[[ $mode == base ]] && GPM=$BASE_BIN
	mkdir -m 700 "$home"
	if [[ $mode == on ]]; then export GPM_DBUS_ADDRESS=$ADDR; else export GPM_DBUS_ADDRESS=off; fi
	GPM_HOME=$home "$GPM" start "$WORK/apps.json" >/dev/null
	dpid=$(<"$home/gpm.pid")
	for _ in $(seq 200); do
		[[ $(GPM_HOME=$home "$GPM" jlist | grep -o '"status":"online"' | wc -l) -eq $APPS ]] && break
		sleep 0.1
	done
	sleep 3 # the apps' first samples, as below
	RSS0[$mode]=$(rss_kb "$dpid")
	if [[ $mode == on ]]; then
		log "ListProcesses vs list, $APPS apps, $CALLS calls each (machine $(quiet_busy)% busy)"
		LAT=$("$WORK/dbuslat" "$ADDR" "$home" "$CALLS")
	else
		for _ in $(seq "$CALLS"); do GPM_HOME=$home "$GPM" jlist >/dev/null; done
	fi
	sleep 3 # two sampling intervals: the figures the sampler and the D-Bus mirror hold in steady state
	RSS[$mode]=$(rss_kb "$dpid")
	GPM_HOME=$home "$GPM" kill >/dev/null
	unset GPM_DBUS_ADDRESS
}
run on
run off
[[ -n ${BASE_BIN:-} ]] && run base

read -r dmed dp90 smed sp90 procs <<<"$LAT"
report=$(
	echo "## D-Bus (bench/dbus.sh, $(date -u +%Y-%m-%d), $(nproc) cpus)"
	echo
	echo "| figure | value | target |"
	echo "|---|---|---|"
	echo "| ListProcesses ($procs processes), Go client, median / p90 | $dmed ms / $dp90 ms | <= 3 ms |"
	echo "| control socket list, Go client, median / p90 | $smed ms / $sp90 ms | |"
	echo "| ratio of the medians | $(awk -v a="$dmed" -v b="$smed" 'BEGIN { printf "%.2f", a / b }') | <= 2 |"
	echo "| daemon RSS, D-Bus on, $APPS apps, before / after the calls | $(awk -v a="${RSS0[on]}" -v k="${RSS[on]}" 'BEGIN { printf "%.1f / %.1f", a / 1024, k / 1024 }') MB | <= 13 MB |"
	echo "| daemon RSS, D-Bus off, $APPS apps, before / after the calls | $(awk -v a="${RSS0[off]}" -v k="${RSS[off]}" 'BEGIN { printf "%.1f / %.1f", a / 1024, k / 1024 }') MB | |"
	if [[ -n ${BASE_BIN:-} ]]; then
		echo "| daemon RSS, BASE_BIN (no D-Bus code), $APPS apps | $(awk -v k="${RSS[base]}" 'BEGIN { printf "%.1f", k / 1024 }') MB | |"
	fi
)
echo "$report"
[[ -n ${RESULTS:-} ]] && echo "$report" >>"$RESULTS"
exit 0
