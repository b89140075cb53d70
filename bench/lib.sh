# shellcheck shell=bash
# bench/lib.sh: helpers shared by bench/run.sh and bench/cluster.sh (sourced; they define log, QUIET_WAIT and
# QUIET_BUSY first).

# cpu_busy: percent of all CPUs busy over the next QUIET_SAMPLE s (default 1; from /proc/stat), for noticing other
# load on the machine.
cpu_busy() {
	local a b
	a=$(head -n1 /proc/stat)
	sleep "${QUIET_SAMPLE:-1}"
	b=$(head -n1 /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x); split(b, y); t = 0
		for (i = 2; i <= 9; i++) t += y[i] - x[i]
		idle = (y[5] - x[5]) + (y[6] - x[6]); printf "%.0f", (t > 0) ? 100 * (t - idle) / t : 0 }'
}

# quiet_busy: wait (up to QUIET_WAIT s) until at most QUIET_BUSY % of the CPUs are busy, so that other work on a
# shared machine does not end up in the figures; print the busy figure it went ahead with.
quiet_busy() {
	local b deadline=$((SECONDS + QUIET_WAIT))
	while :; do
		b=$(cpu_busy)
		((b > QUIET_BUSY)) || break
		if ((SECONDS >= deadline)); then
			log "warning: machine still ${b}% busy after ${QUIET_WAIT}s of waiting; measuring anyway"
			break
		fi
		log "machine ${b}% busy (other work); waiting for <= ${QUIET_BUSY}%"
		sleep 1
	done
	echo "$b"
}

# median: the median of the numbers on stdin, one a line.
median() { sort -n | awk '{ a[NR] = $1 } END { if (NR == 0) exit 1; if (NR % 2) print a[(NR + 1) / 2]; else printf "%.1f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }
