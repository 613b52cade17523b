"""A small fake of STS AssumeRole and Lambda ListFunctions that can answer every listing fault on cue.

Standard library only: a ThreadingHTTPServer on 127.0.0.1 (port 0) in a background thread, speaking the
real wire protocols (STS query/XML, Lambda rest-json). botocore sends every service to AWS_ENDPOINT_URL,
so services and regions are told apart by the SigV4 credential scope in the Authorization header
(`Credential=AKID/date/REGION/SERVICE/aws4_request`). Signatures are not checked.

AssumeRole returns credentials whose AccessKeyId is `ASIA` + the member account + a 4-character counter
(so a ListFunctions request is attributed to its account), a SecretAccessKey containing FAKESECRET and a
SessionToken containing FAKETOKEN, each with random hex; `secrets()` lists every one handed out, so a test
can check that none reaches any output. A key the fake did not issue gets 403 UnrecognizedClientException;
an expired one (see behaviours.ExpireAfter) gets 403 ExpiredTokenException.

    scenario = Scenario()
    scenario.add("100000000001", "us-east-1", 120)                    # ok: 3 pages
    scenario.add("100000000001", "eu-west-1", 60, RepeatMarker())     # a fault
    with FakeAws(scenario) as fake:                                   # fake.endpoint: http://127.0.0.1:PORT
        ...
"""

from __future__ import annotations

import re
import secrets
import socket
import struct
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from urllib.parse import parse_qs, urlsplit
from xml.sax.saxutils import escape

from .behaviours import Behaviour, Call, Delayed, Drop, Ok, Reply, expired_reply, json_error, ok_body
from .population import ENV_SECRET, arns, offset_of, page

SCOPE = re.compile(r"Credential=([^/,\s]+)/\d{8}/([^/]+)/([^/]+)/aws4_request")
ROLE_ARN = re.compile(r"^arn:aws[\w-]*:iam::(\d{12}):role/")
LIST_PATH = re.compile(r"^/2015-03-31/functions/?$")


@dataclass
class TargetSpec:
    functions: int
    behaviour: Behaviour


@dataclass
class Scenario:
    """(account, region) -> how many functions and how the target behaves; anything else is ok and empty."""

    targets: dict[tuple[str, str], TargetSpec] = field(default_factory=dict)
    deny_echo: set[str] = field(default_factory=set)  # accounts whose AssumeRole is denied, echoing the request

    def add(self, account: str, region: str, functions: int, behaviour: Behaviour | None = None) -> Scenario:
        self.targets[(account, region)] = TargetSpec(functions, behaviour or Ok())
        return self

    def spec(self, account: str, region: str) -> TargetSpec:
        return self.targets.get((account, region)) or TargetSpec(0, Ok())

    def arns(self, account: str, region: str) -> set[str]:
        return arns(account, region, self.spec(account, region).functions)


@dataclass(frozen=True)
class Issued:
    account: str
    secret: str
    token: str


