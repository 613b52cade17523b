"""redact.py: what leaves the job is masked and one short line."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pyarrow.parquet as pq
import pytest
from conftest import make_config, run_inventory, seed_members
from support.hostile_lambda import HostileLambda, Reply, Request

from inventory.demo.emulator import Emulator
from inventory.demo.seed import FunctionSpec, MemberSpec
from inventory.job.summary import render_summary
from inventory.logs import setup_logging
from inventory.redact import MESSAGE_LIMIT, clean, mask, one_line

pytestmark = pytest.mark.usefixtures("restore_root_logger")


TOKEN = "IQoJb3JpZ2luX2VjEKr//////////wEaCXVzLWVhc3QtMSJHMEUCIQDx7" + "a1B2c3D4e5F6g7H8i9J0" * 8
KEY_ID = "ASIAQWERTYUIOPASDFGH"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"X-Amz-Security-Token={TOKEN}&X-Amz-Date=20261130", "X-Amz-Security-Token=***&X-Amz-Date=20261130"),
        (f"x-amz-security-token: {TOKEN}", "x-amz-security-token: ***"),
        ("X-Amz-Signature=0123456789abcdef0123456789abcdef&a=b", "X-Amz-Signature=***&a=b"),
        (f"X-Amz-Credential={KEY_ID}%2F20261130%2Fus-east-1%2Flambda%2Faws4_request", "X-Amz-Credential=***"),
        (
            f"Authorization: AWS4-HMAC-SHA256 Credential={KEY_ID}/20261130/us-east-1/lambda/aws4_request, "
            "SignedHeaders=host;x-amz-date, Signature=fe5f80f77d5fa3beca038a248ff027d0445342fe2855ddc963176630326f1024",
            "Authorization: *** Credential=***, SignedHeaders=host;x-amz-date, Signature=***",
        ),
        (f"the key {KEY_ID} was used", "the key *** was used"),
        ("long-term AKIAIOSFODNN7EXAMPLE too", "long-term *** too"),
        (f"secret {SECRET_KEY} here", "secret *** here"),
        (f"token {TOKEN} here", "token *** here"),
        (
            f'{{"SessionToken": "{TOKEN}", "SecretAccessKey": "{SECRET_KEY}"}}',
            '{"SessionToken": "***", "SecretAccessKey": "***"}',
        ),
        ("aws_session_token=abc aws_secret_access_key=def", "aws_session_token=*** aws_secret_access_key=***"),
    ],
)
def test_mask_hides_credentials_signatures_and_tokens(text: str, expected: str) -> None:
    assert mask(text) == expected
    assert mask(expected) == expected  # idempotent


@pytest.mark.parametrize(
    "text",
    [
        "User: arn:aws:sts::123456789012:assumed-role/CrossAccountListFunctionsRole/lambda-inventory is not authorized",
        "The security token included in the request is invalid.",
        "UnrecognizedClientException in eu-west-1: the credentials were not recognised",
        "Rate exceeded (request 4f5e6a7b-0000-1111-2222-333344445555)",
        "CodeSha256 8ugPLwh2g0XM0O0aXjmWyoQRQCPubJ9mRNHzBuR84dQ= of function orders-001",
        "arn:aws:lambda:eu-west-1:123456789012:function:orders-001",
    ],
)
def test_mask_leaves_ordinary_messages_alone(text: str) -> None:
    assert mask(text) == text


def test_one_line_collapses_whitespace_and_control_characters() -> None:
    assert one_line("<html>\r\n\t<title>500</title>\n\n</html>\x00\x1b[K") == "<html> <title>500</title> </html>[K"


def test_one_line_cuts_to_the_limit() -> None:
    long = "word " * 200
    cut = one_line(long)
    assert len(cut) <= MESSAGE_LIMIT == 300
    assert cut.endswith("...")
    assert one_line("x" * 50, 10) == "xxxxxxx..."
    assert one_line("short") == "short"


def test_clean_masks_before_cutting_so_a_token_at_the_edge_never_half_shows() -> None:
    text = "x" * 250 + f" X-Amz-Security-Token={TOKEN}"
    cleaned = clean(text)
    assert len(cleaned) <= 300
    assert TOKEN[:20] not in cleaned
    assert clean(f"line one\nkey {KEY_ID}\n") == "line one key ***"


# --- a real run whose ListFunctions answer echoes the signed request: masked in every output -------------


ECHO_ACCOUNT = "270000000001"  # only this module uses it


@pytest.fixture(scope="module")
def echo_account(emulator: Emulator) -> str:
    seed_members(emulator, [MemberSpec(ECHO_ACCOUNT, "echo", {"us-east-1": (FunctionSpec("f", 1),)})])
    return ECHO_ACCOUNT


def _echo_signed_request(_: int, request: Request) -> Reply:
    """A proxy's 403 that quotes the request back: session token, key id, signature, on many lines."""
    token = request.headers["X-Amz-Security-Token"]
    body = (
        "<?xml version='1.0' encoding='UTF-8'?>\n<Error>\n  <Code>AccessDeniedException</Code>\n"
        f"  <Message>Forbidden GET /2015-03-31/functions/?X-Amz-Security-Token={token}\n"
        f"    Authorization: {request.headers['Authorization']}\n    token was {token}</Message>\n</Error>\n"
    )
    return Reply(403, body.encode(), {"Content-Type": "application/xml"})


@pytest.mark.parametrize("fmt", ["json", "text"])
def test_a_run_against_an_echoing_endpoint_leaks_nothing_anywhere(
    emu: Emulator, echo_account: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, fmt: str
) -> None:
    stream = io.StringIO()
    setup_logging("debug", fmt, stream)
    config = make_config([{"account_id": echo_account, "name": "echo"}], regions=["us-east-1"])
    with HostileLambda(_echo_signed_request) as server:
        monkeypatch.setenv("AWS_ENDPOINT_URL_LAMBDA", server.endpoint)
        summary, results = run_inventory(config, tmp_path / "inventory.parquet")
        secrets = {server.requests[0].headers["X-Amz-Security-Token"]}
    secrets.add(server.requests[0].headers["Authorization"].split("Credential=")[1].split("/")[0])  # key id
    secrets.add(server.requests[0].headers["Authorization"].split("Signature=")[1])

    (row,) = pq.read_table(tmp_path / "inventory.status.parquet").to_pylist()
    assert (row["status"], row["error_code"]) == ("failed", "AccessDeniedException")
    assert row["error_message"].startswith("Forbidden GET /2015-03-31/functions/?X-Amz-Security-Token=***")
    assert "\n" not in row["error_message"] and len(row["error_message"]) <= 300
    outputs = {
        "status": row["error_message"],
        "manifest": (tmp_path / "inventory.manifest.json").read_text(),
        "summary": render_summary(summary, results),
        "logs": stream.getvalue(),
    }
    assert "X-Amz-Security-Token=***" in outputs["logs"]
    for where, text in outputs.items():
        for secret in secrets:
            assert secret not in text, f"{where} leaks {secret[:8]}..."
        assert not re.search(r"(?<![A-Z0-9])(AKIA|ASIA)[A-Z0-9]{16}", text), where
