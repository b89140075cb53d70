#!/usr/bin/env bash
# bench/run.sh: gpm side by side with PM2 on the same fixture apps (bench/apps/*.sh, executed directly by both).
# `make bench` runs it. It measures, for each manager in turn, in a temporary GPM_HOME / PM2_HOME:
#   1. daemon RSS (VmRSS of the daemon pid) idle and with 50 apps online;
#   2. `jlist` latency with 10 and 50 apps (hyperfine median, or a timing loop without hyperfine);
#   3. time from `start FILE` (50 apps) until jlist shows 50 online, and the daemon's CPU time for it, with two kinds
#      of apps: the sleep binary executed directly (the managers' own work) and bench/apps/sleeper.sh (a shell that
#      forks sleep: ~1.4 ms of CPU per app that the managers' 2 cores must also find);
#   4. restart latency after kill -9 of one app (gpm: event stream via bench/cmd/restartlat; both: new pid in the
#      app's pid file, and jlist polling);
#   5. log throughput of a chatty app (500k lines of 100 bytes): time until every byte is in the log file, and the
#      daemon's CPU time (utime+stime) spent on it.
# Then it prints a result table with the bars of issue 2. Everything it starts is stopped and its temp dirs removed.
#
# Environment:
#   GPM_BIN       gpm binary (default: built from this tree into the work dir, with make build's flags)
#   PM2_BIN       pm2 executable (default: /tmp/gpm-bench/pm2/node_modules/.bin/pm2, npm-installed there on first
#                 use; never inside the repo)
#   PM2_VERSION   version installed when PM2_BIN is not given (default 7.0.4)
#   MANAGERS      "gpm pm2" (default), or one of them
#   APPS          apps for the RSS / start / jlist-50 figures (default 50); JLIST_SMALL (default 10)
#   JLIST_RUNS    hyperfine runs per jlist figure (default 20); START_RUNS (default 5); RESTART_RUNS (default 10)
#   SETTLE        seconds to wait before reading RSS (default 3); RSS_SECONDS: how long RSS is sampled (default 10)
#   LOG_LINES     lines written by the chatty app (default 500000); LOG_MODES (default "line bulk")
#   QUIET_WAIT    before each measurement, wait up to this many seconds (default 120) for the machine to be idle
#                 (CPU busy <= QUIET_BUSY %, default 15): on a shared 2-core machine other work skews every figure
#   RESULTS       also write the table (and raw figures as KEY=VALUE) to this file
#   KEEP_WORK=1   keep the work dir (homes, logs, hyperfine JSON) for inspection
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
APPS=${APPS:-50}
JLIST_SMALL=${JLIST_SMALL:-10}
JLIST_RUNS=${JLIST_RUNS:-20}
START_RUNS=${START_RUNS:-5}
RESTART_RUNS=${RESTART_RUNS:-10}
RESTART_GAP=${RESTART_GAP:-1.2}
LOG_LINES=${LOG_LINES:-500000}
LOG_MODES=${LOG_MODES:-line bulk}
SETTLE=${SETTLE:-3}
RSS_SECONDS=${RSS_SECONDS:-10}
MANAGERS=${MANAGERS:-gpm pm2}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY=${QUIET_BUSY:-15}
PM2_VERSION=${PM2_VERSION:-7.0.4}
PM2_PREFIX=${PM2_PREFIX:-/tmp/gpm-bench/pm2}

if ((BASH_VERSINFO[0] < 5)); then
	echo "bench: bash 5 or newer is needed (EPOCHREALTIME)" >&2
	exit 1
fi
for tool in go jq awk stat; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool is needed" >&2
		exit 1
	}
done

WORK=$(mktemp -d /tmp/gpm-bench.XXXXXX)
GPM_HOME_B=$WORK/gpm-home
PM2_HOME_B=$WORK/pm2-home
declare -A DAEMON_PID=()
declare -A R=()

log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

