#!/usr/bin/env bash
# go test -exec wrapper: runs the compiled test binary as root inside a freshly booted, throw-away
# systemd-nspawn container (systemd as PID 1), then halts the container. Used by `make e2e-systemd`.
#   E2E_ROOTFS     pristine rootfs directory (.ci/e2e-rootfs.sh); never modified (--volatile=overlay)
#   E2E_ARTIFACTS  host directory with the packages (dist/), mounted read-only at /artifacts
#   E2E_SRC        the module's root, mounted read-only at the same path (the tests read examples/ from it)
# --register=no and --keep-unit are needed because the host has no systemd (no machined, no scope units);
# machinectl and systemd-run -M do not work for the same reason, so commands go in with nsenter.
set -uo pipefail
bin=$1
shift
rootfs=${E2E_ROOTFS:?set E2E_ROOTFS (the output of .ci/e2e-rootfs.sh)}
name=gpm-e2e-$$
stage=$(mktemp -d /tmp/gpm-e2e-stage.XXXXXX)
cp "$bin" "$stage/test.bin"
log=$stage/nspawn.log
binds=(--bind-ro="$stage:/e2e" --bind-ro="${E2E_SRC:-$PWD}")
[ -n "${E2E_ARTIFACTS:-}" ] && binds+=(--bind-ro="$E2E_ARTIFACTS:/artifacts")
SYSTEMD_LOG_LEVEL=warning systemd-nspawn -D "$rootfs" -M "$name" --boot --register=no --keep-unit --console=pipe \
  --volatile=overlay "${binds[@]}" </dev/null >"$log" 2>&1 &
npid=$!
cleanup() {
  if kill -0 "$npid" 2>/dev/null; then
    kill -TERM "$npid" # nspawn turns SIGTERM into a clean halt of the container
    for _ in $(seq 1 100); do kill -0 "$npid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$npid" 2>/dev/null && kill -KILL "$npid"
  fi
  wait "$npid" 2>/dev/null
  rm -rf "$stage"
}
trap cleanup EXIT
leader=
for _ in $(seq 1 300); do
  leader=$(pgrep -P "$npid" | head -1)
  [ -n "$leader" ] && nsenter -t "$leader" -a test -S /run/systemd/private 2>/dev/null && break
  leader=
  sleep 0.1
done
[ -n "$leader" ] || { echo "nspawn-exec: the container did not start"; cat "$log"; exit 1; }
state=$(timeout 60 nsenter -t "$leader" -a systemctl is-system-running --wait)
if [ "$state" != running ]; then
  echo "nspawn-exec: container state $state; failed units:"
  nsenter -t "$leader" -a systemctl --failed --no-pager
fi
# Not nsenter --wd: it opens the directory before entering the mount namespace, so the test would run in a
# directory outside the container's root and getcwd() would fail with ENOENT. cd inside instead.
nsenter -t "$leader" -a env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  E2E_IN_CONTAINER=1 E2E_ARTIFACTS=/artifacts E2E_SRC="${E2E_SRC:-$PWD}" \
  /bin/sh -c 'cd "$0" && exec "$@"' "$PWD" /e2e/test.bin "$@"
