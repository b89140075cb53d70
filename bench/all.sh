#!/usr/bin/env bash
# bench/all.sh: `make bench`. gpm, PM2 and supervisor side by side with the machine's own floor, in one run, one
# table (issue 13). Every figure is a median with its spread (p10-p90 of the runs, or min-max when there are fewer
# than 10), next to a floor measured in the same run by a minimal program (bench/cmd/floor, bench/cmd/hello):
#   CLI call            a static hello-world Go binary built with gpm's flags; for ls/jlist, `floor call`: a static
#                       Go client that does one unix-socket round trip of jlist's size with `floor serve`
#   apps online         `floor spawn`: fork/exec of the same apps, sequentially and from one goroutine per CPU
#   kill -9 -> new pid  `floor respawn`: a bare wait4-and-respawn loop; measured like the managers (floor killwatch:
#                       kill -9 a child, busy-poll the manager's children until a new one appears)
#   log throughput      `floor pump`: read the app's stdout 64 KiB at a time, write it to a file
# Apps are "online" when they are the manager's children and have exec'd (floor startwait, polling /proc): the
# same test for the three managers and the floor, no CLI polling in the figure.
# The managers run in turn, each in its own temporary home; where a figure is a ratio the runs alternate
# (gpm, PM2, supervisor, gpm, ...) with the three daemons up. bench/cluster.sh (cluster mode, reload, the fd store
# restart, boot to READY=1), bench/tree.sh (stop with 50 descendants) and bench/logrotate.sh (rotation on/off) are
# run with shortened settings and their figures put in the same table.
#
# The run is timed part by part (the log's "-- PART took N s" lines, the report's "wall time per part" line).
# What keeps it under 10 minutes on 2 cores: PM2 and supervisor, whose starts and CLI calls take 5-50x gpm's, are
# run fewer times (OTHER_RUNS, PM2_CLI_RUNS; the table gives n for every figure); figures with 1000 apps are one run
# each; the daemons' RSS is sampled in the same 3 s; a quiet machine costs 0.3 s a check (QUIET_SAMPLE); PM2's 1000
# apps are killed outright after their figures (its `delete all` takes as long as its kill); and PM2's kill of
# its 1000 apps (80-200 s, ~85 % of it waiting on its own 100 ms polls) runs in the 60 s idle window, in a PM2 home of
# its own (the idle figures are each daemon's own CPU time; OVERLAP_IDLE=0 runs it in turn instead).
#
# Environment (defaults keep the whole run under 10 minutes on 2 cores):
#   GPM_BIN / PM2_BIN   as bench/run.sh (gpm and gpmd built from this tree as make build does; PM2 7.0.4 npm-installed
#                       in /tmp/gpm-bench/pm2 on first use). supervisor: Debian's package, apt-get installed when
#                       supervisord is missing; SUPERVISOR=0 leaves it out
#   RUNS (5)            runs of the 50-app start figures for gpm and the floor; OTHER_RUNS (3) for PM2 and
#                       supervisor, in rounds spread over gpm's (1, 3, 5)
#   CLI_RUNS (30)       hyperfine runs of a gpm (and floor) CLI call; PM2_CLI_RUNS (5) of a pm2 or supervisorctl call
#   KILL_RUNS (8)
#   SCALE (1000)        apps of the Scale rows; SCALE_PM2 (1) / SCALE_SUP (0): 1 puts PM2 / supervisor in them (supervisor's
#                       1000 programs take ~60 s, which the leak part needs to keep the run under 10 minutes)
#   LEAK_RESTARTS (10000) restarts of crash-looping apps in the leak part (e2e TestLeakRestarts; CI runs 500)
#   IDLE_SECONDS (60)   the window of the idle CPU figure (the three daemons are measured in the same window)
#   LOG_LINES (500000), LOG_RUNS (3)
#   WRK_ARGS (-t2 -c64 -d1s), THROUGHPUT_RUNS (3): cluster throughput; ROTATE_LINES (500000), ROTATE_RUNS (5): rotation
#   PARTS               default "cli small start kill idle scale log cluster tree rotate leak"
#   OVERLAP_IDLE (1)    PM2's kill of its SCALE apps in the idle window (0: in turn, in the scale part)
#   QUIET_WAIT (10) QUIET_BUSY (25) QUIET_TOTAL (30): wait up to QUIET_WAIT s before a measurement for the CPUs to be
#                       at most QUIET_BUSY % busy, and no more than QUIET_TOTAL s in all; QUIET_SAMPLE (0.3) s a check
#   RESULTS             also write the table and the raw figures to this file; KEEP_WORK=1 keeps the work dir
set -euo pipefail
shopt -s lastpipe # `... | put KEY WHO` sets R in this shell

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-5}
OTHER_RUNS=${OTHER_RUNS:-3}
PM2_CLI_RUNS=${PM2_CLI_RUNS:-5}
OVERLAP_IDLE=${OVERLAP_IDLE:-1}
CLI_RUNS=${CLI_RUNS:-30}
KILL_RUNS=${KILL_RUNS:-8}
SCALE=${SCALE:-1000}
SCALE_PM2=${SCALE_PM2:-1}
SCALE_SUP=${SCALE_SUP:-0}
SUPERVISOR=${SUPERVISOR:-1}
IDLE_SECONDS=${IDLE_SECONDS:-60}
LOG_LINES=${LOG_LINES:-500000}
LOG_RUNS=${LOG_RUNS:-3}
PARTS=${PARTS:-cli small start kill idle scale log cluster tree rotate leak}
LEAK_RESTARTS=${LEAK_RESTARTS:-10000}
QUIET_WAIT=${QUIET_WAIT:-10}
QUIET_BUSY=${QUIET_BUSY:-25}
QUIET_TOTAL=${QUIET_TOTAL:-30}
export QUIET_SAMPLE=${QUIET_SAMPLE:-0.3} # bench/lib.sh cpu_busy's window: a quiet machine costs 0.3 s a check
PM2_VERSION=${PM2_VERSION:-7.0.4}
PM2_PREFIX=${PM2_PREFIX:-/tmp/gpm-bench/pm2}
CMDLINE="${BENCH_CMD:-bash bench/all.sh}"

for tool in go jq awk hyperfine node; do
	command -v "$tool" >/dev/null || {
		echo "bench: $tool is needed (hyperfine: apt-get install hyperfine)" >&2
		exit 1
	}
done
T_START=$SECONDS
WORK=$(mktemp -d /tmp/gpm-all.XXXXXX)
declare -A R=()
SUP_PID=
RESPAWN_PID=
SERVE_PID=
KILLBG_PID=
SCALE_PM2_HOME=$WORK/pm2-scale
log() { printf '[bench %(%H:%M:%S)T +%ss] %s\n' -1 $((SECONDS - T_START)) "$*" >&2; }
# section NAME: the section before ends (its wall time is logged and kept for the report), NAME begins.
declare -A PT=()
PT_ORDER=()
P_NAME=
P_T0=
section() {
	local now=${EPOCHREALTIME/./}
	if [[ -n $P_NAME ]]; then
		PT[$P_NAME]=$(awk -v a="$P_T0" -v b="$now" 'BEGIN { printf "%.0f", (b - a) / 1e6 }')
		PT_ORDER+=("$P_NAME")
		log "-- $P_NAME took ${PT[$P_NAME]} s"
	fi
	P_NAME=$1
	P_T0=$now
}
section setup
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"

