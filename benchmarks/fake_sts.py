"""STS for fake_aws.py, on its query/XML protocol: `POST /` `Action=AssumeRole` and `GetCallerIdentity`.

The AccessKeyId AssumeRole returns is `ASIA` + the 12-digit member account id + a 4-character counter, so every
member call made with it (Lambda, tagging, CloudWatch) is attributed to the account. A role in an account
outside the population is denied (403 AccessDenied); --sts-throttle-rate answers that share of AssumeRoles
400 Throttling, decided by the seeded hash of (account, attempt). Standard library only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

from fake_enrich import Response
from fake_http import Replies
from fake_population import Population, unit_hash

ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/(?:[\w+=,.@/-]*/)?([\w+=,.@-]+)$")
_STS = "https://sts.amazonaws.com/doc/2011-06-15/"


class StsAnswers:
    """Mixed into FakeAws: needs self.args, self.pop, self.stats, self.replies and self._delay."""

    args: argparse.Namespace
    pop: Population
    stats: Any
    replies: Replies
    _delay: Callable[[], Awaitable[float]]
    _key_counter: int

    async def sts(self, body: bytes, query: str) -> Response:
        form = {k: v[0] for k, v in parse_qs(body.decode() or query).items()}
        action = form.get("Action", "")
        self.stats.ops[action or "Unknown"] += 1
        if action == "GetCallerIdentity":
            await self._delay()
            xml = (
                f'<GetCallerIdentityResponse xmlns="{_STS}"><GetCallerIdentityResult>'
                "<Arn>arn:aws:iam::111111111111:user/hub</Arn><UserId>AIDAHUBHUBHUBHUBHUBHU</UserId>"
                "<Account>111111111111</Account></GetCallerIdentityResult>"
                f"<ResponseMetadata><RequestId>{self.replies.request_id()}</RequestId></ResponseMetadata>"
                "</GetCallerIdentityResponse>"
            )
            return "200 OK", self.replies.xml_headers(), xml.encode()
        if action != "AssumeRole":
            await self._delay()
            return self.replies.xml_error(
                "400 Bad Request", "InvalidAction", f"Could not find operation {action} (fake)"
            )
        return await self._assume_role(form)

    async def _assume_role(self, form: dict[str, str]) -> Response:
        stats = self.stats
        role_arn = form.get("RoleArn", "")
        match = ROLE_ARN.match(role_arn)
        account = match.group(1) if match else "?"
        stats.assume_role[account] += 1
        attempt_key = ("AssumeRole", account, "", 0)
        stats.attempts[attempt_key] += 1
        rate = self.args.sts_throttle_rate
        throttle = rate > 0 and unit_hash(self.args.seed, *attempt_key, stats.attempts[attempt_key]) < rate
        await self._delay()
        if throttle:
            stats.throttles["AssumeRole"] += 1
            return self.replies.xml_error("400 Bad Request", "Throttling", "Rate exceeded")
        if not match or account not in self.pop.account_index:
            stats.errors["AssumeRole:AccessDenied"] += 1
            return self.replies.xml_error(
                "403 Forbidden",
                "AccessDenied",
                f"User: arn:aws:iam::111111111111:user/hub is not authorized to perform: sts:AssumeRole on resource: "
                f"{role_arn} (not in the fake population)",
            )
        return self._credentials(account, match.group(2), form)

    def _credentials(self, account: str, role_name: str, form: dict[str, str]) -> Response:
        """AssumeRole's answer: a key of the account's, its secret and token, when it expires, who it is."""
        self._key_counter += 1
        key_id = f"ASIA{account}{_base36(self._key_counter % 36**4):0>4}"
        session = form.get("RoleSessionName", "session")
        duration = int(form.get("DurationSeconds") or 3600)
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + duration))
        secret = base64.b64encode(hashlib.sha256(key_id.encode()).digest()).decode()[:40]
        token = base64.b64encode(hashlib.sha512(key_id.encode()).digest() * 6).decode()
        xml = (
            f'<AssumeRoleResponse xmlns="{_STS}"><AssumeRoleResult>'
            f"<Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{secret}</SecretAccessKey>"
            f"<SessionToken>{token}</SessionToken><Expiration>{expires}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>AROA{account}X0FAKE:{session}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/{role_name}/{session}</Arn></AssumedRoleUser>"
            "</AssumeRoleResult>"
            f"<ResponseMetadata><RequestId>{self.replies.request_id()}</RequestId></ResponseMetadata>"
            "</AssumeRoleResponse>"
        )
        return "200 OK", self.replies.xml_headers(), xml.encode()


def _base36(n: int) -> str:
    digits = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if n == 0:
            return out
