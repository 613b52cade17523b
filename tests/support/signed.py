"""Requests signed with botocore's SigV4 and sent over plain HTTP, the way the job sends its JSON-protocol
calls (boto3 speaks CBOR to CloudWatch and the tagging API; the job speaks JSON 1.0 / 1.1)."""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any

import boto3
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.config import Config
from botocore.credentials import Credentials

TAGGING = ("tagging", "ResourceGroupsTaggingAPI_20170126", "application/x-amz-json-1.1")
MONITORING = ("monitoring", "GraniteServiceVersion20100801", "application/x-amz-json-1.0")


@dataclass(frozen=True)
class Reply:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]

    @property
    def error_code(self) -> str:
        return str(self.headers.get("x-amzn-ErrorType") or self.body.get("__type") or "")


def member_credentials(account_id: str, role: str = "CrossAccountListFunctionsRole") -> Credentials:
    """The member role's credentials, assumed with the hub's keys (the environment must point at the emulator)."""
    sts = boto3.client("sts", region_name="us-east-1")
    found = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{role}", RoleSessionName="signed")["Credentials"]
    return Credentials(found["AccessKeyId"], found["SecretAccessKey"], found["SessionToken"])


def member_client(service: str, account_id: str, region: str) -> Any:
    """A boto3 client acting as the member account, one request per call (no retries)."""
    creds = member_credentials(account_id)
    return boto3.client(
        service,
        region_name=region,
        aws_access_key_id=creds.access_key,
        aws_secret_access_key=creds.secret_key,
        aws_session_token=creds.token,
        config=Config(retries={"mode": "standard", "total_max_attempts": 1}),
    )


@dataclass(frozen=True)
class JsonCaller:
    """Sends JSON-protocol calls to `endpoint` as `credentials` would, in `region`."""

    endpoint: str
    credentials: Credentials
    region: str

    def call(self, protocol: tuple[str, str, str], operation: str, payload: dict[str, Any]) -> Reply:
        """POST one call: `protocol` is (signing name, target prefix, content type), e.g. TAGGING."""
        service, prefix, content_type = protocol
        headers = {"X-Amz-Target": f"{prefix}.{operation}", "Content-Type": content_type}
        body = json.dumps(payload).encode()
        request = AWSRequest(method="POST", url=f"{self.endpoint}/", data=body, headers=headers)
        SigV4Auth(self.credentials, service, self.region).add_auth(request)
        prepared = request.prepare()
        raw = urllib.request.Request(prepared.url, data=prepared.body, headers=dict(prepared.headers), method="POST")
        try:
            with urllib.request.urlopen(raw, timeout=30) as response:
                return Reply(response.status, dict(response.headers), json.loads(response.read() or b"{}"))
        except urllib.error.HTTPError as err:
            return Reply(err.code, dict(err.headers), json.loads(err.read() or b"{}"))