export GPM_HOME=$WORK/gpm-home PM2_HOME=$WORK/pm2-home
SUP=$WORK/sup
gpm() { "$GPM_BIN" "$@"; }
pm2() { "$PM2_BIN" "$@"; }
supctl() { supervisorctl -c "$SUP/supervisord.conf" "$@"; }

cleanup() {
	set +e
	[[ -n $RESPAWN_PID ]] && kill "$RESPAWN_PID" 2>/dev/null
	[[ -n $SERVE_PID ]] && kill "$SERVE_PID" 2>/dev/null
	[[ -n $KILLBG_PID ]] && kill "$KILLBG_PID" 2>/dev/null
	[[ -e $SCALE_PM2_HOME/pm2.pid ]] && PM2_HOME=$SCALE_PM2_HOME hard_down pm2
	[[ -n $SUP_PID ]] && sup_kill
	[[ -e $GPM_HOME/gpm.pid ]] && timeout 60 "$GPM_BIN" kill >/dev/null 2>&1
	[[ -e $PM2_HOME/pm2.pid ]] && timeout 60 "$PM2_BIN" kill >/dev/null 2>&1
	if [[ ${KEEP_WORK:-} == 1 ]]; then log "work dir kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- tools -----------------------------------------------------------------------------------------------------------
FLAGS=(-trimpath -ldflags '-s -w')
if [[ -z ${GPM_BIN:-} ]]; then
	# As make build and the packages: gpm the thin CLI, gpmd beside it (the daemon, process files).
	log "building gpm and gpmd (CGO_ENABLED=0 -trimpath -ldflags '-s -w', as make build)"
	(cd "$ROOT" && CGO_ENABLED=0 go build -tags gpmthin "${FLAGS[@]}" -o "$WORK/gpm" ./cmd/gpm &&
		CGO_ENABLED=0 go build "${FLAGS[@]}" -o "$WORK/gpmd" ./cmd/gpm)
	GPM_BIN=$WORK/gpm
fi
GPM_BIN=$(realpath "$GPM_BIN")
(cd "$ROOT" && CGO_ENABLED=0 go build "${FLAGS[@]}" -o "$WORK/hello" ./bench/cmd/hello &&
	CGO_ENABLED=0 go build "${FLAGS[@]}" -o "$WORK/floor" ./bench/cmd/floor &&
	go build -o "$WORK/restartlat" ./bench/cmd/restartlat)
FLOOR=$WORK/floor
if [[ -z ${PM2_BIN:-} ]]; then
	PM2_BIN=$PM2_PREFIX/node_modules/.bin/pm2
	if [[ ! -x $PM2_BIN ]]; then
		log "installing pm2@$PM2_VERSION into $PM2_PREFIX"
		npm install --prefix "$PM2_PREFIX" --no-audit --no-fund "pm2@$PM2_VERSION" >&2
	fi
fi
if ((SUPERVISOR)) && ! command -v supervisord >/dev/null; then
	log "installing Debian's supervisor package"
	DEBIAN_FRONTEND=noninteractive apt-get install -y supervisor >&2 ||
		{ apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y supervisor >&2; } || true
fi
# Debian's package starts its own supervisord (/etc/supervisor); ours has its own config, socket and pid file.
((SUPERVISOR)) && command -v supervisord >/dev/null || SUPERVISOR=0

QUIET_SPENT=0
BUSY_MAX=0
# quiet: wait for an idle machine (bench/lib.sh quiet_busy), within the QUIET_TOTAL budget of the whole run.
quiet() {
	local t0=$SECONDS b left=$((QUIET_TOTAL - QUIET_SPENT))
	((left > 0)) || left=1
	b=$(QUIET_WAIT=$((QUIET_WAIT < left ? QUIET_WAIT : left)) quiet_busy)
	QUIET_SPENT=$((QUIET_SPENT + SECONDS - t0))
	((b <= BUSY_MAX)) || BUSY_MAX=$b
}

# sub_wait: QUIET_WAIT for bench/cluster.sh, tree.sh and logrotate.sh (which check before every measurement, ~50
# checks in all): 1 s while this run's QUIET_TOTAL budget lasts, else 0 (one 0.3 s check, then measure anyway).
sub_wait() { if ((QUIET_TOTAL - QUIET_SPENT > 5)); then echo 1; else echo 0; fi; }

# --- fixtures --------------------------------------------------------------------------------------------------------
mkdir -p "$WORK/apps" "$WORK/logs" "$WORK/marks" "$SUP"
cp "$ROOT/bench/apps/sleeper.sh" "$ROOT/bench/apps/chatty.sh" "$WORK/apps/"
chmod +x "$WORK/apps/"*.sh
SLEEPER=$WORK/apps/sleeper.sh
SLEEP_BIN=$(command -v sleep)
# eco N FILE KIND: N apps from one PM2 ecosystem file, run directly by both managers (interpreter none). KIND sh:
# bench/apps/sleeper.sh (a shell that forks sleep); bin: the sleep binary itself (the least work an app can be).
eco() {
	local n=$1 kind=$3
	if [[ $kind == sh ]]; then
		jq -n --arg s "$SLEEPER" --arg c "$WORK/apps" --argjson n "$n" \
			'{apps: [range(1; $n + 1) | {name: "s\(.)", script: $s, interpreter: "none", cwd: $c}]}' >"$2"
	else
		jq -n --arg s "$SLEEP_BIN" --arg c "$WORK/apps" --argjson n "$n" \
			'{apps: [range(1; $n + 1) | {name: "b\(.)", script: $s, args: ["1000000"], interpreter: "none", cwd: $c}]}' >"$2"
	fi
}
# sup_conf N KIND: a supervisord config with N programs like eco's, its own socket, pid file and log dir. minfds:
# supervisor's default (1024), or what N programs need (3 pipes and 2 log files each) when that is more: every child
# closes each fd below minfds before its exec (53 ms a spawn at 16384, this script's earlier setting).
sup_conf() {
	local n=$1 kind=$2 i cmd=$SLEEPER
	[[ $kind == sh ]] || cmd="$SLEEP_BIN 1000000"
	mkdir -p "$SUP/logs"
	{
		cat <<-EOF
			[unix_http_server]
			file=$SUP/sock
			[supervisord]
			logfile=$SUP/supervisord.log
			pidfile=$SUP/supervisord.pid
			childlogdir=$SUP/logs
			nodaemon=true
			minfds=$((6 * n + 256 > 1024 ? 6 * n + 256 : 1024))
			minprocs=4096
			[rpcinterface:supervisor]
			supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface
			[supervisorctl]
			serverurl=unix://$SUP/sock
		EOF
		for ((i = 1; i <= n; i++)); do
			printf '[program:%s%d]\ncommand=%s\ndirectory=%s\nstartsecs=0\nautorestart=true\nstopasgroup=true\nkillasgroup=true\n' "$kind" "$i" "$cmd" "$WORK/apps"
		done
	} >"$SUP/supervisord.conf"
}
# sup_up N KIND: supervisord with N programs, in the background; SUP_UP_MS: the ms until all were running (its
# children, exec'd: startsecs=0, so supervisor calls them RUNNING at once).
sup_up() {
	sup_conf "$1" "$2"
	local match=$SLEEPER out
	[[ $2 == sh ]] || match=1000000
	"$FLOOR" startwait -parent 0 -match "$match" -n "$1" -- supervisord -c "$SUP/supervisord.conf" >"$WORK/sup-up.txt" &
	local w=$!
	until [[ -s $SUP/supervisord.pid ]]; do sleep 0.01; done
	SUP_PID=$(<"$SUP/supervisord.pid")
	wait "$w"
	out=$(<"$WORK/sup-up.txt")
	SUP_UP_MS=${out%% *}
}
# sup_kill: supervisord and its programs (each in a process group of its own) killed with SIGKILL, where the
# shutdown is not a figure: supervisord's own shutdown of 50 programs takes 5-12 s.
sup_kill() {
	local kids k i
	kids=$(cat /proc/"$SUP_PID"/task/*/children 2>/dev/null || true)
	kill -9 "$SUP_PID" 2>/dev/null
	for k in $kids; do kill -9 -- "-$k" "$k" 2>/dev/null; done
	for ((i = 0; i < 600; i++)); do
		# shellcheck disable=SC2086
		kill -0 "$SUP_PID" $kids 2>/dev/null || break
		sleep 0.05
	done
	SUP_PID=
	rm -f "$SUP/supervisord.pid" "$SUP/sock"
}
sup_down() {
	kill "$SUP_PID" 2>/dev/null
	local i
	for ((i = 0; i < 600; i++)); do
		kill -0 "$SUP_PID" 2>/dev/null || break
		sleep 0.05
	done
	SUP_PID=
	rm -f "$SUP/supervisord.pid"
}

# --- figures ---------------------------------------------------------------------------------------------------------
# stats: "median lo hi p99 n" of the numbers on stdin; lo-hi is p10-p90 with 10 or more numbers, else min-max.
stats() {
	sort -g | awk '{ a[NR] = $1 } END {
		n = NR; if (n == 0) exit 1
		med = (n % 2) ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
		if (n >= 10) { lo = a[int(0.1 * (n - 1)) + 1]; hi = a[int(0.9 * (n - 1) + 0.999) + 1]; } else { lo = a[1]; hi = a[n] }
		p99 = a[int(0.99 * (n - 1) + 0.999) + 1]
		printf "%s %s %s %s %d\n", f(med), f(lo), f(hi), f(p99), n }
	function f(x, ax) { ax = x < 0 ? -x : x
		if (ax >= 100) return sprintf("%.0f", x); if (ax >= 10) return sprintf("%.1f", x)
		if (ax >= 1) return sprintf("%.2f", x); return sprintf("%.3g", x) }'
}
# put KEY WHO: R[KEY.WHO] = the median of the numbers on stdin, R[KEY.WHO.sp] = its spread, R[KEY.WHO.p99].
put() {
	local med lo hi p99 n
	read -r med lo hi p99 n <<<"$(stats)" || return 0
	R[$1.$2]=$med
	R[$1.$2.sp]="$lo-$hi"
	R[$1.$2.p99]=$p99
	R[$1.$2.n]=$n
}
# hf KEY WHO RUNS CMD...: hyperfine CMD, every run's time in ms into put.
hf() {
	local key=$1 who=$2 runs=$3 json=$WORK/hf-$1-$2.json
	shift 3
	hyperfine -N -i --style=none --warmup $((runs > 5 ? 3 : 1)) --runs "$runs" --export-json "$json" "$*" >/dev/null 2>&1 || {
		log "hyperfine failed: $*"
		return 0
	}
	jq -r '.results[0].times[] * 1000' "$json" | put "$key" "$who"
}
# same DST SRC: figure DST is figure SRC (median, spread, p99, n).
same() {
	local k
	for k in "" .sp .p99 .n; do [[ -z ${R[$2$k]:-} ]] || R[$1$k]=${R[$2$k]}; done
}
# rss_all KEY: rss of gpm's, PM2's and (when it runs) supervisord's daemon.
rss_all() {
	local a=(gpm "$(gpm_pid)" pm2 "$(pm2_pid)")
	[[ -z $SUP_PID ]] || a+=(sup "$SUP_PID")
	rss "$1" "${a[@]}"
}
rss_mb() { awk '/^VmRSS:/ { printf "%.1f\n", $2 / 1024 }' "/proc/$1/status"; }
# rss KEY WHO PID [WHO PID]...: VmRSS of each PID every 0.25 s for 3 s (the daemons in the same 3 s).
rss() {
	local key=$1 i j
	shift
	local -a a=("$@")
	for ((i = 0; i < 12; i++)); do
		for ((j = 0; j < ${#a[@]}; j += 2)); do echo "${a[j]} $(rss_mb "${a[j + 1]}")"; done
		sleep 0.25
	done >"$WORK/rss-$key"
	for ((j = 0; j < ${#a[@]}; j += 2)); do
		awk -v w="${a[j]}" '$1 == w && NF == 2 { print $2 }' "$WORK/rss-$key" | put "$key" "${a[j]}"
	done
}
cpu_ns() { cat /proc/"$1"/task/*/schedstat 2>/dev/null | awk '{ s += $1 } END { printf "%.0f", s }'; }
bin_of() { case $1 in gpm) echo "$GPM_BIN" ;; pm2) echo "$PM2_BIN" ;; esac }
gpm_pid() { cat "$GPM_HOME/gpm.pid"; }
pm2_pid() { cat "$PM2_HOME/pm2.pid"; }
json_size() { wc -c | awk '{ print $1 }'; }

