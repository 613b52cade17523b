"""The Lambda estate around the functions, as the emulator answers it: one front for what moto lacks there.

What moto 5.2 answers correctly over HTTP (paging aside) stays moto's: creating and reading event source
mappings, layers and their versions, aliases, the unqualified resource policy. The rest is answered here,
for the calling account and region only (state is kept per account and region, as real Lambda keeps it):

* paged lists of moto's state: ListEventSourceMappings, ListLayers, ListLayerVersions, ListAliases
  (emulator_lists.py);
* alias- and version-qualified resource policies, and layer version policies (emulator_policies.py);
* event invoke configs and provisioned concurrency per qualifier (emulator_invoke.py);
* code signing configs and the one each function uses (emulator_signing.py).

Paging everywhere is emulator_paging's: MaxItems within botocore's bounds, at most 50 a page (100 for event
source mappings), NextMarker while items remain.
"""

from __future__ import annotations

from typing import Any, Protocol

from inventory.demo.emulator_invoke import InvokeSettings
from inventory.demo.emulator_lists import LISTS
from inventory.demo.emulator_paging import Where
from inventory.demo.emulator_policies import Policies
from inventory.demo.emulator_signing import CodeSigning
from inventory.demo.emulator_wire import StartResponse


class _Part(Protocol):
    def answers(self, environ: dict[str, Any], operation: str) -> bool: ...

    def handle(
        self, environ: dict[str, Any], start_response: StartResponse, where: Where, operation: str
    ) -> list[bytes]: ...


class Estate:
    """The estate operations the emulator answers itself, and the state they keep."""

    def __init__(self) -> None:
        self.policies = Policies()
        self.invoke = InvokeSettings()
        self.signing = CodeSigning()
        self._parts: tuple[_Part, ...] = (self.policies, self.invoke, self.signing)

    def answers(self, environ: dict[str, Any], operation: str) -> bool:
        """Whether this Lambda request is the estate's to answer (the rest go on to moto)."""
        return operation in LISTS or any(part.answers(environ, operation) for part in self._parts)

    def handle(
        self, environ: dict[str, Any], start_response: StartResponse, where: Where, operation: str
    ) -> list[bytes]:
        """Answer the request for `where` (account, region); only when `answers` said so."""
        if operation in LISTS:
            return LISTS[operation](environ, start_response, where)
        part = next(part for part in self._parts if part.answers(environ, operation))
        return part.handle(environ, start_response, where, operation)
