#!/usr/bin/env bash
# bench/web.sh: the figures of the HTTP API (issue 9), each a median:
#   1. binary size and daemon RSS with 50 apps: the base tree (BASE_REF, before the API) and this tree with the API
#      off and on (on: one /metrics scrape, one /api/processes and one event stream open while RSS is sampled);
#   2. a /metrics scrape with 100 apps (curl's time_total, SCRAPES scrapes), beside `pm2 jlist` for the same 100
#      apps when PM2 is installed (bench/run.sh installs it; pm2-prometheus-exporter is not installed);
#   3. log lines/s that the event stream delivers to a fast reader (bench/cmd/sseread, which resumes with
#      Last-Event-ID when the server drops it as too slow, as EventSource does) while one app writes LINES
#      lines as fast as it can (bench/apps/chatty.sh bulk).
#
# Environment: BASE_REF (default main), SCRAPES (default 50), LINES (default 1000000), PM2_BIN (default the one
# bench/run.sh installs), QUIET_WAIT / QUIET_BUSY as run.sh; COMPARE=1 also runs parts 2 and 3 on BASE_REF's binary
# (which must have `gpm web`), right after this tree's.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BASE_REF=${BASE_REF:-main}
SCRAPES=${SCRAPES:-50}
COMPARE=${COMPARE:-}
LINES=${LINES:-1000000}
PM2_BIN=${PM2_BIN:-/tmp/gpm-bench/pm2/node_modules/.bin/pm2}
QUIET_WAIT=${QUIET_WAIT:-60}
QUIET_BUSY=${QUIET_BUSY:-30}
log() { echo "bench: $*" >&2; }
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"

