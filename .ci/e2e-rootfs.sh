#!/usr/bin/env bash
# Makes sure a pristine Debian bookworm rootfs with systemd, dbus and python3 exists for the systemd-nspawn e2e
# tests (e2e/systemd), and prints its path as the last line of stdout. Idempotent and cheap when warm.
#
# The rootfs is built once with debootstrap (about 75 s on an idle 2-core machine) and cached as a tar.zst; a later
# run on the same machine unpacks the tarball (1-3 s) or reuses the unpacked directory (0 s). The cache is only an
# optimisation: with nothing cached the script builds from scratch.
#   GPM_E2E_CACHE   directory of the cached tarball   (default /var/cache/gpm-ci)
#   GPM_E2E_ROOTFS  where to unpack the rootfs        (default /var/tmp/gpm-e2e/rootfs-<key>)
# The containers boot it with --volatile=overlay, so the tests never modify it.
set -euo pipefail
SUITE=bookworm
# python3: the e2e's clustered app is examples/hello.py (stdlib only). procps: pgrep/ps for debugging a failure.
PKGS=systemd,systemd-sysv,dbus,libpam-systemd,python3,procps
ARCH=$(dpkg --print-architecture)
KEY=$(printf '%s|%s|%s|v1' "$SUITE" "$PKGS" "$ARCH" | sha256sum | cut -c1-12)
CACHE=${GPM_E2E_CACHE:-/var/cache/gpm-ci}
TAR=$CACHE/rootfs-$SUITE-$ARCH-$KEY.tar.zst
ROOT=${GPM_E2E_ROOTFS:-/var/tmp/gpm-e2e/rootfs-$KEY}

missing=()
command -v systemd-nspawn >/dev/null || missing+=(systemd-container)
command -v debootstrap >/dev/null || missing+=(debootstrap)
command -v zstd >/dev/null || missing+=(zstd)
if ((${#missing[@]})); then
  apt-get update -qq >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi

# The mirror is whichever apt is configured with (deb822 or one-line format), so no host is named here;
# empty means debootstrap's built-in default.
MIRROR=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
[ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^https?:/){print $i; exit}}' /etc/apt/sources.list 2>/dev/null || true)

if [ ! -f "$ROOT/.gpm-e2e-ok" ]; then
  rm -rf "$ROOT"
  mkdir -p "$ROOT" "$CACHE"
  if [ -s "$TAR" ] && tar --zstd -xpf "$TAR" -C "$ROOT"; then
    echo "rootfs: unpacked cached $TAR" >&2
  else
    rm -rf "$ROOT"
    mkdir -p "$ROOT"
    echo "rootfs: debootstrap $SUITE ($PKGS) from ${MIRROR:-the default mirror}" >&2
    debootstrap --variant=minbase --include="$PKGS" "$SUITE" "$ROOT" ${MIRROR:+"$MIRROR"} >&2
    rm -f "$ROOT"/var/cache/apt/archives/*.deb
    rm -f "$ROOT"/var/lib/apt/lists/*_Packages "$ROOT"/var/lib/apt/lists/*_Translation-*
    echo gpm-e2e >"$ROOT/etc/hostname"
    : >"$ROOT/etc/machine-id" # each boot generates its own
    tar --zstd -cpf "$TAR.tmp.$$" -C "$ROOT" . && mv "$TAR.tmp.$$" "$TAR"
  fi
  touch "$ROOT/.gpm-e2e-ok"
fi
echo "$ROOT"
