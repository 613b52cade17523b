"""Per-qualifier invocation settings moto cannot keep: event invoke configs and provisioned concurrency.

moto 5.2 keeps one event invoke config per function whatever its `Qualifier` (and lists only that one, with
the unqualified ARN and LastModified as a date string), and has no provisioned concurrency at all. Real
Lambda keeps one of each per qualifier ($LATEST, a version or an alias; provisioned concurrency only on a
published version or an alias) and lists them all, paged. The emulator keeps both per (account, region,
function, qualifier):

* Put/Get/Update/Delete/ListFunctionEventInvokeConfigs: FunctionArn qualified (`:$LATEST` when unqualified),
  LastModified in epoch seconds, DestinationConfig always with OnSuccess and OnFailure ({} when unset), the
  numbers checked against the bounds botocore's model gives them (400 ValidationException).
* Put/Get/Delete/ListProvisionedConcurrencyConfigs: a Put answers IN_PROGRESS with nothing allocated yet;
  the allocation completes at once, so every read after it sees READY with all of it available.
"""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime
from typing import Any

from moto.awslambda.models import LambdaFunction

from inventory.demo.emulator_paging import (
    Where,
    body,
    function_named,
    has_qualifier,
    invalid,
    no_content,
    no_function,
    not_found,
    page,
    qualifier_of,
    shaped,
)
from inventory.demo.emulator_wire import StartResponse, json_error, json_reply

INVOKE_OPERATIONS = frozenset(
    {
        "PutFunctionEventInvokeConfig",
        "UpdateFunctionEventInvokeConfig",
        "GetFunctionEventInvokeConfig",
        "DeleteFunctionEventInvokeConfig",
        "ListFunctionEventInvokeConfigs",
    }
)
PROVISIONED_OPERATIONS = frozenset(
    {
        "PutProvisionedConcurrencyConfig",
        "GetProvisionedConcurrencyConfig",
        "DeleteProvisionedConcurrencyConfig",
        "ListProvisionedConcurrencyConfigs",
    }
)
_BOUNDS = {"MaximumRetryAttempts": (0, 2), "MaximumEventAgeInSeconds": (60, 21600)}  # botocore's model's


def _now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "+0000"


def _out_of_bounds(request: dict[str, Any]) -> str | None:
    for member, (low, high) in _BOUNDS.items():
        value = request.get(member)
        if value is not None and not (isinstance(value, int) and low <= value <= high):
            return f"1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint"
    return None