cleanup() {
	set +e
	local m k i
	for m in gpm pm2; do
		[[ -n ${DAEMON_PID[$m]:-} ]] || continue
		if kill -0 "${DAEMON_PID[$m]}" 2>/dev/null; then
			mgr "$m" kill >/dev/null 2>&1 &
			k=$!
			for ((i = 0; i < 300; i++)); do
				kill -0 "$k" 2>/dev/null || break
				sleep 0.1
			done
			kill "$k" 2>/dev/null
		fi
		if kill -0 "${DAEMON_PID[$m]}" 2>/dev/null; then
			kill -9 "${DAEMON_PID[$m]}" 2>/dev/null
		fi
	done
	if [[ ${KEEP_WORK:-} == 1 ]]; then
		log "work dir kept: $WORK"
	else
		rm -rf "$WORK"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools ---------------------------------------------------------------------------------------------------------

if [[ -z ${GPM_BIN:-} ]]; then
	# As `make build` builds it: that is the binary people run.
	log "building gpm from $ROOT (CGO_ENABLED=0 -trimpath -ldflags '-s -w', as make build)"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/gpm" ./cmd/gpm)
	GPM_BIN=$WORK/gpm
fi
(cd "$ROOT" && go build -o "$WORK/restartlat" ./bench/cmd/restartlat && go build -o "$WORK/jlistq" ./bench/cmd/jlistq)
JLISTQ=$WORK/jlistq
if [[ -z ${PM2_BIN:-} ]]; then
	PM2_BIN=$PM2_PREFIX/node_modules/.bin/pm2
	if [[ " $MANAGERS " == *" pm2 "* && ! -x $PM2_BIN ]]; then
		log "installing pm2@$PM2_VERSION into $PM2_PREFIX"
		npm install --prefix "$PM2_PREFIX" --no-audit --no-fund "pm2@$PM2_VERSION" >&2
	fi
fi
HYPERFINE=$(command -v hyperfine || true)
[[ -n $HYPERFINE ]] || log "hyperfine not found: timing jlist with a bash loop instead (apt-get install hyperfine)"

# --- fixtures ------------------------------------------------------------------------------------------------------

mkdir -p "$WORK/apps" "$WORK/logs" "$WORK/marks"
cp "$ROOT/bench/apps/sleeper.sh" "$ROOT/bench/apps/chatty.sh" "$WORK/apps/"
chmod +x "$WORK/apps/"*.sh

# ecosystem N FILE: N sleeper apps s1..sN, executed directly (interpreter "none") by either manager.
ecosystem() {
	local n=$1 i sep=
	{
		printf '{"apps": [\n'
		for ((i = 1; i <= n; i++)); do
			printf '%s  {"name": "s%d", "script": "%s", "interpreter": "none", "cwd": "%s"}' \
				"$sep" "$i" "$WORK/apps/sleeper.sh" "$WORK/apps"
			sep=$',\n'
		done
		printf '\n]}\n'
	} >"$2"
}
ecosystem "$APPS" "$WORK/apps/apps$APPS.json"
ecosystem "$JLIST_SMALL" "$WORK/apps/apps$JLIST_SMALL.json"

# ecosystem_bin N FILE: N apps b1..bN that are the sleep binary itself, executed directly by either manager: a
# long-running app with the least start-up work an app can have, so that the time to get them online is the
# managers' own. (sleeper.sh costs ~1.4 ms of CPU per app before it sleeps: a shell, a fork, a second exec; 50 of
# them are ~70 ms of CPU that any manager's 2 cores must also find.)
SLEEP_BIN=$(command -v sleep)
ecosystem_bin() {
	local n=$1 i sep=
	{
		printf '{"apps": [\n'
		for ((i = 1; i <= n; i++)); do
			printf '%s  {"name": "b%d", "script": "%s", "args": ["1000000"], "interpreter": "none", "cwd": "%s"}' \
				"$sep" "$i" "$SLEEP_BIN" "$WORK/apps"
			sep=$',\n'
		done
		printf '\n]}\n'
	} >"$2"
}
ecosystem_bin "$APPS" "$WORK/apps/bin$APPS.json"

# chatty_file MANAGER MODE: a process file for the chatty app, its log in $WORK/logs.
chatty_file() {
	local m=$1 mode=$2 f=$WORK/apps/chatty-$1-$2.json
	mkdir -p "$WORK/marks/$m-$mode"
	cat >"$f" <<-EOF
		{"apps": [{"name": "chatty-$mode", "script": "$WORK/apps/chatty.sh", "interpreter": "none",
		  "cwd": "$WORK/apps", "args": ["$mode", "$LOG_LINES", "$WORK/marks/$m-$mode"],
		  "out_file": "$WORK/logs/$m-$mode-out.log", "error_file": "$WORK/logs/$m-$mode-err.log"}]}
	EOF
	echo "$f"
}

# --- helpers -------------------------------------------------------------------------------------------------------

# mgr MANAGER ARGS...: run the manager's CLI in its bench home.
mgr() {
	case $1 in
	gpm) GPM_HOME=$GPM_HOME_B "$GPM_BIN" "${@:2}" ;;
	pm2) PM2_HOME=$PM2_HOME_B "$PM2_BIN" "${@:2}" ;;
	esac
}
home_of() { case $1 in gpm) echo "$GPM_HOME_B" ;; pm2) echo "$PM2_HOME_B" ;; esac }
pidfile_of() { case $1 in gpm) echo "$GPM_HOME_B/gpm.pid" ;; pm2) echo "$PM2_HOME_B/pm2.pid" ;; esac }

