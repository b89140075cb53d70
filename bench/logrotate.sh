#!/usr/bin/env bash
# bench/logrotate.sh: log throughput of one chatty app (bench/apps/chatty.sh) with the daemon's rotation off and on
# (issue 12: on within 10 % of off). Same writer, same daemon binary, one GPM_HOME; the cases alternate (off, on,
# on+gzip, off, ...) so that the machine's load drifts over all of them alike, and each figure is a median.
#   off:      no rotation;
#   on:       --log-max-size $MAX_SIZE --log-retain 1000 (about $LOG_LINES*100/$MAX_SIZE rotations);
#   on+gzip:  the same with --log-compress (gzip on the daemon's background worker).
# A run ends when the app's last line is in the current log file; the time is from the writer's start mark. The
# daemon's CPU time (utime+stime) is read then, or for on+gzip once every rotated file is compressed. Then every
# line is checked once, in order, across the rotated files (decompressed) and the current one.
#
# Environment: GPM_BIN (default: built from this tree), LOG_LINES (default 1000000), MODE (bulk or line; default
# bulk), MAX_SIZE (default 1M), RUNS (default 5), CASES (default "off on on+gzip"), QUIET_WAIT / QUIET_BUSY as
# run.sh.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LOG_LINES=${LOG_LINES:-1000000}
MODE=${MODE:-bulk}
MAX_SIZE=${MAX_SIZE:-1M}
RUNS=${RUNS:-5}
CASES=${CASES:-off on on+gzip}
QUIET_WAIT=${QUIET_WAIT:-60}
QUIET_BUSY=${QUIET_BUSY:-15}
log() { echo "bench: $*" >&2; }
# shellcheck source=lib.sh
. "$ROOT/bench/lib.sh"

WORK=$(mktemp -d /tmp/gpm-logbench.XXXXXX)
export GPM_HOME=$WORK/home
mkdir -m 700 "$GPM_HOME"
cleanup() {
	"$GPM" kill >/dev/null 2>&1 || true
	rm -rf "$WORK"
}
trap cleanup EXIT
GPM=${GPM_BIN:-$WORK/gpm}
if [[ -z ${GPM_BIN:-} ]]; then
	(cd "$ROOT" && go build -trimpath -ldflags "-s -w" -o "$GPM" ./cmd/gpm)
fi
cp "$ROOT/bench/apps/chatty.sh" "$WORK/chatty.sh"
"$GPM" ping >/dev/null
DPID=$(<"$GPM_HOME/gpm.pid")
CLK_TCK=$(getconf CLK_TCK)
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

# one CASE N: prints "seconds cpu_seconds intact"
one() {
	local c=$1 name=chatty$2 mark=$WORK/marks/$2 extra=() log t1 c0 c1 last
	mkdir -p "$mark"
	case $c in
	on) extra=(--log-max-size "$MAX_SIZE" --log-retain 1000) ;;
	on+gzip) extra=(--log-max-size "$MAX_SIZE" --log-retain 1000 --log-compress) ;;
	esac
	log=$GPM_HOME/logs/$name-out.log
	last=$(printf '%08d ' $((LOG_LINES - 1)))
	c0=$(cpu_ticks "$DPID")
	"$GPM" start "$WORK/chatty.sh" --name "$name" --interpreter none "${extra[@]}" -- "$MODE" "$LOG_LINES" "$mark" >/dev/null
	until [[ -s $log ]] && [[ $(tail -c 100 "$log" | head -c 9) == "$last" ]]; do sleep 0.005; done
	t1=${EPOCHREALTIME/./}
	# The daemon's CPU includes the compression of every rotated file: wait for the background worker.
	while [[ $c == on+gzip ]] && compgen -G "$GPM_HOME/logs/$name-out__*.log" >/dev/null; do sleep 0.05; done
	c1=$(cpu_ticks "$DPID")
	"$GPM" delete "$name" >/dev/null
	local start
	start=$(<"$mark/start")
	# The rotated files in the order they were made (name__STAMP[_N].log[.gz]), then the current one.
	# Streamed into awk (held in a shell variable, the 50 MB took seconds a run).
	local intact
	intact=$(
		{
			for f in $(ls "$GPM_HOME/logs/$name-out__"* 2>/dev/null | awk -F'__' '{ s = $2; sub(/\.log(\.gz)?$/, "", s); n = split(s, p, "_"); seq = (n == 3) ? p[3] : 1; print p[1] "_" p[2], seq, $0 }' | sort -k1,1 -k2,2n | awk '{ print $3 }'); do
				case $f in *.gz) gzip -dc "$f" ;; *) cat "$f" ;; esac
			done
			cat "$log"
		} | awk -v n="$LOG_LINES" '$1 + 0 != NR - 1 || length($0) != 99 { bad++ } END { print (bad == 0 && NR == n) ? "yes" : "NO(" NR "," bad + 0 ")" }'
	)
	awk -v a="$t1" -v s="$start" -v c=$((c1 - c0)) -v hz="$CLK_TCK" -v ok="$intact" 'BEGIN { printf "%.3f %.2f %s\n", (a - s / 1000) / 1e6, c / hz, ok }'
	rm -rf "$GPM_HOME/logs/$name-"*
}

declare -A T C OK
i=0
for r in $(seq "$RUNS"); do
	for c in $CASES; do
		quiet_busy >/dev/null
		read -r t cpu ok < <(one "$c" "$i")
		i=$((i + 1))
		T[$c]+="$t "
		C[$c]+="$cpu "
		[[ $ok == yes ]] || OK[$c]+="run $r: $ok "
		echo "run $r $c: ${t}s, daemon cpu ${cpu}s, every line once in order: $ok" >&2
	done
done
printf '%-10s %10s %12s %14s %s\n' case "median s" "k lines/s" "daemon cpu s" intact
for c in $CASES; do
	t=$(tr ' ' '\n' <<<"${T[$c]}" | grep . | median)
	cpu=$(tr ' ' '\n' <<<"${C[$c]}" | grep . | median)
	printf '%-10s %10s %12.0f %14s %s\n' "$c" "$t" "$(awk -v n="$LOG_LINES" -v t="$t" 'BEGIN { print n / t / 1000 }')" "$cpu" "${OK[$c]:-yes}"
done