class FakeAws:
    """The fake, its counters, and the credentials it issued. Use as a context manager."""

    def __init__(self, scenario: Scenario) -> None:
        self.scenario = scenario
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.requests: Counter[tuple[str, str]] = Counter()  # ListFunctions per (account, region)
        self.pages_served: Counter[tuple[str, str]] = Counter()  # normal 200 pages per (account, region)
        self.assume_roles: Counter[str] = Counter()  # AssumeRole per account
        self.issued: dict[str, Issued] = {}
        self.expired: set[str] = set()
        self.echoed: list[str] = []  # Authorization headers the fake saw (their signatures are echoed)
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._server.fake = self  # type: ignore[attr-defined]
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), name="fake-aws", daemon=True)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeAws:
        self._thread.start()
        return self

    def __exit__(self, *exc: type[BaseException] | BaseException | TracebackType | None) -> None:
        self.stopping.set()  # releases hanging and sleeping handlers
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(5)

    def secrets(self) -> list[str]:
        """Every secret the fake handed out or saw: keys, secrets, tokens, signatures; plus the markers."""
        with self.lock:
            values = [v for key, c in self.issued.items() for v in (key, c.secret, c.token)]
            signatures = [m.group(1) for a in self.echoed if (m := re.search(r"Signature=([0-9a-f]+)", a))]
        return [*values, *signatures, "FAKESECRET", "FAKETOKEN", ENV_SECRET]

    def expire(self, key_id: str) -> None:
        self.expired.add(key_id)  # called from a behaviour, under self.lock

    # --- STS

    def assume_role(self, form: dict[str, str], authorization: str) -> Reply:
        if form.get("Action") == "GetCallerIdentity":  # the job's one check that the hub reaches STS
            return _caller_identity()
        match = ROLE_ARN.match(form.get("RoleArn", ""))
        if form.get("Action") != "AssumeRole" or not match:
            return _xml_error(400, "InvalidAction", f"the fake does not answer {form.get('Action')!r}")
        account = match.group(1)
        with self.lock:
            self.assume_roles[account] += 1
            self.echoed.append(authorization)
            if account in self.scenario.deny_echo:  # a message that echoes the hub's own request
                message = f"not authorized to perform sts:AssumeRole on {form['RoleArn']}; request: {authorization}"
                return _xml_error(403, "AccessDenied", message)
            key_id = f"ASIA{account}{len(self.issued) % 0x10000:04X}"  # 20 characters, as real ones
            issued = Issued(account, f"FAKESECRET{secrets.token_hex(15)}", _session_token())
            self.issued[key_id] = issued
        expires = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + 3600))
        session = form.get("RoleSessionName", "session")
        xml = (
            '<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><AssumeRoleResult>'
            f"<Credentials><AccessKeyId>{key_id}</AccessKeyId><SecretAccessKey>{issued.secret}</SecretAccessKey>"
            f"<SessionToken>{issued.token}</SessionToken><Expiration>{expires}</Expiration></Credentials>"
            f"<AssumedRoleUser><AssumedRoleId>AROA{account}FAKE:{session}</AssumedRoleId>"
            f"<Arn>arn:aws:sts::{account}:assumed-role/role/{session}</Arn></AssumedRoleUser></AssumeRoleResult>"
            "<ResponseMetadata><RequestId>fake-sts</RequestId></ResponseMetadata></AssumeRoleResponse>"
        )
        return Reply(200, (("Content-Type", "text/xml"),), xml.encode())

    # --- Lambda

    def list_functions(self, key_id: str, region: str, query: str, headers: dict[str, str]) -> Reply | Drop | Delayed:
        marker = {k: v[-1] for k, v in parse_qs(query).items()}.get("Marker")
        with self.lock:
            issued = self.issued.get(key_id)
            if issued is None:
                return json_error(
                    403, "UnrecognizedClientException", "The security token included in the request is invalid."
                )
            target = (issued.account, region)
            self.requests[target] += 1
            self.echoed.append(headers.get("authorization", ""))
            if key_id in self.expired:
                return expired_reply()
            spec = self.scenario.spec(*target)
            call = Call(
                issued.account,
                region,
                self.requests[target],
                marker,
                key_id,
                headers.get("authorization", ""),
                headers.get("x-amz-security-token", ""),
                spec.functions,
                self.expire,
            )
            answer = spec.behaviour.answer(call)
            if answer is None:
                return self.normal_page(target, marker)
        return answer

    def target_of(self, key_id: str, region: str) -> tuple[str, str, int]:
        """(account, region, functions) of the target a request signed with key_id is about."""
        with self.lock:
            account = self.issued[key_id].account
        return account, region, self.scenario.spec(account, region).functions

    def normal_page(self, target: tuple[str, str], marker: str | None) -> Reply:
        account, region = target
        items, next_marker = page(account, region, self.scenario.spec(account, region).functions, offset_of(marker))
        self.pages_served[target] += 1
        return ok_body({"Functions": items, **({"NextMarker": next_marker} if next_marker else {})})


