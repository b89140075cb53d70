#!/usr/bin/env bash
# Runs every Go fuzz target of the module (func FuzzXxx in a *_test.go file) for FUZZTIME each, one after
# another: `go test -fuzz` takes one target per package run. `make fuzz` calls it.
#   FUZZTIME      how long each target runs (default 10s)
#   FUZZMINIMIZE  time spent shrinking each input that finds new coverage (default 2s; go test's 60 s left a
#                 short run with its only worker busy shrinking, at 0 execs/s, for most of it)
#   FUZZFLAGS     more go test flags, e.g. -parallel=1 on a busy machine
#   GO            the go command
# A failing input is written to the package's testdata/fuzz/FuzzXxx/: commit it as a regression seed once fixed
# (plain `go test`, so `make test`, runs those seeds). Exits non-zero when any target failed.
set -uo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
FUZZTIME=${FUZZTIME:-10s}
FUZZMINIMIZE=${FUZZMINIMIZE:-2s}
read -ra flags <<<"${FUZZFLAGS:-}"
log=$(mktemp)
trap 'rm -f "$log"' EXIT

failed=() flaked=() n=0
for f in $(grep -rl --include='*_test.go' '^func Fuzz' . | sort); do
  dir=$(dirname "$f")
  for t in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$f"); do
    n=$((n + 1))
    echo "== $dir $t ($FUZZTIME)"
    "$GO" test -run '^$' -fuzz "^$t\$" -fuzztime "$FUZZTIME" -fuzzminimizetime "$FUZZMINIMIZE" "${flags[@]}" "$dir" 2>&1 | tee "$log"
    [ "${PIPESTATUS[0]}" = 0 ] && continue
    # Go before 1.27 can fail a run as its -fuzztime ends, on a loaded machine, with a bare "context deadline
    # exceeded" and no input: a race in its coordinator (go.dev/issue/75804), not a finding. Anything that
    # wrote an input, or any other failure, counts.
    if grep -q '^    context deadline exceeded$' "$log" && ! grep -q 'Failing input written' "$log"; then
      echo "== $t: 'context deadline exceeded' with no failing input: go.dev/issue/75804, not counted"
      flaked+=("$t")
    else
      failed+=("$t")
    fi
  done
done
echo "== $n fuzz targets, ${#failed[@]} failed${failed:+: ${failed[*]}}, ${#flaked[@]} stopped by go.dev/issue/75804"
[ ${#failed[@]} = 0 ]
