"""A faster botocore response parser for ListFunctions pages, plugged in through botocore's own extension
point (the session's `response_parser_factory` component).

botocore parses a rest-json response by walking the service model field by field; for a ListFunctions page
of 50 functions that walk was ~80% of the job's CPU. The page's output shape holds only JSON-native types (no
timestamps, no blobs), so `json.loads` yields the same values. The shortcut is taken only for output shapes
checked to be JSON-native, only for successful responses; errors and every other operation go through
botocore's parser unchanged. Unlike botocore's walk, keys the model does not know are kept; the inventory
reads only the fields its schema names, so they are ignored there.
"""

from __future__ import annotations

import json
from functools import cache
from typing import Any

from botocore.model import Shape
from botocore.parsers import ResponseParserFactory, RestJSONParser

FAST_SHAPES = frozenset({"ListFunctionsResponse"})


def _json_native(shape: Shape, depth: int = 0) -> bool:
    if depth > 20 or shape.type_name in ("timestamp", "blob"):
        return False
    if shape.type_name == "structure":
        return all(_json_native(member, depth + 1) for member in shape.members.values())
    if shape.type_name == "list":
        return _json_native(shape.member, depth + 1)
    if shape.type_name == "map":
        return _json_native(shape.key, depth + 1) and _json_native(shape.value, depth + 1)
    return True


@cache
def _fast(shape: Shape) -> bool:
    return shape.name in FAST_SHAPES and not shape.serialization and _json_native(shape)


class FastListFunctionsParser(RestJSONParser):  # type: ignore[misc]
    def _do_parse(self, response: dict[str, Any], shape: Shape | None) -> dict[str, Any]:
        if shape is None or not _fast(shape):
            parsed: dict[str, Any] = super()._do_parse(response, shape)
            return parsed
        body = response["body"]
        page: dict[str, Any] = json.loads(body) if body else {}
        page["ResponseMetadata"] = {"RequestId": response["headers"].get("x-amzn-requestid")}
        return page


class ParserFactory(ResponseParserFactory):  # type: ignore[misc]
    def create_parser(self, protocol_name: str) -> Any:
        if protocol_name == "rest-json":
            return FastListFunctionsParser(**self._defaults)
        return super().create_parser(protocol_name)
