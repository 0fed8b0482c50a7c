#!/usr/bin/env bash
# Build the sample images: byoc-samples/<name>:latest for every sample_images/<name>/Dockerfile.
#
#   sample_images/build.sh              # all samples
#   sample_images/build.sh reference    # only these
#
# The Dockerfiles are standard (ARG/FROM a Debian bookworm base), so on a machine with a registry they
# build unchanged. On a machine without one, the Debian base is bootstrapped locally from Debian's
# packages (debootstrap + docker import; needs root and debootstrap) and tagged debian:bookworm-slim.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
debian_base=debian:bookworm-slim

have_image() { docker image inspect "$1" >/dev/null 2>&1; }

# The Debian mirror this machine's apt already uses, so nothing is hard-coded here.
apt_mirror() {
  if [ -n "${DEBIAN_MIRROR:-}" ]; then echo "$DEBIAN_MIRROR"; return; fi
  local uri
  uri=$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$uri" ] || uri=$(awk '$1 == "deb" {print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  [ -n "$uri" ] || { echo "build.sh: no Debian mirror found in apt sources; set DEBIAN_MIRROR" >&2; exit 1; }
  echo "$uri"
}

bootstrap_debian() {
  if [ "$(id -u)" != 0 ] || ! command -v debootstrap >/dev/null; then
    echo "build.sh: $debian_base cannot be pulled, and building it locally needs root and debootstrap" >&2
    exit 1
  fi
  rootfs=$(mktemp -d /tmp/byoc-samples-rootfs.XXXXXX)
  trap 'rm -rf "$rootfs"' EXIT
  echo "build.sh: bootstrapping $debian_base from $(apt_mirror) (about half a minute)"
  debootstrap --variant=minbase bookworm "$rootfs/root" "$(apt_mirror)" >"$rootfs/log" 2>&1 \
    || { tail -20 "$rootfs/log" >&2; exit 1; }
  tar -C "$rootfs/root" -c . | docker import - "$debian_base" >/dev/null
}

if ! have_image "$debian_base"; then
  docker pull -q "$debian_base" >/dev/null 2>&1 || bootstrap_debian
fi

declare -A built=()
build() {
  local name=$1
  [ -z "${built[$name]:-}" ] || return 0
  [ -f "$here/$name/Dockerfile" ] || { echo "build.sh: no sample named '$name'" >&2; exit 1; }
  # A sample FROM another sample (ARG BASE=byoc-samples/<other>) is built after that one in the same run, so it
  # never starts FROM a stale image of it.
  local parent
  parent=$(sed -n 's|^ARG BASE=byoc-samples/\([^:[:space:]]*\).*|\1|p' "$here/$name/Dockerfile")
  if [ -n "$parent" ] && [ "$parent" != "$name" ]; then
    build "$parent"
  fi
  # A sample with Python dependencies fetches them on the host (the build may not reach a package index).
  if [ -x "$here/$name/fetch-wheels.sh" ]; then
    "$here/$name/fetch-wheels.sh"
  fi
  # A sample may build from another folder (`# context: <path>` in its Dockerfile, relative to the sample), so that
  # it takes files from there rather than a copy of them.
  local context
  context=$(sed -n 's|^# context: \(.*\)$|\1|p' "$here/$name/Dockerfile")
  echo "build.sh: byoc-samples/$name"
  local output
  if ! output=$(docker build -t "byoc-samples/$name:latest" -f "$here/$name/Dockerfile" \
                "$here/$name/${context:-.}" 2>&1); then
    echo "$output" >&2
    exit 1
  fi
  built[$name]=1
}

# Every sample starts FROM byoc-samples/base (python3), and the broken ones FROM the reference.
build base
build reference
if [ $# -eq 0 ]; then
  set -- $(cd "$here" && ls -d */ | tr -d / | grep -vx -e base -e reference)
fi
for name in "$@"; do
  case "$name" in base|reference) ;; *) build "$name" ;; esac
done