# startwait WHO N KIND CMD...: one start of N apps, into $WORK/start-KEY files.
startwait() {
	local who=$1 n=$2 kind=$3 parent match=$SLEEPER
	shift 3
	[[ $kind == sh ]] || match=1000000
	case $who in gpm) parent=$(gpm_pid) ;; pm2) parent=$(pm2_pid) ;; esac
	"$FLOOR" startwait -parent "$parent" -match "$match" -n "$n" -- "$@"
}
# hard_down WHO: SIGKILL to WHO's daemon and its children (the apps), until all are gone; its pid file removed.
hard_down() {
	local p kids i
	p=$("${1}_pid")
	kids=$(cat /proc/"$p"/task/*/children 2>/dev/null || true)
	# shellcheck disable=SC2086
	kill -9 "$p" $kids 2>/dev/null || true
	for ((i = 0; i < 600; i++)); do
		# shellcheck disable=SC2086
		kill -0 "$p" $kids 2>/dev/null || break
		sleep 0.05
	done
	case $1 in gpm) rm -f "$GPM_HOME/gpm.pid" ;; pm2) rm -f "$PM2_HOME/pm2.pid" ;; esac
}
# other_round R: whether PM2 and supervisor take part in round R of the RUNS rounds of a start figure: in
# OTHER_RUNS of them, spread out (RUNS 5, OTHER_RUNS 3: rounds 1, 3 and 5); gpm and the floor in all.
other_round() {
	local i
	((OTHER_RUNS < RUNS)) || return 0
	((OTHER_RUNS > 1)) || { (($1 == 1)); return; }
	for ((i = 0; i < OTHER_RUNS; i++)); do
		(($1 == 1 + (i * (RUNS - 1) + (OTHER_RUNS - 1) / 2) / (OTHER_RUNS - 1))) && return 0
	done
	return 1
}
wait_gone() { # wait_gone PARENT: until PARENT has no children left
	local i
	for ((i = 0; i < 1200; i++)); do
		[[ -z $(cat /proc/"$1"/task/*/children 2>/dev/null | tr -d ' \n') ]] && return 0
		sleep 0.05
	done
	log "children of $1 still there after 60 s"
}

