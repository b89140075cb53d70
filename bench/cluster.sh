#!/usr/bin/env bash
# bench/cluster.sh: gpm's cluster mode side by side with PM2's (issues 3 and 4, "Numbers"), on the same plain Node
# hello-world (e2e/testdata/cluster/app.js: listens on $PORT, says process.send('ready'), closes on SIGINT).
#   1. reload under load: WORKERS workers, bench/cmd/loadgen sending requests on new connections (no keep-alive)
#      from LOAD_CONNS connections back to back while RELOADS reloads run back to back; failed requests and refused
#      connections are counted. gpm twice: with --listen (gpm binds the socket) and without it (gpm adopts the
#      port the app listens on); PM2 in cluster mode (`pm2 start app.js -i N`).
#   2. throughput: wrk (WRK_ARGS, keep-alive) and wrk with "Connection: close", THROUGHPUT_RUNS runs each, median.
#   3. restart of the gpm daemon under load with the fd store: bench/cmd/sdrestart plays systemd (NOTIFY_SOCKET,
#      FDSTORE=1, LISTEN_FDS through `gpm __gpm_listen_exec`), as e2e/systemd_test.go does.
#   4. boot to READY=1 with 50 saved apps: bench/cmd/bootready.
# Each manager gets a fresh temporary GPM_HOME / PM2_HOME; one manager runs at a time.
#
# Environment:
#   GPM_BIN          gpm binary (default: built from this tree into the work dir, with make build's flags)
#   PM2_BIN          pm2 (default /tmp/gpm-bench/pm2/node_modules/.bin/pm2, npm-installed there on first use)
#   MODES            what to run for item 1 and 2 (default "gpm-listen gpm-adopt pm2"); RELOAD_MODES and
#                    THROUGHPUT_MODES (default MODES) for each item alone. A mode may end in :N for N workers
#                    instead of WORKERS (gpm-listen:1, pm2:2); "node" is the app alone, one plain node process with no
#                    manager (throughput only: the floor of the -i 1 figures)
#   PARTS            default "reload throughput sdrestart boot"
#   WORKERS (2) RELOADS (10) LOAD_CONNS (8) WRK_ARGS ("-t2 -c64 -d10s") THROUGHPUT_RUNS (3) RESTARTS (10)
#   BOOT_APPS (50) BOOT_RUNS (10) PORT (18180)
#   QUIET_WAIT (300) QUIET_BUSY (15): before each measurement wait up to QUIET_WAIT s for CPU busy <= QUIET_BUSY %
#   RESULTS          also write the report to this file; KEEP_WORK=1 keeps the work dir
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MODES=${MODES:-gpm-listen gpm-adopt pm2}
RELOAD_MODES=${RELOAD_MODES:-$MODES}
THROUGHPUT_MODES=${THROUGHPUT_MODES:-$MODES}
PARTS=${PARTS:-reload throughput sdrestart boot}
WORKERS=${WORKERS:-2}
RELOADS=${RELOADS:-10}
LOAD_CONNS=${LOAD_CONNS:-8}
WRK_ARGS=${WRK_ARGS:--t2 -c64 -d10s}
THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-3}
RESTARTS=${RESTARTS:-10}
BOOT_APPS=${BOOT_APPS:-50}
BOOT_RUNS=${BOOT_RUNS:-10}
PORT=${PORT:-18180}
export -n PORT # the first port to use, not the apps' environment: gpm start passes the caller's to the app
QUIET_WAIT=${QUIET_WAIT:-300}
QUIET_BUSY=${QUIET_BUSY:-15}
PM2_VERSION=${PM2_VERSION:-7.0.4}
PM2_PREFIX=${PM2_PREFIX:-/tmp/gpm-bench/pm2}

for tool in go jq node wrk awk; do
	command -v "$tool" >/dev/null || {
		echo "cluster bench: $tool is needed (wrk: apt-get install wrk)" >&2
		exit 1
	}
done

