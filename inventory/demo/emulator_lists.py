"""Lambda's lists of what moto keeps well but lists badly: event source mappings, layers, layer versions and
aliases, paged like real Lambda (emulator_paging) from moto's state for the calling account and region.

moto 5.2 answers ListEventSourceMappings, ListLayers, ListLayerVersions and ListAliases in one page whatever
MaxItems says, ignores their filters (ListAliases' FunctionVersion, the layers' CompatibleRuntime and
CompatibleArchitecture) and adds members real Lambda does not send (a mapping's Tags, null members). Here
each is answered in botocore's shape for it, filtered and paged; the order is stable (real Lambda documents
none): mappings by function, source and UUID, layers by name, layer versions newest first, aliases by name.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from moto.awslambda.models import LayerVersion

from inventory.demo.emulator_paging import (
    Where,
    backend,
    function_arn,
    function_named,
    no_function,
    page,
    params,
    path_part,
    shaped,
)
from inventory.demo.emulator_wire import StartResponse

Handler = Callable[[dict[str, Any], StartResponse, Where], list[bytes]]


def list_event_source_mappings(environ: dict[str, Any], start_response: StartResponse, where: Where) -> list[bytes]:
    query = params(environ)
    mappings = [shaped(m.get_configuration(), "EventSourceMappingConfiguration") for m in _mappings(where)]
    if "EventSourceArn" in query:
        mappings = [m for m in mappings if m["EventSourceArn"] == query["EventSourceArn"]]
    if "FunctionName" in query:
        arn = function_arn(where, query["FunctionName"])
        mappings = [m for m in mappings if m["FunctionArn"].split(":")[:7] == arn.split(":")]
    mappings.sort(key=lambda m: (m["FunctionArn"], m["EventSourceArn"], m["UUID"]))
    return page(environ, start_response, "ListEventSourceMappings", "EventSourceMappings", mappings)


def _mappings(where: Where) -> list[Any]:
    return list(backend(where).list_event_source_mappings("", ""))


def _versions(where: Where, layer: str, query: dict[str, str]) -> list[dict[str, Any]]:
    """The layer's versions matching the query's CompatibleRuntime / CompatibleArchitecture, newest first."""
    if layer.startswith("arn:"):  # a layer ARN: only this account and region's own layers are listed here
        prefix = f"arn:aws:lambda:{where[1]}:{where[0]}:layer:"
        layer = layer.removeprefix(prefix) if layer.startswith(prefix) else ""
    found: list[LayerVersion] = list(backend(where).list_layer_versions(layer)) if layer else []
    versions = [shaped(v.get_layer_version(), "LayerVersionsListItem") for v in found]
    if "CompatibleRuntime" in query:
        versions = [v for v in versions if query["CompatibleRuntime"] in v.get("CompatibleRuntimes", ())]
    if "CompatibleArchitecture" in query:
        versions = [v for v in versions if query["CompatibleArchitecture"] in v.get("CompatibleArchitectures", ())]
    return sorted(versions, key=lambda v: int(v["Version"]), reverse=True)


def list_layers(environ: dict[str, Any], start_response: StartResponse, where: Where) -> list[bytes]:
    query = params(environ)
    layers = []
    for name in sorted(layer["LayerName"] for layer in backend(where).list_layers()):
        matching = _versions(where, name, query)
        if matching:
            arn = f"arn:aws:lambda:{where[1]}:{where[0]}:layer:{name}"
            layers.append({"LayerName": name, "LayerArn": arn, "LatestMatchingVersion": matching[0]})
    return page(environ, start_response, "ListLayers", "Layers", layers)


def list_layer_versions(environ: dict[str, Any], start_response: StartResponse, where: Where) -> list[bytes]:
    versions = _versions(where, path_part(environ, 2), params(environ))
    return page(environ, start_response, "ListLayerVersions", "LayerVersions", versions)


def list_aliases(environ: dict[str, Any], start_response: StartResponse, where: Where) -> list[bytes]:
    function = function_named(where, environ)
    if function is None:
        return no_function(start_response, where, environ)
    version = params(environ).get("FunctionVersion")
    aliases = [
        shaped(alias.to_json(), "AliasConfiguration") for alias in backend(where).list_aliases(function.function_name)
    ]
    if version is not None:
        aliases = [alias for alias in aliases if alias["FunctionVersion"] == version]
    aliases.sort(key=lambda alias: str(alias["Name"]))
    return page(environ, start_response, "ListAliases", "Aliases", aliases)


LISTS: dict[str, Handler] = {
    "ListEventSourceMappings": list_event_source_mappings,
    "ListLayers": list_layers,
    "ListLayerVersions": list_layer_versions,
    "ListAliases": list_aliases,
}