part() { [[ " $PARTS " == *" $1 "* ]]; }
LOAD_BEFORE=$(cut -d' ' -f1-3 /proc/loadavg)
log "load average before: $LOAD_BEFORE; work dir $WORK"

section rss0
gpm ping >/dev/null 2>&1
pm2 ping >/dev/null 2>&1
if ((SUPERVISOR)); then sup_up 0 sh; fi
sleep 2
rss_all rss0
if ((SUPERVISOR)); then sup_down; fi
log "RSS idle: gpm ${R[rss0.gpm]} MB, pm2 ${R[rss0.pm2]} MB, supervisord ${R[rss0.sup]:--} MB"

# --- CLI start-up ----------------------------------------------------------------------------------------------------
if part cli; then
	section cli
	log "== CLI start-up"
	quiet
	hf hello floor "$CLI_RUNS" "$WORK/hello"
	hf version gpm "$CLI_RUNS" "$GPM_BIN --version"
	hf version pm2 "$PM2_CLI_RUNS" "$PM2_BIN --version"
	hf ls0 gpm "$CLI_RUNS" "$GPM_BIN ls"
	same version.floor hello.floor
fi

# ls / jlist with N apps: the floor is a static client's round trip of jlist's size (floor call / floor serve).
lsjlist() {
	local n=$1 runs=$2 size
	quiet
	size=$(gpm jlist | json_size)
	"$FLOOR" serve -sock "$WORK/floor.sock" -size "$size" &
	SERVE_PID=$!
	until [[ -S $WORK/floor.sock ]]; do sleep 0.01; done
	hf "jlist$n" floor "$runs" "$FLOOR call -sock $WORK/floor.sock"
	kill "$SERVE_PID"
	wait "$SERVE_PID" 2>/dev/null || true
	SERVE_PID=
	same "ls$n.floor" "jlist$n.floor"
	R[jsize$n]=$size
	hf "jlist$n" gpm "$runs" "$GPM_BIN jlist"
	hf "ls$n" gpm "$runs" "$GPM_BIN ls"
	if [[ $n != "$SCALE" ]]; then # (PM2 with SCALE apps: scale_back)
		hf "jlist$n" pm2 "$PM2_CLI_RUNS" "$PM2_BIN jlist"
		hf "ls$n" pm2 "$PM2_CLI_RUNS" "$PM2_BIN ls"
	fi
	log "jlist with $n apps ($size B): gpm ${R[jlist$n.gpm]} ms (p99 ${R[jlist$n.gpm.p99]}), pm2 ${R[jlist$n.pm2]:--} ms, floor ${R[jlist$n.floor]} ms"
}

# --- 10 apps ---------------------------------------------------------------------------------------------------------
if part small; then
	section small10
	log "== 10 apps"
	eco 10 "$WORK/apps/sh10.json" sh
	startwait gpm 10 sh "$GPM_BIN" start "$WORK/apps/sh10.json" >/dev/null
	startwait pm2 10 sh "$PM2_BIN" start "$WORK/apps/sh10.json" >/dev/null
	if ((SUPERVISOR)); then sup_up 10 sh; fi
	sleep 2
	rss_all rss10
	lsjlist 10 "$CLI_RUNS"
	if ((SUPERVISOR)); then
		hf ls10 sup "$PM2_CLI_RUNS" "supervisorctl -c $SUP/supervisord.conf status"
		sup_kill
	fi
	gpm delete all >/dev/null
	pm2 delete all >/dev/null
	wait_gone "$(gpm_pid)"
	wait_gone "$(pm2_pid)"
fi

# --- 50 apps online from one file, alternating gpm, PM2, supervisor -------------------------------------------------
APPS=50
eco $APPS "$WORK/apps/sh$APPS.json" sh
eco $APPS "$WORK/apps/bin$APPS.json" bin
if part start; then
	section start50
	log "== $APPS apps online from one file, $RUNS runs each, alternating"
	for kind in bin sh; do
		app=("$SLEEPER")
		[[ $kind == sh ]] || app=("$SLEEP_BIN" 1000000)
		"$FLOOR" spawn -n $APPS -par 1 -runs "$RUNS" -- "${app[@]}" | put "start_$kind" floor
		"$FLOOR" spawn -n $APPS -par 0 -runs "$RUNS" -- "${app[@]}" | put "start_${kind}_par" floor
		for ((r = 1; r <= RUNS; r++)); do
			quiet
			for who in gpm pm2 sup; do
				[[ $who != sup ]] || ((SUPERVISOR)) || continue
				[[ $who == gpm ]] || other_round "$r" || continue
				case $who in
				gpm)
					c0=$(cpu_ns "$(gpm_pid)")
					read -r all cmd <<<"$(startwait gpm $APPS $kind "$GPM_BIN" start "$WORK/apps/$kind$APPS.json")"
					echo "$((($(cpu_ns "$(gpm_pid)") - c0) / 1000))" >>"$WORK/cpu-$kind-gpm"
					gpm delete all >/dev/null
					wait_gone "$(gpm_pid)"
					;;
				pm2)
					c0=$(cpu_ns "$(pm2_pid)")
					read -r all cmd <<<"$(startwait pm2 $APPS $kind "$PM2_BIN" start "$WORK/apps/$kind$APPS.json")"
					echo "$((($(cpu_ns "$(pm2_pid)") - c0) / 1000))" >>"$WORK/cpu-$kind-pm2"
					pm2 delete all >/dev/null
					wait_gone "$(pm2_pid)"
					;;
				sup)
					sup_up $APPS $kind
					all=$SUP_UP_MS
					sup_kill
					;;
				esac
				echo "$all" >>"$WORK/start-$kind-$who"
				log "start $APPS $kind apps, $who run $r: ${all} ms"
			done
		done
		for who in gpm pm2 sup; do
			[[ -s $WORK/start-$kind-$who ]] && put "start_$kind" "$who" <"$WORK/start-$kind-$who"
		done
		for who in gpm pm2; do
			awk '{ print $1 / 1000 }' "$WORK/cpu-$kind-$who" | put "startcpu_$kind" "$who"
		done
	done
fi