WORK=$(mktemp -d /tmp/gpm-cluster.XXXXXX)
declare -A R=()
LOADGEN_PID=
NODE_PID=
log() { printf '[cluster %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
	set +e
	[[ -n $LOADGEN_PID ]] && kill "$LOADGEN_PID" 2>/dev/null
	[[ -n $NODE_PID ]] && kill "$NODE_PID" 2>/dev/null
	[[ -d $WORK/gpm-home ]] && GPM_HOME=$WORK/gpm-home "$GPM_BIN" kill >/dev/null 2>&1
	[[ -d $WORK/pm2-home ]] && PM2_HOME=$WORK/pm2-home timeout 30 "$PM2_BIN" kill >/dev/null 2>&1
	if [[ ${KEEP_WORK:-} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [[ -z ${GPM_BIN:-} ]]; then
	log "building gpm (CGO_ENABLED=0 -trimpath -ldflags '-s -w', as make build)"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/gpm" ./cmd/gpm)
	GPM_BIN=$WORK/gpm
fi
GPM_BIN=$(realpath "$GPM_BIN")
(cd "$ROOT" && go build -o "$WORK/loadgen" ./bench/cmd/loadgen && go build -o "$WORK/sdrestart" ./bench/cmd/sdrestart &&
	go build -o "$WORK/bootready" ./bench/cmd/bootready)
if [[ -z ${PM2_BIN:-} ]]; then
	PM2_BIN=$PM2_PREFIX/node_modules/.bin/pm2
	if [[ " $RELOAD_MODES $THROUGHPUT_MODES " == *" pm2"* && ! -x $PM2_BIN ]]; then
		log "installing pm2@$PM2_VERSION into $PM2_PREFIX"
		npm install --prefix "$PM2_PREFIX" --no-audit --no-fund "pm2@$PM2_VERSION" >&2
	fi
fi
mkdir -p "$WORK/app"
cp "$ROOT/e2e/testdata/cluster/app.js" "$WORK/app/app.js"
APP=$WORK/app/app.js

BUSY_MAX=0
# wait_quiet: wait for an idle machine (quiet_busy, bench/lib.sh); remember the busiest figure measured at.
wait_quiet() {
	local b
	b=$(quiet_busy)
	((b <= BUSY_MAX)) || BUSY_MAX=$b
}

gpm() { GPM_HOME=$WORK/gpm-home "$GPM_BIN" "$@"; }
pm2() { PM2_HOME=$WORK/pm2-home "$PM2_BIN" "$@"; }

# up MODE[:N] PORT: start the app with N (default WORKERS) workers under MODE and wait until the port answers.
up() {
	local mode=${1%%:*} port=$2 i w=$WORKERS
	[[ $1 != *:* ]] || w=${1##*:}
	case $mode in
	gpm-listen) gpm start "$APP" --name web -i "$w" --wait-ready --listen "tcp://127.0.0.1:$port" >/dev/null ;;
	gpm-adopt) PORT=$port gpm start "$APP" --name web -i "$w" --wait-ready >/dev/null ;;
	pm2) PORT=$port pm2 start "$APP" --name web -i "$w" --wait-ready >/dev/null ;;
	node)
		PORT=$port node "$APP" >/dev/null &
		NODE_PID=$!
		;;
	esac
	for ((i = 0; i < 500; i++)); do
		if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
			sleep 1
			return 0
		fi
		sleep 0.02
	done
	echo "cluster bench: $mode: nothing listens on $port after 10 s" >&2
	return 1
}
down() {
	case ${1%%:*} in
	node)
		kill "$NODE_PID" 2>/dev/null
		wait "$NODE_PID" 2>/dev/null || true
		NODE_PID=
		;;
	gpm-*) gpm kill >/dev/null 2>&1 || true ;;
	pm2) PM2_HOME=$WORK/pm2-home timeout 30 "$PM2_BIN" kill >/dev/null 2>&1 || true ;;
	esac
}
reload() {
	case ${1%%:*} in
	gpm-*) gpm reload web ;;
	pm2) pm2 reload web ;;
	esac
}

