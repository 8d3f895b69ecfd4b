#!/usr/bin/env bash
# `make demo`: start tugd if it is not running, make sure busybox is there, run a container.
#   TUG_HOST     socket to use (default unix:///run/tugboat/tugboat.sock)
#   TUGD_LOG     where a tugd started here logs (default /var/log/tugboat.log)
#   TUGD_TIMEOUT seconds to wait for it to answer /_ping (default 30)
set -euo pipefail
repo=$(cd "$(dirname "$0")/.." && pwd)
host=${TUG_HOST:-unix:///run/tugboat/tugboat.sock}
log=${TUGD_LOG:-/var/log/tugboat.log}
timeout=${TUGD_TIMEOUT:-30}
py="$repo/.venv/bin/python"
tug="$repo/.venv/bin/tug"

if ! "$py" -m tugboat.tools.ping "$host" 2>/dev/null; then
  case "$host" in
    unix://*) ;;
    *) echo "demo: only unix:// hosts are supported, not $host" >&2; exit 1 ;;
  esac
  sock=${host#unix://}
  echo "demo: starting tugd on $host (log: $log)"
  mkdir -p "$(dirname "$log")"
  if [ -S "$sock" ]; then rm -f "$sock"; fi   # a stale socket from a tugd that is gone
  setsid "$repo/.venv/bin/tugd" -H "$host" >>"$log" 2>&1 </dev/null &
  pid=$!
  if ! "$py" -m tugboat.tools.ping "$host" --wait "$timeout" --pid "$pid"; then
    echo "demo: tugd did not come up on $host within ${timeout}s; last lines of $log:" >&2
    tail -n 20 "$log" >&2 || true
    kill "$pid" 2>/dev/null || true
    exit 1
  fi
  echo "demo: tugd is running (pid $pid); stop it with: kill $pid"
fi

"$repo/scripts/ensure-busybox.sh" "$host"
echo "+ tug run --rm busybox echo hello from tugboat"
exec "$tug" -H "$host" run --rm busybox echo hello from tugboat
