#!/usr/bin/env bash
# bench/run-overhead.sh: what `gpm run` (a container's PID 1, docs/CONTAINERS.md) costs over running the app alone
# (issue 10: <= 5 MB of RSS and <= 20 ms of start-up). The app prints a line and sleeps (a shell script, run by sh).
#   1. start-up: the time from exec to the app's first line on stdout (bench/cmd/firstline), RUNS times each:
#      the app alone, gpm run of it, and both again as PID 1 of a new PID namespace (unshare --pid --fork
#      --mount-proc, as in a container; root only). Each run has a GPM_HOME of its own, fresh as in a new container
#      (no dead daemon's pid file in it, so neither case sweeps /proc for a dead daemon's leftovers);
#   2. memory: VmRSS, RssAnon, RssFile and Pss of the gpm run process (the app's are the same either way), SETTLE s
#      after the first line. RssAnon (heap, stacks, runtime) is the memory of gpm's own work; RssFile is the
#      binary's mapped pages, which is most of the binary's text and rodata whatever runs (a Go program touches its
#      tables all over and each fault maps 64 KiB: BENCHMARKS.md "RSS on this kernel"): both are printed, and the bar is
#      read against each.
#   3. charged memory (root, with a memory cgroup to make children in): each run in a memory cgroup of its own, and
#      what the kernel charges it SETTLE s after the first line (what a container's memory limit counts): the app
#      alone, gpm run with gpm's binaries dropped from the page cache first (the first container on a node to run
#      them reads them in and is charged for their pages), and gpm run with them cached (every other container of
#      the image: cached pages are charged once, to whoever read them first). CG_RUNS runs each (default 5).
# The load average is printed before and after (other work on a shared machine lengthens every figure).
# Environment: GPM_BIN (default: built as make build does), RUNS (default 20), SETTLE (default 2), QUIET_WAIT (120)
# and QUIET_BUSY (15) as in bench/run.sh, RESULTS (also write the table there), FIFO (a priority, 1-99: run every
# case under SCHED_FIFO, root only, so that the other work of a shared machine does not get the CPUs first; the
# figures are then those of a quiet machine, and the table says so).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
RUNS=${RUNS:-20}
SETTLE=${SETTLE:-2}
QUIET_WAIT=${QUIET_WAIT:-120}
QUIET_BUSY=${QUIET_BUSY:-15}
WORK=$(mktemp -d /tmp/gpm-bench-run.XXXXXX)
log() { printf '[bench %(%H:%M:%S)T] %s\n' -1 "$*" >&2; }
# shellcheck source=bench/lib.sh
. "$ROOT/bench/lib.sh"
trap 'rm -rf "$WORK"' EXIT

if [[ -z ${GPM_BIN:-} ]]; then
	log "building gpm as make build does"
	(cd "$ROOT" && CGO_ENABLED=0 go build -trimpath -ldflags '-s -w' -o "$WORK/gpm" ./cmd/gpm)
	GPM_BIN=$WORK/gpm
fi
(cd "$ROOT" && go build -o "$WORK/firstline" ./bench/cmd/firstline)
FL=$WORK/firstline
RT=()
if [[ -n ${FIFO:-} ]]; then
	RT=(chrt -f "$FIFO")
fi
printf '#!/bin/sh\necho up\nexec sleep 1000\n' >"$WORK/app.sh"
cd "$WORK"
LOAD_START=$(cut -d' ' -f1-3 /proc/loadavg)

# figure KEY LINE: the value of KEY=... in a firstline result line.
figure() { sed -n "s/.* $1=\([0-9.]*\).*/\1/p" <<<" $2"; }

declare -A R=()
measure() { # name firstline-args...
	local name=$1 out
	shift
	mkdir -p "$WORK/homes-$name"
	log "$name: busy $(quiet_busy)% before"
	out=$("${RT[@]}" "$FL" -n "$RUNS" -homes "$WORK/homes-$name" "$@")
	log "$name: $out"
	R[$name]=$out
}

measure alone -kill -- sh app.sh
measure run -rss -settle "${SETTLE}s" -contains '| up' -- "$GPM_BIN" run app.sh --interpreter sh
if [[ $(id -u) == 0 ]] && unshare --pid --fork --mount-proc true 2>/dev/null; then
	measure alone-pid1 -kill -- unshare --pid --fork --mount-proc sh app.sh
	measure run-pid1 -rss -child -settle "${SETTLE}s" -contains '| up' -- unshare --pid --fork --mount-proc "$GPM_BIN" run app.sh --interpreter sh
fi

