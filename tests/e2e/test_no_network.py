"""A hub that cannot reach its STS endpoint, or whose credentials STS refuses: the hub's problem, not every
account's. The real CLI in a subprocess, with dummy keys, against an endpoint that refuses connections,
one that accepts them and never answers, and one that answers `InvalidClientTokenId`: exit 3, one line,
nothing written (not even the missing output folder), and a bounded number of attempts."""

from __future__ import annotations

import http.server
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import yaml
from support.hostile_lambda import POLL

from inventory.exits import ExitCode

ACCOUNTS = ["250000000001", "250000000002", "250000000003"]
TIMEOUT = 60  # the test's own limit; the run ends in seconds under the config's short timeouts


def _config(path: Path) -> Path:
    data = {
        "regions": ["us-east-1", "eu-west-1"],
        "retry": {"max_attempts": 12, "base_delay": 0.01, "max_delay": 0.05},  # max_unanswered: default 3
        "timeouts": {"connect_seconds": 1, "read_seconds": 1, "target_seconds": 30},
        "accounts": [{"account_id": a} for a in ACCOUNTS],
    }
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    return path


def _run(endpoint: str, tmp_path: Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    config = _config(tmp_path / "accounts.yaml")
    output = tmp_path / "nonexistent" / "dir" / "inv.parquet"
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "AWS_ACCESS_KEY_ID": "AKIADUMMYDUMMYDUMMY0",
        "AWS_SECRET_ACCESS_KEY": "dummy-secret-key",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    args = [sys.executable, "-m", "inventory", "run", "--config", str(config), "--output", str(output)]
    proc = subprocess.run(args, env=env, cwd=tmp_path, capture_output=True, text=True, timeout=TIMEOUT, check=False)
    return proc, config


def _assert_hub_problem(proc: subprocess.CompletedProcess[str], tmp_path: Path, config: Path, says: str) -> str:
    assert proc.returncode == ExitCode.ENVIRONMENT == 3, proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1, proc.stderr
    assert says in lines[0], lines[0]
    assert "Traceback" not in proc.stderr and "dummy-secret-key" not in proc.stderr
    assert proc.stdout == ""
    left = sorted(p.relative_to(tmp_path) for p in tmp_path.rglob("*") if p != config)
    assert left == [], f"nothing may be written, not even the output's folder: {left}"
    return lines[0]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port  # closed again: nothing listens there


@contextmanager
def _silent_server() -> Iterator[tuple[int, list[socket.socket]]]:
    """Accepts connections, reads nothing, answers nothing."""
    listener = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                accepted.append(listener.accept()[0])
            except TimeoutError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1], accepted
    finally:
        stop.set()
        thread.join()
        for conn in accepted:
            conn.close()
        listener.close()


INVALID_TOKEN = (
    b'<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type>'
    b"<Code>InvalidClientTokenId</Code><Message>The security token included in the request is invalid."
    b"</Message></Error><RequestId>x</RequestId></ErrorResponse>"
)
NO_ARN = (
    b'<GetCallerIdentityResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><GetCallerIdentityResult>'
    b"</GetCallerIdentityResult></GetCallerIdentityResponse>"
)


class _Answering(http.server.BaseHTTPRequestHandler):
    """Every STS request answered `status` with `body` (a subclass per case sets both)."""

    calls = 0
    status = 403
    body = INVALID_TOKEN

    def do_POST(self) -> None:
        type(self).calls += 1
        self.rfile.read(int(self.headers.get("Content-Length", 0)))
        body = self.body
        self.send_response(self.status)
        self.send_header("Content-Type", "text/xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        return


def test_nothing_listening_exits_3_in_one_line_and_writes_nothing(tmp_path: Path) -> None:
    proc, config = _run(f"http://127.0.0.1:{_free_port()}", tmp_path)
    line = _assert_hub_problem(proc, tmp_path, config, "cannot reach the hub's STS endpoint")
    assert "gave up after 3 attempts that got no answer" in line


def test_an_sts_that_never_answers_gets_three_attempts_then_exit_3(tmp_path: Path) -> None:
    with _silent_server() as (port, accepted):
        proc, config = _run(f"http://127.0.0.1:{port}", tmp_path)
        line = _assert_hub_problem(proc, tmp_path, config, "cannot reach the hub's STS endpoint")
        assert len(accepted) == 3, "max_unanswered attempts, not max_attempts, and not one per account"
    assert "ReadTimeoutError" in line


def _answering(status: int, body: bytes) -> type[_Answering]:
    return type("Answer", (_Answering,), {"status": status, "body": body, "calls": 0})


@pytest.mark.parametrize(
    ("status", "body", "says"),
    [
        (403, INVALID_TOKEN, "refused the hub's credentials: InvalidClientTokenId"),
        (200, b"", "gave an answer that cannot be read: ResponseParserError"),
        (200, b"<html><body>proxy login</body></html>", "gave an answer that cannot be read: KeyError"),
        (200, NO_ARN, "gave an answer that cannot be read: GetCallerIdentity answered without an Arn"),
    ],
    ids=["invalid-token", "empty-200", "html-200", "no-arn"],
)
def test_sts_refusing_or_unreadable_is_the_hubs_problem(tmp_path: Path, status: int, body: bytes, says: str) -> None:
    handler = _answering(status, body)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, args=(POLL,), daemon=True)
    thread.start()
    try:
        proc, config = _run(f"http://127.0.0.1:{server.server_address[1]}", tmp_path)
    finally:
        server.shutdown()
        server.server_close()
    _assert_hub_problem(proc, tmp_path, config, says)
    assert handler.calls == 1, "not retried, and not one AssumeRole per account"
