"""Code signing configs, which moto lacks: it has no Create/Get/ListCodeSigningConfigs (404), no
PutFunctionCodeSigningConfig (500) and no ListFunctionsByCodeSigningConfig, and its GetFunctionCodeSigningConfig
answers without the ARN.

The emulator keeps them per (account, region), and which one each function uses:

* CreateCodeSigningConfig, GetCodeSigningConfig and ListCodeSigningConfigs (paged, by ARN), in botocore's
  CodeSigningConfig shape: UntrustedArtifactOnDeployment defaults to Warn, Description to "". The id is
  `csc-` and 17 hex digits, derived from the account, the region and how many configs it had before, so a
  seed run twice creates the same ARNs.
* Put/Get/DeleteFunctionCodeSigningConfig: a Put naming a config of another account or region, or none, is
  refused (404 CodeSigningConfigNotFoundException); a function without one answers CodeSigningConfigArn "".
* ListFunctionsByCodeSigningConfig (paged, what the job reads): the unqualified ARNs of the functions a Put
  attached the config to, by name; a config of another account or region, or none, is 404
  ResourceNotFoundException, as Lambda answers for a config deleted since it was listed.
"""

from __future__ import annotations

import hashlib
import threading
from datetime import UTC, datetime
from typing import Any

from inventory.demo.emulator_paging import (
    Where,
    body,
    function_arn,
    function_named,
    invalid,
    no_content,
    no_function,
    not_found,
    page,
    path_part,
)
from inventory.demo.emulator_wire import StartResponse, json_reply

CONFIG_OPERATIONS = frozenset(
    {"CreateCodeSigningConfig", "GetCodeSigningConfig", "ListCodeSigningConfigs", "ListFunctionsByCodeSigningConfig"}
)
FUNCTION_OPERATIONS = frozenset(
    {"GetFunctionCodeSigningConfig", "PutFunctionCodeSigningConfig", "DeleteFunctionCodeSigningConfig"}
)


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _new_config(where: Where, count: int, request: dict[str, Any]) -> dict[str, Any]:
    config_id = "csc-" + hashlib.sha256(f"{where[0]}/{where[1]}/{count}".encode()).hexdigest()[:17]
    return {
        "CodeSigningConfigId": config_id,
        "CodeSigningConfigArn": f"arn:aws:lambda:{where[1]}:{where[0]}:code-signing-config:{config_id}",
        "Description": request.get("Description") or "",
        "AllowedPublishers": {
            "SigningProfileVersionArns": list(request["AllowedPublishers"]["SigningProfileVersionArns"])
        },
        "CodeSigningPolicies": {
            "UntrustedArtifactOnDeployment": (request.get("CodeSigningPolicies") or {}).get(
                "UntrustedArtifactOnDeployment", "Warn"
            )
        },
        "LastModified": _now(),
    }


def _publishers_valid(request: dict[str, Any]) -> bool:
    arns = (request.get("AllowedPublishers") or {}).get("SigningProfileVersionArns")
    return isinstance(arns, list) and 1 <= len(arns) <= 20


class CodeSigning:
    """Code signing configs per (account, region), by ARN, and the one each function uses."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._configs: dict[Where, dict[str, dict[str, Any]]] = {}
        self._created: dict[Where, int] = {}
        self._attached: dict[tuple[str, str, str], str] = {}  # (account, region, function name) -> config ARN

    def answers(self, environ: dict[str, Any], operation: str) -> bool:
        return operation in CONFIG_OPERATIONS or operation in FUNCTION_OPERATIONS

    def handle(
        self, environ: dict[str, Any], start_response: StartResponse, where: Where, operation: str
    ) -> list[bytes]:
        if operation in FUNCTION_OPERATIONS:
            return self._function(environ, start_response, where, operation)
        with self._lock:
            configs = self._configs.setdefault(where, {})
            if operation == "ListCodeSigningConfigs":
                listed = [dict(configs[arn]) for arn in sorted(configs)]
                return page(environ, start_response, operation, "CodeSigningConfigs", listed)
            if operation == "ListFunctionsByCodeSigningConfig":
                arn = path_part(environ, 2)
                if arn not in configs:
                    return not_found(start_response, f"Code signing config {arn} not found.")
                using = sorted(key[2] for key, used in self._attached.items() if key[:2] == where and used == arn)
                arns = [function_arn(where, name) for name in using]
                return page(environ, start_response, operation, "FunctionArns", arns)
            if operation == "GetCodeSigningConfig":
                found = configs.get(path_part(environ, 2))
                if found is None:
                    return not_found(start_response, f"Code signing config {path_part(environ, 2)} not found.")
                return json_reply(start_response, "200 OK", {"CodeSigningConfig": found})
            request = body(environ)
            if not _publishers_valid(request):
                return invalid(start_response, "AllowedPublishers needs 1 to 20 SigningProfileVersionArns.")
            created = _new_config(where, self._created.get(where, 0), request)
            self._created[where] = self._created.get(where, 0) + 1
            configs[created["CodeSigningConfigArn"]] = created
        return json_reply(start_response, "201 Created", {"CodeSigningConfig": created})

    def _function(
        self, environ: dict[str, Any], start_response: StartResponse, where: Where, operation: str
    ) -> list[bytes]:
        function = function_named(where, environ)
        if function is None:
            return no_function(start_response, where, environ)
        key = (*where, function.function_name)
        with self._lock:
            if operation == "DeleteFunctionCodeSigningConfig":
                self._attached.pop(key, None)
                return no_content(start_response)
            if operation == "PutFunctionCodeSigningConfig":
                arn = str(body(environ).get("CodeSigningConfigArn", ""))
                if arn not in self._configs.get(where, {}):
                    return not_found(
                        start_response, f"Code signing config {arn} not found.", "CodeSigningConfigNotFoundException"
                    )
                self._attached[key] = arn
            attached = self._attached.get(key, "")
        return json_reply(
            start_response, "200 OK", {"CodeSigningConfigArn": attached, "FunctionName": function.function_name}
        )
