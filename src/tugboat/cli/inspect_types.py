"""What `inspect -f` templates see: docker 28's typed structs first, the raw JSON second.

docker's TemplateInspector executes the template over the Go struct the CLI decoded (for a container,
container.InspectResponse); only if that fails does it run again over the raw JSON as a map with
missingkey=error, and report that run's error.  Over the struct, a field that dockerd 20.10 leaves out
of its JSON (an ``omitempty`` field: ``State.Health`` without a healthcheck, ``Config.StopTimeout``,
``SizeRw`` without ``--size``...) still exists with its zero value, so ``{{.State.Health}}`` prints
``<nil>`` and ``{{.Config.StopSignal}}`` an empty line, while a field no struct has
(``{{.NoSuchField}}``) and a field below a nil pointer (``{{.State.Health.Status}}``) fail with the
raw run's "map has no entry for key ..." error.

The tables below list those omitted fields per object type (container, image, volume, network) with
their Go zero values, by JSON path (a one-element list: each element of an array; "*": each value of
a map); each was checked against docker 28 and dockerd 20.10.  Fields the JSON always carries need
no entry.
"""

from __future__ import annotations

from typing import Any

from tugboat.cli.gotemplate import NilList, NilMap, Template, TemplateError, Typed

_CONTAINER: dict[str, Any] = {
    "SizeRw": None, "SizeRootFs": None, "ImageManifestDescriptor": None,
    "State": {"Health": None},
    "Config": {"Healthcheck": None, "StopTimeout": None, "StopSignal": "", "MacAddress": "",
               "ArgsEscaped": False, "NetworkDisabled": False, "ExposedPorts": NilMap(), "Shell": NilList()},
    "HostConfig": {"Annotations": NilMap(), "Init": None, "Mounts": NilList()},
    "Mounts": [{"Type": "", "Name": "", "Driver": ""}],
    "NetworkSettings": {"Networks": {"*": {"DNSNames": NilList(), "GwPriority": 0}}},
}

_IMAGE: dict[str, Any] = {
    "Descriptor": None, "Manifests": NilList(),
    "Config": {"Healthcheck": None, "StopSignal": "", "ArgsEscaped": False, "ExposedPorts": NilMap(),
               "Shell": NilList(), "OnBuild": NilList()},
}
_VOLUME: dict[str, Any] = {"UsageData": None, "ClusterVolume": None, "Status": NilMap()}
_NETWORK: dict[str, Any] = {"EnableIPv4": False, "Peers": NilList(), "Services": NilMap()}

SCHEMAS: dict[str, dict[str, Any]] = {"container": _CONTAINER, "image": _IMAGE, "volume": _VOLUME,
                                      "network": _NETWORK}


def typed(value: Any, schema: Any) -> Any:
    """``value`` (decoded JSON) with the omitted fields of ``schema`` known to the template."""
    if type(schema) is list:
        return [typed(v, schema[0]) for v in value] if isinstance(value, list) else value
    if type(schema) is not dict or not isinstance(value, dict):
        return value
    if "*" in schema:
        return {k: typed(v, schema["*"]) for k, v in value.items()}
    nested = {k: s for k, s in schema.items() if type(s) in (dict, list)}
    out = {k: typed(v, nested[k]) if k in nested else v for k, v in value.items()}
    return Typed(out, {k: z for k, z in schema.items() if k not in nested})


def execute(tmpl: Template, data: Any, kind: str) -> str:
    """docker's TemplateInspector.Inspect: the typed run, else the raw run (whose error is raised)."""
    schema = SCHEMAS.get(kind)
    if schema is None:
        return tmpl.execute(data)
    try:
        return tmpl.execute(typed(data, schema))
    except TemplateError:
        return tmpl.execute(data)
