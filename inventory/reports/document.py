"""Reports as text: a small document model rendered to Markdown, CSV and one self-contained HTML page.

A report builds a `Document` (title, lead paragraphs, warnings, sections with a table and/or a chart) and
renders it with `render_markdown` or `render_html`; `table_csv` writes one `Table` as CSV. All text is
plain and escaped here, for Markdown (`|`, `\\`, `*`, `` ` ``, `[`, `]`, `<`, `>`) and for HTML
(`html.escape`): a function, account or error message can never inject markup into a ticket or a page.

Charts are drawn with matplotlib (the optional `report` extra) on the Agg canvas, saved as SVG in memory
and inlined, so the HTML page has no external resource at all. `require_charts` checks the extra is
installed and says how to install it in one line.
"""

from __future__ import annotations

import csv
import html
import io
import re
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from inventory.contract.csvsafe import escape
from inventory.errors import ConfigError, OutputError
from inventory.tempfiles import write_atomic

__all__ = [
    "Cell",
    "Chart",
    "Document",
    "Section",
    "Table",
    "escape_markdown",
    "html_table",
    "markdown_table",
    "render_html",
    "render_markdown",
    "require_charts",
    "stacked_bars",
    "table_csv",
    "write_output",
]

Cell = str | int | None
_MARKDOWN_SPECIAL = re.compile(r"([\\`*\[\]|])")
_INSTALL_HINT = "the HTML report needs matplotlib: pip install 'lambda-inventory[report]'"


@dataclass(frozen=True)
class Table:
    """Rows of cells under named columns. None is an empty cell; ints are right-aligned in Markdown."""

    columns: tuple[str, ...]
    rows: tuple[tuple[Cell, ...], ...]


@dataclass(frozen=True)
class Chart:
    """An SVG image to inline in HTML; made only by `stacked_bars` (its markup is trusted, not escaped)."""

    title: str
    svg: str


@dataclass(frozen=True)
class Section:
    heading: str
    text: tuple[str, ...] = ()  # paragraphs, plain text
    table: Table | None = None
    empty: str = "None."  # said instead of a table without rows
    chart: Chart | None = None  # HTML only


@dataclass(frozen=True)
class Document:
    title: str
    lead: tuple[str, ...] = ()  # paragraphs under the title
    warnings: tuple[str, ...] = ()  # shown in bold (Markdown) or a box (HTML)
    sections: tuple[Section, ...] = ()


def _text(cell: Cell) -> str:
    return "" if cell is None else str(cell)


# --- Markdown -----------------------------------------------------------------------------------------


def escape_markdown(text: str) -> str:
    """Plain text for a Markdown paragraph or table cell: one line, no markup, no HTML."""
    one = " ".join(text.split())
    return _MARKDOWN_SPECIAL.sub(r"\\\1", one).replace("<", "&lt;").replace(">", "&gt;")


def _numeric(table: Table, index: int) -> bool:
    values = [row[index] for row in table.rows if row[index] is not None]
    return bool(values) and all(isinstance(v, int) for v in values)


def markdown_table(table: Table) -> str:
    """A GitHub-flavoured Markdown table (numeric columns right-aligned), ending in a newline."""
    rule = ["---:" if _numeric(table, i) else "---" for i in range(len(table.columns))]
    lines = [
        "| " + " | ".join(escape_markdown(c) for c in table.columns) + " |",
        "| " + " | ".join(rule) + " |",
    ]
    lines += ["| " + " | ".join(escape_markdown(_text(c)) for c in row) + " |" for row in table.rows]
    return "\n".join(lines) + "\n"


def render_markdown(doc: Document) -> str:
    parts = [f"# {escape_markdown(doc.title)}\n"]
    parts += [f"{escape_markdown(p)}\n" for p in doc.lead]
    parts += [f"**{escape_markdown(w)}**\n" for w in doc.warnings]
    for section in doc.sections:
        parts.append(f"## {escape_markdown(section.heading)}\n")
        parts += [f"{escape_markdown(p)}\n" for p in section.text]
        if section.table is not None:
            parts.append(markdown_table(section.table) if section.table.rows else f"{escape_markdown(section.empty)}\n")
    return "\n".join(parts)


# --- CSV ----------------------------------------------------------------------------------------------


def _csv_cell(cell: Cell) -> str:
    return escape(cell) if isinstance(cell, str) else _text(cell)