# 1. reload under load
bench_reload() {
	local mode=$1 port=$2 r t0 t1 times=() out=$WORK/reload-$1.json
	wait_quiet
	up "$mode" "$port"
	"$WORK/loadgen" -addr "127.0.0.1:$port" -c "$LOAD_CONNS" -d 0 >"$out" &
	LOADGEN_PID=$!
	sleep 1
	for ((r = 1; r <= RELOADS; r++)); do
		t0=${EPOCHREALTIME/./}
		if ! reload "$mode" >"$WORK/reload-$mode-$r.log" 2>&1; then
			log "$mode: reload $r failed: $(tail -3 "$WORK/reload-$mode-$r.log")"
			R[reload_errors_$mode]=$((${R[reload_errors_$mode]:-0} + 1))
		fi
		t1=${EPOCHREALTIME/./}
		times+=($((t1 - t0)))
	done
	sleep 1
	kill -INT "$LOADGEN_PID"
	wait "$LOADGEN_PID" || true
	LOADGEN_PID=
	R[reload_ok_$mode]=$(jq -r .ok "$out")
	R[reload_failed_$mode]=$(jq -r .failed "$out")
	R[reload_refused_$mode]=$(jq -r .refused "$out")
	R[reload_dial_$mode]=$(jq -r .dial_errors "$out")
	R[reload_maxlat_$mode]=$(jq -r '.max_latency_ms | . * 10 | round / 10' "$out")
	R[reload_rps_$mode]=$(jq -r '.rps | round' "$out")
	R[reload_workers_$mode]=$(jq -r .distinct_bodies "$out")
	R[reload_samples_$mode]=$(jq -r '(.error_samples // [])[:5] | join(" | ")' "$out")
	R[reload_ms_$mode]=$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.0f", $1 / 1000 }')
	R[reload_ms_max_$mode]=$(printf '%s\n' "${times[@]}" | sort -n | tail -1 | awk '{ printf "%.0f", $1 / 1000 }')
	log "$mode: $RELOADS reloads: ${R[reload_ok_$mode]} ok, ${R[reload_failed_$mode]} failed, ${R[reload_refused_$mode]} refused, ${R[reload_dial_$mode]} other connect errors; reload median ${R[reload_ms_$mode]} ms; ${R[reload_workers_$mode]} distinct workers served"
	[[ -z ${R[reload_samples_$mode]} ]] || log "$mode: first errors: ${R[reload_samples_$mode]}"
	down "$mode"
}