# --- Scale: SCALE sleep-binary apps (functions; the part itself is below the 50-app part) ---------------------------
# tms CMD...: ms one command takes.
tms() {
	local t0=${EPOCHREALTIME/./}
	"$@" >/dev/null 2>&1 || log "failed: $*"
	echo $(((${EPOCHREALTIME/./} - t0) / 1000))
}
scale_json() { [[ -s $WORK/apps/bin$SCALE.json ]] || eco "$SCALE" "$WORK/apps/bin$SCALE.json" bin; }
# scale_up WHO: SCALE apps from one file until all are online; the daemon's RSS; save. PM2 runs them in a home of its
# own (SCALE_PM2_HOME, set by the caller), the daemon started first (as `pm2 ping` did for the main home).
scale_up() {
	local who=$1
	scale_json
	[[ $who != pm2 ]] || pm2 ping >/dev/null 2>&1
	quiet
	startwait "$who" "$SCALE" bin "$(bin_of "$who")" start "$WORK/apps/bin$SCALE.json" | awk '{ print $1 }' | put sstart "$who"
	log "$who: $SCALE apps online after ${R[sstart.$who]} ms"
	sleep 2
	rss "rss$SCALE" "$who" "$("${who}_pid")"
	tms "$who" save | put ssave "$who"
}
# scale_back WHO: resurrect (after WHO's kill) until all are online; ls and jlist with SCALE apps (after the figures
# above, so that PM2's slow calls do not delay them); the apps gone.
scale_back() {
	local who=$1 pf
	quiet
	if [[ $who == gpm ]]; then pf=$GPM_HOME/gpm.pid; else pf=$PM2_HOME/pm2.pid; fi
	rm -f "$pf"
	"$FLOOR" startwait -pidfile "$pf" -match 1000000 -n "$SCALE" -- "$(bin_of "$who")" resurrect | awk '{ print $1 }' | put sresurrect "$who"
	log "$who: save ${R[ssave.$who]} ms, kill ${R[skill.$who]} ms, resurrect ${R[sresurrect.$who]} ms"
	if [[ $who == gpm ]]; then
		lsjlist "$SCALE" 10
		gpm delete all >/dev/null
		wait_gone "$(gpm_pid)"
	else
		hf "jlist$SCALE" pm2 3 "$PM2_BIN jlist"
		hf "ls$SCALE" pm2 3 "$PM2_BIN ls"
		# Not a figure: PM2 deletes 1000 apps one by one, as slowly as its kill (80-200 s): its daemon and apps
		# are killed outright.
		hard_down pm2
	fi
}
# OVERLAP: PM2's kill of its SCALE apps runs in the idle window (see the idle part).
OVERLAP=0
if part idle && part scale && [[ $SCALE_PM2 == 1 && $OVERLAP_IDLE == 1 ]]; then OVERLAP=1; fi

# --- 50 apps running: RSS, ls, kill -9, idle CPU --------------------------------------------------------------------
if part small || part kill || part idle; then
section running50
log "== $APPS shell-script apps running under each manager"
startwait gpm $APPS sh "$GPM_BIN" start "$WORK/apps/sh$APPS.json" >/dev/null
startwait pm2 $APPS sh "$PM2_BIN" start "$WORK/apps/sh$APPS.json" >/dev/null
if ((SUPERVISOR)); then sup_up $APPS sh; fi
sleep 2
rss_all rss50
if part small; then
	lsjlist 50 "$CLI_RUNS"
	if ((SUPERVISOR)); then hf ls50 sup "$PM2_CLI_RUNS" "supervisorctl -c $SUP/supervisord.conf status"; fi
fi
if part kill; then
	section kill
	log "== kill -9 -> a new process, $KILL_RUNS runs each"
	quiet
	"$FLOOR" respawn -- "$SLEEPER" &
	RESPAWN_PID=$!
	sleep 0.5
	"$FLOOR" killwatch -parent "$RESPAWN_PID" -match sleeper -runs "$KILL_RUNS" -gap 300ms | put kill floor
	kill "$RESPAWN_PID"
	wait "$RESPAWN_PID" 2>/dev/null || true
	# The online event's floor: the same loop telling a subscriber each new pid once its exec succeeded, over a unix
	# socket, as gpm's event reaches restartlat. (It leaves the killed shell's sleep behind; gpm kills it, and waits
	# for the app's cgroup to be empty before it starts the app again, as systemd does.)
	"$FLOOR" respawn -notify "$WORK/respawn.sock" -- "$SLEEPER" &
	RESPAWN_PID=$!
	until [[ -S $WORK/respawn.sock ]]; do sleep 0.05; done
	"$FLOOR" restartlat -sock "$WORK/respawn.sock" -runs "$KILL_RUNS" | put killev floor
	kill "$RESPAWN_PID"
	wait "$RESPAWN_PID" 2>/dev/null || true
	RESPAWN_PID=
	"$FLOOR" killwatch -parent "$(gpm_pid)" -match sleeper -runs "$KILL_RUNS" | put kill gpm
	"$FLOOR" killwatch -parent "$(pm2_pid)" -match sleeper -runs "$KILL_RUNS" | put kill pm2
	if ((SUPERVISOR)); then "$FLOOR" killwatch -parent "$SUP_PID" -match sleeper -runs "$KILL_RUNS" | put kill sup; fi
	"$WORK/restartlat" -home "$GPM_HOME" -name s25 -runs "$KILL_RUNS" >"$WORK/restartlat.json"
	jq -r '.runs_ms[]' "$WORK/restartlat.json" | put killev gpm
	log "kill -9: gpm ${R[kill.gpm]} ms (event ${R[killev.gpm]}), pm2 ${R[kill.pm2]} ms, sup ${R[kill.sup]:--} ms, floor ${R[kill.floor]} ms (told a subscriber: ${R[killev.floor]})"
fi
if part idle; then
	if ((OVERLAP)); then
		# PM2 with SCALE apps, in a home of its own, up to its kill: the kill (80-200 s, ~85 % of it waiting:
		# 12 s of CPU in 78 s measured) runs in the background through the idle window, whose figures are each
		# daemon's own CPU time. OVERLAP_IDLE=0 runs it in turn in the scale part.
		section scale-pm2-up
		log "== $SCALE apps under PM2 (its own home), its kill in the idle window"
		PM2_HOME=$SCALE_PM2_HOME
		scale_up pm2
		tms pm2 kill >"$WORK/skill-pm2" &
		KILLBG_PID=$!
		PM2_HOME=$WORK/pm2-home
	fi
	section idle
	log "== idle CPU with $APPS apps, ${IDLE_SECONDS} s, the three daemons in the same window"
	sleep 2
	declare -A C0=()
	C0[gpm]=$(cpu_ns "$(gpm_pid)")
	C0[pm2]=$(cpu_ns "$(pm2_pid)")
	if ((SUPERVISOR)); then C0[sup]=$(cpu_ns "$SUP_PID"); fi
	t0=$EPOCHREALTIME
	sleep "$IDLE_SECONDS"
	t1=$EPOCHREALTIME
	for who in gpm pm2 sup; do
		case $who in gpm) p=$(gpm_pid) ;; pm2) p=$(pm2_pid) ;; sup) ((SUPERVISOR)) || continue; p=$SUP_PID ;; esac
		R[idle.$who]=$(awk -v a="${C0[$who]}" -v b="$(cpu_ns "$p")" -v t0="$t0" -v t1="$t1" 'BEGIN { printf "%.3f", 100 * (b - a) / 1e9 / (t1 - t0) }')
	done
	log "idle CPU (% of a core): gpm ${R[idle.gpm]}, pm2 ${R[idle.pm2]}, sup ${R[idle.sup]:--}"
	if [[ -n $KILLBG_PID ]]; then
		section scale-pm2-kill
		wait "$KILLBG_PID" || true
		KILLBG_PID=
		put skill pm2 <"$WORK/skill-pm2"
		log "pm2: kill of $SCALE apps took ${R[skill.pm2]:-?} ms"
	fi
fi
section running50-down
gpm delete all >/dev/null
pm2 delete all >/dev/null
if ((SUPERVISOR)); then sup_kill; fi
wait_gone "$(gpm_pid)"
wait_gone "$(pm2_pid)"
fi

