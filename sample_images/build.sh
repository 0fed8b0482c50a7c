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

needs() {  # the samples a sample's Dockerfile builds on (ARG BASE=byoc-samples/<other>) or copies from
  sed -n -e 's|^ARG BASE=byoc-samples/\([^:[:space:]]*\).*|\1|p' \
         -e 's|^COPY .*--from=byoc-samples/\([^:[:space:]]*\).*|\1|p' "$here/$1/Dockerfile" | grep -vx "$1" || true
}

build_one() {  # the docker build of one sample, once the sample it builds on is built
  local name=$1 context output
  # A sample with Python dependencies fetches them on the host (the build may not reach a package index).
  if [ -x "$here/$name/fetch-wheels.sh" ]; then
    "$here/$name/fetch-wheels.sh"
  fi
  # A sample may build from another folder (`# context: <path>` in its Dockerfile, relative to the sample), so that
  # it takes files from there rather than a copy of them.
  context=$(sed -n 's|^# context: \(.*\)$|\1|p' "$here/$name/Dockerfile")
  echo "build.sh: byoc-samples/$name"
  if ! output=$(docker build -t "byoc-samples/$name:latest" -f "$here/$name/Dockerfile" \
                "$here/$name/${context:-.}" 2>&1); then
    echo "build.sh: byoc-samples/$name failed:" >&2
    echo "$output" >&2
    return 1
  fi
}

# The samples asked for (all by default) and every sample they need: a sample is built after those, in the same
# run, so it never starts FROM (or copies from) a stale image of them.
# Each Dockerfile is read once here: the scheduling loop below looks at what a sample needs many times.
declare -A wanted=() needed_by=()  # needed_by: sample -> the samples it needs, space-separated
want() {
  local name=$1 other
  [ -f "$here/$name/Dockerfile" ] || { echo "build.sh: no sample named '$name'" >&2; exit 1; }
  [ -z "${wanted[$name]:-}" ] || return 0
  wanted[$name]=1
  needed_by[$name]=$(needs "$name" | tr '\n' ' ')
  for other in ${needed_by[$name]}; do want "$other"; done
}
if [ $# -eq 0 ]; then
  set -- $(cd "$here" && ls -d */ | tr -d /)
fi
for name in "$@"; do want "$name"; done
order=$(printf '%s\n' "${!wanted[@]}" | sort)

# Builds go BYOC_BUILD_JOBS at a time (4 by default): most of a build is the engine writing layers, and the
# broken samples are one small layer each on the same few conforming ones.
jobs=${BYOC_BUILD_JOBS:-4}
declare -A built=() started=() running=()  # running: process ID -> sample
failed=
while :; do
  if [ -z "$failed" ]; then
    for name in $order; do
      [ "${#running[@]}" -lt "$jobs" ] || break
      [ -z "${started[$name]:-}" ] || continue
      ready=1
      for other in ${needed_by[$name]}; do [ -n "${built[$other]:-}" ] || ready=; done
      [ -n "$ready" ] || continue
      build_one "$name" &
      running[$!]=$name
      started[$name]=1
    done
  fi
  [ "${#running[@]}" -gt 0 ] || break
  wait -n || true
  for pid in "${!running[@]}"; do
    kill -0 "$pid" 2>/dev/null && continue
    if wait "$pid"; then built[${running[$pid]}]=1; else failed=1; fi
    unset "running[$pid]"
  done
done
[ -z "$failed" ] || exit 1
