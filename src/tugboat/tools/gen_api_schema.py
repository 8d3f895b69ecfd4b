"""Generate ``tugboat/api/body_schemas.json``: the JSON types of the request bodies dockerd decodes.

    python -m tugboat.tools.gen_api_schema [SPEC] [OUT]

SPEC defaults to /work/shared/reference/docker-engine-api-v1.41.yaml, OUT to the committed
``src/tugboat/api/body_schemas.json``.  Needs PyYAML only when run (``pip install --target
/tmp/yaml pyyaml`` and ``PYTHONPATH=/tmp/yaml``); tugd itself only reads the generated JSON
(server/body_types.py).

dockerd decodes each body into a Go struct before doing anything, so the spec's types are
corrected here to the Go ones where they differ (``_GO_FIELDS``), and every node carries the Go
type name the decoder's error message shows: ``strslice.StrSlice`` fields (Cmd, Entrypoint,
Shell, CapAdd, CapDrop) take a string or a list of strings; ``ContainerConfigWrapper`` embeds a
second ``HostConfig`` so its fields are also read at the top level; unsigned fields have bounds.

Nodes (compact): ``{"k": kind, "go": Go type, ...}`` with kind ``str``, ``int`` (``lo``, ``hi``),
``num``, ``bool``, ``strslice``, ``arr`` (``items``, ``len`` for a Go array), ``map`` (``values``) and ``obj``
(``struct``: the Go struct named in errors, ``props``: field -> node).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

DEFAULT_SPEC = "/work/shared/reference/docker-engine-api-v1.41.yaml"
DEFAULT_OUT = Path(__file__).resolve().parent.parent / "api" / "body_schemas.json"

# body name (server/body_types.py) -> (path, method) of its spec operation, Go type dockerd decodes into
BODIES: dict[str, tuple[str, str, str]] = {
    "ContainerCreate": ("/containers/create", "post", "runconfig.ContainerConfigWrapper"),
    "ContainerUpdate": ("/containers/{id}/update", "post", "container.UpdateConfig"),
    "ExecCreate": ("/containers/{id}/exec", "post", "types.ExecConfig"),
    "ExecStart": ("/exec/{id}/start", "post", "types.ExecStartCheck"),
    "NetworkCreate": ("/networks/create", "post", "types.NetworkCreateRequest"),
    "NetworkConnect": ("/networks/{id}/connect", "post", "types.NetworkConnect"),
    "NetworkDisconnect": ("/networks/{id}/disconnect", "post", "types.NetworkDisconnect"),
    "VolumeCreate": ("/volumes/create", "post", "volume.VolumeCreateBody"),
    "Auth": ("/auth", "post", "types.AuthConfig"),
}
# POST /commit decodes its body with the same decoder as /containers/create.
ALIASES = {"Commit": "ContainerCreate"}

# Spec definition -> Go type of the struct (or named map) it describes.
_GO_DEFS = {
    "ContainerConfig": "container.Config", "HostConfig": "container.HostConfig",
    "Resources": "container.Resources", "NetworkingConfig": "network.NetworkingConfig",
    "EndpointSettings": "network.EndpointSettings", "EndpointIPAMConfig": "network.EndpointIPAMConfig",
    "Mount": "mount.Mount", "HealthConfig": "container.HealthConfig", "IPAM": "network.IPAM",
    "IPAMConfig": "network.IPAMConfig", "RestartPolicy": "container.RestartPolicy",
    "DeviceMapping": "container.DeviceMapping", "DeviceRequest": "container.DeviceRequest",
    "ThrottleDevice": "blkiodev.ThrottleDevice", "PortMap": "nat.PortMap", "PortBinding": "nat.PortBinding",
    "VolumeCreateOptions": "volume.VolumeCreateBody", "AuthConfig": "types.AuthConfig",
}
_STR: dict[str, Any] = {"k": "str", "go": "string"}
_STRSLICE: dict[str, Any] = {"k": "strslice", "go": "strslice.StrSlice"}
_UINT16 = {"go": "uint16", "lo": 0, "hi": 2**16 - 1}
_UINT64 = {"go": "uint64", "lo": 0, "hi": 2**64 - 1}
_DURATION = {"go": "time.Duration"}
# (owner, field) -> changes to the spec's node: where the Go field's type differs or has a name.
_GO_FIELDS: dict[tuple[str, str], dict[str, Any]] = {
    **{("ContainerConfig", f): _STRSLICE for f in ("Cmd", "Entrypoint", "Shell")},
    **{("HostConfig", f): _STRSLICE for f in ("CapAdd", "CapDrop")},
    ("ContainerConfig", "ExposedPorts"): {"go": "nat.PortSet", "values": {"k": "obj", "go": "struct {}",
                                                                        "struct": "", "props": {}}},
    ("ContainerConfig", "Volumes"): {"go": "map[string]struct {}", "values": {"k": "obj", "go": "struct {}",
                                                                             "struct": "", "props": {}}},
    **{("HostConfig", f): {"go": f"container.{t}"} for f, t in (
        ("NetworkMode", "NetworkMode"), ("IpcMode", "IpcMode"), ("PidMode", "PidMode"),
        ("UTSMode", "UTSMode"), ("UsernsMode", "UsernsMode"), ("CgroupnsMode", "CgroupnsMode"),
        ("Cgroup", "CgroupSpec"), ("Isolation", "Isolation"))},
    ("HostConfig", "LogConfig"): {"go": "container.LogConfig"},
    ("HostConfig", "ConsoleSize"): {"go": "[2]uint", "len": 2, "items": {"k": "int", "go": "uint", "lo": 0,
                                                               "hi": 2**64 - 1}},
    ("Resources", "CpuShares"): {"go": "int64"},
    ("Resources", "BlkioWeight"): _UINT16,
    ("Resources", "BlkioWeightDevice"): {"go": "[]*blkiodev.WeightDevice"},
    ("BlkioWeightDevice", "Weight"): _UINT16,
    ("ThrottleDevice", "Rate"): _UINT64,
    ("Resources", "IOMaximumIOps"): _UINT64,
    ("Resources", "IOMaximumBandwidth"): _UINT64,
    ("Resources", "Ulimits"): {"go": "[]*units.Ulimit"},
    **{("Resources", f"BlkioDevice{f}"): {"go": "[]*blkiodev.ThrottleDevice"}
       for f in ("ReadBps", "WriteBps", "ReadIOps", "WriteIOps")},
    ("Ulimits", ""): {"go": "units.Ulimit"},
    ("BlkioWeightDevice", ""): {"go": "blkiodev.WeightDevice"},
    ("Ulimits", "Soft"): {"go": "int64"},
    ("Ulimits", "Hard"): {"go": "int64"},
    ("Mount", "Type"): {"k": "str", "go": "mount.Type"},
    ("Mount", "Consistency"): {"go": "mount.Consistency"},
    ("Mount", "BindOptions"): {"go": "mount.BindOptions"},
    ("Mount", "VolumeOptions"): {"go": "mount.VolumeOptions"},
    ("Mount", "TmpfsOptions"): {"go": "mount.TmpfsOptions"},
    ("BindOptions", "Propagation"): {"go": "mount.Propagation"},
    ("VolumeOptions", "DriverConfig"): {"go": "mount.Driver"},
    ("TmpfsOptions", "Mode"): {"go": "fs.FileMode", "lo": 0, "hi": 2**32 - 1},
    **{("HealthConfig", f): _DURATION for f in ("Interval", "Timeout", "StartPeriod")},
    ("NetworkingConfig", "EndpointsConfig"): {"go": "map[string]*network.EndpointSettings"},
    ("EndpointSettings", "GlobalIPv6PrefixLen"): {"go": "int"},
    ("IPAM", "Config"): {"go": "[]network.IPAMConfig"},
    ("PortMap", ""): {"go": "[]nat.PortBinding"},
    ("NetworkCreate", "ConfigFrom"): {"k": "obj", "go": "network.ConfigReference", "struct": "ConfigReference",
                                      "props": {"Network": _STR}},
    **{("AuthConfig", f): _STR for f in ("auth", "identitytoken", "registrytoken")},
}
_INT64 = (-2**63, 2**63 - 1)   # int is 64 bits wide where dockerd runs


def _deref(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    ref = schema.get("$ref")
    if ref is None:
        return None, schema
    name = ref.rsplit("/", 1)[1]
    return name, spec["definitions"][name]


def _merge_all_of(spec: dict[str, Any], schema: dict[str, Any]) -> tuple[str | None, dict[str, Any]]:
    """The schema with its $ref and allOf resolved into one dict of properties (first definition
    named wins as the owner, as Go's embedded structs keep the outer struct's name)."""
    name, schema = _deref(spec, schema)
    if "allOf" not in schema:
        return name, schema
    merged: dict[str, Any] = {k: v for k, v in schema.items() if k != "allOf"}
    props: dict[str, Any] = dict(schema.get("properties", {}))
    for part in schema["allOf"]:
        pname, part = _merge_all_of(spec, part)
        name = name or pname
        for key in ("type", "additionalProperties", "items", "format"):
            if key in part:
                merged.setdefault(key, part[key])
        for key, val in part.get("properties", {}).items():
            props.setdefault(key, val)
    if props:
        merged["properties"] = props
        merged["type"] = "object"
    return name, merged


def _node(spec: dict[str, Any], schema: dict[str, Any], owner: str, field: str,
          struct_go: str | None = None) -> dict[str, Any]:
    name, schema = _merge_all_of(spec, schema)
    over = _GO_FIELDS.get((owner, field), {})
    if over.get("k") == "strslice" or (over.get("k") == "obj" and "props" in over):
        return dict(over)
    kind = schema.get("type") or ("obj" if "properties" in schema else None)
    go_def = struct_go or (_GO_DEFS.get(name) if name else None)
    if kind in ("object", "obj") and "properties" in schema:
        go = over.get("go") or go_def or "struct"
        here = name or field or owner
        props = {key: _node(spec, sub, here, key) for key, sub in schema["properties"].items()}
        if name == "HostConfig":   # Go's HostConfig embeds Resources (but Init is its own)
            props.update(_resources(spec))
        if name == "Resources" and "Init" in props:
            del props["Init"]   # the spec lists it under Resources; Go has it in HostConfig only
        return {"k": "obj", "go": go, "struct": go.rsplit(".", 1)[-1], "props": props}
    if kind == "object":
        add = schema.get("additionalProperties")
        values = over.get("values") or (_node(spec, add, name or field, "") if isinstance(add, dict) else None)
        if values is None:
            return {"k": "any"}
        go = over.get("go") or go_def or f"map[string]{values['go']}"
        return {"k": "map", "go": go, "values": values}
    if kind == "array":
        items = over.get("items") or _node(spec, schema.get("items", {}), field, "")
        if items.get("k") == "any":
            return {"k": "any"}
        node = {"k": "arr", "go": over.get("go") or f"[]{items['go']}", "items": items}
        if "len" in over:   # a Go array: elements past its length are skipped unchecked
            node["len"] = over["len"]
        return node
    if kind == "string" or over.get("k") == "str":
        return {"k": "str", "go": over.get("go", "string")}
    if kind == "boolean":
        return {"k": "bool", "go": "bool"}
    if kind == "number":
        return {"k": "num", "go": "float64"}
    if kind == "integer":
        go = over.get("go") or ("int64" if schema.get("format") == "int64" else "int")
        lo, hi = _INT64
        return {"k": "int", "go": go, "lo": over.get("lo", lo), "hi": over.get("hi", hi)}
    return {"k": "any"}


def _resources(spec: dict[str, Any]) -> dict[str, Any]:
    props = _node(spec, {"$ref": "#/definitions/Resources"}, "", "")["props"]
    assert isinstance(props, dict)
    return props


def _body_schema(spec: dict[str, Any], path: str, method: str) -> dict[str, Any]:
    for param in spec["paths"][path][method].get("parameters", []):
        if param.get("in") == "body":
            schema: dict[str, Any] = param["schema"]
            return schema
    raise KeyError(f"no body for {method.upper()} {path}")


def generate(spec: dict[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for body, (path, method, go) in BODIES.items():
        node = _node(spec, _body_schema(spec, path, method), body, "", struct_go=go)
        props = node["props"]
        if body == "ContainerCreate":
            # ContainerConfigWrapper also embeds *HostConfig (deprecated top-level fields) and Cpuset.
            host = _node(spec, {"$ref": "#/definitions/HostConfig"}, "", "")["props"]
            props.update({k: v for k, v in host.items() if k not in props})
            props.setdefault("Cpuset", _STR)
        if body == "NetworkCreate":
            props.setdefault("ConfigFrom", _GO_FIELDS[("NetworkCreate", "ConfigFrom")])
            props.setdefault("Scope", _STR)
            props.setdefault("ConfigOnly", {"k": "bool", "go": "bool"})
        if body == "Auth":
            for field in ("auth", "identitytoken", "registrytoken"):
                props.setdefault(field, _STR)
        out[body] = node
    for alias, body in ALIASES.items():
        out[alias] = {"alias": body}
    return out


def main(argv: list[str]) -> int:
    import yaml  # only needed to regenerate; see the module docstring

    spec_path = argv[0] if argv else DEFAULT_SPEC
    out_path = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    with open(spec_path, encoding="utf-8") as f:
        spec = yaml.safe_load(f)
    text = json.dumps(generate(spec), sort_keys=True, separators=(",", ":"))
    out_path.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {out_path} ({len(text)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