# --- Scale: SCALE sleep-binary apps ----------------------------------------------------------------------------------
if part scale; then
	section scale-floor
	log "== $SCALE apps"
	scale_json
	quiet
	"$FLOOR" spawn -n "$SCALE" -par 1 -runs 1 -- "$SLEEP_BIN" 1000000 | put "sstart" floor
	"$FLOOR" spawn -n "$SCALE" -par 0 -runs 1 -- "$SLEEP_BIN" 1000000 | put "sstart_par" floor
	section scale-gpm
	scale_up gpm
	tms gpm kill | put skill gpm
	scale_back gpm
	if [[ $SCALE_PM2 == 1 ]]; then
		section scale-pm2
		PM2_HOME=$SCALE_PM2_HOME
		if ((!OVERLAP)); then
			scale_up pm2
			tms pm2 kill | put skill pm2
		fi
		scale_back pm2
		PM2_HOME=$WORK/pm2-home
	fi
	if ((SUPERVISOR && SCALE_SUP)); then
		section scale-sup
		quiet
		sup_up "$SCALE" bin
		echo "$SUP_UP_MS" | put sstart sup
		sleep 2
		rss "rss$SCALE" sup "$SUP_PID"
		hf "ls$SCALE" sup 3 "supervisorctl -c $SUP/supervisord.conf status"
		t0=${EPOCHREALTIME/./}
		sup_down
		echo $(((${EPOCHREALTIME/./} - t0) / 1000)) | put skill sup
		log "supervisor: $SCALE programs running after ${R[sstart.sup]} ms, shut down in ${R[skill.sup]} ms"
	fi
	same sresurrect.floor sstart_par.floor
fi

# --- log throughput ---------------------------------------------------------------------------------------------------
# logrun WHO MODE I: one run of the chatty app; appends "writer_s cpu_ms_per_MB all_s intact blocked_s runqueue_s" to $WORK/log-MODE-WHO.
logrun() {
	local who=$1 mode=$2 i=$3 out=$WORK/logs/$1-$2-$3.log mark=$WORK/marks/$1-$2-$3 f want=$((LOG_LINES * 100)) c0 c1 t1 p
	mkdir -p "$mark"
	if [[ $who == floor ]]; then
		c0=0
		c1=$("$FLOOR" pump -out "$out" -bytes "$want" -until "$mark/end" -- "$WORK/apps/chatty.sh" "$mode" "$LOG_LINES" "$mark")
		c1=$(awk -v s="$c1" 'BEGIN { printf "%.0f", s * 1e9 }')
		t1=${EPOCHREALTIME/./}
	else
		f=$WORK/apps/chatty-$who-$mode-$i.json
		jq -n --arg s "$WORK/apps/chatty.sh" --arg c "$WORK/apps" --arg m "$mode" --arg n "$LOG_LINES" --arg k "$mark" \
			--arg o "$out" --arg e "$WORK/logs/$who-$mode-$i.err" --arg name "chatty$i" \
			'{apps: [{name: $name, script: $s, interpreter: "none", cwd: $c, args: [$m, $n, $k], out_file: $o, error_file: $e}]}' >"$f"
		p=$("${who}_pid")
		c0=$(cpu_ns "$p")
		"$who" start "$f" >/dev/null 2>&1
		until [[ -s $mark/end ]] && (($(stat -c %s "$out" 2>/dev/null || echo 0) >= want)); do sleep 0.005; done
		t1=${EPOCHREALTIME/./}
		c1=$(cpu_ns "$p")
	fi
	until [[ -s $mark/end ]]; do sleep 0.01; done
	# The writer's time = on a CPU + waiting for one (run queue) + blocked (in write(2) on a full pipe, chiefly).
	local run rq blocked
	read -r run rq _ <"/proc/$(<"$mark/pid")/schedstat"
	blocked=$(awk -v s="$(<"$mark/start")" -v e="$(<"$mark/end")" -v run="$run" -v rq="$rq" 'BEGIN { b = (e - s - run - rq) / 1e9; printf "%.3f", b < 0 ? 0 : b }')
	if [[ $who == floor ]]; then
		kill "$(<"$mark/pid")" # floor pump leaves its writer to us
	else
		"$who" delete "chatty$i" >/dev/null 2>&1
	fi
	local intact
	intact=$(awk -v n="$LOG_LINES" '$1 + 0 != NR - 1 || length($0) != 99 { bad++ } END { print (bad == 0 && NR == n) ? "yes" : "NO(" NR "," bad + 0 ")" }' "$out")
	awk -v s="$(<"$mark/start")" -v e="$(<"$mark/end")" -v t="$t1" -v c=$((c1 - c0)) -v mb="$(awk -v w="$want" 'BEGIN { print w / 1048576 }')" -v ok="$intact" \
-v b="$blocked" -v rq="$rq" \
		'BEGIN { printf "%.3f %.2f %.3f %s %s %.3f\n", (e - s) / 1e9, c / 1e6 / mb, (t - s / 1000) / 1e6, ok, b, rq / 1e9 }' >>"$WORK/log-$mode-$who"
	rm -f "$out"
}
if part log; then
	for mode in line bulk; do
		section "log-$mode"
		log "== log throughput, $mode writer, $LOG_LINES lines of 100 B, $LOG_RUNS runs each, alternating"
		for ((r = 1; r <= LOG_RUNS; r++)); do
			quiet
			for who in floor gpm pm2; do
				logrun "$who" "$mode" "$r"
				log "log $mode $who run $r: writer s, daemon ms/MB, all-in-file s, intact: $(tail -1 "$WORK/log-$mode-$who")"
			done
		done
		for who in floor gpm pm2; do
			awk '{ print $1 }' "$WORK/log-$mode-$who" | put "logw_$mode" "$who"
			awk '{ print $2 }' "$WORK/log-$mode-$who" | put "logc_$mode" "$who"
			awk '{ print $5 }' "$WORK/log-$mode-$who" | put "logb_$mode" "$who"
			awk '{ print $6 }' "$WORK/log-$mode-$who" | put "logq_$mode" "$who"
			R[logok_$mode.$who]=$(awk '$4 != "yes" { bad = bad " " $4 } END { print bad == "" ? "yes" : bad }' "$WORK/log-$mode-$who")
		done
	done
fi

# The daemons of the parts above are done: the parts below start their own.
gpm kill >/dev/null 2>&1 || true
pm2 kill >/dev/null 2>&1 || true