class InvokeSettings:
    """Event invoke configs and provisioned concurrency configs, per (account, region, function, qualifier)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._invoke: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}
        self._provisioned: dict[tuple[str, str, str], dict[str, dict[str, Any]]] = {}

    def answers(self, environ: dict[str, Any], operation: str) -> bool:
        return operation in INVOKE_OPERATIONS or operation in PROVISIONED_OPERATIONS

    def handle(
        self, environ: dict[str, Any], start_response: StartResponse, where: Where, operation: str
    ) -> list[bytes]:
        function = function_named(where, environ)
        qualifier = "" if operation.startswith("List") else qualifier_of(environ)
        if function is None or not has_qualifier(where, function, qualifier):
            return no_function(start_response, where, environ, qualifier)
        if operation in INVOKE_OPERATIONS:
            return self._invoke_config(environ, start_response, where, function, operation)
        return self._provisioned_config(environ, start_response, where, function, operation)

    def _invoke_config(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        where: Where,
        function: LambdaFunction,
        operation: str,
    ) -> list[bytes]:
        qualifier = qualifier_of(environ) or "$LATEST"
        arn = f"{function.function_arn}:{qualifier}"
        with self._lock:
            configs = self._invoke.setdefault((*where, function.function_name), {})
            if operation == "ListFunctionEventInvokeConfigs":
                listed = [dict(configs[q]) for q in sorted(configs, key=lambda q: str(configs[q]["FunctionArn"]))]
                return page(environ, start_response, operation, "FunctionEventInvokeConfigs", listed)
            found = configs.get(qualifier)
            if found is None and operation != "PutFunctionEventInvokeConfig":
                return not_found(start_response, f"The function {arn} doesn't have an EventInvokeConfig")
            if operation == "GetFunctionEventInvokeConfig":
                return json_reply(start_response, "200 OK", found or {})
            if operation == "DeleteFunctionEventInvokeConfig":
                del configs[qualifier]
                return no_content(start_response)
            request = shaped(body(environ), "FunctionEventInvokeConfig")
            problem = _out_of_bounds(request)
            if problem is not None:
                return json_error(start_response, 400, "ValidationException", problem)
            configs[qualifier] = written = _merged(found if operation.startswith("Update") else None, request, arn)
        return json_reply(start_response, "200 OK", written)

    def _provisioned_config(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        where: Where,
        function: LambdaFunction,
        operation: str,
    ) -> list[bytes]:
        qualifier = qualifier_of(environ)
        with self._lock:
            configs = self._provisioned.setdefault((*where, function.function_name), {})
            if operation == "ListProvisionedConcurrencyConfigs":
                listed = [dict(configs[q]) for q in sorted(configs, key=lambda q: str(configs[q]["FunctionArn"]))]
                return page(environ, start_response, operation, "ProvisionedConcurrencyConfigs", listed)
            if not qualifier:
                return invalid(
                    start_response,
                    "Provisioned Concurrency Configs cannot be applied to unpublished function versions.",
                )
            found = configs.get(qualifier)
            if operation == "PutProvisionedConcurrencyConfig":
                return self._put_provisioned(environ, start_response, configs, f"{function.function_arn}:{qualifier}")
            if found is None:
                return not_found(
                    start_response,
                    "No Provisioned Concurrency Config found for this function",
                    "ProvisionedConcurrencyConfigNotFoundException",
                )
            if operation == "DeleteProvisionedConcurrencyConfig":
                del configs[qualifier]
                return no_content(start_response)
        return json_reply(start_response, "200 OK", shaped(found, "GetProvisionedConcurrencyConfigResponse"))

    @staticmethod
    def _put_provisioned(
        environ: dict[str, Any], start_response: StartResponse, configs: dict[str, dict[str, Any]], arn: str
    ) -> list[bytes]:
        requested = body(environ).get("ProvisionedConcurrentExecutions")
        if not isinstance(requested, int) or requested < 1:
            return invalid(start_response, "ProvisionedConcurrentExecutions must be at least 1.")
        modified = _now()
        configs[arn.rsplit(":", 1)[1]] = {
            "FunctionArn": arn,
            "RequestedProvisionedConcurrentExecutions": requested,
            "AvailableProvisionedConcurrentExecutions": requested,
            "AllocatedProvisionedConcurrentExecutions": requested,
            "Status": "READY",
            "LastModified": modified,
        }
        answer = {
            "RequestedProvisionedConcurrentExecutions": requested,
            "AllocatedProvisionedConcurrentExecutions": 0,
            "Status": "IN_PROGRESS",
            "LastModified": modified,
        }
        return json_reply(start_response, "202 Accepted", answer)


def _merged(found: dict[str, Any] | None, request: dict[str, Any], arn: str) -> dict[str, Any]:
    """The config a Put (found None: the request replaces it) or an Update (merged into `found`) leaves."""
    merged = {k: v for k, v in (found or {}).items() if k not in ("LastModified", "FunctionArn")}
    destinations = dict(merged.get("DestinationConfig") or {})
    destinations.update(request.get("DestinationConfig") or {})
    merged.update({k: v for k, v in request.items() if k not in ("DestinationConfig", "LastModified", "FunctionArn")})
    merged["DestinationConfig"] = {
        "OnSuccess": destinations.get("OnSuccess") or {},
        "OnFailure": destinations.get("OnFailure") or {},
    }
    return {"LastModified": time.time(), "FunctionArn": arn, **merged}