WORK=$(mktemp -d /tmp/gpm-webbench.XXXXXX)
HOMES=()
cleanup() {
	for h in "${HOMES[@]}"; do GPM_HOME=$h "$WORK/after" kill >/dev/null 2>&1 || true; done
	if [[ -n ${PM2_STARTED:-} ]]; then PM2_HOME=$WORK/pm2-home "$PM2_BIN" kill >/dev/null 2>&1 || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

build() { (cd "$1" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$2" "${@:3}" ./cmd/gpm); }
log "building this tree and $BASE_REF"
# This tree as make build ships it: gpmd without the HTTP server, and gpmd-web beside it, which gpmd execs for a
# daemon whose API is on. $WORK/after is a link to gpmd (gpmd finds gpmd-web beside the file the link points to).
mkdir "$WORK/this"
build "$ROOT" "$WORK/this/gpmd" -tags gpmnoweb
build "$ROOT" "$WORK/this/gpmd-web"
ln -s this/gpmd "$WORK/after"
mkdir "$WORK/base"
git -C "$ROOT" archive "$BASE_REF" | tar -x -C "$WORK/base"
build "$WORK/base" "$WORK/before"
(cd "$ROOT" && go build -o "$WORK/sseread" ./bench/cmd/sseread)
cp "$ROOT/bench/apps/sleeper.sh" "$ROOT/bench/apps/chatty.sh" "$WORK/"

# apps_file N: a process file of N sleepers.
apps_file() {
	local f=$WORK/apps$1.json i
	{
		echo '{"apps": ['
		for ((i = 0; i < $1; i++)); do
			((i > 0)) && echo ','
			printf '{"name": "s%d", "script": "%s", "interpreter": "none"}' "$i" "$WORK/sleeper.sh"
		done
		echo ']}'
	} >"$f"
	echo "$f"
}

# new_home: a fresh GPM_HOME, killed at exit.
new_home() {
	local h
	h=$(mktemp -d "$WORK/home.XXXXXX")
	chmod 700 "$h"
	HOMES+=("$h")
	echo "$h"
}

online() { GPM_HOME=$1 "$2" jlist | grep -o '"status":"online"' | wc -l; }
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
# rss_median PID: VmRSS every 0.5 s for 3 s, median in MB.
rss_median() {
	local i
	for i in 1 2 3 4 5 6; do
		rss_kb "$1"
		sleep 0.5
	done | median | awk '{ printf "%.1f", $1 / 1024 }'
}
# web_on HOME BIN ADDR: the API on at ADDR. This tree's daemon runs gpmd until then: --restart puts it on gpmd-web
# (no apps yet, so nothing restarts but the daemon); the base tree's serves at once.
web_on() {
	if [[ $2 == "$WORK/after" ]]; then
		GPM_HOME=$1 "$2" web "$3" --restart >/dev/null
	else
		GPM_HOME=$1 "$2" web "$3" >/dev/null
	fi
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }

# rss CASE BIN: daemon RSS with 50 apps; CASE is off or on (the API).
rss() {
	local h bin=$2 pid port sse=
	h=$(new_home)
	GPM_HOME=$h "$bin" ping >/dev/null
	if [[ $1 == on ]]; then
		port=$(free_port)
		web_on "$h" "$bin" "127.0.0.1:$port"
	fi
	GPM_HOME=$h "$bin" start "$(apps_file 50)" >/dev/null
	until (($(online "$h" "$bin") == 50)); do sleep 0.2; done
	pid=$(<"$h/gpm.pid")
	if [[ $1 == on ]]; then
		curl -sf "http://127.0.0.1:$port/metrics" >/dev/null
		curl -sf "http://127.0.0.1:$port/api/processes" >/dev/null
		curl -sfN "http://127.0.0.1:$port/api/events" >/dev/null &
		sse=$!
	fi
	sleep 3
	rss_median "$pid"
	[[ -n $sse ]] && kill "$sse" 2>/dev/null
	GPM_HOME=$h "$bin" kill >/dev/null
}

quiet_busy >/dev/null
declare -A R
R[size_before]=$(stat -c %s "$WORK/before")
R[size_after]=$(stat -c %s "$WORK/this/gpmd")
R[size_web]=$(stat -c %s "$WORK/this/gpmd-web")
log "RSS with 50 apps (3 runs each)"
for _ in 1 2 3; do
	R[rss_before]+="$(rss off "$WORK/before") "
	R[rss_off]+="$(rss off "$WORK/after") "
	R[rss_on]+="$(rss on "$WORK/after") "
done

# scrape BIN: a daemon of BIN with 100 apps and the API on; sets R[scrape_ms_BIN] (median of SCRAPES scrapes),
# R[scrape_bytes_BIN] and WORK/series.BIN (the series of gpm_process_up).
scrape() {
	local h port i bin=$WORK/$1
	h=$(new_home)
	port=$(free_port)
	web_on "$h" "$bin" "127.0.0.1:$port"
	GPM_HOME=$h "$bin" start "$(apps_file 100)" >/dev/null
	until (($(online "$h" "$bin") == 100)); do sleep 0.2; done
	sleep 3 # a sample of every app
	curl -sf "http://127.0.0.1:$port/metrics" | grep -c '^gpm_process_up{' >"$WORK/series.$1"
	R[scrape_ms_$1]=$(for ((i = 0; i < SCRAPES; i++)); do curl -sf -o /dev/null -w '%{time_total}\n' "http://127.0.0.1:$port/metrics"; done |
		awk '{ print $1 * 1000 }' | median)
	R[scrape_bytes_$1]=$(curl -sf "http://127.0.0.1:$port/metrics" | wc -c)
	GPM_HOME=$h "$bin" kill >/dev/null
}
log "/metrics with 100 apps"
scrape after
if [[ -n $COMPARE ]]; then
	log "/metrics with 100 apps, $BASE_REF"
	scrape before
fi

if [[ -x $PM2_BIN ]]; then
	log "pm2 jlist with 100 apps"
	PM2_STARTED=1
	export PM2_HOME=$WORK/pm2-home
	"$PM2_BIN" ping >/dev/null
	for ((i = 0; i < 100; i++)); do echo "{\"name\": \"s$i\", \"script\": \"$WORK/sleeper.sh\", \"interpreter\": \"none\"}"; done |
		jq -s '{apps: .}' >"$WORK/pm2.json"
	"$PM2_BIN" start "$WORK/pm2.json" >/dev/null
	until (("$("$PM2_BIN" jlist | jq '[.[] | select(.pm2_env.status == "online")] | length')" == 100)); do sleep 0.5; done
	sleep 3
	R[pm2_jlist_ms]=$(for i in $(seq 10); do
		s=${EPOCHREALTIME/./}
		"$PM2_BIN" jlist >/dev/null
		echo $(((${EPOCHREALTIME/./} - s) / 1000))
	done | median)
	"$PM2_BIN" kill >/dev/null
	unset PM2_HOME PM2_STARTED
fi

# sse BIN: log lines/s of the event stream of a daemon of BIN to sseread while chatty.sh writes LINES lines; sets
# R[sse_BIN] to sseread's "LINES SECONDS RATE DROPPED CLOSED" and R[sse_cpu_BIN] to the daemon's CPU seconds.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }
sse() {
	local h port bin=$WORK/$1 reader dpid c0
	h=$(new_home)
	port=$(free_port)
	web_on "$h" "$bin" "127.0.0.1:$port"
	mkdir -p "$WORK/mark.$1"
	rm -f "$WORK/sse.ready"
	"$WORK/sseread" -url "http://127.0.0.1:$port/api/events?logs=1&name=chatty" -n "$LINES" -ready "$WORK/sse.ready" >"$WORK/sse.out" &
	reader=$!
	until [[ -e $WORK/sse.ready ]]; do sleep 0.05; done
	dpid=$(<"$h/gpm.pid")
	c0=$(cpu_ticks "$dpid")
	GPM_HOME=$h "$bin" start "$WORK/chatty.sh" --name chatty --interpreter none -- bulk "$LINES" "$WORK/mark.$1" >/dev/null
	wait "$reader"
	R[sse_cpu_$1]=$(awk -v t=$(($(cpu_ticks "$dpid") - c0)) -v hz="$(getconf CLK_TCK)" 'BEGIN { printf "%.2f", t / hz }')
	R[sse_$1]=$(<"$WORK/sse.out")
	GPM_HOME=$h "$bin" kill >/dev/null
}
log "event stream: $LINES log lines to a fast reader"
sse after
if [[ -n $COMPARE ]]; then
	log "event stream: $LINES log lines to a fast reader, $BASE_REF"
	sse before
fi

mb() { awk -v b="$1" 'BEGIN { printf "%.2f", b / 1048576 }'; }
med() { tr ' ' '\n' <<<"$1" | grep . | median; }
echo "HTTP API (issue 9): $(uname -r), $(nproc) cores, $(go version | awk '{ print $3 }'), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "| figure | value | target |"
echo "|---|---|---|"
echo "| binary size, $BASE_REF / this tree's gpmd / its gpmd-web (MB) | $(mb "${R[size_before]}") / $(mb "${R[size_after]}") / $(mb "${R[size_web]}") | |"
echo "| daemon RSS, 50 apps, $BASE_REF (MB; runs: ${R[rss_before]}) | $(med "${R[rss_before]}") | |"
echo "| daemon RSS, 50 apps, API off (MB; runs: ${R[rss_off]}) | $(med "${R[rss_off]}") | not above $BASE_REF |"
echo "| daemon RSS, 50 apps, API on (MB; runs: ${R[rss_on]}) | $(med "${R[rss_on]}") | <= 14 |"
echo "| /metrics scrape, 100 apps ($(<"$WORK/series.after") series of gpm_process_up, ${R[scrape_bytes_after]} bytes), median of $SCRAPES (ms) | ${R[scrape_ms_after]} | <= 5 |"
if [[ -n $COMPARE ]]; then
	echo "| /metrics scrape, 100 apps, $BASE_REF ($(<"$WORK/series.before") series, ${R[scrape_bytes_before]} bytes), median of $SCRAPES (ms) | ${R[scrape_ms_before]} | |"
fi
echo "| pm2 jlist, 100 apps, median of 10 (ms) | ${R[pm2_jlist_ms]:--} | scrape >= 20x faster |"
for b in after ${COMPARE:+before}; do
	read -r sse_lines sse_secs sse_rate sse_dropped sse_closed <<<"${R[sse_$b]}"
	name="event stream to a fast reader"
	[[ $b == before ]] && name+=", $BASE_REF"
	echo "| $name: $sse_lines of $LINES lines in ${sse_secs}s, dropped $sse_dropped, reader dropped as too slow and resumed with Last-Event-ID $sse_closed times, daemon CPU ${R[sse_cpu_$b]}s (lines/s) | $sse_rate | >= 100000 |"
done
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
