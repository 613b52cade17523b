"""The estate (estate.py) laid out for inventory.reports.document: a table of figures, each estate enrichment's
coverage above it, and the most used layers.

Every estate enrichment gets a line: how far it was read (and where it failed, by target), or, grouped in one
line, those not collected at all with the `enrich:` that collects them. A table read nowhere has no figure, so
the absence of a figure is never a zero.
"""

from __future__ import annotations

from inventory.reports.coverage import enable_hint
from inventory.reports.document import Cell, Section, Table
from inventory.reports.estate import LAYERS, EstateSummary
from inventory.reports.estate_layers import LAYERS_SHOWN


def _coverage(summary: EstateSummary) -> tuple[str, ...]:
    """One line for the enrichments read for every listed target, one each for the others, one for those
    not collected."""
    readings = summary.readings
    complete = [r.enrichment for r in readings if r.complete and not r.failed]
    unasked = [r.enrichment for r in readings if not r.read and not r.failed]
    lines = [f"{r.line}." for r in readings if r.enrichment not in complete and r.enrichment not in unasked]
    if complete:
        lines.insert(0, f"Read for all {readings[0].targets} listed targets: {', '.join(complete)}.")
    if unasked:
        lines.append(f"Not collected: {', '.join(unasked)} ({enable_hint(unasked)}).")
    return tuple(lines)


def estate_section(summary: EstateSummary) -> Section:
    rows: tuple[tuple[Cell, ...], ...] = tuple((f.table, f.label, f.count) for f in summary.figures)
    return Section(
        "Estate",
        (
            "What surrounds the functions, from the estate tables: each figure counts only the listed targets where "
            "its table's enrichment was read, as the lines below say; a table not read for a target says nothing "
            "about it.",
            *_coverage(summary),
        ),
        Table(("table", "figure", "count"), rows),
        empty="No estate table was read: this says nothing about the estate (see above).",
    )


def layers_section(summary: EstateSummary) -> Section | None:
    """The most used layers, with their versions and who runs an older one; None when layers were not read."""
    reading = next((r for r in summary.readings if r.enrichment == LAYERS), None)
    if reading is None or not reading.collected:
        return None
    shown = summary.layers[:LAYERS_SHOWN]
    cut = f" (the first {len(shown)} of {len(summary.layers)})" if len(shown) < len(summary.layers) else ""
    rows: tuple[tuple[Cell, ...], ...] = tuple(
        (
            u.where.account_id,
            u.where.account_name,
            u.where.region,
            u.layer,
            u.versions,
            u.latest,
            u.functions,
            u.older,
            u.public if u.public is not None else "(not judged)",
        )
        for u in shown
    )
    columns = ("account_id", "account", "region", "layer", "versions", "latest", "function rows", "on an older version")
    return Section(
        "Layers",
        (
            f"Layers read ({reading.line}), most used first{cut}: their versions listed, the latest, the function "
            "rows running one of them (from any listed target) and those running a version older than the latest, "
            "and the versions shared with anyone.",
        ),
        Table((*columns, "shared with anyone"), rows),
        empty="No layer in the targets read.",
    )