# us_to_ms MICROSECONDS
us_to_ms() { awk -v u="$1" 'BEGIN { printf "%.1f", u / 1000 }'; }
s_to_ms() { awk -v s="$1" 'BEGIN { printf "%.1f", s * 1000 }'; }

# online MANAGER: how many processes jlist shows online (gpm: .status; PM2: .pm2_env.status). jlistq, not jq:
# jq 1.6 takes ~20 ms to start, which would swamp gpm's figures.
online() { mgr "$1" jlist 2>/dev/null | "$JLISTQ" online 2>/dev/null || echo -1; }
total() { mgr "$1" jlist 2>/dev/null | "$JLISTQ" count 2>/dev/null || echo -1; }

# wait_online MANAGER N [TIMEOUT_S]: poll jlist until N processes are online.
wait_online() {
	local deadline=$((SECONDS + ${3:-120}))
	until [[ $(online "$1") -eq $2 ]]; do
		if ((SECONDS > deadline)); then
			echo "bench: $1: $2 apps not online after ${3:-120}s" >&2
			mgr "$1" jlist >&2 || true
			return 1
		fi
	done
}
wait_empty() {
	local deadline=$((SECONDS + 60))
	until [[ $(total "$1") -eq 0 ]]; do
		((SECONDS < deadline)) || {
			echo "bench: $1: delete all left processes" >&2
			return 1
		}
		sleep 0.05
	done
}

