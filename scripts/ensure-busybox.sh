#!/usr/bin/env bash
# Make sure the engine at HOST has busybox:latest; does nothing if it already has one.
#   scripts/ensure-busybox.sh [HOST]      HOST: unix:///path (default $TUG_HOST or tugd's default socket)
# The image is the host's busybox-static as a one-layer rootfs (src/tugboat/tools/busybox_image.py),
# imported with the official image's CMD and PATH. CLI=/usr/local/bin/docker imports into a Docker
# Engine instead (the tests and the benchmark do that for the reference engine).
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
host=${1:-${TUG_HOST:-unix:///run/tugboat/tugboat.sock}}
cli=${CLI:-$repo/.venv/bin/tug}
py=${PYTHON:-$repo/.venv/bin/python}
[ -x "$py" ] || py=python3
image=${BUSYBOX_IMAGE:-busybox:latest}

if "$cli" -H "$host" image inspect "$image" >/dev/null 2>&1; then
  exit 0
fi
busybox=/bin/busybox
if [ ! -x "$busybox" ]; then
  echo "ensure-busybox: $busybox not found: install the Debian package busybox-static (scripts/setup.sh does)" >&2
  exit 1
fi
PYTHONPATH="$repo/src${PYTHONPATH:+:$PYTHONPATH}" "$py" -m tugboat.tools.busybox_image --busybox "$busybox" \
  | "$cli" -H "$host" import \
      -c 'CMD ["sh"]' \
      -c 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      - "$image" >/dev/null
"$cli" -H "$host" image inspect "$image" >/dev/null