# 2. throughput
bench_throughput() {
	local mode=$1 port=$2 r kind rps
	wait_quiet
	up "$mode" "$port"
	for kind in ka close; do
		local runs=()
		for ((r = 1; r <= THROUGHPUT_RUNS; r++)); do
			wait_quiet
			if [[ $kind == ka ]]; then
				# shellcheck disable=SC2086
				wrk $WRK_ARGS "http://127.0.0.1:$port/" >"$WORK/wrk-$mode-$kind-$r.txt"
			else
				# shellcheck disable=SC2086
				wrk $WRK_ARGS -H 'Connection: close' "http://127.0.0.1:$port/" >"$WORK/wrk-$mode-$kind-$r.txt"
			fi
			rps=$(awk '/^Requests\/sec:/ { printf "%.0f", $2 }' "$WORK/wrk-$mode-$kind-$r.txt")
			runs+=("$rps")
			if grep -q 'Socket errors\|Non-2xx' "$WORK/wrk-$mode-$kind-$r.txt"; then
				R[wrk_errors_${mode}_$kind]+="run $r: $(grep 'Socket errors\|Non-2xx' "$WORK/wrk-$mode-$kind-$r.txt" | tr -s ' ' | tr '\n' ' ')"
			fi
		done
		R[rps_${mode}_$kind]=$(printf '%s\n' "${runs[@]}" | median)
		R[rps_all_${mode}_$kind]="${runs[*]}"
		log "$mode: wrk $WRK_ARGS ($kind): ${runs[*]} req/s, median ${R[rps_${mode}_$kind]}"
	done
	down "$mode"
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
p=$PORT
part() { [[ " $PARTS " == *" $1 "* ]]; }
if part reload; then
	for mode in $RELOAD_MODES; do
		log "== reload under load: $mode"
		bench_reload "$mode" $((p++))
	done
fi
if part throughput; then
	for mode in $THROUGHPUT_MODES; do
		log "== throughput: $mode"
		bench_throughput "$mode" $((p++))
	done
fi

echo '{}' >"$WORK/sdrestart.json"
if part sdrestart; then
	log "== daemon restart under load (fd store, bench/cmd/sdrestart as systemd)"
	wait_quiet
	"$WORK/sdrestart" -gpm "$GPM_BIN" -loadgen "$WORK/loadgen" -app "$APP" -port $((p++)) -i "$WORKERS" \
		-c "$LOAD_CONNS" -restarts "$RESTARTS" >"$WORK/sdrestart.json"
	log "sdrestart: $(jq -c '{restart_ms_median, restart_ms_max, sockets_from_fd_store_log, ok: .load.ok, failed: .load.failed, refused: .load.refused, dial_errors: .load.dial_errors}' "$WORK/sdrestart.json")"
fi

BOOT=-
if part boot; then
	log "== boot to READY=1 with $BOOT_APPS saved apps"
	wait_quiet
	BOOT=$("$WORK/bootready" -gpm "$GPM_BIN" -apps "$BOOT_APPS" -runs "$BOOT_RUNS")
	log "$BOOT"
fi
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report ----------------------------------------------------------------------------------------------------------
v() { echo "${R[$1]:--}"; }
report() {
	local mode
	echo "gpm cluster vs PM2 cluster ($(uname -r), $(nproc) cores, node $(node --version), pm2 $(PM2_HOME=$WORK/pm2-home "$PM2_BIN" --version 2>/dev/null | tail -1), $WORKERS workers, $(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	echo "1. $RELOADS reloads back to back under load (loadgen -c $LOAD_CONNS, a new connection per request)"
	echo "| mode | ok requests | failed | refused | other connect errors | req/s during | max latency ms | reload median / max ms | workers seen | reload command errors |"
	echo "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|"
	for mode in $RELOAD_MODES; do
		echo "| $mode | $(v "reload_ok_$mode") | $(v "reload_failed_$mode") | $(v "reload_refused_$mode") | $(v "reload_dial_$mode") | $(v "reload_rps_$mode") | $(v "reload_maxlat_$mode") | $(v "reload_ms_$mode") / $(v "reload_ms_max_$mode") | $(v "reload_workers_$mode") | ${R[reload_errors_$mode]:-0} |"
	done
	for mode in $RELOAD_MODES; do
		[[ -z ${R[reload_samples_$mode]:-} ]] || echo "  $mode first errors: ${R[reload_samples_$mode]}"
	done
	echo
	echo "2. throughput, wrk $WRK_ARGS, median of $THROUGHPUT_RUNS (req/s)"
	echo "| mode | keep-alive | Connection: close | runs (keep-alive; close) |"
	echo "|---|---:|---:|---|"
	for mode in $THROUGHPUT_MODES; do
		echo "| $mode | $(v "rps_${mode}_ka") | $(v "rps_${mode}_close") | $(v "rps_all_${mode}_ka"); $(v "rps_all_${mode}_close") |"
	done
	for mode in $THROUGHPUT_MODES; do
		for k in ka close; do
			[[ -z ${R[wrk_errors_${mode}_$k]:-} ]] || echo "  $mode $k wrk errors: ${R[wrk_errors_${mode}_$k]}"
		done
	done
	echo
	echo "3. daemon restart under load (fd store): $(jq -c '{restarts, restart_ms_median, restart_ms_max, sockets_from_fd_store_log, ok: .load.ok, failed: .load.failed, refused: .load.refused, dial_errors: .load.dial_errors, workers_seen: .load.distinct_bodies}' "$WORK/sdrestart.json")"
	echo "4. $BOOT"
	echo
	echo "load average before: $LOAD_BEFORE; after: $LOAD_AFTER; highest CPU busy seen before a measurement: $BUSY_MAX%"
}
report
if [[ -n ${RESULTS:-} ]]; then
	{
		report
		echo
		# Raw figures, KEY=VALUE, for bench/all.sh.
		for k in $(printf '%s\n' "${!R[@]}" | sort); do
			echo "$k=${R[$k]}"
		done
		echo "sdrestart=$(jq -c . "$WORK/sdrestart.json")"
		echo "boot=$BOOT"
	} >"$RESULTS"
	log "results written to $RESULTS"
fi