def _session_token() -> str:
    # shaped like a real one: long, base64 alphabet, starting as STS tokens do
    return f"IQoJb3JpZ2luX2VjEFAKETOKEN{secrets.token_hex(24)}/{secrets.token_urlsafe(96).replace('-', '+')}=="


def _caller_identity() -> Reply:
    body = (
        '<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
        "<Arn>arn:aws:iam::111111111111:user/hub</Arn><UserId>AIDAHUB</UserId><Account>111111111111</Account>"
        "</GetCallerIdentityResult><ResponseMetadata><RequestId>fake-sts</RequestId></ResponseMetadata>"
        "</GetCallerIdentityResponse>"
    )
    return Reply(200, (("Content-Type", "text/xml"),), body.encode())


def _xml_error(status: int, code: str, message: str) -> Reply:
    xml = (
        '<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
        f"<Code>{code}</Code><Message>{escape(message)}</Message></Error><RequestId>fake</RequestId></ErrorResponse>"
    )
    return Reply(status, (("Content-Type", "text/xml"),), xml.encode())


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as AWS and aiohttp's pool expect

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_GET(self) -> None:
        self._serve()

    def do_POST(self) -> None:
        self._serve()

    def _serve(self) -> None:
        fake: FakeAws = self.server.fake  # type: ignore[attr-defined]
        headers = {k.lower(): v for k, v in self.headers.items()}
        body = self.rfile.read(int(headers.get("content-length") or 0)).decode()
        url = urlsplit(self.path)
        scope = SCOPE.search(headers.get("authorization", ""))
        service = scope.group(3) if scope else ""
        answer: Reply | Drop | Delayed
        if service == "sts":
            form = {k: v[-1] for k, v in parse_qs(body or url.query).items()}
            answer = fake.assume_role(form, headers.get("authorization", ""))
        elif scope and service == "lambda" and self.command == "GET" and LIST_PATH.match(url.path):
            answer = fake.list_functions(scope.group(1), scope.group(2), url.query, headers)
        else:
            answer = json_error(400, "UnknownOperationException", f"the fake does not answer {self.command} {url.path}")
        try:
            self._send(fake, answer, scope.group(1) if scope else "", scope.group(2) if scope else "", url.query)
        except OSError:  # the client gave up on this request (a deadline): nothing to answer
            self.close_connection = True

    def _send(self, fake: FakeAws, answer: Reply | Drop | Delayed, key_id: str, region: str, query: str) -> None:
        if isinstance(answer, Delayed):
            if fake.stopping.wait(answer.seconds):
                answer = Drop.RESET
            else:
                with fake.lock:
                    issued = fake.issued[key_id]
                    marker = {k: v[-1] for k, v in parse_qs(query).items()}.get("Marker")
                    answer = fake.normal_page((issued.account, region), marker)
        if answer is Drop.HANG:
            fake.stopping.wait()
            answer = Drop.RESET
        if answer is Drop.PARTIAL:
            items, _ = page(*fake.target_of(key_id, region), 0)
            self._reply(ok_body({"Functions": items}), cut=True)
            answer = Drop.RESET
        if answer is Drop.GARBAGE:
            self.wfile.write(b"SSH-2.0-OpenSSH_9.6\r\nProtocol mismatch.\r\n")
            self.wfile.flush()
            self.close_connection = True
            return
        if answer is Drop.RESET:
            self.wfile.flush()
            self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            self.close_connection = True
            return
        assert isinstance(answer, Reply)
        self._reply(answer)

    def _reply(self, answer: Reply, cut: bool = False) -> None:
        """Send the answer; with cut, only half its body (the Content-Length still promises all of it)."""
        self.send_response(answer.status)
        for name, value in answer.headers:
            self.send_header(name, value)
        self.send_header("x-amzn-RequestId", "00000000-fake-4000-8000-000000000000")
        self.send_header("Content-Length", str(len(answer.body)))
        self.end_headers()
        self.wfile.write(answer.body[: len(answer.body) // 2] if cut else answer.body)
