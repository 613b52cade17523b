"""The emulator's Account API ListRegions: which regions an account has, and one page of them."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from inventory.demo.emulator_wire import StartResponse, json_error, json_reply

REGIONS_TOKEN = "emulator-regions:"
REGIONS_PAGE_LIMIT = 50
# Regions AWS ships disabled until the account opts in (ListRegions says ENABLED once it has).
OPT_IN_REGIONS = frozenset(
    {
        "af-south-1",
        "ap-east-1",
        "ap-east-2",
        "ap-south-2",
        "ap-southeast-3",
        "ap-southeast-4",
        "ap-southeast-5",
        "ap-southeast-6",
        "ap-southeast-7",
        "ca-west-1",
        "eu-central-2",
        "eu-south-1",
        "eu-south-2",
        "il-central-1",
        "me-central-1",
        "me-south-1",
        "mx-central-1",
    }
)
REGION_OPT_STATUSES = ("ENABLED", "ENABLING", "DISABLING", "DISABLED", "ENABLED_BY_DEFAULT")


def opt_status(disabled: Collection[tuple[str, str]], account: str, region: str) -> str:
    if (account, region) in disabled:
        return "DISABLED"
    return "ENABLED" if region in OPT_IN_REGIONS else "ENABLED_BY_DEFAULT"


def regions_page(start_response: StartResponse, regions: list[tuple[str, str]], request: dict[str, Any]) -> list[bytes]:
    """One ListRegions page from MaxResults (1-50, default 50) and NextToken, or a ValidationException."""
    limit = request.get("MaxResults", REGIONS_PAGE_LIMIT)
    token = str(request.get("NextToken") or REGIONS_TOKEN + "0")
    offset = token.removeprefix(REGIONS_TOKEN)
    if not isinstance(limit, int) or not 1 <= limit <= REGIONS_PAGE_LIMIT:
        return json_error(start_response, 400, "ValidationException", "MaxResults must be between 1 and 50.")
    if not token.startswith(REGIONS_TOKEN) or not offset.isdigit():
        return json_error(start_response, 400, "ValidationException", "The NextToken is not valid.")
    start = int(offset)
    page: dict[str, Any] = {
        "Regions": [{"RegionName": name, "RegionOptStatus": status} for name, status in regions[start : start + limit]]
    }
    if start + limit < len(regions):
        page["NextToken"] = f"{REGIONS_TOKEN}{start + limit}"
    return json_reply(start_response, "200 OK", page)
