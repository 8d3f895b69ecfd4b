#!/usr/bin/env bash
# All set-up on a fresh machine (run as root); safe to run again.
#   - Debian packages Tugboat and its tests use (see README "Dependencies")
#   - .venv in the repo root with tugboat installed (editable) and the test tools
set -euo pipefail
cd "$(dirname "$0")/.."

APT_PACKAGES=(
  runc            # the OCI runtime every container runs under
  iptables        # NAT and port publishing (issue 4)
  busybox-static  # the source of the default busybox image
  debootstrap     # a real Debian base image for build tests (issue 5)
  docker.io       # the reference Docker Engine for side-by-side benchmarks and interop tests
  tini            # --init (issue 3)
  util-linux      # mount/umount/nsenter
  procps          # ps for `top`
  python3-venv
  gcc             # builds the C container monitor (src/tugboat/runtime/monitor/tug-monitor.c)
  libc6-dev
  docker-registry # Debian's distribution registry: the real registry the pull/push tests run
  openssl         # test CA and certificates for the registry-over-TLS tests
  iproute2        # ip(8): addresses for the tests, network namespaces
  tmux            # interactive tests drive `run -it` / `attach` in a real terminal
  golang-github-containers-common  # /usr/share/containers/seccomp.json: the default seccomp profile (issue 4)
)

missing=()
for p in "${APT_PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

PY=${PYTHON:-python3}
if [ ! -x .venv/bin/python ]; then
  "$PY" -m venv .venv
fi
stamp=.venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)
if [ ! -f "$stamp" ]; then
  .venv/bin/pip install -q --upgrade pip
  .venv/bin/pip install -q -e '.[test]'
  rm -f .venv/.installed-*
  touch "$stamp"
fi
# Byte-compile the package once: `tug` is started for every command, and recompiling its
# modules on each start (e.g. under PYTHONDONTWRITEBYTECODE) would triple its start-up time.
.venv/bin/python -m compileall -q src/tugboat >/dev/null || true
# The C container monitor (tugd falls back to monitor.py without it); rebuilt when its source changes.
MON_SRC=src/tugboat/runtime/monitor/tug-monitor.c
MON_BIN=.venv/libexec/tugboat/tug-monitor
if [ ! -x "$MON_BIN" ] || [ "$MON_SRC" -nt "$MON_BIN" ]; then
  mkdir -p "$(dirname "$MON_BIN")"
  gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$MON_BIN.tmp" "$MON_SRC"
  mv -f "$MON_BIN.tmp" "$MON_BIN"
fi
