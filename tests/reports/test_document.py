"""inventory.reports.document: Markdown, CSV and the self-contained HTML page with its charts.

The HTML test parses the page strictly (every element closed in order), looks for the charts' <svg> and
the failed target, and refuses any external http(s) URL in src/href. To look at the page as a browser draws
it: scripts/report-screenshot.sh (needs chromium; not part of the suite).
"""

from __future__ import annotations

import csv
import io
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from conftest import subprocess_env
from support.inventories import (
    AS_OF,
    PROD,
    SNAPSHOT_DATE,
    WITHIN,
    catalog,
    function,
    functions_table,
    sample_snapshot,
    status,
    status_table,
    write_run,
)

from inventory.contract.csvsafe import unescape
from inventory.errors import OutputError
from inventory.readers.snapshot import Snapshot
from inventory.reports.compliance import build_report
from inventory.reports.compliance_render import render_report
from inventory.reports.diff import diff_snapshots
from inventory.reports.diff_render import DiffFormat, render_diff
from inventory.reports.document import (
    Document,
    Section,
    Table,
    escape_markdown,
    html_table,
    markdown_table,
    render_html,
    render_markdown,
    stacked_bars,
    table_csv,
    write_output,
)

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
HOSTILE = "<script>alert('x')</script> & \"quotes\" | pipes $x^2$"