def table_csv(table: Table) -> str:
    """The table as CSV (header row, `\\n` line ends, quoted only where needed; None is an empty field).
    Text cells a spreadsheet would run as a formula get a leading `'` (contract/csvsafe.py; numbers never do)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    # csv quotes a field with "\n" (the line end) but not one with a lone "\r": quote such a row whole
    quoted = csv.writer(out, lineterminator="\n", quoting=csv.QUOTE_ALL)
    writer.writerow(table.columns)
    for row in table.rows:
        cells = [_csv_cell(c) for c in row]
        (quoted if any("\r" in c for c in cells) else writer).writerow(cells)
    return out.getvalue()


# --- HTML ---------------------------------------------------------------------------------------------

_CSS = """
body{font-family:system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:2rem auto;max-width:72rem;
padding:0 1rem;color:#1f2328;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.3rem}h2{font-size:1.2rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
table{border-collapse:collapse;margin:.5rem 0;font-size:.9rem;display:block;overflow-x:auto;max-width:100%}
th,td{border:1px solid #d0d7de;padding:.25rem .6rem;text-align:left;vertical-align:top;white-space:nowrap}
th{background:#f6f8fa}td.n{text-align:right;font-variant-numeric:tabular-nums}
.warning{background:#fff8c5;border:1px solid #d4a72c;padding:.5rem .8rem;margin:.5rem 0;font-weight:600}
figure{margin:1rem 0}figcaption{font-weight:600;margin-bottom:.3rem}svg{max-width:100%;height:auto}
"""


def html_table(table: Table) -> str:
    """A <table> with every cell escaped (numeric columns right-aligned)."""
    numeric = [_numeric(table, i) for i in range(len(table.columns))]
    head = "".join(f"<th>{html.escape(c)}</th>" for c in table.columns)
    body = []
    for row in table.rows:
        cells = "".join(
            f'<td class="n">{html.escape(_text(c))}</td>' if numeric[i] else f"<td>{html.escape(_text(c))}</td>"
            for i, c in enumerate(row)
        )
        body.append(f"<tr>{cells}</tr>")
    return f"<table>\n<thead><tr>{head}</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>"


def _html_section(section: Section) -> list[str]:
    parts = [f"<section>\n<h2>{html.escape(section.heading)}</h2>"]
    parts += [f"<p>{html.escape(p)}</p>" for p in section.text]
    if section.chart is not None:
        caption = html.escape(section.chart.title)
        parts.append(f"<figure>\n<figcaption>{caption}</figcaption>\n{section.chart.svg}\n</figure>")
    if section.table is not None:
        parts.append(html_table(section.table) if section.table.rows else f"<p>{html.escape(section.empty)}</p>")
    parts.append("</section>")
    return parts


def render_html(doc: Document) -> str:
    """One self-contained page: inline CSS and SVG, no script, no external URL."""
    title = html.escape(doc.title)
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        '<head>\n<meta charset="utf-8">\n<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<title>{title}</title>\n<style>{_CSS}</style>\n</head>",
        f"<body>\n<h1>{title}</h1>",
    ]
    parts += [f"<p>{html.escape(p)}</p>" for p in doc.lead]
    parts += [f'<p class="warning">{html.escape(w)}</p>' for w in doc.warnings]
    for section in doc.sections:
        parts += _html_section(section)
    parts.append("</body>\n</html>\n")
    return "\n".join(parts)


def write_output(text: str, output: str | None) -> None:
    """Write to stdout (None or '-'), or to a file replaced whole (tempfiles.py's write_atomic): a new
    temporary file beside it (unpredictable name, created exclusively, so nothing planted there is followed),
    renamed over it, removed on failure."""
    if output is None or output == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    try:
        write_atomic(text.encode("utf-8"), Path(output))
    except OSError as err:
        raise OutputError(f"{output}: cannot write: {err.strerror or err}") from err


# --- charts -------------------------------------------------------------------------------------------


def require_charts() -> None:
    """Raise ConfigError (one line, with the pip command) unless matplotlib can be imported."""
    try:
        import matplotlib  # noqa: F401, PLC0415 - the optional `report` extra
    except ImportError as err:
        raise ConfigError(f"{_INSTALL_HINT} ({err})") from err


def stacked_bars(
    title: str,
    categories: Sequence[str],
    series: Mapping[str, Sequence[int]],
    colors: Mapping[str, str] | None = None,
    *,
    xlabel: str = "functions",
) -> Chart:
    """Horizontal bars, one per category (top to bottom in the given order), stacked by series (in the
    mapping's order; each sequence is aligned with `categories`). Raises ConfigError without matplotlib."""
    require_charts()
    from matplotlib import rc_context  # noqa: PLC0415
    from matplotlib.backends.backend_agg import FigureCanvasAgg  # noqa: PLC0415
    from matplotlib.figure import Figure  # noqa: PLC0415

    figure = Figure(figsize=(9, 1.4 + 0.32 * max(len(categories), 1)), layout="constrained")
    FigureCanvasAgg(figure)
    _draw(figure.add_subplot(), categories, series, colors or {}, xlabel)
    out = io.StringIO()
    with rc_context({"svg.fonttype": "none", "svg.hashsalt": title}):  # text stays text; stable, unique ids
        figure.savefig(out, format="svg", metadata={"Date": None, "Creator": None, "Format": None, "Type": None})
    svg = out.getvalue()
    start = svg.find("<svg")
    return Chart(title, svg[start:].strip().replace("<svg ", f'<svg role="img" aria-label="{html.escape(title)}" ', 1))


def _draw(
    axes: Any, categories: Sequence[str], series: Mapping[str, Sequence[int]], colors: Mapping[str, str], xlabel: str
) -> None:
    positions = list(range(len(categories)))
    left = [0] * len(categories)
    for name, values in series.items():
        if any(values):
            axes.barh(positions, values, left=left, label=name, color=colors.get(name), height=0.7)
            left = [a + b for a, b in zip(left, values, strict=True)]
    axes.set_yticks(positions, [str(c) for c in categories])
    axes.invert_yaxis()  # the first category on top
    axes.set_xlabel(xlabel)
    axes.xaxis.get_major_locator().set_params(integer=True)
    axes.spines[["top", "right"]].set_visible(False)
    if len([v for v in series.values() if any(v)]) > 1:
        axes.legend(loc="upper left", bbox_to_anchor=(1.01, 1), fontsize="small", frameon=False)
    for text in [*axes.get_yticklabels(), *(axes.get_legend().get_texts() if axes.get_legend() else [])]:
        text.set_parse_math(False)  # a `$` in an account name is text, not TeX
