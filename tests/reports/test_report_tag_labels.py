"""`report --owner-tag team` where the account is tagged `team:core` and the function `team: payments`: in
every format the reader can tell the account's tags from the function's own (its owner)."""

from __future__ import annotations

import csv
import io
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import run_cli
from enriched_inventory import enriched_functions, enriched_statuses
from support.inventories import write_run, write_runtimes

ACCOUNT_HEADER, OWNER_HEADER = "account tags", "owner (function tag team)"


def _report(tmp_path: Path, fmt: str, *owner: str) -> subprocess.CompletedProcess[str]:
    source = tmp_path / "inventory.parquet"
    write_run(str(source), enriched_functions(), enriched_statuses())
    runtimes = write_runtimes(tmp_path)
    done = run_cli("report", source, "--as-of", "2026-11-28", "--runtimes", runtimes, "--format", fmt, *owner)
    assert (done.returncode, done.stderr) == (0, "")
    return done


def _markdown_table(text: str, header_start: str) -> list[dict[str, str]]:
    lines = [line for line in text.splitlines() if line.startswith("|")]
    start = next(i for i, line in enumerate(lines) if line.startswith(header_start))
    columns = [c.strip() for c in lines[start].strip("|").split(" | ")]
    rows = []
    for line in lines[start + 2 :]:
        cells = [c.strip() for c in line.strip("|").split(" | ")]
        if len(cells) != len(columns):
            break
        rows.append(dict(zip(columns, cells, strict=True)))
    return rows


def test_markdown_heads_the_account_tags_and_the_function_owner_apart(tmp_path: Path) -> None:
    rows = _markdown_table(_report(tmp_path, "markdown", "--owner-tag", "team").stdout, "| account_id | account |")
    billing = next(r for r in rows if r["function"] == "billing-export")
    assert (billing[ACCOUNT_HEADER], billing[OWNER_HEADER]) == ("env:prod, team:core", "payments")
    assert "tags" not in billing and "owner" not in billing


def test_markdown_without_an_owner_tag_says_the_tags_are_the_accounts(tmp_path: Path) -> None:
    text = _report(tmp_path, "markdown").stdout
    rows = _markdown_table(text, "| account_id | account |")
    assert rows[0][ACCOUNT_HEADER] == "env:prod, team:core" and "tags" not in rows[0]
    assert "Account tags: the tags the accounts file gives the function's account, not the function's own." in text


def test_csv_keeps_account_tags_and_the_owner_in_their_own_columns(tmp_path: Path) -> None:
    rows = list(csv.DictReader(io.StringIO(_report(tmp_path, "csv", "--owner-tag", "team").stdout)))
    billing = next(r for r in rows if r["function_name"] == "billing-export")
    assert (billing["account_tags"], billing["owner"]) == ('["env:prod", "team:core"]', "payments")
    assert "tags" not in billing


class _Headers(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headers: list[str] = []
        self._in_th = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._in_th = tag == "th"

    def handle_endtag(self, tag: str) -> None:
        self._in_th = False

    def handle_data(self, data: str) -> None:
        if self._in_th:
            self.headers.append(data.strip())


def test_html_heads_the_account_tags_and_the_function_owner_apart(tmp_path: Path) -> None:
    pytest.importorskip("matplotlib")
    parsed = _Headers()
    parsed.feed(_report(tmp_path, "html", "--owner-tag", "team").stdout)
    assert ACCOUNT_HEADER in parsed.headers and OWNER_HEADER in parsed.headers
    assert "tags" not in parsed.headers
