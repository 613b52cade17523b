"""Resource policies moto cannot keep: a function's alias- or version-qualified policy, and layer versions'.

moto 5.2 keeps one policy per function, shared by all its versions and aliases: AddPermission with an alias
`Qualifier` adds to the function's own policy, and GetPolicy with one answers the function's. Real Lambda
keeps one policy per qualifier. moto's layer version policies drop AddLayerVersionPermission's
OrganizationId into the statement as is, where real Lambda writes an `aws:PrincipalOrgID` condition.

So the emulator keeps both itself, per resource ARN (the qualified function ARN, the layer version ARN), for
the calling account and region: AddPermission, GetPolicy and RemovePermission with a qualifier other than
$LATEST, and Add/Get/RemoveLayerVersionPermission, are answered here (the unqualified ones by moto).
Statements are written the way real Lambda writes them (a service principal as {"Service": ...}, an account
id as {"AWS": "arn:aws:iam::<id>:root"}, conditions for SourceArn, SourceAccount, PrincipalOrgID /
OrganizationId and FunctionUrlAuthType); each change gives the policy a new RevisionId.
"""

from __future__ import annotations

import json
import threading
import uuid
from typing import Any

from moto.awslambda.exceptions import UnknownLayerException

from inventory.demo.emulator_paging import (
    Where,
    backend,
    body,
    conflict,
    function_named,
    has_qualifier,
    no_content,
    no_function,
    not_found,
    path_part,
    qualifier_of,
)
from inventory.demo.emulator_wire import StartResponse, json_reply

FUNCTION_POLICY_OPERATIONS = frozenset({"AddPermission", "GetPolicy", "RemovePermission"})
LAYER_POLICY_OPERATIONS = frozenset(
    {"AddLayerVersionPermission", "GetLayerVersionPolicy", "RemoveLayerVersionPermission"}
)
_CONDITIONS = (  # request member -> (condition operator, condition key)
    ("SourceArn", "ArnLike", "AWS:SourceArn"),
    ("SourceAccount", "StringEquals", "AWS:SourceAccount"),
    ("PrincipalOrgID", "StringEquals", "aws:PrincipalOrgID"),
    ("OrganizationId", "StringEquals", "aws:PrincipalOrgID"),
    ("FunctionUrlAuthType", "StringEquals", "lambda:FunctionUrlAuthType"),
)
_NO_POLICY = "No policy is associated with the given resource."


def _principal(principal: str) -> str | dict[str, str]:
    if principal.isdigit():
        return {"AWS": f"arn:aws:iam::{principal}:root"}
    if principal.startswith("arn:"):
        return {"AWS": principal}
    return {"Service": principal} if principal.endswith(".amazonaws.com") else principal


def statement(request: dict[str, Any], resource: str) -> dict[str, Any]:
    """The policy statement AddPermission / AddLayerVersionPermission writes for `request` on `resource`."""
    written: dict[str, Any] = {
        "Sid": request.get("StatementId"),
        "Effect": "Allow",
        "Principal": _principal(str(request.get("Principal", ""))),
        "Action": request.get("Action"),
        "Resource": resource,
    }
    condition: dict[str, dict[str, str]] = {}
    for member, operator, key in _CONDITIONS:
        if request.get(member):
            condition.setdefault(operator, {})[key] = str(request[member])
    if condition:
        written["Condition"] = condition
    return written


class Policies:
    """Resource policies per (account, region, resource ARN): statements in the order added, and a revision."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._policies: dict[tuple[str, str, str], tuple[list[dict[str, Any]], str]] = {}

    def answers(self, environ: dict[str, Any], operation: str) -> bool:
        if operation in LAYER_POLICY_OPERATIONS:
            return True
        return operation in FUNCTION_POLICY_OPERATIONS and qualifier_of(environ) != ""

    def handle(
        self, environ: dict[str, Any], start_response: StartResponse, where: Where, operation: str
    ) -> list[bytes]:
        if operation in LAYER_POLICY_OPERATIONS:
            layer, version = path_part(environ, 2), path_part(environ, 4)
            try:
                resource = backend(where).get_layer_version(layer, version).arn
            except (UnknownLayerException, ValueError):
                return not_found(start_response, "The resource you requested does not exist.")
            return self._answer(environ, start_response, (*where, resource), operation, with_revision=True)
        function, qualifier = function_named(where, environ), qualifier_of(environ)
        if function is None or not has_qualifier(where, function, qualifier):
            return no_function(start_response, where, environ, qualifier)
        key = (*where, f"{function.function_arn}:{qualifier}")
        return self._answer(environ, start_response, key, operation, with_revision=False)

    def _answer(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        key: tuple[str, str, str],
        operation: str,
        with_revision: bool,
    ) -> list[bytes]:
        with self._lock:
            statements, revision = self._policies.get(key, ([], ""))
            if operation.startswith("Get"):
                if not statements:
                    return not_found(start_response, _NO_POLICY)
                policy = {"Version": "2012-10-17", "Id": "default", "Statement": statements}
                return json_reply(start_response, "200 OK", {"Policy": json.dumps(policy), "RevisionId": revision})
            if operation.startswith("Remove"):
                sid = path_part(environ, -1)
                kept = [s for s in statements if s["Sid"] != sid]
                if len(kept) == len(statements):
                    return not_found(start_response, f"Statement {sid} is not found in resource policy.")
                self._policies[key] = (kept, str(uuid.uuid4()))
                return no_content(start_response)
            request = body(environ)
            if any(s["Sid"] == request.get("StatementId") for s in statements):
                return conflict(
                    start_response,
                    f"The statement id ({request.get('StatementId')}) provided already exists. Please provide a "
                    "new statement id, or remove the existing statement.",
                )
            added = statement(request, key[2])
            revision = str(uuid.uuid4())
            self._policies[key] = ([*statements, added], revision)
        answer = {"Statement": json.dumps(added), **({"RevisionId": revision} if with_revision else {})}
        return json_reply(start_response, "201 Created", answer)
