"""Glue's optimistic locking, which stock moto lacks: UpdateTable with a VersionId that is no longer the
table's current version is refused (400 ConcurrentModificationException), as real Glue refuses it.

Iceberg catalogs (pyiceberg's Glue catalog among them) commit a table by UpdateTable with the VersionId they
read; moto applies every update whatever its VersionId, so two writers committing at once would silently
lose one commit. The check and the update run under one lock, so exactly one of two racing commits wins and
the other is retried by the catalog, as against real Glue.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterable
from typing import Any

from moto.glue.models import glue_backends

from inventory.demo.emulator_wire import StartResponse, json_error, read_body


class GlueLocking:
    """UpdateTable checked against the table's current version, one at a time."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.refused = 0

    def update_table(
        self,
        environ: dict[str, Any],
        start_response: StartResponse,
        where: tuple[str, str],
        forward: Callable[[dict[str, Any], StartResponse], Iterable[bytes]],
    ) -> Iterable[bytes]:
        request = json.loads(read_body(environ) or b"{}")
        version = request.get("VersionId")
        with self._lock:
            current = self._current(where, request)
            if version is not None and current is not None and str(version) != current:
                self.refused += 1
                return json_error(
                    start_response,
                    400,
                    "ConcurrentModificationException",
                    f"Update table failed due to concurrent modifications (version {version}, current {current})",
                )
            return list(forward(environ, start_response))  # answered before the next update is checked

    @staticmethod
    def _current(where: tuple[str, str], request: dict[str, Any]) -> str | None:
        account, region = where
        name = str((request.get("TableInput") or {}).get("Name"))
        try:
            table = glue_backends[account][region].get_table(str(request.get("DatabaseName")), name)
        except Exception:  # noqa: BLE001 - no such database or table: moto answers that itself
            return None
        return str(table.as_dict()["VersionId"])
