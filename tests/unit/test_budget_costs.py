"""The pure cost prediction shared by the in-process and the Redis budget."""

from __future__ import annotations

import pytest

from salesloft_async.costs import (
    ADDITIVE_DEEP_PAGE_TABLE,
    CONSERVATIVE_DEEP_PAGE_TABLE,
    TOTAL_DEEP_PAGE_TABLE,
    cost_key,
    estimate_cost,
    page_of,
    path_template,
)


@pytest.mark.parametrize(
    ("page", "conservative", "total"),
    [
        (1, 1, 1),
        (100, 1, 1),
        (101, 4, 3),
        (150, 4, 3),
        (151, 9, 8),
        (250, 9, 8),
        (251, 11, 10),
        (500, 11, 10),
        (501, 31, 30),
        (10_000, 31, 30),
    ],
)
def test_deep_pages_cost_more_and_default_is_the_larger_reading(
    page: int, conservative: int, total: int
) -> None:
    assert estimate_cost("GET", "/v2/people", {"page": page}) == conservative
    assert estimate_cost("GET", "/v2/people", {"page": page}, reading="total") == total
    assert estimate_cost("get", "/v2/people", {"page": str(page)}, reading="additive") == max(
        conservative, total
    )


def test_conservative_table_is_bandwise_max() -> None:
    for (first, c), (_, t), (_, a) in zip(
        CONSERVATIVE_DEEP_PAGE_TABLE, TOTAL_DEEP_PAGE_TABLE, ADDITIVE_DEEP_PAGE_TABLE, strict=True
    ):
        assert c == max(t, a), first


def test_writes_and_unpaged_reads_cost_the_base() -> None:
    assert estimate_cost("POST", "/v2/people", {"page": 900}) == 1
    assert estimate_cost("GET", "/v2/me") == 1
    assert estimate_cost("GET", "/v2/people", {"page": "junk"}) == 1
    assert estimate_cost("GET", "/v2/people", {"page": True}) == 1


def test_page_of_tolerates_bad_values() -> None:
    assert page_of(None) == 1
    assert page_of({"page": 0}) == 1
    assert page_of({"page": -3}) == 1
    assert page_of({"page": 7}) == 7


def test_cost_key_groups_ids_and_bands() -> None:
    assert path_template("/v2/people/42.json") == "/v2/people/{id}"
    assert path_template("/v2/people/42/?x=1") == "/v2/people/{id}"
    assert cost_key("get", "/v2/people/1", None) == cost_key("GET", "/v2/people/99", {})
    assert cost_key("GET", "/v2/people", {"page": 2}) == ("GET", "/v2/people", 0)
    assert cost_key("GET", "/v2/people", {"page": 120})[2] == 1
    assert cost_key("GET", "/v2/people", {"page": 120}) != cost_key(
        "GET", "/v2/people", {"page": 1}
    )
    assert cost_key("POST", "/v2/people", None) != cost_key("GET", "/v2/people", None)
