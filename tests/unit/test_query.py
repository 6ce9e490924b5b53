from datetime import UTC, date, datetime, timedelta, timezone
from enum import Enum

import pytest

from salesloft_async.errors import ConfigurationError, SalesloftError
from salesloft_async.query import encode_params, url_for


class Dir(Enum):
    ASC = "ASC"


def test_lists_become_bracketed_repeats() -> None:
    assert encode_params({"ids": [1, 2]}) == [("ids[]", "1"), ("ids[]", "2")]


def test_sets_are_sent_in_a_stable_order() -> None:
    assert encode_params({"ids": {3, 1, 2}}) == [("ids[]", "1"), ("ids[]", "2"), ("ids[]", "3")]


def test_ranges_become_bracketed_keys_with_microseconds() -> None:
    dt = datetime(2024, 5, 1, 12, 0, 0, 7, tzinfo=UTC)
    assert encode_params({"updated_at": {"gte": dt, "lt": None}}) == [
        ("updated_at[gte]", "2024-05-01T12:00:00.000007+00:00")
    ]


def test_datetimes_are_normalised_to_utc() -> None:
    dt = datetime(2024, 5, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    assert encode_params({"since": dt}) == [("since", "2024-05-01T12:00:00.000000+00:00")]


def test_booleans_none_dates_enums() -> None:
    got = encode_params(
        {"a": True, "b": False, "c": None, "d": date(2024, 1, 2), "e": Dir.ASC, "f": 1.5}
    )
    assert got == [("a", "true"), ("b", "false"), ("d", "2024-01-02"), ("e", "ASC"), ("f", "1.5")]


def test_none_inside_a_list_is_dropped() -> None:
    assert encode_params({"ids": [1, None]}) == [("ids[]", "1")]


def test_naive_datetime_is_refused_with_advice() -> None:
    with pytest.raises(ConfigurationError, match="timezone-aware"):
        encode_params({"updated_at": {"gt": datetime(2024, 1, 1)}})


def test_unknown_range_key_is_refused() -> None:
    with pytest.raises(ConfigurationError, match="gt, gte, lt, lte"):
        encode_params({"updated_at": {"after": "x"}})


def test_unsendable_value_is_a_salesloft_error() -> None:
    with pytest.raises(SalesloftError, match="cannot send a object"):
        encode_params({"x": object()})


def test_url_for_is_the_base_url_path_and_encoded_query() -> None:
    dt = datetime(2024, 5, 1, 12, 0, 0, 7, tzinfo=UTC)
    url = url_for("/v2/people", {"ids": [1, 2], "updated_at": {"gte": dt}, "x": None})
    assert str(url) == (
        "https://api.salesloft.com/v2/people?ids%5B%5D=1&ids%5B%5D=2"
        "&updated_at%5Bgte%5D=2024-05-01T12:00:00.000007%2B00:00"
    )
    assert (
        str(url_for("/v2/me", base_url="http://127.0.0.1:8787/")) == "http://127.0.0.1:8787/v2/me"
    )


def test_url_for_refuses_what_the_client_refuses() -> None:
    with pytest.raises(ConfigurationError, match="naive datetime"):
        url_for("/v2/people", {"updated_at": {"gte": datetime(2024, 5, 1)}})


@pytest.mark.parametrize(
    "when",
    [
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # UTC: year 0
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),  # UTC: year 10000
    ],
)
def test_an_instant_outside_utcs_years_is_a_configuration_error(when: datetime) -> None:
    with pytest.raises(ConfigurationError, match="outside the years 1-9999"):  # once: Overflow
        encode_params({"updated_at": {"gte": when}})