# --- cluster (bench/cluster.sh), stop with 50 descendants (bench/tree.sh), rotation (bench/logrotate.sh) -------------
if part cluster; then
	section cluster
	log "== bench/cluster.sh (shortened)"
	quiet
	GPM_BIN=$GPM_BIN PM2_BIN=$PM2_BIN RESULTS=$WORK/cluster.txt QUIET_WAIT=$(sub_wait) PORT=${PORT:-18380} \
		RELOAD_MODES="gpm-listen pm2" THROUGHPUT_MODES="node gpm-listen:1 pm2:1 gpm-listen:2 pm2:2" \
		WRK_ARGS="${WRK_ARGS:--t2 -c64 -d1s}" THROUGHPUT_RUNS=${THROUGHPUT_RUNS:-3} RESTARTS=${RESTARTS:-5} BOOT_RUNS=${BOOT_RUNS:-5} \
		bash "$ROOT/bench/cluster.sh" >/dev/null 2>"$WORK/cluster.log" || log "cluster.sh failed: $(tail -3 "$WORK/cluster.log")"
	cv() { sed -n "s/^$1=//p" "$WORK/cluster.txt" 2>/dev/null; }
	for m in node gpm-listen:1 pm2:1 gpm-listen:2 pm2:2; do
		for k in ka close; do
			who=${m%%:*}
			who=${who%-listen}
			[[ $who != node ]] || who=floor
			w=${m##*:}
			[[ $m != node ]] || w=1
			cv "rps_all_${m}_$k" | tr ' ' '\n' | grep . | put "rps${w}_$k" "$who" || true
		done
	done
	for m in gpm-listen pm2; do
		who=${m%-listen}
		R[reload_failed.$who]=$(cv "reload_failed_$m")
		R[reload_ok.$who]=$(cv "reload_ok_$m")
		R[reload_refused.$who]=$(cv "reload_refused_$m")
	done
	R[sdrestart]=$(cv sdrestart)
	R[boot]=$(cv boot)
fi
if part tree; then
	section tree
	log "== bench/tree.sh stop part, cgroup mode"
	quiet
	# kill_timeout 400 ms (tree.sh's default 1 s): the figure is the stop call less kill_timeout, and the grace is
	# 20 stops' wait (the app ignores SIGTERM: nothing happens in it).
	GPM_BIN=$GPM_BIN PARTS=stop MODES=cgroup STOP_RUNS=${STOP_RUNS:-5} KILL_TIMEOUT=${STOP_KILL_TIMEOUT:-400} QUIET_WAIT=$(sub_wait) bash "$ROOT/bench/tree.sh" >"$WORK/tree.txt" 2>"$WORK/tree.log" || log "tree.sh failed: $(tail -3 "$WORK/tree.log")"
	for n in 0 50; do
		sed -n "s/^stop .*descendants=$n .*: \({.*}\) (machine.*/\1/p" "$WORK/tree.txt" | jq -r '.over_kill_timeout_ms[]' | put "stop$n" gpm || true
		# The floor: bench/cmd/treefloor, the same tree in a cgroup of its own, SIGTERM ignored, cgroup.kill after the
		# kill_timeout and the wait for populated 0, in the same run.
		sed -n "s/^floor .*descendants=$n .*: \({.*}\) (machine.*/\1/p" "$WORK/tree.txt" | jq -r '.over_kill_timeout_ms[]' | put "stop$n" floor || true
	done
fi
if part rotate; then
	section rotate
	log "== bench/logrotate.sh, rotation off and on (5M: ~10 rotations)"
	quiet
	GPM_BIN=$GPM_BIN RUNS=${ROTATE_RUNS:-5} LOG_LINES=${ROTATE_LINES:-500000} CASES="off on" MAX_SIZE=5M QUIET_WAIT=$(sub_wait) bash "$ROOT/bench/logrotate.sh" >"$WORK/rotate.txt" 2>"$WORK/rotate.log" || log "logrotate.sh failed: $(tail -3 "$WORK/rotate.log")"
	for c in off on; do
		sed -n "s/^run [0-9]* $c: \([0-9.]*\)s,.*/\1/p" "$WORK/rotate.log" | put "rot_$c" gpm || true
	done
fi
if part leak; then
	section leak
	log "== leak: $LEAK_RESTARTS restarts of 10 crash-looping apps (e2e TestLeakRestarts, as make leak)"
	quiet
	if (cd "$ROOT" && GPM_LEAK_RESTARTS=$LEAK_RESTARTS go test -count=1 -timeout 15m -run '^TestLeakRestarts$' -v ./e2e/) >"$WORK/leak.txt" 2>&1; then
		R[leak]=PASS
	else
		R[leak]=FAIL
		log "leak test failed: $(grep -m3 'grew\|FAIL' "$WORK/leak.txt" | tr '\n' ' ')"
	fi
	R[leak_run]=$(sed -n 's/.*leak_test.go:[0-9]*: \([0-9]* restarts in .*\)/\1/p' "$WORK/leak.txt")
	R[leak_before]=$(sed -n 's/.*leak_test.go:[0-9]*: before: //p' "$WORK/leak.txt")
	R[leak_after]=$(sed -n 's/.*leak_test.go:[0-9]*: after: *//p' "$WORK/leak.txt")
	log "leak: ${R[leak]}: ${R[leak_run]}"
fi
section end
LOAD_AFTER=$(cut -d' ' -f1-3 /proc/loadavg)

# --- the table ---------------------------------------------------------------------------------------------------------
v() { echo "${R[$1]:-}"; }
# cell KEY WHO: "median (spread, n=runs)", "value (n=1)", or "-".
cell() {
	local m=${R[$1.$2]:-} n=${R[$1.$2.n]:-}
	[[ -n $m ]] || {
		echo "-"
		return
	}
	if [[ -n $n && $n -gt 1 ]]; then
		echo "$m (${R[$1.$2.sp]}, n=$n)"
	elif [[ -n $n ]]; then
		echo "$m (n=1)"
	else
		echo "$m"
	fi
}
# xfloor A B LOWER: how many times the floor's cost A is (lower is better: A/B; higher is better: B/A).
xfloor() {
	[[ -n $1 && -n $2 ]] || {
		echo "-"
		return
	}
	awk -v a="$1" -v b="$2" -v lo="$3" 'BEGIN { if (a + 0 == 0 || b + 0 == 0) { print "-"; exit } r = lo ? a / b : b / a; printf "%.2fx\n", r }'
}
# row LABEL KEY LOWER [NOTE]: one line of the table. LOWER 1: lower is better (times, sizes); 0: higher (req/s).
row() {
	local label=$1 k=$2 lo=$3 g p f gf pf verdict=""
	g=$(v "$k.gpm") p=$(v "$k.pm2") f=$(v "$k.floor")
	gf=$(xfloor "$g" "$f" "$lo")
	pf=$(xfloor "$p" "$f" "$lo")
	if [[ -n $g && -n $f && $gf != - ]]; then
		verdict=$(awk -v r="${gf%x}" 'BEGIN { print (r <= 1.5) ? "floor ok" : "FLOOR " r "x" }')
	fi
	if [[ -n $g && -n $p ]]; then
		verdict+="${verdict:+, }$(awk -v g="$g" -v p="$p" -v lo="$lo" 'BEGIN { ahead = lo ? g < p : g > p; print ahead ? "ahead of PM2" : "BEHIND PM2" }')"
	fi
	printf '| %s | %s | %s | %s | %s | %s | %s | %s |\n' "$label" "$(cell "$k" gpm)" "$(cell "$k" floor)" "$gf" "$(cell "$k" pm2)" "$pf" "$(cell "$k" sup)" "${verdict:--}"
}
report() {
	echo "gpm vs PM2 vs supervisor, with the machine's floor: $(date -u '+%Y-%m-%d %H:%M UTC')"
	echo "machine: $(nproc) cores, $(sed -n 's/^model name\s*: //p' /proc/cpuinfo | head -1), kernel $(uname -r), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
	echo "gpm $(cd "$ROOT" && git rev-parse --short HEAD)$(cd "$ROOT" && git diff --quiet HEAD -- . 2>/dev/null || echo '+dirty') ($($GPM_BIN --version 2>/dev/null | head -1)), $(go version | awk '{ print $3 }'); PM2 $(PM2_HOME=$PM2_HOME "$PM2_BIN" --version 2>/dev/null | tail -1), node $(node --version); $(supervisord --version 2>/dev/null | sed 's/^/supervisor /' || echo 'no supervisor'); hyperfine $(hyperfine --version | awk '{ print $2 }')"
	echo "command: $CMDLINE; took $((SECONDS - T_START)) s; load average before $LOAD_BEFORE, after $LOAD_AFTER; busiest CPU reading a measurement went ahead with: ${BUSY_MAX}% (waited ${QUIET_SPENT} s for quiet in all)"
	local k times=()
	for k in "${PT_ORDER[@]}"; do times+=("$k ${PT[$k]}"); done
	echo "wall time per part (s): $(printf '%s, ' "${times[@]}" | sed 's/, $//'); total $((SECONDS - T_START)) s"
	echo "n: start figures gpm and floor $RUNS runs, PM2 and supervisor $OTHER_RUNS (interleaved); CLI calls gpm and floor $CLI_RUNS ($SCALE apps: 10), PM2 and supervisorctl $PM2_CLI_RUNS ($SCALE apps: 3); $SCALE-app start, save, kill, resurrect: one run each; RSS: 12 samples in 3 s"
	if ((OVERLAP)); then echo "PM2's kill of its $SCALE apps (a PM2 home of its own) ran in the background during the ${IDLE_SECONDS} s idle window (OVERLAP_IDLE=0: in turn)"; fi
	echo "medians (spread: p10-p90 with >= 10 runs, else min-max; n=runs); xfloor: the figure over the floor's (for req/s: the floor's over the figure); 1.00x = at the floor"
	echo
	echo "| figure | gpm | floor | gpm xfloor | PM2 | PM2 xfloor | supervisor | verdict |"
	echo "|---|---|---|---|---|---|---|---|"
	row "daemon RSS idle (MB)" rss0 1
	row "daemon RSS, 10 apps (MB)" rss10 1
	row "daemon RSS, $APPS apps (MB)" rss50 1
	row "daemon RSS, $SCALE apps (MB)" "rss$SCALE" 1
	row "CLI start-up: gpm --version / pm2 --version; floor: static hello-world (ms)" version 1
	row "gpm ls, daemon running, 0 apps (ms)" ls0 1
	for n in 10 $APPS $SCALE; do
		row "jlist, $n apps (ms; floor: static client, unix-socket round trip of ${R[jsize$n]:-?} B)" "jlist$n" 1
		row "  jlist p99, $n apps (ms)" "jlist$n.p" 1
		row "ls, $n apps (ms; supervisor: supervisorctl status)" "ls$n" 1
	done
	row "$APPS binary apps online from one file (ms; floor: fork/exec one by one)" start_bin 1
	row "  floor on all cores (ms)" start_bin_par 1
	row "  daemon CPU for the start (ms)" startcpu_bin 1
	row "$APPS shell-script apps online from one file (ms; floor: fork/exec one by one)" start_sh 1
	row "  floor on all cores (ms)" start_sh_par 1
	row "  daemon CPU for the start (ms)" startcpu_sh 1
	row "kill -9 -> new process (ms; floor: bare wait4-and-respawn loop)" kill 1
	row "kill -9 -> online event, gpm restartlat (ms; floor: the loop telling a subscriber)" killev 1
	row "daemon CPU idle, $APPS apps, ${IDLE_SECONDS} s (% of a core)" idle 1
	row "$SCALE apps online from one file (ms; floor: fork/exec one by one)" sstart 1
	row "  floor on all cores (ms)" sstart_par 1
	row "$SCALE apps: save (ms)" ssave 1
	row "$SCALE apps: kill (daemon and apps gone; supervisor: SIGTERM to supervisord) (ms)" skill 1
	row "$SCALE apps: resurrect until all online (ms; floor: fork/exec on all cores)" sresurrect 1
	for mode in line bulk; do
		row "log $mode writer, $LOG_LINES x 100 B: the writer finished after (s; floor: bare pump)" "logw_$mode" 1
		if [[ $mode == line ]]; then # (bulk: the writer is awk, a child of the script whose schedstat this reads)
			row "  of which blocked (full pipe; wall - on CPU - run queue) (s)" "logb_$mode" 1
			row "  of which waiting for a CPU (run queue) (s)" "logq_$mode" 1
		fi
		row "log $mode writer: daemon CPU per MB (ms; floor: bare pump)" "logc_$mode" 1
	done
	row "HTTP req/s, 1 worker, keep-alive (floor: plain node)" rps1_ka 0
	row "HTTP req/s, 1 worker, new connection each (floor: plain node)" rps1_close 0
	row "HTTP req/s, 2 workers, keep-alive" rps2_ka 0
	row "HTTP req/s, 2 workers, new connection each" rps2_close 0
	row "failed requests over 10 reloads under load" reload_failed 1
	row "stop, app with 0 descendants: stop call - kill_timeout (${STOP_KILL_TIMEOUT:-400} ms) (ms; floor: bench/cmd/treefloor)" stop0 1
	row "stop, app with 50 descendants: stop call - kill_timeout (ms; issue 12: <= 20; floor: treefloor)" stop50 1
	row "log bulk ${ROTATE_LINES:-500000} lines, rotation off (s; issue 12)" rot_off 1
	row "log bulk ${ROTATE_LINES:-500000} lines, rotation on, 5M (s; issue 12: within 10 % of off)" rot_on 1
	echo
	echo "log output intact (every line once, in order): line: gpm $(v logok_line.gpm), pm2 $(v logok_line.pm2), floor $(v logok_line.floor); bulk: gpm $(v logok_bulk.gpm), pm2 $(v logok_bulk.pm2), floor $(v logok_bulk.floor)"
	echo "reload under load: gpm $(v reload_ok.gpm) ok / $(v reload_failed.gpm) failed / $(v reload_refused.gpm) refused; PM2 $(v reload_ok.pm2) / $(v reload_failed.pm2) / $(v reload_refused.pm2)"
	echo "daemon restart under load, fd store (bench/cmd/sdrestart plays systemd; no systemd here): $(v sdrestart)"
	echo "boot to READY=1 (bench/cmd/bootready): $(v boot)"
	echo "issue 12 rotation: on/off = $(xfloor "$(v rot_on.gpm)" "$(v rot_off.gpm)" 1) (bar <= 1.10x)"
	echo "leak (e2e TestLeakRestarts, $LEAK_RESTARTS restarts of 10 crash-looping apps; no growth of fds, goroutines, live heap, RSS beyond its tolerances): $(v leak): $(v leak_run); before: $(v leak_before); after: $(v leak_after)"
}
# jlist p99 rows: the p99 as its own figure.
for n in 10 $APPS $SCALE; do
	for who in gpm pm2 floor; do
		[[ -z ${R[jlist$n.$who.p99]:-} ]] || R[jlist$n.p.$who]=${R[jlist$n.$who.p99]}
	done
done
report | tee "$WORK/report.txt"
log "total wall time: $((SECONDS - T_START)) s"
if [[ -n ${RESULTS:-} ]]; then
	{
		cat "$WORK/report.txt"
		echo
		for k in $(printf '%s\n' "${!R[@]}" | sort); do echo "$k=${R[$k]}"; done
	} >"$RESULTS"
	log "results written to $RESULTS"
fi
