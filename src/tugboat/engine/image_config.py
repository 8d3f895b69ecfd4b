"""Image config JSON as dockerd's Go structs serialize it.

Image IDs are sha256 digests of config bytes, and ``docker save`` derives its
legacy layer directory names from re-marshalled Go structs.  To produce the
same IDs and archives as dockerd we must write JSON the way Go's encoding/json
does: struct fields in declaration order with ``omitempty`` rules, map keys
sorted, compact separators and HTML-safe escaping of ``<``, ``>`` and ``&``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

# container.Config (api/types/container/config.go, 20.10): (field, omitempty)
CONTAINER_CONFIG_FIELDS: tuple[tuple[str, bool], ...] = (
    ("Hostname", False), ("Domainname", False), ("User", False), ("AttachStdin", False),
    ("AttachStdout", False), ("AttachStderr", False), ("ExposedPorts", True), ("Tty", False),
    ("OpenStdin", False), ("StdinOnce", False), ("Env", False), ("Cmd", False), ("Healthcheck", True),
    ("ArgsEscaped", True), ("Image", False), ("Volumes", False), ("WorkingDir", False),
    ("Entrypoint", False), ("NetworkDisabled", True), ("MacAddress", True), ("OnBuild", False),
    ("Labels", False), ("StopSignal", True), ("StopTimeout", True), ("Shell", True),
)
_ZERO: dict[str, Any] = {"Hostname": "", "Domainname": "", "User": "", "AttachStdin": False,
                         "AttachStdout": False, "AttachStderr": False, "Tty": False, "OpenStdin": False,
                         "StdinOnce": False, "Image": "", "WorkingDir": ""}
_HEALTHCHECK_FIELDS = ("Test", "Interval", "Timeout", "StartPeriod", "Retries")

# image.V1Image field order (image/image.go): (json key, omitempty)
V1_IMAGE_FIELDS: tuple[tuple[str, bool], ...] = (
    ("id", True), ("parent", True), ("comment", True), ("created", False), ("container", True),
    ("container_config", False), ("docker_version", True), ("author", True), ("config", True),
    ("architecture", True), ("variant", True), ("os", True), ("Size", True),
)
_HISTORY_FIELDS = (("created", True), ("author", True), ("created_by", True), ("comment", True),
                   ("empty_layer", True))

ZERO_TIME = "0001-01-01T00:00:00Z"


def go_json(obj: Any) -> bytes:
    """json.Marshal: compact, HTML-escaped, UTF-8 kept as is.  Dict order is kept
    (callers build struct-ordered dicts and sort the keys of Go maps)."""
    s = json.dumps(obj, separators=(",", ":"), ensure_ascii=False)
    s = (s.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
         .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
         .replace("\\b", "\\u0008").replace("\\f", "\\u000c"))
    return s.encode()


def sha256_id(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _empty(v: Any) -> bool:
    return v is None or v == "" or v is False or v == 0 or v == [] or v == {}


def _sorted_map(v: Any) -> Any:
    if isinstance(v, dict):
        return {k: v[k] for k in sorted(v)}
    return v


def container_config(cfg: dict[str, Any] | None) -> dict[str, Any]:
    """A container.Config as Go re-marshals it: every non-omitempty field present
    (zero values null/""/false), map keys sorted, unknown keys dropped."""
    cfg = cfg or {}
    out: dict[str, Any] = {}
    for key, omitempty in CONTAINER_CONFIG_FIELDS:
        v = cfg.get(key, _ZERO.get(key))
        if key in ("ExposedPorts", "Volumes", "Labels") and isinstance(v, dict):
            v = {k: ({} if key != "Labels" else v[k]) for k in sorted(v)}
        if key == "Healthcheck" and isinstance(v, dict):
            hc = {"Test": v.get("Test")}
            for f in _HEALTHCHECK_FIELDS[1:]:
                if v.get(f):
                    hc[f] = v[f]
            v = hc
        if omitempty and _empty(v):
            continue
        out[key] = v
    return out


def _history(h: dict[str, Any]) -> dict[str, Any]:
    return {k: h[k] for k, _ in _HISTORY_FIELDS if not _empty(h.get(k))}


def image_config_bytes(cfg: dict[str, Any]) -> bytes:
    """image.Image.MarshalJSON: the top-level keys sorted (it goes through a Go map)."""
    out = dict(cfg)
    for key in ("config", "container_config"):
        if key in out and out[key] is not None:
            out[key] = container_config(out[key])
    if "history" in out:
        out["history"] = [_history(h) for h in out["history"]]
    if "rootfs" in out:
        rf = out["rootfs"]
        out["rootfs"] = {"type": rf.get("type", "layers"), "diff_ids": rf.get("diff_ids") or []}
    return go_json({k: out[k] for k in sorted(out)})


def v1_image(cfg: dict[str, Any]) -> dict[str, Any]:
    """The image.V1Image part of a config, as Go re-marshals it (for `docker save`)."""
    out: dict[str, Any] = {}
    for key, omitempty in V1_IMAGE_FIELDS:
        # "id" and "parent" of a saved layer are set by the caller; a config's own
        # "parent" belongs to image.Image, not to the embedded V1Image.
        v = None if key in ("id", "parent") else cfg.get(key)
        if key == "created":
            v = v or ZERO_TIME
        elif key == "container_config":
            v = container_config(v)
        elif key == "config" and v is not None:
            v = container_config(v)
        if omitempty and _empty(v):
            continue
        out[key] = v
    return out


def v1_layer_id(v1: dict[str, Any], chain_id: str, parent_v1_id: str) -> str:
    """image/v1.CreateID: digest of the V1Image (without id) plus layer_id and parent,
    marshalled through a Go map (keys sorted).  Returns the hex only."""
    m = {k: v for k, v in v1.items() if k != "id"}
    m["layer_id"] = chain_id
    if parent_v1_id:
        m["parent"] = "sha256:" + parent_v1_id
    return hashlib.sha256(go_json({k: m[k] for k in sorted(m)})).hexdigest()


def chain_ids(diff_ids: list[str]) -> list[str]:
    """layer.CreateChainID for each prefix of diff_ids."""
    out: list[str] = []
    for d in diff_ids:
        out.append(d if not out else sha256_id(f"{out[-1]} {d}".encode()))
    return out


def validate_config(cfg: Any) -> None:
    """Reject configs whose fields have the wrong types (dockerd's json.Unmarshal into
    image.Image would fail on them), so one odd image cannot break listing later."""
    from tugboat.api.timefmt import parse_rfc3339
    from tugboat.engine.reference import is_digest

    def bad(what: str) -> ValueError:
        return ValueError(f"invalid image config: {what}")

    if not isinstance(cfg, dict):
        raise bad("not a JSON object")
    rootfs = cfg.get("rootfs")
    if not isinstance(rootfs, dict) or not isinstance(rootfs.get("diff_ids") or [], list):
        raise bad("rootfs.diff_ids must be a list")
    for d in rootfs.get("diff_ids") or []:
        if not isinstance(d, str) or not is_digest(d):
            raise bad(f"invalid diff ID {d!r}")
    for key in ("created",):
        if cfg.get(key) is not None:
            if not isinstance(cfg[key], str):
                raise bad(f"{key} must be a string")
            try:
                parse_rfc3339(cfg[key])
            except ValueError:
                raise bad(f"{key} is not an RFC 3339 time: {cfg[key]!r}") from None
    for key in ("config", "container_config"):
        if cfg.get(key) is not None and not isinstance(cfg[key], dict):
            raise bad(f"{key} must be an object")
    for key in ("architecture", "os", "comment", "author", "docker_version", "container", "parent", "variant"):
        if cfg.get(key) is not None and not isinstance(cfg[key], str):
            raise bad(f"{key} must be a string")
    history = cfg.get("history")
    if history is not None:
        if not isinstance(history, list) or not all(isinstance(h, dict) for h in history):
            raise bad("history must be a list of objects")
        for h in history:
            if h.get("created") is not None:
                if not isinstance(h["created"], str):
                    raise bad("history created must be a string")
                try:
                    parse_rfc3339(h["created"])
                except ValueError:
                    raise bad(f"history created is not an RFC 3339 time: {h['created']!r}") from None
    inner = cfg.get("config") or {}
    labels = inner.get("Labels")
    if labels is not None and (not isinstance(labels, dict)
                               or not all(isinstance(v, str) for v in labels.values())):
        raise bad("config.Labels must map strings to strings")
