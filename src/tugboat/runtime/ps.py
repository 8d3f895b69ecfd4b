"""The host's ps(1), as dockerd runs it for `docker top`: the engine filters its table by the
container's PIDs (runc ps). Kept in the runtime layer, the only one that runs host tools."""

from __future__ import annotations

import subprocess

from tugboat.errors import TugboatError


def host_ps(args: list[str]) -> str:
    """ps's stdout for ``args``; TugboatError with ps's first stderr line when it fails."""
    try:
        return subprocess.run(["ps", *args], capture_output=True, text=True, timeout=30, check=True).stdout
    except subprocess.CalledProcessError as e:
        # dockerd 20.10: the first line of ps's stderr says why it failed
        first = (e.stderr or "").split("\n", 1)[0]
        raise TugboatError(f"ps: {first}" if first else f"ps: exit status {e.returncode}") from None
    except (OSError, subprocess.SubprocessError) as e:
        raise TugboatError(f"Error running ps: {e}") from None