# rss_kb PID / hwm_kb PID
rss_kb() { awk '/^VmRSS:/ { print $2 }' "/proc/$1/status"; }
hwm_kb() { awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"; }
# rss_sample PID SECONDS: VmRSS every 0.5 s for SECONDS; prints "MEDIAN_MB MAX_MB" (RSS moves with each GC cycle, so
# one reading is a coin toss near a bar).
rss_sample() {
	local i xs=()
	for ((i = 0; i < $2 * 2; i++)); do
		xs+=("$(rss_kb "$1")")
		sleep 0.5
	done
	echo "$(kb_to_mb "$(printf '%s\n' "${xs[@]}" | median)") $(kb_to_mb "$(printf '%s\n' "${xs[@]}" | sort -n | sed -n '$p')")"
}
kb_to_mb() { awk -v k="$1" 'BEGIN { printf "%.1f", k / 1024 }'; }
# cpu_ticks PID: utime+stime in clock ticks.
cpu_ticks() {
	local stat
	stat=$(<"/proc/$1/stat")
	stat=${stat##*) } # fields after the command name, which may hold spaces
	awk '{ print $12 + $13 }' <<<"$stat"
}
CLK_TCK=$(getconf CLK_TCK)
# cpu_ns PID: CPU time of every thread of PID now, in ns (schedstat: exact, where utime+stime counts 10 ms ticks).
cpu_ns() {
	cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'
}

# wait_quiet MANAGER: wait for an idle machine (quiet_busy, bench/lib.sh) and record the highest busy figure a
# measurement went ahead with. Other work that starts in the middle of one still shows, in the load average printed
# at the end.
wait_quiet() {
	local b
	b=$(quiet_busy)
	local prev=${R[busy_$1]:--1}
	if ((b > prev)); then
		R[busy_$1]=$b
	fi
}

# app_id MANAGER NAME: the id of the (single) process NAME.
app_id() {
	local id pid st
	read -r id pid st <<<"$(mgr "$1" jlist | "$JLISTQ" app "$2")"
	echo "$id"
}
# app_pid_status MANAGER NAME: "PID STATUS" from jlist.
app_pid_status() {
	local id pid st
	read -r id pid st <<<"$(mgr "$1" jlist 2>/dev/null | "$JLISTQ" app "$2" 2>/dev/null)"
	echo "$pid $st"
}

# jlist_latency MANAGER KEY: median jlist wall time in ms over JLIST_RUNS runs.
jlist_latency() {
	local m=$1 key=$2 json=$WORK/hyperfine-$1-$2.json
	if [[ -n $HYPERFINE ]]; then
		(
			export GPM_HOME=$GPM_HOME_B PM2_HOME=$PM2_HOME_B
			local bin=$GPM_BIN
			[[ $m == pm2 ]] && bin=$PM2_BIN
			"$HYPERFINE" --shell=none --style=none --warmup 3 --runs "$JLIST_RUNS" --export-json "$json" "$bin jlist" >/dev/null
		)
		R[${key}_$m]=$(s_to_ms "$(jq -r '.results[0].median' "$json")")
		R[${key}_min_$m]=$(s_to_ms "$(jq -r '.results[0].min' "$json")")
		R[${key}_max_$m]=$(s_to_ms "$(jq -r '.results[0].max' "$json")")
	else
		local i t0 t1 runs=()
		for ((i = 0; i < 3; i++)); do mgr "$m" jlist >/dev/null; done
		for ((i = 0; i < JLIST_RUNS; i++)); do
			t0=${EPOCHREALTIME/./}
			mgr "$m" jlist >/dev/null
			t1=${EPOCHREALTIME/./}
			runs+=($((t1 - t0)))
		done
		R[${key}_$m]=$(us_to_ms "$(printf '%s\n' "${runs[@]}" | median)")
		R[${key}_min_$m]=$(us_to_ms "$(printf '%s\n' "${runs[@]}" | sort -n | sed -n 1p)")
		R[${key}_max_$m]=$(us_to_ms "$(printf '%s\n' "${runs[@]}" | sort -n | sed -n '$p')")
	fi
	log "$m: jlist ($key) median ${R[${key}_$m]} ms"
}

# restart_pidfile MANAGER NAME: kill -9 the app, time until its pid file holds a new pid (both managers write
# $HOME/pids/NAME-ID.pid when they spawn it). Busy-polls the file with bash builtins, so resolution is ~10 us.
restart_pidfile() {
	local m=$1 name=$2 id pf old new t0 t1 r runs=() deadline
	id=$(app_id "$m" "$name")
	pf=$(home_of "$m")/pids/$name-$id.pid
	for ((r = 0; r <= RESTART_RUNS; r++)); do
		sleep "$RESTART_GAP"
		old=$(<"$pf")
		t0=${EPOCHREALTIME/./}
		kill -9 "$old"
		deadline=$((t0 + 10000000))
		while :; do
			new=
			{ read -r new <"$pf"; } 2>/dev/null || true
			if [[ -n $new && $new != "$old" ]]; then
				t1=${EPOCHREALTIME/./}
				break
			fi
			if ((${EPOCHREALTIME/./} > deadline)); then
				echo "bench: $m: $name not restarted within 10 s" >&2
				return 1
			fi
		done
		((r == 0)) || runs+=($((t1 - t0))) # the first run is a warm-up
	done
	printf '%s\n' "${runs[@]}" >"$WORK/restart-pidfile-$m.txt"
	R[restart_pidfile_$m]=$(us_to_ms "$(printf '%s\n' "${runs[@]}" | median)")
	log "$m: restart (pid file) median ${R[restart_pidfile_$m]} ms"
}

# restart_jlist MANAGER NAME: kill -9 the app, poll jlist until it shows a new pid online.
restart_jlist() {
	local m=$1 name=$2 old st new t0 t1 r runs=() deadline
	for ((r = 0; r <= RESTART_RUNS; r++)); do
		sleep "$RESTART_GAP"
		read -r old st <<<"$(app_pid_status "$m" "$name")"
		[[ $st == online ]] || {
			echo "bench: $m: $name is $st" >&2
			return 1
		}
		t0=${EPOCHREALTIME/./}
		kill -9 "$old"
		deadline=$((t0 + 30000000))
		while :; do
			read -r new st <<<"$(app_pid_status "$m" "$name")"
			if [[ $st == online && -n $new && $new != 0 && $new != "$old" ]]; then
				t1=${EPOCHREALTIME/./}
				break
			fi
			if ((${EPOCHREALTIME/./} > deadline)); then
				echo "bench: $m: $name not back online within 30 s" >&2
				return 1
			fi
		done
		((r == 0)) || runs+=($((t1 - t0)))
	done
	printf '%s\n' "${runs[@]}" >"$WORK/restart-jlist-$m.txt"
	R[restart_jlist_$m]=$(us_to_ms "$(printf '%s\n' "${runs[@]}" | median)")
	log "$m: restart (jlist polling) median ${R[restart_jlist_$m]} ms"
}

# log_throughput MANAGER MODE
log_throughput() {
	local m=$1 mode=$2 f out dpid c0 c1 t0 t1 start end size want=$((LOG_LINES * 100)) deadline check
	f=$(chatty_file "$m" "$mode")
	out=$WORK/logs/$m-$mode-out.log
	dpid=${DAEMON_PID[$m]}
	c0=$(cpu_ticks "$dpid")
	t0=${EPOCHREALTIME/./}
	mgr "$m" start "$f" >/dev/null 2>&1
	deadline=$((SECONDS + 300))
	local last=-1 still=0
	while :; do
		size=$(stat -c %s "$out" 2>/dev/null || echo 0)
		((size < want)) || break
		# The writer is done and the file has not grown for 5 s: lines were lost; report what is there.
		if [[ -s $WORK/marks/$m-$mode/end ]] && ((size == last)); then
			if ((++still >= 1000)); then
				echo "bench: $m: $mode log stuck at $size of $want bytes" >&2
				break
			fi
		else
			still=0
		fi
		last=$size
		if ((SECONDS > deadline)); then
			echo "bench: $m: $mode log has $size of $want bytes after 300 s" >&2
			break
		fi
		sleep 0.005
	done
	t1=${EPOCHREALTIME/./}
	c1=$(cpu_ticks "$dpid")
	start=$(<"$WORK/marks/$m-$mode/start")
	until [[ -s $WORK/marks/$m-$mode/end ]]; do sleep 0.01; done
	end=$(<"$WORK/marks/$m-$mode/end")
	# Every line present once, in order: line k starts with k.
	check=$(awk -v n="$LOG_LINES" '$1 + 0 != NR - 1 || length($0) != 99 { bad++ } END { r = (bad == 0 && NR == n) ? "yes" : "NO (" NR " lines, " bad + 0 " bad)"; print r }' "$out")
	R[log_${mode}_all_$m]=$(awk -v a="$t1" -v s="$start" 'BEGIN { printf "%.2f", (a - s / 1000) / 1e6 }')
	R[log_${mode}_writer_$m]=$(awk -v e="$end" -v s="$start" 'BEGIN { printf "%.2f", (e - s) / 1e9 }')
	R[log_${mode}_cpu_$m]=$(awk -v c=$((c1 - c0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", c / hz }')
	R[log_${mode}_ok_$m]=$check
	R[log_${mode}_rate_$m]=$(awk -v n="$LOG_LINES" -v t="${R[log_${mode}_all_$m]}" 'BEGIN { printf "%.0f", n / t / 1000 }')
	log "$m: log $mode: all in file after ${R[log_${mode}_all_$m]} s (writer ${R[log_${mode}_writer_$m]} s), daemon cpu ${R[log_${mode}_cpu_$m]} s, intact: $check"
	mgr "$m" delete "chatty-$mode" >/dev/null 2>&1
	wait_empty "$m"
}

# start_runs MANAGER KEY FILE KEEP: START_RUNS times, `start FILE` (APPS apps) and poll jlist until all are online;
# records the median time (R[KEY_MANAGER]), the start command's own (R[KEY_cmd_MANAGER]) and the daemon's CPU time
# for one start (R[KEY_cpu_MANAGER]: every thread of the daemon, from the start command until all were online). The
# apps of the last run stay when KEEP is 1; after the first run of the KEEP file, the daemon's RSS is sampled.
start_runs() {
	local m=$1 key=$2 file=$3 keep=$4 dpid=${DAEMON_PID[$1]} i t0 t1 t2 c0 c2 runs=() cmd_runs=() cpus=()
	for ((i = 1; i <= START_RUNS; i++)); do
		sleep 1
		wait_quiet "$m"
		c0=$(cpu_ns "$dpid")
		t0=${EPOCHREALTIME/./}
		mgr "$m" start "$file" >/dev/null 2>&1
		t1=${EPOCHREALTIME/./}
		wait_online "$m" "$APPS"
		t2=${EPOCHREALTIME/./}
		c2=$(cpu_ns "$dpid")
		runs+=($((t2 - t0)))
		cmd_runs+=($((t1 - t0)))
		cpus+=($(((c2 - c0) / 1000)))
		log "$m: $key: start $APPS apps, run $i: all online after $(us_to_ms $((t2 - t0))) ms (start command returned after $(us_to_ms $((t1 - t0))) ms; daemon CPU $(us_to_ms $(((c2 - c0) / 1000))) ms)"
		if ((keep && i == 1)); then
			# RSS of a daemon that has started its first 50 apps (the figure below is after START_RUNS cycles).
			sleep "$SETTLE"
			read -r "R[rss_first_$m]" "R[rss_first_max_$m]" <<<"$(rss_sample "$dpid" 3)"
		fi
		if ((!keep || i < START_RUNS)); then
			mgr "$m" delete all >/dev/null 2>&1
			wait_empty "$m"
		fi
	done
	R[${key}_$m]=$(us_to_ms "$(printf '%s\n' "${runs[@]}" | median)")
	R[${key}_cmd_$m]=$(us_to_ms "$(printf '%s\n' "${cmd_runs[@]}" | median)")
	R[${key}_cpu_$m]=$(us_to_ms "$(printf '%s\n' "${cpus[@]}" | median)")
	R[${key}_all_$m]=$(for r in "${runs[@]}"; do us_to_ms "$r"; printf ' '; done)
}

# --- one manager ---------------------------------------------------------------------------------------------------

bench_manager() {
	local m=$1 dpid i victim
	log "== $m"
	wait_quiet "$m"
	mgr "$m" ping >/dev/null 2>&1
	dpid=$(<"$(pidfile_of "$m")")
	DAEMON_PID[$m]=$dpid
	if [[ $m == gpm ]]; then
		R[version_$m]=$(mgr gpm version 2>/dev/null | sed -n 1p)
	else
		R[version_$m]=$(mgr pm2 --version 2>/dev/null | sed -n '$p')
	fi
	sleep "$SETTLE"
	read -r "R[rss_idle_$m]" "R[rss_idle_max_$m]" <<<"$(rss_sample "$dpid" "$RSS_SECONDS")"
	log "$m: daemon pid $dpid, idle RSS median ${R[rss_idle_$m]} MB, max ${R[rss_idle_max_$m]} MB"

	# jlist with JLIST_SMALL apps.
	wait_quiet "$m"
	mgr "$m" start "$WORK/apps/apps$JLIST_SMALL.json" >/dev/null 2>&1
	wait_online "$m" "$JLIST_SMALL"
	sleep 1
	jlist_latency "$m" "jlist$JLIST_SMALL"
	mgr "$m" delete all >/dev/null 2>&1
	wait_empty "$m"

	# APPS binary apps from one process file, START_RUNS times; then APPS shell-script apps, which stay for what
	# follows.
	start_runs "$m" start_bin "$WORK/apps/bin$APPS.json" 0
	start_runs "$m" start "$WORK/apps/apps$APPS.json" 1

	# RSS and jlist with APPS apps online.
	sleep "$SETTLE"
	read -r "R[rss_apps_$m]" "R[rss_apps_max_$m]" <<<"$(rss_sample "$dpid" "$RSS_SECONDS")"
	log "$m: RSS with $APPS apps: median ${R[rss_apps_$m]} MB, max ${R[rss_apps_max_$m]} MB"
	jlist_latency "$m" "jlist$APPS"
	R[rss_apps_after_$m]=$(kb_to_mb "$(rss_kb "$dpid")")
	R[hwm_$m]=$(kb_to_mb "$(hwm_kb "$dpid")")

	# Restart after kill -9, APPS apps online; the victim is the middle app.
	wait_quiet "$m"
	victim=s$(((APPS + 1) / 2))
	if [[ $m == gpm ]]; then
		"$WORK/restartlat" -home "$GPM_HOME_B" -name "$victim" -runs "$RESTART_RUNS" -gap "${RESTART_GAP}s" >"$WORK/restartlat.json"
		R[restart_event_$m]=$(s_to_ms "$(jq -r '.median_ms / 1000' "$WORK/restartlat.json")")
		R[restart_event_max_$m]=$(s_to_ms "$(jq -r '.max_ms / 1000' "$WORK/restartlat.json")")
		R[restart_event_daemon_$m]=$(s_to_ms "$(jq -r '.daemon_side_median_ms / 1000' "$WORK/restartlat.json")")
		R[restart_event_seq_$m]=$(jq -r '.events_first_run | join(" -> ")' "$WORK/restartlat.json")
		log "$m: restart (events) median ${R[restart_event_$m]} ms, max ${R[restart_event_max_$m]} ms; events: ${R[restart_event_seq_$m]}"
	fi
	restart_pidfile "$m" "$victim"
	restart_jlist "$m" "$victim"
	R[restarts_seen_$m]=$(mgr "$m" jlist | jq -r --arg n "$victim" '.[] | select(.name == $n) | "\(.restarts // .pm2_env.restart_time) restarts, \(.unstable_restarts // .pm2_env.unstable_restarts) unstable, \(.status // .pm2_env.status)"')

	mgr "$m" delete all >/dev/null 2>&1
	wait_empty "$m"

	for mode in $LOG_MODES; do
		wait_quiet "$m"
		log_throughput "$m" "$mode"
	done
	R[load_$m]=$(cut -d' ' -f1 /proc/loadavg)

	R[rss_end_$m]=$(kb_to_mb "$(rss_kb "$dpid")")
	R[hwm_end_$m]=$(kb_to_mb "$(hwm_kb "$dpid")")
	mgr "$m" kill >/dev/null 2>&1
	for ((i = 0; i < 100; i++)); do
		kill -0 "$dpid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$dpid" 2>/dev/null; then
		echo "bench: $m daemon $dpid still alive after kill" >&2
		return 1
	fi
	DAEMON_PID[$m]=
}

LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
for m in $MANAGERS; do
	bench_manager "$m"
done
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- report --------------------------------------------------------------------------------------------------------

g() { echo "${R[$1_gpm]:--}"; }
p() { echo "${R[$1_pm2]:--}"; }
# verdict EXPR: PASS/FAIL from an awk condition on g (gpm) and p (PM2), "-" if a figure is missing.
verdict() {
	local gv=$1 pv=$2 cond=$3
	if [[ $gv == - || ($cond == *p* && $pv == -) ]]; then
		echo "-"
		return
	fi
	awk -v g="$gv" -v p="$pv" "BEGIN { r = ($cond) ? \"PASS\" : \"FAIL\"; print r }"
}
ratio() {
	if [[ $1 == - || $2 == - ]]; then
		echo "-"
	else
		awk -v g="$1" -v p="$2" 'BEGIN { printf "%.1fx", p / g }'
	fi
}

report() {
	local W=78 mode
	row() { printf "| %-${W}s | %9s | %9s | %8s | %-22s | %-6s |\n" "$@"; }
	echo
	echo "gpm vs PM2 ($(uname -r), $(nproc) cores, $(go version 2>/dev/null | awk '{ print $3 }'), node $(node --version 2>/dev/null), pm2 $(p version), $(date -u '+%Y-%m-%d %H:%M UTC'))"
	echo
	row "Figure" "gpm" "PM2" "PM2/gpm" "Bar (issue 2)" "Result"
	row "$(printf -- '-%.0s' $(seq $W))" "---------" "---------" "--------" "----------------------" "------"
	row "Daemon RSS idle, median of ${RSS_SECONDS} s (MB)" "$(g rss_idle)" "$(p rss_idle)" "$(ratio "$(g rss_idle)" "$(p rss_idle)")" "" ""
	row "Daemon RSS, $APPS apps online, first start, median of 3 s (MB)" "$(g rss_first)" "$(p rss_first)" "$(ratio "$(g rss_first)" "$(p rss_first)")" "gpm <= 12 MB" "$(verdict "$(g rss_first)" - 'g <= 12')"
	row "Daemon RSS, $APPS apps online, after $START_RUNS start cycles, median of ${RSS_SECONDS} s (MB)" "$(g rss_apps)" "$(p rss_apps)" "$(ratio "$(g rss_apps)" "$(p rss_apps)")" "gpm <= 12 MB" "$(verdict "$(g rss_apps)" - 'g <= 12')"
	row "  same, max of the ${RSS_SECONDS} s (MB)" "$(g rss_apps_max)" "$(p rss_apps_max)" "$(ratio "$(g rss_apps_max)" "$(p rss_apps_max)")" "gpm <= 12 MB" "$(verdict "$(g rss_apps_max)" - 'g <= 12')"
	row "  same, right after the jlist runs (MB)" "$(g rss_apps_after)" "$(p rss_apps_after)" "$(ratio "$(g rss_apps_after)" "$(p rss_apps_after)")" "gpm <= 12 MB" "$(verdict "$(g rss_apps_after)" - 'g <= 12')"
	row "Daemon peak RSS (VmHWM) over the whole run (MB)" "$(g hwm_end)" "$(p hwm_end)" "$(ratio "$(g hwm_end)" "$(p hwm_end)")" "" ""
	row "jlist, $JLIST_SMALL apps, median of $JLIST_RUNS (ms)" "$(g "jlist$JLIST_SMALL")" "$(p "jlist$JLIST_SMALL")" "$(ratio "$(g "jlist$JLIST_SMALL")" "$(p "jlist$JLIST_SMALL")")" "" ""
	row "jlist, $APPS apps, median of $JLIST_RUNS (ms)" "$(g "jlist$APPS")" "$(p "jlist$APPS")" "$(ratio "$(g "jlist$APPS")" "$(p "jlist$APPS")")" "gpm <= 15 ms" "$(verdict "$(g "jlist$APPS")" - 'g <= 15')"
	row "start FILE -> jlist shows $APPS online, binary apps, median of $START_RUNS (ms)" "$(g start_bin)" "$(p start_bin)" "$(ratio "$(g start_bin)" "$(p start_bin)")" ">= 10x sooner than PM2" "$(verdict "$(g start_bin)" "$(p start_bin)" 'p / g >= 10')"
	row "  the start command alone returned after (ms)" "$(g start_bin_cmd)" "$(p start_bin_cmd)" "$(ratio "$(g start_bin_cmd)" "$(p start_bin_cmd)")" "" ""
	row "  daemon CPU time for the start (ms)" "$(g start_bin_cpu)" "$(p start_bin_cpu)" "$(ratio "$(g start_bin_cpu)" "$(p start_bin_cpu)")" "" ""
	row "start FILE -> jlist shows $APPS online, shell-script apps, median of $START_RUNS (ms)" "$(g start)" "$(p start)" "$(ratio "$(g start)" "$(p start)")" ">= 10x sooner than PM2" "$(verdict "$(g start)" "$(p start)" 'p / g >= 10')"
	row "  the start command alone returned after (ms)" "$(g start_cmd)" "$(p start_cmd)" "$(ratio "$(g start_cmd)" "$(p start_cmd)")" "" ""
	row "  daemon CPU time for the start (ms)" "$(g start_cpu)" "$(p start_cpu)" "$(ratio "$(g start_cpu)" "$(p start_cpu)")" "" ""
	row "restart after kill -9, median of $RESTART_RUNS: event stream (ms)" "$(g restart_event)" "n/a" "" "gpm <= 50 ms" "$(verdict "$(g restart_event)" - 'g <= 50')"
	row "restart after kill -9, median of $RESTART_RUNS: new pid in pid file (ms)" "$(g restart_pidfile)" "$(p restart_pidfile)" "$(ratio "$(g restart_pidfile)" "$(p restart_pidfile)")" "gpm <= 50 ms" "$(verdict "$(g restart_pidfile)" - 'g <= 50')"
	row "restart after kill -9, median of $RESTART_RUNS: jlist polling (ms)" "$(g restart_jlist)" "$(p restart_jlist)" "$(ratio "$(g restart_jlist)" "$(p restart_jlist)")" "gpm <= 50 ms" "$(verdict "$(g restart_jlist)" - 'g <= 50')"
	for mode in $LOG_MODES; do
		row "log $mode: $LOG_LINES lines x 100 B all in the file (s)" "$(g "log_${mode}_all")" "$(p "log_${mode}_all")" "$(ratio "$(g "log_${mode}_all")" "$(p "log_${mode}_all")")" "" ""
		row "log $mode: the writer itself finished after (s)" "$(g "log_${mode}_writer")" "$(p "log_${mode}_writer")" "" "" ""
		row "log $mode: throughput (k lines/s)" "$(g "log_${mode}_rate")" "$(p "log_${mode}_rate")" "" "" ""
		row "log $mode: daemon CPU time, utime+stime (s)" "$(g "log_${mode}_cpu")" "$(p "log_${mode}_cpu")" "$(ratio "$(g "log_${mode}_cpu")" "$(p "log_${mode}_cpu")")" "" ""
		row "log $mode: every line once, in order" "$(g "log_${mode}_ok")" "$(p "log_${mode}_ok")" "" "" ""
	done
	echo
	echo "start runs, binary apps (ms): gpm: $(g start_bin_all); pm2: $(p start_bin_all)"
	echo "start runs, shell-script apps (ms): gpm: $(g start_all); pm2: $(p start_all)"
	echo "gpm restart events seen (first run): $(g restart_event_seq); daemon-side median $(g restart_event_daemon) ms, max $(g restart_event_max) ms"
	echo "victim after the restart runs: gpm: $(g restarts_seen); pm2: $(p restarts_seen)"
	echo "load average (1/5/15 min) before: $LOAD_BEFORE; after: $LOAD_AFTER"
	echo "other work on the machine: highest CPU busy seen just before a measurement: gpm $(g busy)%, pm2 $(p busy)%; 1-min load average at the end of each manager: gpm $(g load), pm2 $(p load)"
	echo "gpm: $(g version) ($GPM_BIN); pm2: $(p version) ($PM2_BIN); hyperfine: ${HYPERFINE:-none}"
}

report
if [[ -n ${RESULTS:-} ]]; then
	{
		report
		echo
		for k in $(printf '%s\n' "${!R[@]}" | sort); do
			echo "$k=${R[$k]}"
		done
	} >"$RESULTS"
	log "results written to $RESULTS"
fi
