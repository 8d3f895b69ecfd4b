#!/usr/bin/env bash
# Make sure the engine at HOST has debian:bookworm; does nothing if it already has one.
#   scripts/ensure-debian.sh [HOST]      HOST: unix:///path (default $TUG_HOST or tugd's default socket)
# The root filesystem comes from debootstrap (src/tugboat/tools/debian_image.py), cached outside the
# repository in /var/cache/tugboat/debian-bookworm-rootfs.tar.gz ($TUGBOAT_DEBIAN_CACHE) and built
# when absent (~25 s, needs the network to a Debian mirror); it is imported with the official image's
# CMD and PATH. CLI=/usr/local/bin/docker imports into a Docker Engine instead (bench/build.py does).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
host=${1:-${TUG_HOST:-unix:///run/tugboat/tugboat.sock}}
cli=${CLI:-$repo/.venv/bin/tug}
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python3
image=${DEBIAN_IMAGE:-debian:bookworm}

if "$cli" -H "$host" image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
tarball=$(PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" "$py" -m tugboat.tools.debian_image)
"$cli" -H "$host" import \
    -c 'CMD ["bash"]' \
    -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    "$tarball" "$image" >/dev/null
"$cli" -H "$host" image inspect "$image" >/dev/null