class StrictPage(HTMLParser):
    """Collects tags, attributes and text, and every nesting error (an end tag that closes the wrong element)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.open: list[str] = []
        self.errors: list[str] = []
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs
        if tag not in VOID:
            self.open.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs += attrs

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open[-1] != tag:
            self.errors.append(f"</{tag}> closes <{self.open[-1] if self.open else 'nothing'}>")
        else:
            self.open.pop()

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _parse(page: str) -> StrictPage:
    parser = StrictPage()
    parser.feed(page)
    parser.close()
    assert parser.errors == []
    assert parser.open == [], f"never closed: {parser.open}"
    return parser


def _sample_html(tmp_path: Path, snapshot: Snapshot | None = None) -> str:
    report = build_report(snapshot or sample_snapshot(), catalog(tmp_path), AS_OF, WITHIN)
    return render_report(report, "html")


# --- Markdown and CSV ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("a|b", r"a\|b"),
        ("two\nlines\r\n  here", "two lines here"),
        ("<b>bold</b>", "&lt;b&gt;bold&lt;/b&gt;"),
        ("*x* `y` [z](u) back\\slash", r"\*x\* \`y\` \[z\](u) back\\slash"),
        ("plain-name_1.2", "plain-name_1.2"),
    ],
)
def test_escape_markdown(text: str, expected: str) -> None:
    assert escape_markdown(text) == expected


def test_markdown_table_aligns_numbers_and_escapes_cells() -> None:
    table = Table(("name", "count", "note"), (("a|b", 3, None), ("c", None, "x\ny")))
    assert markdown_table(table) == (
        "| name | count | note |\n| --- | ---: | --- |\n| a\\|b | 3 |  |\n| c |  | x y |\n"
    )


def test_markdown_document_says_empty_instead_of_an_empty_table() -> None:
    doc = Document("T", ("lead",), ("careful",), (Section("S", ("p",), Table(("a",), ()), empty="Nothing."),))
    assert render_markdown(doc) == "# T\n\nlead\n\n**careful**\n\n## S\n\np\n\nNothing.\n"


def test_table_csv_quotes_where_needed_and_reads_back() -> None:
    table = Table(("a", "b", "c"), (("x,y", None, 1), ('say "hi"', "line\nbreak", 2)))
    text = table_csv(table)
    assert text.splitlines()[0] == "a,b,c"
    assert list(csv.reader(io.StringIO(text))) == [["a", "b", "c"], ["x,y", "", "1"], ['say "hi"', "line\nbreak", "2"]]


def test_write_output_to_stdout_a_file_and_an_unwritable_place(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    write_output("to stdout\n", None)
    assert capsys.readouterr().out == "to stdout\n"
    write_output("old", str(tmp_path / "r.md"))
    write_output("new\n", str(tmp_path / "r.md"))
    assert (tmp_path / "r.md").read_text() == "new\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.md"]  # no temporary file left
    with pytest.raises(OutputError) as info:
        write_output("x", str(tmp_path / "missing-dir" / "r.md"))
    assert str(info.value) == f"{tmp_path}/missing-dir/r.md: cannot write: No such file or directory"


FORMULAS = ("=1+2", "+SUM(A1)", "-2", "@x", "\t=1", "\r=1", "'=quoted", "''-two", "'plain", "a=b", "plain")


def _cells(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def test_table_csv_neutralises_formulas_reversibly_and_leaves_numbers() -> None:
    table = Table(("text", "n"), tuple((f, -i) for i, f in enumerate(FORMULAS)))
    rows = _cells(table_csv(table))[1:]
    assert [r[0] for r in rows] == [f"'{f}" if f not in {"'plain", "a=b", "plain"} else f for f in FORMULAS]
    assert [unescape(r[0]) for r in rows] == list(FORMULAS)
    assert [r[1] for r in rows] == [str(-i) for i in range(len(FORMULAS))]  # numbers stay numbers


def test_report_and_diff_csv_neutralise_member_controlled_names(tmp_path: Path) -> None:
    hostile = '=HYPERLINK("http://evil.example","x")'
    rows = [function(PROD, "old", runtime="python3.7", account_name=hostile)]
    statuses = [status(PROD, "eu-west-1", count=1, account_name=hostile)]
    old = Snapshot(functions_table(rows), status_table(statuses), "fixture://old", SNAPSHOT_DATE)
    new_rows = [function(PROD, "old", runtime="python3.12", account_name=hostile)]
    new = Snapshot(functions_table(new_rows), status_table(statuses), "fixture://new", SNAPSHOT_DATE)

    report = _cells(render_report(build_report(old, catalog(tmp_path), AS_OF, WITHIN), "csv"))
    diff = _cells(render_diff(diff_snapshots(old, new), DiffFormat.CSV))

    for table in (report, diff):
        name = table[0].index("account_name")
        assert [r[name] for r in table[1:]] == [f"'{hostile}"], table
        assert unescape(table[1][name]) == hostile
        assert [c for r in table for c in r if c[:1] in {"=", "+", "-", "@", "\t", "\r"}] == []


def test_write_output_does_not_follow_a_symlink_planted_at_the_old_temporary_name(tmp_path: Path) -> None:
    victim = tmp_path / "victim.txt"
    victim.write_text("precious\n", encoding="utf-8")
    (tmp_path / ".r.md.tmp").symlink_to(victim)  # the fixed name the report used to write through
    write_output("report\n", str(tmp_path / "r.md"))
    assert victim.read_text(encoding="utf-8") == "precious\n"
    assert (tmp_path / "r.md").read_text(encoding="utf-8") == "report\n"
    assert not (tmp_path / "r.md").is_symlink()
    assert sorted(p.name for p in tmp_path.iterdir()) == [".r.md.tmp", "r.md", "victim.txt"]


# --- HTML ---------------------------------------------------------------------------------------------


def test_html_page_is_well_formed_self_contained_and_complete(tmp_path: Path) -> None:
    page = _sample_html(tmp_path)
    parsed = _parse(page)
    assert page.startswith("<!DOCTYPE html>")
    assert parsed.tags.count("svg") == 2  # by lifecycle status per account, by runtime
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    external = [v for k, v in parsed.attrs if k in {"src", "href", "xlink:href"} and v and not v.startswith("#")]
    assert external == []
    assert not [v for k, v in parsed.attrs if k == "style" and v and "url(http" in v]
    text = " ".join(parsed.text)
    assert "ap-southeast-2" in text and "AccessDeniedException" in text  # the failed target
    assert "3 of 5 targets ok; 1 failed, 1 skipped — counts below cover only ok targets" in text
    assert "Runtime schedule checked 2026-11-01" in text
    assert "Functions by lifecycle status per account" in text and "Functions by runtime" in text
    assert "legacy-<batch>" in text  # escaped in the page, text again once parsed


def test_html_escapes_hostile_names_in_tables_and_charts(tmp_path: Path) -> None:
    rows = [function(PROD, "f1", "python3.8", account_name=HOSTILE), function(PROD, "f2", account_name=HOSTILE)]
    base = sample_snapshot()
    snapshot = Snapshot(
        sample_snapshot().functions.from_pylist(rows, base.functions.schema), base.status, HOSTILE, None
    )
    page = _sample_html(tmp_path, snapshot)
    parsed = _parse(page)
    assert "script" not in parsed.tags
    assert "<script>" not in page
    assert HOSTILE.replace("$x^2$", "") in " ".join(parsed.text)  # shown as text, `$` not read as TeX
    assert "$x^2$" in page


def test_stacked_bars_is_an_inline_svg_and_repeatable() -> None:
    series = {"deprecated": [1, 0, 4], "supported": [2, 3, 0], "unused": [0, 0, 0]}
    chart = stacked_bars("Title <1>", ["a", "b $c$", "d"], series, {"deprecated": "#ef6c00"})
    assert chart.svg.startswith('<svg role="img" aria-label="Title &lt;1&gt;"')
    assert chart.svg.rstrip().endswith("</svg>")
    assert "<?xml" not in chart.svg and "DOCTYPE" not in chart.svg
    parsed = _parse(chart.svg)
    assert {"b $c$", "deprecated", "supported"} <= {t.strip() for t in parsed.text}
    assert "unused" not in chart.svg  # an all-zero series is left out of the legend
    assert stacked_bars("Title <1>", ["a", "b $c$", "d"], series, {"deprecated": "#ef6c00"}) == chart
    page = render_html(Document("T", sections=(Section("S", chart=chart, table=Table(("x",), ((1,),))),)))
    assert _parse(page).tags.count("svg") == 1
    assert '<td class="n">1</td>' in html_table(Table(("x",), ((1,),)))


def test_html_without_matplotlib_is_one_line_exit_2_and_markdown_still_works(tmp_path: Path) -> None:
    source = tmp_path / "inv.parquet"
    write_run(str(source), [function(PROD, "f")], [{**sample_snapshot().status.to_pylist()[0]}])
    blocked = (
        "import sys; sys.modules['matplotlib'] = None; from inventory.cli import main; sys.exit(main(sys.argv[1:]))"
    )
    codes = {}
    for fmt in ("html", "markdown"):
        done = subprocess.run(
            [sys.executable, "-c", blocked, "report", str(source), "--format", fmt],
            env=subprocess_env(None),
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        codes[fmt] = done.returncode
        if fmt == "html":
            (line,) = done.stderr.splitlines()
            assert line.startswith(
                "lambda-inventory: error: the HTML report needs matplotlib: pip install 'lambda-inventory[report]'"
            )
            assert done.stdout == ""
    assert codes == {"html": 2, "markdown": 0}