# A parent for the runs' memory cgroups: on cgroup v2 one made under the root (whose subtree has the memory
# controller; a v2 cgroup with processes cannot have children that use it), on v1 this shell's own memory cgroup.
MEMCG=
if [[ $(id -u) == 0 ]]; then
	if [[ -f /sys/fs/cgroup/cgroup.controllers ]]; then
		if grep -qw memory /sys/fs/cgroup/cgroup.subtree_control 2>/dev/null && mkdir -p /sys/fs/cgroup/gpm-bench-run 2>/dev/null; then
			MEMCG=/sys/fs/cgroup/gpm-bench-run
			echo +memory >"$MEMCG/cgroup.subtree_control" 2>/dev/null || MEMCG=
		fi
	elif own=$(sed -n 's/^[0-9]*:memory:\(.*\)/\1/p' /proc/self/cgroup) && [[ -n $own && -w /sys/fs/cgroup/memory$own ]]; then
		MEMCG=/sys/fs/cgroup/memory$own
	fi
fi
if [[ -n $MEMCG ]]; then
	EVICT=$GPM_BIN
	for b in "$(dirname "$GPM_BIN")/gpmd" "$(dirname "$GPM_BIN")/gpmd-web"; do
		if [[ -f $b ]]; then EVICT+=,$b; fi
	done
	CG_RUNS=${CG_RUNS:-5}
	measure alone-cg -n "$CG_RUNS" -kill -rss -settle "${SETTLE}s" -memcg "$MEMCG" -- sh app.sh
	measure run-cold -n "$CG_RUNS" -rss -settle "${SETTLE}s" -memcg "$MEMCG" -evict "$EVICT" -contains '| up' -- "$GPM_BIN" run app.sh --interpreter sh
	measure run-warm -n "$CG_RUNS" -rss -settle "${SETTLE}s" -memcg "$MEMCG" -contains '| up' -- "$GPM_BIN" run app.sh --interpreter sh
	if [[ $MEMCG == /sys/fs/cgroup/gpm-bench-run ]]; then rmdir "$MEMCG" 2>/dev/null || true; fi
else
	log "no memory cgroup to make children in (not root, or no memory controller): the charged memory is not measured"
fi

load_end=$(cut -d' ' -f1-3 /proc/loadavg)
{
	echo "gpm run overhead ($RUNS runs each): time to the first line, median; memory of the gpm process, median"
	echo "load average before: $LOAD_START, after: $load_end ($(nproc) CPUs)${FIFO:+; every case under SCHED_FIFO $FIFO}"
	for pair in "alone run" "alone-pid1 run-pid1"; do
		read -r a r <<<"$pair"
		[[ -n ${R[$r]:-} ]] || continue
		ma=$(figure median_ms "${R[$a]}")
		mr=$(figure median_ms "${R[$r]}")
		printf '%-22s %s ms (p90 %s)\n' "$a" "$ma" "$(figure p90_ms "${R[$a]}")"
		printf '%-22s %s ms (p90 %s): %s ms added\n' "$r" "$mr" "$(figure p90_ms "${R[$r]}")" "$(awk -v a="$ma" -v b="$mr" 'BEGIN { printf "%.1f", b - a }')"
		printf '%-22s %s\n' "$r memory" "VmRSS $(figure VmRSS_kB "${R[$r]}") kB = anon $(figure RssAnon_kB "${R[$r]}") kB (its own: heap, stacks, runtime) + file $(figure RssFile_kB "${R[$r]}") kB (the binary's pages); Pss $(figure Pss_kB "${R[$r]}") kB"
	done
	if [[ -n ${R[run-warm]:-} ]]; then
		ca=$(figure cg_kB "${R[alone-cg]}")
		for r in run-cold run-warm; do
			printf '%-22s %s kB charged (anon %s, page cache %s) against the app alone %s kB: %s kB added\n' "$r" \
				"$(figure cg_kB "${R[$r]}")" "$(figure cg_anon_kB "${R[$r]}")" "$(figure cg_file_kB "${R[$r]}")" "$ca" \
				"$(awk -v a="$ca" -v b="$(figure cg_kB "${R[$r]}")" 'BEGIN { printf "%.0f", b - a }')"
		done
		echo "  (run-cold: gpm's binaries dropped from the page cache before each run, as for the first container on a node;"
		echo "   run-warm: already cached, as for every other container of the same image)"
	fi
	echo "bars (issue 10): added start-up <= 20 ms, added RSS <= 5 MB (5120 kB)"
} | tee "${RESULTS:-/dev/null}"
