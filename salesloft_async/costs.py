"""What a request will cost, before it is sent.

Salesloft meters its API by cost, not by request count: every call costs 1 unless it reads a deep
page of a list.  Two sources disagree on how much a deep page costs.  Salesloft's own rate-limit
page (https://developers.salesloft.com/docs/platform/api-basics/rate-limits/) heads its table
"Page # / Total Cost" (pages 101-150 cost 3, 151-250 cost 8, 251-500 cost 10, 501+ cost 30); the
API guide "Everything an AI agent can do with the Salesloft API" (last updated 23 June 2026, its
section "Rate limits & pagination") reads the same numbers as *additions* to the base cost of 1
(4, 9, 11, 31).  A budget that predicts too little sends requests the server refuses (429), one that
predicts too much only waits a little longer, so the default prediction is the larger of the two
readings.  The server reports the real cost of every call in ``x-ratelimit-endpoint-cost``; the
budget learns it per `cost_key` and corrects its prediction from then on.

Everything here is pure (no clock, no I/O), so the in-process `CostBudget` and the Redis-backed
budget share one notion of cost.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal

__all__ = [
    "ADDITIVE_DEEP_PAGE_TABLE",
    "BASE_COST",
    "CONSERVATIVE_DEEP_PAGE_TABLE",
    "TOTAL_DEEP_PAGE_TABLE",
    "CostKey",
    "DeepPageTable",
    "cost_key",
    "depth_band",
    "estimate_cost",
    "page_of",
    "path_template",
]

#: What a call costs when it is not a deep page.
BASE_COST = 1

#: (first page of the band, cost of one call reading a page in it), ascending.
DeepPageTable = tuple[tuple[int, int], ...]

#: Salesloft's rate-limit page: the number is the whole cost of the call.
TOTAL_DEEP_PAGE_TABLE: DeepPageTable = ((1, 1), (101, 3), (151, 8), (251, 10), (501, 30))
#: The API guide: the same numbers are added to the base cost of 1.
ADDITIVE_DEEP_PAGE_TABLE: DeepPageTable = ((1, 1), (101, 4), (151, 9), (251, 11), (501, 31))
#: Band by band the larger of the two readings (today the additive one): never predicts low.
CONSERVATIVE_DEEP_PAGE_TABLE: DeepPageTable = tuple(
    (first, max(total, added))
    for (first, total), (_, added) in zip(
        TOTAL_DEEP_PAGE_TABLE, ADDITIVE_DEEP_PAGE_TABLE, strict=True
    )
)

_TABLES: dict[str, DeepPageTable] = {
    "conservative": CONSERVATIVE_DEEP_PAGE_TABLE,
    "total": TOTAL_DEEP_PAGE_TABLE,
    "additive": ADDITIVE_DEEP_PAGE_TABLE,
}

#: Which reading to predict with; "conservative" unless the team knows better.
Reading = Literal["conservative", "total", "additive"]

#: (METHOD, path template, depth band): the granularity at which real costs are learned.  A deep
#: page of /v2/people and its first page are different keys, and so are GET and POST.
CostKey = tuple[str, str, int]

# Numeric ids and other opaque id-like segments become "{id}" so that /v2/people/42 and
# /v2/people/43 share what is learned about them.
_ID_SEGMENT = re.compile(r"^(\d+|[0-9a-fA-F]{8}-[0-9a-fA-F-]{27,})$")


def page_of(params: Mapping[str, Any] | None) -> int:
    """The 1-based page a request reads (1 when absent or unreadable: the server's default)."""
    if not params:
        return 1
    raw = params.get("page")
    if raw is None or isinstance(raw, bool):
        return 1
    try:
        page = int(raw)
    except (TypeError, ValueError):
        return 1
    return max(1, page)


def depth_band(page: int, table: DeepPageTable = CONSERVATIVE_DEEP_PAGE_TABLE) -> int:
    """The index of the table band `page` falls in: 0 for pages 1-100."""
    band = 0
    for index, (first, _) in enumerate(table):
        if page >= first:
            band = index
        else:
            break
    return band


def path_template(path: str) -> str:
    """`path` without its query, ``.json`` suffix and id segments: ``/v2/people/{id}``."""
    path = path.split("?", 1)[0].rstrip("/")
    if path.endswith(".json"):
        path = path[: -len(".json")]
    return "/".join("{id}" if _ID_SEGMENT.match(seg) else seg for seg in path.split("/"))


def cost_key(method: str, path: str, params: Mapping[str, Any] | None) -> CostKey:
    """Where a learned cost is filed: method, path template and depth band."""
    return (method.upper(), path_template(path), depth_band(page_of(params)))


def estimate_cost(
    method: str,
    path: str,
    params: Mapping[str, Any] | None = None,
    *,
    reading: Reading = "conservative",
) -> int:
    """The predicted cost of one call, before anything has been learned about it.

    Only GETs page, so only a GET's ``page`` parameter raises the cost; a write costs the base.
    """
    if method.upper() != "GET":
        return BASE_COST
    table = _TABLES[reading]
    return table[depth_band(page_of(params), table)][1]
