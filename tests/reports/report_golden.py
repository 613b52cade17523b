"""The compliance report's golden files (tests/fixtures/report/). After an intended change to the report's
text, regenerate them and review the diff before committing:

    UPDATE_GOLDEN=1 pytest tests/reports/test_compliance.py tests/reports/test_enriched_report.py
    git diff tests/fixtures/report/
"""

from __future__ import annotations

import os
from pathlib import Path

GOLDEN = Path(__file__).parent.parent / "fixtures" / "report"


def check_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN") == "1":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), f"{path} is missing: UPDATE_GOLDEN=1 pytest {Path(__file__).parent} writes it"
    assert text == path.read_text(encoding="utf-8"), f"{name} differs from its golden file"
