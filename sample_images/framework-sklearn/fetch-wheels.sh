#!/usr/bin/env bash
# Fetch, on the host, everything requirements.txt pins into wheels/ (the image's build context), because the
# build's RUN steps may not reach the package index. The Dockerfile then installs with --no-index.
#
#   sample_images/framework-sklearn/fetch-wheels.sh          # only when wheels/ is missing or incomplete
#   FORCE=1 sample_images/framework-sklearn/fetch-wheels.sh  # fetch again
#
# Binary wheels are pinned to the container (CPython 3.11, x86_64, glibc 2.36 of Debian bookworm), not the
# host. Three pins exist only as source: inotify-simple and sagemaker-inference are pure Python and become
# wheels here; sagemaker-training has a C extension, so its source goes in as is and the Dockerfile's builder
# stage compiles it. pip's cache is kept, so a second fetch (CI) downloads nothing.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
wheels=$here/wheels
stamp=$wheels/.complete
requirements=$here/requirements.txt
source_only='^(sagemaker-training|sagemaker-inference|inotify-simple)=='

if [ -z "${FORCE:-}" ] && [ -f "$stamp" ] && cmp -s "$stamp" "$requirements"; then
  exit 0
fi
pip=(python3 -m pip --disable-pip-version-check)
mkdir -p "$wheels"
rm -f "$stamp"
echo "framework-sklearn: fetching the pinned wheels into $wheels"
grep -Ev -e "$source_only" -e '^#' "$requirements" >"$wheels/.binary.txt"
"${pip[@]}" download --quiet --no-deps --only-binary=:all: --python-version 3.11 --implementation cp --abi cp311 \
  --platform manylinux_2_34_x86_64 --platform manylinux_2_28_x86_64 --platform manylinux_2_27_x86_64 \
  --platform manylinux_2_24_x86_64 --platform manylinux_2_17_x86_64 --platform manylinux2014_x86_64 --platform any \
  -d "$wheels" -r "$wheels/.binary.txt"
"${pip[@]}" wheel --quiet --no-deps -w "$wheels" \
  "$(grep -E '^sagemaker-inference==' "$requirements")" "$(grep -E '^inotify-simple==' "$requirements")"
"${pip[@]}" download --quiet --no-deps --no-binary=:all: -d "$wheels" "$(grep -E '^sagemaker-training==' "$requirements")"
rm -f "$wheels/.binary.txt"
cp "$requirements" "$stamp"
